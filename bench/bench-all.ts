// The long run of issue 7 as a benchmark script, not a test: `masq bench --test all -a --ops send,write,read,atomic`
// in all five modes on the embedded default topology. Needs a built dist/ (the lab processes run from it):
// `npx tsc -p . && npx tsx bench/bench-all.ts [--out DIR] [-n ITERS] [--modes m1,m2] [--ops o1,o2] [--runs N] [--events]`. Prints the perftest tables, the
// comparison, control-verb table, wire limit and the paper-shape checks; exit 1 if a run failed.
import {pathToFileURL} from 'node:url'
import {OPS} from '../src/bench/bench-plan.js'
import {writeBenchOutput, type Op} from '../src/bench/index.js'
import {runBench} from '../src/bench/runner.js'
import {DEFAULT_TOPOLOGY, DEFAULT_TOPOLOGY_FILE} from '../src/topology/default.js'
import {MODES, type Mode} from '../src/topology/types.js'

export async function main(args: readonly string[] = process.argv.slice(2)): Promise<void> {
  const val = (name: string) => {
    const i = args.indexOf(name)
    return i >= 0 ? args[i + 1] : undefined
  }
  // -a with perftest's 5000/1000 iterations takes hours here; 100 keeps every size while staying short
  const iterations = Number(val('-n') ?? 100)
  const modes = (val('--modes')?.split(',') ?? [...MODES]) as Mode[]
  const ops = (val('--ops')?.split(',') ?? [...OPS]) as Op[]
  const abort = new AbortController()
  process.once('SIGINT', () => abort.abort())
  const {doc, text} = await runBench({
    topologyText: DEFAULT_TOPOLOGY, topologyFile: DEFAULT_TOPOLOGY_FILE, signal: abort.signal,
    request: {modes, ops, test: 'all', all: true, iterations, runs: Number(val('--runs') ?? 1), events: args.includes('--events')},
  })
  process.stdout.write(text)
  const out = val('--out')
  if (out) {
    const files = await writeBenchOutput(out, doc)
    process.stderr.write(`wrote ${files.results} and ${files.report}\n`)
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err) => {
    process.stderr.write(`bench-all: ${(err as Error).message}\n`)
    process.exitCode = (err as {exitCode?: number}).exitCode ?? 1
  })
}
