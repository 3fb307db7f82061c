import {Flags} from '@oclif/core'
import {BaseCommand} from '../cli/base-command.js'
import {pickRenderer} from '../lab/lifecycle.js'
import {runDemo} from '../demo/run.js'
import {formatSummary} from '../demo/summary.js'
import type {DemoDoc} from '../demo/types.js'

export default class Demo extends BaseCommand {
  static override summary = 'The main job in one command: a two-tenant lab, verified RDMA traffic, isolation, a live rule change, a bench and the attack suite.'
  static override description =
    'On the embedded default topology (two hosts; tenants blue and red with the same 10.0.0.0/24; four VMs): starts the ' +
    'lab with capture on, connects VMs across hosts with rdma_cm and verifies SEND, RDMA WRITE, RDMA READ and atomics ' +
    'in both VPCs, shows a cross-tenant connect refused, removes a security-group rule (the live connection is reset) ' +
    'and adds it back, merges the capture, benches masq against sriov and freeflow, runs the attack suite and stops the ' +
    'lab. Each step is told on stdout (on stderr with --json); the out dir gets report.html, results.json, ' +
    'capture.pcap, attacks.json and demo.json. Exit status 1 if any step fails, 130 on Ctrl-C (the lab is torn down).'
  static override enableJsonFlag = true
  static override flags = {
    quick: Flags.boolean({default: false, description: 'fewer iterations, a shorter bench and the quick attack selection (about 30 s)'}),
    keep: Flags.boolean({default: false, description: 'leave the lab running at the end (prints how to reach and stop it)'}),
    out: Flags.string({description: 'output directory (default: ./masq-demo-<timestamp>/)'}),
  }
  static override examples = ['<%= config.bin %> demo', '<%= config.bin %> demo --quick --out /tmp/demo', '<%= config.bin %> demo --keep && masq status demo']

  public async run(): Promise<DemoDoc> {
    const {flags} = await this.parse(Demo)
    const json = this.jsonEnabled()
    const abort = new AbortController()
    const onSignal = () => abort.abort()
    process.on('SIGINT', onSignal)
    process.on('SIGTERM', onSignal)
    let doc: DemoDoc
    try {
      doc = await runDemo({
        quick: flags.quick, keep: flags.keep, outDir: flags.out, signal: abort.signal, renderer: pickRenderer(),
        // oclif mutes log and logToStderr under --json: the narrative then goes to stderr directly
        say: (l) => (json ? process.stderr.write(`${l}\n`) : this.log(l)),
        progress: (l) => process.stderr.write(`${l}\n`),
      })
    } finally {
      process.off('SIGINT', onSignal)
      process.off('SIGTERM', onSignal)
    }
    if (!json) this.log(formatSummary(doc))
    if (abort.signal.aborted) process.exitCode = 130
    else if (!doc.ok) process.exitCode = 1
    return doc
  }
}
