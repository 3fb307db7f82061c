import {readFile} from 'node:fs/promises'
import {Args, Flags} from '@oclif/core'
import {BaseCommand} from '../cli/base-command.js'
import {OPS, parseList, TESTS, type TestSel} from '../bench/bench-plan.js'
import {writeBenchOutput, type ResultsDoc} from '../bench/index.js'
import {DeriveError} from '../bench/derive.js'
import {BenchError, runBench} from '../bench/runner.js'
import {DEFAULT_TOPOLOGY, DEFAULT_TOPOLOGY_FILE} from '../topology/default.js'
import {MODES, type Mode} from '../topology/types.js'

export default class Bench extends BaseCommand {
  static override summary = 'Measure every virtualization mode side by side: perftest tables, ratios, connection setup, control verbs.'
  static override description =
    'For each mode, derives a two-VM lab on two hosts from the topology (the embedded default without one), brings it ' +
    'up, runs the built-in workloads with perftest\'s flags and defaults, and tears it down (also on Ctrl-C or failure). ' +
    'stdout: perftest\'s tables per mode, the comparison to bare and sriov, connection setup, control-verb latency, the ' +
    'wire limit of this machine and the paper-shape checks; progress on stderr. --out DIR writes results.json and report.html.'
  static override enableJsonFlag = true
  static override args = {topology: Args.string({description: 'topology file (YAML); default: the embedded default topology'})}
  static override flags = {
    modes: Flags.string({description: `comma list of modes (${MODES.join(',')})`, default: MODES.join(',')}),
    ops: Flags.string({description: `comma list of perftest verbs (${OPS.join(',')})`, default: 'write'}),
    test: Flags.string({description: 'what to measure', options: [...TESTS], default: 'all'}),
    size: Flags.integer({char: 's', description: 'message size in bytes (perftest -s; default 65536 for bw, 2 for lat)', exclusive: ['all']}),
    all: Flags.boolean({char: 'a', description: 'every size from 2 to 2^23 (perftest -a)', default: false}),
    iters: Flags.integer({char: 'n', description: 'iterations (perftest -n; default 5000 bw, 1000 lat, 200 verbs)', exclusive: ['duration']}),
    duration: Flags.integer({char: 'D', description: 'seconds per test instead of iterations (perftest -D)'}),
    qp: Flags.integer({char: 'q', description: 'number of QPs (perftest -q)'}),
    connection: Flags.string({char: 'c', description: 'transport (perftest -c)', options: ['RC', 'UC', 'UD']}),
    'report-gbits': Flags.boolean({description: 'report Gb/sec instead of MB/sec (perftest --report_gbits)', aliases: ['report_gbits'], default: false}),
    'tx-depth': Flags.integer({char: 't', description: 'send queue depth for bw (perftest -t; default 128, or fewer so that the bytes in flight fit half the fabric buffer)'}),
    events: Flags.boolean({char: 'e', description: 'sleep on CQ events instead of busy polling (perftest -e)', default: false}),
    runs: Flags.integer({description: 'repeat each mode N times; tables show the median run, results.json min/median/max', default: 1}),
    out: Flags.string({description: 'write results.json and report.html (and keep the labs\' logs under DIR/labs)'}),
  }
  static override examples = [
    '<%= config.bin %> bench --modes masq,sriov --test lat -s 2 -n 200',
    '<%= config.bin %> bench --test all -a --out results/',
    '<%= config.bin %> bench lab.yaml --ops write --test bw -D 2 --report-gbits --runs 3',
  ]

  public async run(): Promise<ResultsDoc> {
    const {args, flags} = await this.parse(Bench)
    const modes = parseList<Mode>(flags.modes, MODES, 'mode', MODES)
    const ops = parseList(flags.ops, OPS, 'op', ['write'])
    const listErrors = [...modes.errors, ...ops.errors]
    if (listErrors.length) this.error(listErrors.join('\n'), {exit: 2})
    let topologyText = DEFAULT_TOPOLOGY
    let topologyFile = DEFAULT_TOPOLOGY_FILE
    if (args.topology) {
      try {
        topologyText = await readFile(args.topology, 'utf8')
        topologyFile = args.topology
      } catch (err) {
        this.error(`${args.topology}: cannot read topology: ${(err as Error).message}`, {exit: 1})
      }
    }
    const abort = new AbortController()
    const onSignal = () => abort.abort()
    process.on('SIGINT', onSignal)
    process.on('SIGTERM', onSignal)
    let doc: ResultsDoc
    let text: string
    try {
      ;({doc, text} = await runBench({
        topologyText, topologyFile, outDir: flags.out, signal: abort.signal,
        request: {
          modes: modes.values, ops: ops.values, test: flags.test as TestSel, size: flags.size, all: flags.all, iterations: flags.iters,
          durationSeconds: flags.duration, qps: flags.qp, connection: flags.connection as 'RC' | undefined, reportGbits: flags['report-gbits'],
          runs: flags.runs, events: flags.events, txDepth: flags['tx-depth'],
        },
      }))
    } catch (err) {
      if (err instanceof BenchError || err instanceof DeriveError) this.error(err.message, {exit: abort.signal.aborted ? 130 : err.exitCode})
      if (abort.signal.aborted) this.error(`interrupted: ${(err as Error).message}`, {exit: 130})
      throw err
    } finally {
      process.off('SIGINT', onSignal)
      process.off('SIGTERM', onSignal)
    }
    if (flags.out) {
      const files = await writeBenchOutput(flags.out, doc)
      this.logToStderr(`wrote ${files.results} and ${files.report}`)
    }
    if (!this.jsonEnabled()) this.log(text)
    return doc
  }
}
