import {Args} from '@oclif/core'
import {BaseCommand} from '../cli/base-command.js'
import {plural} from '../cli/plural.js'
import type {TopologyError} from '../topology/errors.js'
import type {ResolvedPlan} from '../topology/types.js'

type JsonError = Omit<TopologyError, 'hint'> & {hint: string | null}
type Result = {version: 1; valid: true; plan: ResolvedPlan} | {version: 1; valid: false; errors: JsonError[]}

export default class Validate extends BaseCommand {
  static override summary = 'Check a topology file; print every error with its position, or the resolved plan.'
  static override description = `Parses the YAML, checks it against the topology schema and runs the semantic checks (names, references, addresses, VPC rules, quotas against RNIC limits, mode rules). All errors are reported at once, one per line, with a hint when there is one:

  lab.yaml:15:5: unknown key "ipp" (at $.vms[0].ipp)
    hint: did you mean "ip"?

Exit status: 0 when the topology is valid, 1 when it is not. With --json, prints {version: 1, valid: false, errors: [{file, line, col, path, message, hint}]} or {version: 1, valid: true, plan} with the resolved plan. The keys are documented in docs/topology.md.`
  static override examples = [
    '<%= config.bin %> <%= command.id %> examples/two-host.yaml',
    '<%= config.bin %> <%= command.id %> lab.yaml --json | jq .errors',
  ]
  static override enableJsonFlag = true
  static override args = {
    topology: Args.string({description: 'topology YAML file', required: true}),
  }

  public async run(): Promise<Result> {
    const {args} = await this.parse(Validate)
    const {loadTopology} = await import('../topology/load.js')
    const {formatErrors} = await import('../topology/errors.js')
    const r = await loadTopology(args.topology)
    if (!r.ok) {
      process.exitCode = 1
      this.log(formatErrors(r.errors))
      this.logToStderr(`✖ ${args.topology}: ${r.errors.length} error${r.errors.length === 1 ? '' : 's'}`)
      return {version: 1, valid: false, errors: r.errors.map((e) => ({...e, hint: e.hint ?? null}))}
    }
    const p = r.plan
    const modes = [...new Set(p.vms.map((v) => v.mode))].join(', ')
    this.log(`✔ ${args.topology}: valid lab "${p.name}": ${plural(p.hosts.length, 'host')}, ${plural(p.tenants.length, 'tenant')}, ${plural(p.vms.length, 'VM')} (${modes})`)
    return {version: 1, valid: true, plan: p}
  }
}
