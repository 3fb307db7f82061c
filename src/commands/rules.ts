import {Args, Flags} from '@oclif/core'
import {BaseCommand} from '../cli/base-command.js'
import {RULES_USAGE} from '../controller/rule-change.js'
import {LabNotFoundError, resolveLab} from '../lab/resolve-lab.js'
import {changeRules, RulesError, type RulesResult} from '../lab/rules.js'

export default class Rules extends BaseCommand {
  static override summary = 'Change a security group of a running lab; live connections it no longer allows are reset.'
  static override description =
    `${RULES_USAGE}\nThe controller re-checks every tracked connection; those the new rules refuse are reset on both ` +
    'ends (QPs to ERR, flushed work requests, DISCONNECTED). Unlike AWS security groups, which keep tracked ' +
    'connections, MasQ cuts them at once (docs/security-groups.md).'
  static override enableJsonFlag = true
  static override args = {
    lab: Args.string({required: true, description: 'topology file, lab directory or lab name'}),
    op: Args.string({required: true, options: ['add', 'remove'], description: 'add or remove a rule'}),
    group: Args.string({required: true, description: 'the security group'}),
    direction: Args.string({required: true, options: ['ingress', 'egress'], description: 'ingress or egress'}),
  }
  static override flags = {
    cidr: Flags.string({description: 'peer vIP range', exclusive: ['group']}),
    group: Flags.string({description: 'peer security group (same tenant)'}),
    ports: Flags.string({description: 'rdma_cm port or range lo-hi (default: all)'}),
  }
  static override examples = [
    '<%= config.bin %> rules lab.yaml remove web ingress --cidr 10.0.0.0/24',
    '<%= config.bin %> rules lab.yaml add web ingress --group db --ports 18515',
  ]

  public async run(): Promise<RulesResult> {
    const {args, flags} = await this.parse(Rules)
    // the controller parses the change (src/controller/rule-change.ts): one parser for the CLI and the RPC
    const rest = [args.op, args.group, args.direction]
    for (const f of ['cidr', 'group', 'ports'] as const) if (flags[f] !== undefined) rest.push(`--${f}`, flags[f]!)
    let r: RulesResult
    try {
      r = await changeRules(resolveLab(args.lab), rest)
    } catch (err) {
      if (err instanceof LabNotFoundError || err instanceof RulesError) this.error(err.message, {exit: 1})
      throw err
    }
    for (const c of r.resets) this.log(`reset connection ${c.id}: ${c.src} -> ${c.dst} port ${c.port} (${c.reason})`)
    this.log(`rules version ${r.rulesVersion}: ${r.resets.length} connection(s) reset in ${r.ms.toFixed(1)} ms (controller ${r.controllerMs.toFixed(1)} ms)`)
    return r
  }
}
