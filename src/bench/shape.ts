// The shape the MasQ paper reports (issue 7, "Done when"), checked on one run's results: data path of masq
// equal to sriov, freeflow slower for small messages, masq connection setup at most ~11% over sriov.
import {CONTROL_VERBS, type Op, type ResultsDoc} from './results.js'

export interface ShapeCheck {
  claim: string
  /** The measured ratio (or difference), null when a needed figure is missing. */
  value: number | null
  target: string
  pass: boolean | null
}

/** Each paper claim with this run's figure; `op` picks the data-path op (default: the first measured). */
export function paperShape(doc: ResultsDoc, op?: Op): ShapeCheck[] {
  const m = doc.modes
  const useOp = op ?? doc.config.ops[0] ?? 'write'
  const bw = (mode: keyof typeof m, bytes: number) => figure(m[mode]?.bw.find((r) => r.op === useOp && r.bytes === bytes), (r) => r.bwAverage)
  const lat = (mode: keyof typeof m, bytes: number) => figure(m[mode]?.lat.find((r) => r.op === useOp && r.bytes === bytes), (r) => r.tTypical)
  const within = (v: number | null, lo: number, hi: number) => (v === null ? null : v >= lo && v <= hi)
  const checks: ShapeCheck[] = []
  for (const bytes of [65536, 2]) {
    const v = div(bw('masq', bytes), bw('sriov', bytes))
    checks.push({claim: `masq / sriov throughput, ${useOp} ${bytes} B`, value: v, target: '0.97 .. 1.03', pass: within(v, 0.97, 1.03)})
  }
  const latBytes = smallestLat(doc, useOp)
  const l = div(lat('masq', latBytes), lat('sriov', latBytes))
  checks.push({claim: `masq / sriov latency, ${useOp} ${latBytes} B`, value: l, target: '0.97 .. 1.03', pass: within(l, 0.97, 1.03)})
  const ff = div(lat('freeflow', 2), lat('masq', 2))
  checks.push({claim: `freeflow / masq latency, ${useOp} 2 B`, value: ff, target: '>= 1.5', pass: ff === null ? null : ff >= 1.5})
  const ffBw = div(bw('freeflow', 512), bw('masq', 512))
  checks.push({claim: `freeflow / masq throughput, ${useOp} 512 B`, value: ffBw, target: '< 0.9 (visibly below)', pass: ffBw === null ? null : ffBw < 0.9})
  const conn = div(figure(m.masq?.conn, (c) => c.medianUs), figure(m.sriov?.conn, (c) => c.medianUs))
  checks.push({claim: 'masq / sriov connection setup (median)', value: conn, target: '<= 1.11 (paper: +11%)', pass: conn === null ? null : conn <= 1.11})
  for (const verb of CONTROL_VERBS) {
    const a = m.masq?.verbs?.[verb]?.medianUs
    const b = m.sriov?.verbs?.[verb]?.medianUs
    if (a === undefined || b === undefined) continue
    checks.push({claim: `masq - sriov ${verb} [usec]`, value: a - b, target: 'reported', pass: true})
  }
  return checks
}

/** A figure and its per-run values (when --runs > 1). */
interface Fig {value: number; runs?: number[]}

function figure<T extends {spread?: {runs?: number[]}}>(row: T | undefined, get: (r: T) => number): Fig | undefined {
  return row ? {value: get(row), ...(row.spread?.runs ? {runs: row.spread.runs} : {})} : undefined
}

/**
 * a / b. With --runs, the median of the per-run ratios: the two modes of one run were measured minutes apart at
 * most (back to back per step), so pairing them cancels the drift of a shared machine's load between runs.
 */
export function div(a: Fig | undefined, b: Fig | undefined): number | null {
  if (!a || !b || b.value === 0) return null
  if (a.runs && b.runs && a.runs.length === b.runs.length && a.runs.length > 1) {
    const r = a.runs.map((x, i) => x / b.runs![i]!).filter(Number.isFinite).sort((x, y) => x - y)
    if (r.length) return r.length % 2 ? r[r.length >> 1]! : (r[(r.length >> 1) - 1]! + r[r.length >> 1]!) / 2
  }
  return a.value / b.value
}

function smallestLat(doc: ResultsDoc, op: Op): number {
  const sizes = [doc.modes.masq, doc.modes.sriov].flatMap((x) => x?.lat.filter((r) => r.op === op).map((r) => r.bytes) ?? [])
  return sizes.length ? Math.min(...sizes) : 2
}

/** One line per check: PASS / FAIL / n/a, the claim, value and target. */
export function formatShape(checks: readonly ShapeCheck[]): string {
  return checks.map((c) => {
    const verdict = c.pass === null ? 'n/a ' : c.pass ? 'PASS' : 'FAIL'
    return ` ${verdict}  ${c.claim}: ${c.value === null ? '-' : c.value.toFixed(3)} (target ${c.target})`
  }).join('\n') + '\n'
}
