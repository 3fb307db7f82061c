import {Args, Flags} from '@oclif/core'
import {BaseCommand} from '../cli/base-command.js'
import {PlanLoadError} from '../lab/plan-source.js'
import {LabNotFoundError, resolveLab} from '../lab/resolve-lab.js'
import {formatFailures, formatRun} from '../lab/run-format.js'
import {RunError, runInProcessTopology, runWorkload, type RunResult} from '../lab/run.js'
import {WorkloadLoadError} from '../vm/loader.js'

export default class Run extends BaseCommand {
  static override summary = 'Run a built-in workload or a workload module on VMs of a running lab (or in process).'
  static override description =
    'Built-ins: smoke, pingpong, bw, connrate, ud (two VMs: --vm is the client, --peer the server), allreduce (two VMs ' +
    'or more: --vms a,b,c,d in ring order), bench-write, verbs-lat. A module (.js, .mjs or .ts) exports ' +
    '`default async function (vm, options)` and runs on every VM given. Options go in as --param key=value. ' +
    'Human output is the workload\'s table (perftest for pingpong/bw, nccl-tests for allreduce); --json prints one ' +
    'versioned document. --in-process runs the workload without starting a lab: the topology only names the VMs, ' +
    'which become in-process RNICs on one event loop (no backend, security groups or worker threads), so a debugger ' +
    'and stack traces reach the workload. The exit status is 0 when every VM succeeded.'
  static override enableJsonFlag = true
  static override args = {
    lab: Args.string({required: true, description: 'topology file, lab directory or lab name (a topology file with --in-process)'}),
    workload: Args.string({required: true, description: 'a built-in name or path/to/module.{js,mjs,ts}'}),
  }
  static override flags = {
    vm: Flags.string({description: 'the VM that runs the workload (the client, rank 0)'}),
    peer: Flags.string({description: 'the peer VM (the server) of a two-VM workload', exclusive: ['vms']}),
    vms: Flags.string({description: 'every VM of the run in rank order, comma-separated (allreduce, modules)', exclusive: ['peer']}),
    param: Flags.string({multiple: true, description: 'workload option key=value (numbers are parsed)'}),
    timeout: Flags.integer({default: 60, min: 1, description: 'seconds the workload may run'}),
    'in-process': Flags.boolean({default: false, description: 'run on in-process VMs named by the topology instead of a running lab'}),
    loss: Flags.string({description: 'with --in-process: probability that the fabric drops a frame (e.g. 0.05)'}),
    seed: Flags.integer({description: 'with --in-process: seed of the fabric impairments (1)'}),
  }
  static override examples = [
    '<%= config.bin %> run lab.yaml pingpong --vm vm1 --peer vm2 --param op=write --param size=64',
    '<%= config.bin %> run lab.yaml allreduce --vms vm1,vm2,vm3,vm4 --param count=262144',
    '<%= config.bin %> run lab.yaml ./examples/workloads/kv-store.ts --vm vm1 --peer vm2 --json',
    '<%= config.bin %> run --in-process lab.yaml ./my-workload.ts --vm vm1 --peer vm2',
    '<%= config.bin %> run --in-process lab.yaml bw --vm vm1 --peer vm2 --loss 0.05 --seed 7',
  ]

  public async run(): Promise<RunResult> {
    const {args, flags} = await this.parse(Run)
    const params: Record<string, unknown> = {}
    for (const kv of flags.param ?? []) {
      const i = kv.indexOf('=')
      if (i <= 0) this.error(`--param ${kv}: expected key=value`, {exit: 2})
      const v = kv.slice(i + 1)
      params[kv.slice(0, i)] = v !== '' && Number.isFinite(Number(v)) ? Number(v) : v
    }
    if ((flags.loss !== undefined || flags.seed !== undefined) && !flags['in-process']) {
      this.error('--loss and --seed impair the in-process fabric: give --in-process (a lab\'s fabric is set in its topology)', {exit: 2})
    }
    const loss = flags.loss === undefined ? undefined : Number(flags.loss)
    if (loss !== undefined && !(loss >= 0 && loss <= 1)) this.error(`--loss ${flags.loss}: expected a probability between 0 and 1`, {exit: 2})
    const vms = flags.vms?.split(',').map((s) => s.trim()).filter(Boolean)
    if (!flags.vm && !vms?.length) this.error('give the VM to run on: --vm (with --peer for two-VM workloads) or --vms', {exit: 2})
    const o = {workload: args.workload, vm: flags.vm ?? vms![0]!, peer: flags.peer, vms, params, timeoutMs: flags.timeout * 1000}
    let result: RunResult
    try {
      result = flags['in-process']
        ? await runInProcessTopology(args.lab, {...o, impairments: loss ? {loss} : undefined, seed: flags.seed ?? 1})
        : await runWorkload(resolveLab(args.lab), o)
    } catch (err) {
      if (err instanceof LabNotFoundError || err instanceof RunError || err instanceof WorkloadLoadError) this.error(err.message, {exit: 1})
      if (err instanceof PlanLoadError) this.error(err.message, {exit: 2})
      throw err
    }
    const failures = formatFailures(result)
    if (failures) this.logToStderr(failures.trimEnd())
    this.log(formatRun(result).trimEnd())
    if (!result.ok) process.exitCode = 1
    return result
  }
}
