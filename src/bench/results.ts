// The results document that `masq bench --out DIR` writes (results.json), and the figures derived from
// per-mode measurements: ratios to bare and to sriov, connection setup, control-verb latency, --runs spread.
import {createHash} from 'node:crypto'
import os from 'node:os'
import {MODES, type Mode} from '../topology/types.js'
import {Histogram} from './histogram.js'
import {rttFactor, type BwRow, type LatRow, type PerftestVerb} from './perftest-stats.js'
import type {CdfPoint} from './histogram.js'
import type {WireLimit} from './wire-limit.js'

export const RESULTS_VERSION = 1
/** The virtualization modes (shared contract), in the order tables and charts show them. */
export {MODES, type Mode} from '../topology/types.js'
export type Op = PerftestVerb
/** The control verbs timed per mode (the workload verbs-lat), in life-cycle order; modify_qp is split by target
 *  state as the paper discusses it. */
export const CONTROL_VERBS = [
  'alloc_pd', 'reg_mr', 'create_cq', 'create_qp', 'modify_qp_init', 'modify_qp_rtr', 'modify_qp_rts',
  'destroy_qp', 'destroy_cq', 'dereg_mr', 'dealloc_pd',
] as const
export type ControlVerb = (typeof CONTROL_VERBS)[number]

/** min / median / max of one figure over --runs repeats. */
/** A figure over --runs repeats; `runs` keeps each run's value in run order (paired ratios, shape.ts). */
export interface Spread { min: number; median: number; max: number; n: number; runs?: number[] }

export interface BwResult extends BwRow { op: Op; spread?: Spread }
export interface LatResult extends LatRow {
  op: Op
  /** Latency CDF in usec (same RTT factor as the row), for the report. */
  cdf?: CdfPoint[]
  spread?: Spread
}
export interface ConnResult { count: number; medianUs: number; p99Us: number; meanUs: number; connsPerSec: number; spread?: Spread }
export interface VerbResult { count: number; medianUs: number; p99Us: number; meanUs: number; spread?: Spread }

export interface ModeResults {
  bw: BwResult[]
  lat: LatResult[]
  conn?: ConnResult
  verbs?: Partial<Record<ControlVerb, VerbResult>>
  /** perftest-format text exactly as printed, for the report. */
  transcript?: string
}

export interface EnvFingerprint {
  cpuModel: string
  cores: number
  node: string
  platform: string
  kernel: string
  /** sha256 of the topology text, hex; '' without one. */
  topologyHash: string
}

export interface BenchConfig {
  modes: Mode[]
  ops: Op[]
  test: 'bw' | 'lat' | 'conn' | 'verbs' | 'all'
  sizes: number[]
  iterations?: number
  durationSeconds?: number
  qps: number
  connection: 'RC' | 'UC' | 'UD'
  reportGbits: boolean
  runs: number
}

export interface RatioRow {
  op: Op
  bytes: number
  metric: 'bw_average' | 'lat_typical'
  mode: Mode
  value: number
  /** value / bare's value; null when bare was not measured. */
  vsBare: number | null
  vsSriov: number | null
}

export interface ResultsDoc {
  version: typeof RESULTS_VERSION
  createdAt: string
  env: EnvFingerprint
  config: BenchConfig
  wireLimit?: WireLimit
  modes: Partial<Record<Mode, ModeResults>>
  ratios: RatioRow[]
}

/** This machine, plus the topology's hash so that runs on different labs are not compared blindly. */
export function envFingerprint(topologyText = ''): EnvFingerprint {
  const cpus = os.cpus()
  return {
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    cores: cpus.length,
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    kernel: os.release(),
    topologyHash: topologyText ? createHash('sha256').update(topologyText).digest('hex') : '',
  }
}

/** Assemble a document; ratios are always recomputed from the modes. */
export function buildResults(input: {env: EnvFingerprint; config: BenchConfig; modes: ResultsDoc['modes']; wireLimit?: WireLimit; createdAt?: Date}): ResultsDoc {
  return {
    version: RESULTS_VERSION,
    createdAt: (input.createdAt ?? new Date()).toISOString(),
    env: input.env,
    config: input.config,
    ...(input.wireLimit ? {wireLimit: input.wireLimit} : {}),
    modes: input.modes,
    ratios: computeRatios(input.modes),
  }
}

/** Each mode's BW average and typical latency divided by bare's and sriov's, per op and size. */
export function computeRatios(modes: ResultsDoc['modes']): RatioRow[] {
  const rows: RatioRow[] = []
  const find = <T extends {op: Op; bytes: number}>(list: T[] | undefined, op: Op, bytes: number) => list?.find((r) => r.op === op && r.bytes === bytes)
  const ratio = (v: number, base: number | undefined) => (base === undefined || base === 0 ? null : v / base)
  for (const mode of MODES) {
    const m = modes[mode]
    if (!m) continue
    for (const r of m.bw) {
      rows.push({
        op: r.op, bytes: r.bytes, metric: 'bw_average', mode, value: r.bwAverage,
        vsBare: ratio(r.bwAverage, find(modes.bare?.bw, r.op, r.bytes)?.bwAverage),
        vsSriov: ratio(r.bwAverage, find(modes.sriov?.bw, r.op, r.bytes)?.bwAverage),
      })
    }
    for (const r of m.lat) {
      rows.push({
        op: r.op, bytes: r.bytes, metric: 'lat_typical', mode, value: r.tTypical,
        vsBare: ratio(r.tTypical, find(modes.bare?.lat, r.op, r.bytes)?.tTypical),
        vsSriov: ratio(r.tTypical, find(modes.sriov?.lat, r.op, r.bytes)?.tTypical),
      })
    }
  }
  return rows
}

/** Connection setup from per-connection times (ns). conns/s is count / elapsed when given, else 1 / mean. */
export function connResult(samplesNs: ArrayLike<number>, elapsedNs?: number): ConnResult {
  const h = histogramOf(samplesNs)
  const meanUs = h.mean / 1000
  return {
    count: h.count,
    medianUs: h.percentile(50) / 1000,
    p99Us: h.percentile(99) / 1000,
    meanUs,
    connsPerSec: elapsedNs && elapsedNs > 0 ? h.count / (elapsedNs / 1e9) : 1e6 / meanUs,
  }
}

/** Control-verb latency per verb from samples (ns). */
export function verbResults(samples: Partial<Record<ControlVerb, ArrayLike<number>>>): Partial<Record<ControlVerb, VerbResult>> {
  const out: Partial<Record<ControlVerb, VerbResult>> = {}
  for (const verb of CONTROL_VERBS) {
    const s = samples[verb]
    if (!s || s.length === 0) continue
    const h = histogramOf(s)
    out[verb] = {count: h.count, medianUs: h.percentile(50) / 1000, p99Us: h.percentile(99) / 1000, meanUs: h.mean / 1000}
  }
  return out
}

export interface ConnTableRow { mode: Mode; medianUs: number; p99Us: number; connsPerSec: number; vsSriov: number | null }

/** The connection-setup table: one row per measured mode, median ratio to sriov (the paper's +11%). */
export function connTable(modes: ResultsDoc['modes']): ConnTableRow[] {
  const sriov = modes.sriov?.conn?.medianUs
  return MODES.flatMap((mode) => {
    const c = modes[mode]?.conn
    return c ? [{mode, medianUs: c.medianUs, p99Us: c.p99Us, connsPerSec: c.connsPerSec, vsSriov: sriov ? c.medianUs / sriov : null}] : []
  })
}

export interface VerbTableRow {
  verb: ControlVerb
  /** Median usec per mode. */
  medianUs: Partial<Record<Mode, number>>
  /** masq minus sriov, usec: the per-verb price of the control-path round trip and checks. */
  masqOverSriovUs: number | null
}

export function verbTable(modes: ResultsDoc['modes']): VerbTableRow[] {
  return CONTROL_VERBS.flatMap((verb) => {
    const medianUs: Partial<Record<Mode, number>> = {}
    for (const mode of MODES) {
      const v = modes[mode]?.verbs?.[verb]
      if (v) medianUs[mode] = v.medianUs
    }
    if (Object.keys(medianUs).length === 0) return []
    const overhead = medianUs.masq !== undefined && medianUs.sriov !== undefined ? medianUs.masq - medianUs.sriov : null
    return [{verb, medianUs, masqOverSriovUs: overhead}]
  })
}

/** Latency CDF in usec with perftest's RTT factor (RTT/2 for send/write), thinned to at most maxPoints. */
export function latencyCdf(samplesNs: ArrayLike<number>, verb: Op, maxPoints = 200): CdfPoint[] {
  const f = rttFactor(verb)
  const h = new Histogram({significantDigits: 3})
  for (let i = 0; i < samplesNs.length; i++) h.record(samplesNs[i]! / f)
  const all = h.cdf().map((p) => ({value: p.value / 1000, fraction: p.fraction}))
  if (all.length <= maxPoints) return all
  // Keep evenly spaced points in rank order, always the last one.
  const step = all.length / maxPoints
  const out: CdfPoint[] = []
  for (let i = step - 1; i < all.length; i += step) out.push(all[Math.floor(i)]!)
  if (out.at(-1) !== all.at(-1)) out.push(all.at(-1)!)
  return out
}

/** min / median / max (median of an even count averages the middle two). */
export function spread(values: readonly number[]): Spread {
  const s = values.filter(Number.isFinite).sort((a, b) => a - b)
  if (s.length === 0) return {min: Number.NaN, median: Number.NaN, max: Number.NaN, n: 0}
  const mid = s.length >> 1
  return {min: s[0]!, median: s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2, max: s.at(-1)!, n: s.length}
}

/**
 * Fold --runs N repeats of one mode into one: every row is the run whose headline figure (BW average,
 * typical latency, setup median, verb median) is the median, with the spread of that figure attached.
 */
export function aggregateRuns(runs: readonly ModeResults[]): ModeResults {
  if (runs.length === 0) throw new RangeError('aggregateRuns needs at least one run')
  const key = (r: {op: Op; bytes: number}) => `${r.op}/${r.bytes}`
  const pick = <T>(items: T[], figure: (t: T) => number): T & {spread: Spread} => {
    const sp = {...spread(items.map(figure)), ...(items.length > 1 ? {runs: items.map(figure)} : {})}
    const chosen = items.reduce((best, t) => (Math.abs(figure(t) - sp.median) < Math.abs(figure(best) - sp.median) ? t : best))
    return {...chosen, spread: sp}
  }
  const groups = <T extends {op: Op; bytes: number}>(rows: T[][]): T[][] => {
    const m = new Map<string, T[]>()
    for (const list of rows) for (const r of list) m.set(key(r), [...(m.get(key(r)) ?? []), r])
    return [...m.values()]
  }
  const out: ModeResults = {
    bw: groups(runs.map((r) => r.bw)).map((g) => pick(g, (r) => r.bwAverage)),
    lat: groups(runs.map((r) => r.lat)).map((g) => pick(g, (r) => r.tTypical)),
  }
  const conns = runs.flatMap((r) => (r.conn ? [r.conn] : []))
  if (conns.length) out.conn = pick(conns, (c) => c.medianUs)
  const verbs: Partial<Record<ControlVerb, VerbResult>> = {}
  for (const verb of CONTROL_VERBS) {
    const vs = runs.flatMap((r) => (r.verbs?.[verb] ? [r.verbs[verb]!] : []))
    if (vs.length) verbs[verb] = pick(vs, (v) => v.medianUs)
  }
  if (Object.keys(verbs).length) out.verbs = verbs
  const transcript = runs.map((r) => r.transcript).find((t) => t !== undefined)
  if (transcript !== undefined) out.transcript = transcript
  return out
}

/** Read a results.json someone hands us: a clear error for anything that is not a version-1 document. */
export function parseResults(text: string, name = 'results.json'): ResultsDoc {
  let doc: unknown
  try {
    doc = JSON.parse(text)
  } catch (err) {
    throw new Error(`${name}: not JSON (${(err as Error).message})`)
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new Error(`${name}: not a results document`)
  const d = doc as Partial<ResultsDoc>
  if (d.version !== RESULTS_VERSION) throw new Error(`${name}: results version ${String(d.version)} is not supported (expected ${RESULTS_VERSION})`)
  if (typeof d.modes !== 'object' || d.modes === null) throw new Error(`${name}: missing "modes"`)
  for (const [mode, m] of Object.entries(d.modes)) {
    if (!(MODES as readonly string[]).includes(mode)) throw new Error(`${name}: unknown mode "${mode}" (known: ${MODES.join(', ')})`)
    if (!Array.isArray(m?.bw) || !Array.isArray(m?.lat)) throw new Error(`${name}: mode "${mode}" needs "bw" and "lat" arrays`)
  }
  return d as ResultsDoc
}

function histogramOf(samplesNs: ArrayLike<number>): Histogram {
  const h = new Histogram({significantDigits: 3})
  for (let i = 0; i < samplesNs.length; i++) h.record(samplesNs[i]!)
  return h
}
