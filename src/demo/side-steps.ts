// The demo's steps that run beside its lab: a short bench of masq against sriov and freeflow (src/bench's
// runner, its own labs) and the attack suite (src/attacks' runner).
import fs from 'node:fs'
import path from 'node:path'
import {writeBenchOutput, type ResultsDoc} from '../bench/index.js'
import {runBench} from '../bench/runner.js'
import type {Mode} from '../topology/types.js'
import {DEFAULT_TOPOLOGY, DEFAULT_TOPOLOGY_FILE} from '../topology/default.js'
import {DemoStepError, round, type StepOutput} from './lab-steps.js'

export const BENCH_MODES: Mode[] = ['sriov', 'masq', 'freeflow']

/** perftest-style bench at few iterations: every test (throughput, latency, connection setup, control verbs), or
 *  with --quick only 64 KiB throughput (three labs' start-up is most of its cost on a loaded machine). */
export async function benchStep(outDir: string, o: {quick: boolean; signal?: AbortSignal; progress?: (l: string) => void}): Promise<StepOutput> {
  const iterations = 200
  const test = o.quick ? 'bw' : 'all'
  const {doc} = await runBench({
    topologyText: DEFAULT_TOPOLOGY, topologyFile: DEFAULT_TOPOLOGY_FILE, signal: o.signal,
    request: {modes: BENCH_MODES, ops: ['write'], test, iterations, ...(o.quick ? {size: 65536} : {})},
    log: o.progress, progressStream: {write: (s: string) => o.progress?.(s.replace(/\s+$/, '')), isTTY: false},
    wireLimit: o.quick ? false : {durationMs: 300, iterations: 500},
  })
  const files = await writeBenchOutput(outDir, doc)
  const lines = [`${BENCH_MODES.join(', ')} side by side (RDMA WRITE, ${o.quick ? '64 KiB throughput only, ' : ''}${iterations} iterations per test, perftest's method):`]
  lines.push(...benchLines(doc))
  lines.push(`open ${path.basename(files.report)} for the charts; ${path.basename(files.results)} holds every figure (masq bench compare reads it)`)
  return {lines, data: {test, iterations, ratios: doc.ratios.filter((r) => BENCH_MODES.includes(r.mode)).map((r) => ({...r, value: round(r.value, 3)}))}}
}

/** A newcomer's reading of the results: masq vs sriov (the paper: the same data path) and freeflow vs masq. */
export function benchLines(doc: ResultsDoc): string[] {
  const out: string[] = []
  const find = (metric: string, mode: Mode, bytes: number) => doc.ratios.find((r) => r.metric === metric && r.mode === mode && r.bytes === bytes)
  const bwSizes = [...new Set(doc.ratios.filter((r) => r.metric === 'bw_average').map((r) => r.bytes))]
  for (const bytes of bwSizes) {
    const cells = BENCH_MODES.map((m) => find('bw_average', m, bytes)).filter((r) => r !== undefined)
    out.push(`  throughput ${String(bytes).padStart(5)} B: ${cells.map((r) => `${r.mode} ${num(r.value)} MB/s`).join(', ')}${vs(find('bw_average', 'masq', bytes)?.vsSriov)}`)
  }
  const latSizes = [...new Set(doc.ratios.filter((r) => r.metric === 'lat_typical').map((r) => r.bytes))]
  for (const bytes of latSizes) {
    const cells = BENCH_MODES.map((m) => find('lat_typical', m, bytes)).filter((r) => r !== undefined)
    out.push(`  latency    ${String(bytes).padStart(5)} B: ${cells.map((r) => `${r.mode} ${num(r.value)} us`).join(', ')}${vs(find('lat_typical', 'masq', bytes)?.vsSriov)}`)
  }
  const conn = BENCH_MODES.flatMap((m) => (doc.modes[m]?.conn ? [`${m} ${doc.modes[m]!.conn!.medianUs.toFixed(0)} us`] : []))
  if (conn.length) {
    const m = doc.modes.masq?.conn?.medianUs
    const s = doc.modes.sriov?.conn?.medianUs
    out.push(`  connection setup (median): ${conn.join(', ')}${m && s ? ` — masq pays ${((m / s - 1) * 100).toFixed(0)}% for its checks (the paper: +11%)` : ''}`)
  }
  const qp = (mode: Mode) => doc.modes[mode]?.verbs?.create_qp?.medianUs
  if (qp('masq') !== undefined && qp('sriov') !== undefined) {
    out.push(`  control verbs go through the MasQ backend: create_qp ${qp('masq')!.toFixed(0)} us in masq vs ${qp('sriov')!.toFixed(0)} us in sriov; data verbs do not`)
  }
  out.push('  on a loaded machine these figures swing a lot: rerun `masq bench` on a quiet one before reading much into them')
  return out
}

/** Three significant digits, no exponent: 0.0123, 4.56, 1234. */
const num = (v: number) => (v >= 100 ? v.toFixed(0) : v.toPrecision(3))

const vs = (r: number | null | undefined) => (r === null || r === undefined ? '' : ` (masq/sriov ${r.toFixed(2)})`)

/**
 * The attack suite as `masq attack-test` runs it (src/attacks/suite.ts): RNIC-level scenarios in process, backend
 * scenarios in the embedded attack-test lab; --quick runs its representative subset.
 */
export async function attackStep(outDir: string, o: {quick: boolean}): Promise<StepOutput> {
  const {runAttackSuite} = await import('../attacks/suite.js')
  const suite = await runAttackSuite({quick: o.quick, seed: 1})
  const env = {kind: suite.env}
  fs.writeFileSync(path.join(outDir, 'attacks.json'), JSON.stringify(suite, null, 2) + '\n')
  const t = suite.totals
  const lines = [`${suite.results.length} attacks from the catalogue (env: ${env.kind}): ${t.blocked} blocked, ${t.expected} expected behaviour, ` +
    `${t.exposed} exposed (documented), ${t.LEAKED} LEAKED, ${t.error} errors, ${t.skipped} skipped`]
  const blocked = suite.results.filter((r) => r.verdict === 'blocked').slice(0, 4)
  for (const r of blocked) lines.push(`  ${r.id} ${r.title}: blocked (${r.signal})`)
  for (const r of suite.results.filter((x) => x.verdict === 'LEAKED' || x.verdict === 'error')) lines.push(`  ${r.id} ${r.title}: ${r.verdict}: ${r.reason ?? ''}`)
  lines.push('every verdict with its evidence: attacks.json (or `masq attack-test`)')
  const data = {env: env.kind, totals: t, exitCode: suite.exitCode}
  if (t.LEAKED || t.error || suite.results.length === t.skipped) throw new DemoStepError(`the attack suite found ${t.LEAKED} leaks and ${t.error} errors`, lines, data)
  return {lines, data}
}
