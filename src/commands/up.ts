import {Args, Flags} from '@oclif/core'
import {BaseCommand} from '../cli/base-command.js'
import {up, type UpResult} from '../lab/lifecycle.js'
import {PlanLoadError, loadPlan} from '../lab/plan-source.js'
import {formatTable} from '../lab/table.js'

export default class Up extends BaseCommand {
  static override summary = 'Start a lab: the controller, one process per host, then the VMs.'
  static override description =
    'Validates the topology, writes the plan and state to the lab directory (masq-<lab>/ next to the topology), starts ' +
    'every process detached and returns once all are ready. Ctrl-C or a failure rolls back everything started.'
  static override enableJsonFlag = true
  static override args = {topology: Args.string({required: true, description: 'topology file (YAML), or a resolved plan (.json)'})}
  static override flags = {
    'lab-dir': Flags.string({description: 'lab directory (default: masq-<lab> next to the topology)'}),
    capture: Flags.boolean({default: false, description: "write each host's port traffic to capture/<host>.pcap (see masq capture)"}),
    timeout: Flags.integer({default: 30, min: 1, description: 'seconds each process may take to become ready'}),
  }
  static override examples = ['<%= config.bin %> up lab.yaml', '<%= config.bin %> up plan.json --lab-dir /tmp/lab --json']

  public async run(): Promise<UpResult> {
    const {args, flags} = await this.parse(Up)
    let plan
    try {
      plan = await loadPlan(args.topology)
    } catch (err) {
      if (err instanceof PlanLoadError) this.error(err.message, {exit: 1})
      throw err
    }
    if (flags.capture) plan.fabric.capture = true
    const abort = new AbortController()
    const onSignal = () => abort.abort()
    process.on('SIGINT', onSignal)
    process.on('SIGTERM', onSignal)
    let result: UpResult
    try {
      result = await up(plan, {topologyFile: args.topology, labDir: flags['lab-dir'], timeoutMs: flags.timeout * 1000, signal: abort.signal})
    } catch (err) {
      this.error((err as Error).message, {exit: abort.signal.aborted ? 130 : 1})
    } finally {
      process.off('SIGINT', onSignal)
      process.off('SIGTERM', onSignal)
    }
    this.log(formatTable(['NODE', 'ROLE', 'PID', 'VMS', 'SOCKET'], result.processes.map((p) => [p.node, p.role, String(p.pid), p.vms.join(',') || '-', p.socket])))
    this.log(`lab ${result.lab} is up (${result.labDir})`)
    return result
  }
}
