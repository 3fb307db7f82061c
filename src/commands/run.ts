import {Args, Flags} from '@oclif/core'
import {BaseCommand} from '../cli/base-command.js'
import {LabNotFoundError, resolveLab} from '../lab/resolve-lab.js'
import {RunError, runWorkload, type RunResult} from '../lab/run.js'

export default class Run extends BaseCommand {
  static override summary = 'Run a workload on a VM of a running lab: a built-in (smoke, pingpong, bw, connrate, allreduce, ud, bench-write, verbs-lat) or a module path.'
  static override description =
    'Paired workloads (every built-in but verbs-lat) run on --vm as the client and on --peer as the server; they ' +
    'connect with rdma_cm (smoke and bench-write swap QP numbers through the lab controller). A module exports ' +
    '`default async function (vm, options)` (docs/workload-api.md); --param key=value fills options. The exit status ' +
    'is 0 when every side succeeded.'
  static override enableJsonFlag = true
  static override args = {
    lab: Args.string({required: true, description: 'topology file, lab directory or lab name'}),
    workload: Args.string({required: true, description: 'a built-in name (see the summary) or path/to/module.js|.mjs|.ts'}),
  }
  static override flags = {
    vm: Flags.string({required: true, description: 'the VM that runs the workload (client side)'}),
    peer: Flags.string({description: 'the peer VM (server side) for paired workloads'}),
    param: Flags.string({multiple: true, description: 'workload parameter key=value (numbers are parsed)'}),
    timeout: Flags.integer({default: 60, min: 1, description: 'seconds the workload may run'}),
  }
  static override examples = ['<%= config.bin %> run lab.yaml smoke --vm vm1 --peer vm3', '<%= config.bin %> run lab.yaml bench-write --vm vm1 --peer vm3 --param test=lat --json']

  public async run(): Promise<RunResult> {
    const {args, flags} = await this.parse(Run)
    const params: Record<string, unknown> = {}
    for (const kv of flags.param ?? []) {
      const i = kv.indexOf('=')
      if (i <= 0) this.error(`--param ${kv}: expected key=value`, {exit: 2})
      const v = kv.slice(i + 1)
      params[kv.slice(0, i)] = v !== '' && Number.isFinite(Number(v)) ? Number(v) : v
    }
    let result: RunResult
    try {
      result = await runWorkload(resolveLab(args.lab), {workload: args.workload, vm: flags.vm, peer: flags.peer, params, timeoutMs: flags.timeout * 1000})
    } catch (err) {
      if (err instanceof LabNotFoundError || err instanceof RunError) this.error(err.message, {exit: 1})
      throw err
    }
    for (const side of [result.client, result.server]) {
      if (!side) continue
      if (side.error) this.logToStderr(`${side.vm}: workload failed: ${side.error}`)
      const ops = (side.result as {ops?: Array<{op: string; size: number; ok: boolean; us: number; side: string}>} | undefined)?.ops
      if (ops && side === result.client) for (const o of ops) this.log(`${o.ok ? 'ok  ' : 'FAIL'} ${o.op.padEnd(10)} ${String(o.size).padStart(6)} B  ${o.side}${o.us ? `  ${o.us} us` : ''}`)
      else if (side.result !== undefined && !ops && side.result !== null) this.log(`${side.vm}: ${JSON.stringify(side.result)}`)
    }
    this.log(`${result.workload} on ${result.client.vm}${result.server ? ` <-> ${result.server.vm}` : ''}: ${result.ok ? 'ok' : 'FAILED'}`)
    if (!result.ok) process.exitCode = 1
    return result
  }
}
