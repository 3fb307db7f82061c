// From raw timestamps of one mode (what the built-in workloads record) to that mode's results: perftest rows,
// latency CDFs, connection and control-verb figures, and the perftest-format transcript. Warm-up samples are
// dropped here, so every caller excludes them the same way.
import {
  bwDurationReport, bwReport, formatBwTable, formatLatDurTable, formatLatTable, formatTestInfo, latDurationReport, latReport,
  type LatDurRow, type PerftestInfo,
} from './perftest.js'
import {connResult, latencyCdf, verbResults, type BwResult, type ControlVerb, type LatResult, type ModeResults, type Op} from './results.js'

export interface RawBw {
  op: Op
  size: number
  /** Iterations mode: per-WR post and completion stamps, ns. */
  tposted?: ArrayLike<number>
  tcompleted?: ArrayLike<number>
  /** Duration mode (-D): iterations completed in the sampled period. */
  iters?: number
  elapsedNs?: number
  cqMod?: number
}

export interface RawLat {
  op: Op
  size: number
  /** Round-trip (send/write: ping-pong; read/atomic: request-response) times, ns, warm-up included. */
  samplesNs?: ArrayLike<number>
  /** #iterations to print; default samples + 1 (perftest times iters - 1 deltas between post stamps). */
  iterations?: number
  /** Duration mode. */
  iters?: number
  elapsedNs?: number
}

export interface RawMode {
  bw?: RawBw[]
  lat?: RawLat[]
  conn?: {samplesNs: ArrayLike<number>; elapsedNs?: number}
  verbs?: Partial<Record<ControlVerb, ArrayLike<number>>>
  /** Banner fields for the transcript (device, MTU, qps, ...). */
  info?: Partial<Omit<PerftestInfo, 'verb' | 'test'>>
}

export interface CollectOptions {
  gbits?: boolean
  /** Latency samples dropped from the front (default 0: the workload already skipped its warm-up). */
  warmupSamples?: number
  /** Points kept per latency CDF. */
  cdfPoints?: number
}

export function collectMode(raw: RawMode, opts: CollectOptions = {}): ModeResults {
  const warm = opts.warmupSamples ?? 0
  const bw: BwResult[] = (raw.bw ?? []).map((b) => {
    const row = b.tposted && b.tcompleted
      ? bwReport({size: b.size, tposted: b.tposted, tcompleted: b.tcompleted, cqMod: b.cqMod, gbits: opts.gbits})
      : bwDurationReport({size: b.size, iters: b.iters ?? 0, elapsedNs: b.elapsedNs ?? Number.NaN, gbits: opts.gbits})
    return {op: b.op, ...row}
  })
  const lat: LatResult[] = []
  const latDur: Array<LatDurRow & {op: Op}> = []
  for (const l of raw.lat ?? []) {
    if (l.samplesNs) {
      const samples = Array.from(l.samplesNs).slice(warm)
      lat.push({op: l.op, ...latReport(samples, {size: l.size, verb: l.op, ...(l.iterations !== undefined ? {iterations: l.iterations} : {})}), cdf: latencyCdf(samples, l.op, opts.cdfPoints ?? 200)})
    } else {
      latDur.push({op: l.op, ...latDurationReport({size: l.size, iters: l.iters ?? 0, elapsedNs: l.elapsedNs ?? Number.NaN, verb: l.op})})
    }
  }
  const out: ModeResults = {bw, lat}
  if (raw.conn) out.conn = connResult(raw.conn.samplesNs, raw.conn.elapsedNs)
  if (raw.verbs) out.verbs = verbResults(raw.verbs)
  const durationOps = new Set((raw.bw ?? []).filter((b) => !(b.tposted && b.tcompleted)).map((b) => b.op))
  const transcript = transcriptOf(bw, lat, latDur, raw.info ?? {}, durationOps)
  if (transcript) out.transcript = transcript
  return out
}

/** One perftest banner and table per op and test, as `ib_<op>_bw -a` / `ib_<op>_lat -a` would print them. */
function transcriptOf(bw: BwResult[], lat: LatResult[], latDur: Array<LatDurRow & {op: Op}>, info: Partial<PerftestInfo>, durationOps: Set<Op>): string {
  let s = ''
  for (const op of unique(bw.map((r) => r.op))) {
    s += formatTestInfo({...info, verb: op, test: 'bw', duration: durationOps.has(op)}) + formatBwTable(bw.filter((r) => r.op === op).map(stripOp))
  }
  for (const op of unique(lat.map((r) => r.op))) {
    s += formatTestInfo({...info, verb: op, test: 'lat'}) + formatLatTable(lat.filter((r) => r.op === op).map(stripOp))
  }
  for (const op of unique(latDur.map((r) => r.op))) {
    s += formatTestInfo({...info, verb: op, test: 'lat'}) + formatLatDurTable(latDur.filter((r) => r.op === op).map(stripOp))
  }
  return s
}

function stripOp<T extends {op: Op}>(r: T): Omit<T, 'op' | 'cdf' | 'spread'> {
  const {op: _op, cdf: _cdf, spread: _spread, ...rest} = r as T & {cdf?: unknown; spread?: unknown}
  return rest
}

const unique = <T>(xs: T[]): T[] => [...new Set(xs)]
