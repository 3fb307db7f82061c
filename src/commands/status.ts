import {Args, Flags} from '@oclif/core'
import {BaseCommand} from '../cli/base-command.js'
import {status, type StatusResult} from '../lab/lifecycle.js'
import {LabNotFoundError, resolveLab} from '../lab/resolve-lab.js'
import {formatTable, formatUptime} from '../lab/table.js'

export default class Status extends BaseCommand {
  static override summary = 'Show every process of a lab: pid, state (running / failed / stopped), uptime, VMs, QPs, counters.'
  static override enableJsonFlag = true
  static override args = {lab: Args.string({description: 'topology file, lab directory or lab name'})}
  static override flags = {lab: Flags.string({description: 'lab name (from the registry)'})}

  public async run(): Promise<StatusResult> {
    const {args, flags} = await this.parse(Status)
    let ref
    try {
      ref = resolveLab(args.lab, flags.lab)
    } catch (err) {
      if (err instanceof LabNotFoundError) this.error(err.message, {exit: 1})
      throw err
    }
    const s = await status(ref)
    this.log(`lab ${s.lab}: ${s.state} (${s.labDir})`)
    if (s.processes.length) {
      const wire = (p: StatusResult['processes'][number]) => (p.counters as {wire?: Record<string, number>}).wire
      this.log(
        formatTable(
          ['NODE', 'ROLE', 'PID', 'STATE', 'UPTIME', 'RSS', 'VMS', 'QPS', 'TX/RX FRAMES'],
          s.processes.map((p) => [
            p.node, p.role, String(p.pid), p.state, formatUptime(p.uptimeMs),
            p.memory?.rssMiB ? `${p.memory.rssMiB}M` : '-',
            p.role === 'host' ? `${p.vms.filter((v) => v.state === 'running').length}/${p.vms.length}` : '-',
            p.role === 'host' ? String(p.qps) : '-',
            wire(p) ? `${wire(p)!.txFrames}/${wire(p)!.rxFrames}` : '-',
          ]),
        ),
      )
    }
    return s
  }
}
