// `masq bench compare a.json b.json`: every figure present in both runs, old vs new, delta in percent,
// flagged beyond a threshold and labelled better/worse by the figure's direction.
import {readFile} from 'node:fs/promises'
import {readResults} from './results-schema.js'
import {CONTROL_VERBS, MODES, type EnvFingerprint, type ResultsDoc} from './results.js'
import {fmt, textTable} from './tables.js'

export type Metric = 'bw_average' | 'bw_peak' | 'msg_rate' | 'lat_typical' | 'lat_p99' | 'lat_p999' | 'conn_median' | 'conn_p99' | 'conns_per_sec' | `verb_${string}`

export interface CompareRow {
  mode: string
  op: string
  metric: Metric
  /** Message size; null for connection and verb figures. */
  bytes: number | null
  unit: string
  old: number
  new: number
  /** (new - old) / old x 100; null when old is 0. */
  deltaPct: number | null
  /** |delta| beyond the threshold. */
  flagged: boolean
  /** Whether the change is an improvement (null when unchanged or undefined). */
  better: boolean | null
}

export interface CompareResult {
  thresholdPct: number
  old: {createdAt: string; env: EnvFingerprint}
  new: {createdAt: string; env: EnvFingerprint}
  /** Environment fields that differ: figures from different machines or topologies compare poorly. */
  envChanged: string[]
  rows: CompareRow[]
  /** Figures measured in only one of the runs, as "mode/op/metric/bytes". */
  onlyOld: string[]
  onlyNew: string[]
}

interface Figure { mode: string; op: string; metric: Metric; bytes: number | null; unit: string; value: number; higherIsBetter: boolean }

/** Flatten a document into comparable figures keyed by mode/op/metric/bytes. */
export function figures(doc: ResultsDoc): Map<string, Figure> {
  const out = new Map<string, Figure>()
  const add = (f: Figure) => { if (Number.isFinite(f.value)) out.set(`${f.mode}/${f.op}/${f.metric}/${f.bytes ?? '-'}`, f) }
  for (const mode of MODES) {
    const m = doc.modes[mode]
    if (!m) continue
    for (const r of m.bw) {
      add({mode, op: r.op, metric: 'bw_average', bytes: r.bytes, unit: r.unit, value: r.bwAverage, higherIsBetter: true})
      add({mode, op: r.op, metric: 'msg_rate', bytes: r.bytes, unit: 'Mpps', value: r.msgRate, higherIsBetter: true})
    }
    for (const r of m.lat) {
      add({mode, op: r.op, metric: 'lat_typical', bytes: r.bytes, unit: 'usec', value: r.tTypical, higherIsBetter: false})
      add({mode, op: r.op, metric: 'lat_p99', bytes: r.bytes, unit: 'usec', value: r.p99, higherIsBetter: false})
    }
    if (m.conn) {
      add({mode, op: 'connect', metric: 'conn_median', bytes: null, unit: 'usec', value: m.conn.medianUs, higherIsBetter: false})
      add({mode, op: 'connect', metric: 'conn_p99', bytes: null, unit: 'usec', value: m.conn.p99Us, higherIsBetter: false})
      add({mode, op: 'connect', metric: 'conns_per_sec', bytes: null, unit: 'conn/s', value: m.conn.connsPerSec, higherIsBetter: true})
    }
    for (const verb of CONTROL_VERBS) {
      const v = m.verbs?.[verb]
      if (v) add({mode, op: verb, metric: `verb_${verb}`, bytes: null, unit: 'usec', value: v.medianUs, higherIsBetter: false})
    }
  }
  return out
}

export function compareResults(a: ResultsDoc, b: ResultsDoc, opts: {thresholdPct?: number} = {}): CompareResult {
  const thresholdPct = opts.thresholdPct ?? 5
  const fa = figures(a)
  const fb = figures(b)
  const rows: CompareRow[] = []
  for (const [key, o] of fa) {
    const n = fb.get(key)
    if (!n) continue
    const deltaPct = o.value === 0 ? null : ((n.value - o.value) / o.value) * 100
    const flagged = deltaPct === null ? n.value !== o.value : Math.abs(deltaPct) > thresholdPct
    const better = n.value === o.value ? null : (n.value > o.value) === o.higherIsBetter
    rows.push({mode: o.mode, op: o.op, metric: o.metric, bytes: o.bytes, unit: o.unit, old: o.value, new: n.value, deltaPct, flagged, better})
  }
  const envChanged = (Object.keys(a.env ?? {}) as Array<keyof EnvFingerprint>).filter((k) => a.env[k] !== b.env?.[k])
  return {
    thresholdPct,
    old: {createdAt: a.createdAt, env: a.env},
    new: {createdAt: b.createdAt, env: b.env},
    envChanged,
    rows,
    onlyOld: [...fa.keys()].filter((k) => !fb.has(k)),
    onlyNew: [...fb.keys()].filter((k) => !fa.has(k)),
  }
}

/** Read two results.json files (schema-checked, errors name the file) and compare them. */
export async function compareFiles(oldPath: string, newPath: string, opts: {thresholdPct?: number} = {}): Promise<CompareResult> {
  const [a, b] = await Promise.all([oldPath, newPath].map(async (p) => readResults(await readFile(p, 'utf8'), p)))
  return compareResults(a!, b!, opts)
}

/** The comparison as a text table; `flaggedOnly` keeps the rows beyond the threshold. */
export function formatCompare(c: CompareResult, opts: {flaggedOnly?: boolean} = {}): string {
  const rows = (opts.flaggedOnly ? c.rows.filter((r) => r.flagged) : c.rows).map((r) => [
    r.mode, r.op, r.metric, r.bytes === null ? '-' : String(r.bytes), r.unit, fmt(r.old), fmt(r.new),
    r.deltaPct === null ? '-' : `${r.deltaPct >= 0 ? '+' : ''}${r.deltaPct.toFixed(1)}%`,
    r.flagged ? (r.better ? 'better' : 'WORSE') : '',
  ])
  let s = ''
  if (c.envChanged.length) s += `note: the runs differ in ${c.envChanged.join(', ')}\n`
  s += textTable(['mode', 'op', 'metric', '#bytes', 'unit', 'old', 'new', 'delta', `beyond ${c.thresholdPct}%`], rows)
  const flagged = c.rows.filter((r) => r.flagged)
  s += `${c.rows.length} figures compared, ${flagged.length} beyond ${c.thresholdPct}% (${flagged.filter((r) => r.better === false).length} worse)`
  if (c.onlyOld.length || c.onlyNew.length) s += `; only in old: ${c.onlyOld.length}, only in new: ${c.onlyNew.length}`
  return s + '\n'
}
