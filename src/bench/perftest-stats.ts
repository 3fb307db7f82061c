// The arithmetic of perftest 4.5's reports (perftest_parameters.c print_report_bw / print_report_lat /
// print_report_lat_duration), with one "cycle" = 1 ns: cycles_to_units is 1000 per usec, 1e9 per second.

export type PerftestVerb = 'send' | 'write' | 'read' | 'atomic'

/** perftest's `format_factor`: MB = 2^20 bytes (`0x100000`), Gb = 1e9 bits (`125000000` bytes). */
export const FORMAT_FACTOR = {mb: 0x100000, gb: 125_000_000} as const
/** perftest drops the two largest latency samples before every statistic (LAT_MEASURE_TAIL). */
export const LAT_MEASURE_TAIL = 2
/** `-a`: sizes 2, 4, ... 2^23 (MAX_SIZE 8388608). */
export const ALL_SIZES: readonly number[] = Array.from({length: 23}, (_, i) => 2 ** (i + 1))

const NS_PER_S = 1e9
const NS_PER_US = 1000

/** One row of the BW table. `iterations` is iters x qps, as perftest prints it. */
export interface BwRow {
  bytes: number
  iterations: number
  /** MB/sec (2^20) or Gb/sec (1e9 bits), per `unit`. */
  bwPeak: number
  bwAverage: number
  /** Mpps. */
  msgRate: number
  unit: 'MB/sec' | 'Gb/sec'
}

export interface BwInput {
  size: number
  /** Post time of every work request, ns (perftest `tposted`). */
  tposted: ArrayLike<number>
  /** Completion time per work request, ns (perftest `tcompleted`); only the signalled ones are read. */
  tcompleted: ArrayLike<number>
  /** CQ moderation: every cq_mod-th WR is signalled (default 100). */
  cqMod?: number
  postList?: number
  gbits?: boolean
  /** Skip the peak search (perftest -N); peak prints 0.00. */
  noPeak?: boolean
}

/** print_report_bw for the iterations mode: average over the whole run, peak over cq_mod-aligned windows. */
export function bwReport(input: BwInput): BwRow {
  const n = Math.min(input.tposted.length, input.tcompleted.length)
  if (n < 1) throw new RangeError('bwReport needs at least one iteration')
  const cqMod = Math.max(1, input.cqMod ?? 100)
  const postList = Math.max(1, input.postList ?? 1)
  const {tposted, tcompleted} = input
  const factor = input.gbits ? FORMAT_FACTOR.gb : FORMAT_FACTOR.mb
  // opt_delta: the best per-iteration time of any window [i, j] that ends on a signalled completion.
  // Integer division as in C (cycles_t). O(n^2 / cq_mod), like perftest. perftest seeds opt_delta with
  // tcompleted[0] - tposted[0], an unset (unsigned, so huge) stamp unless cq_mod is 1: start from infinity.
  let optDelta = Number.POSITIVE_INFINITY
  if (!input.noPeak) {
    for (let i = 0; i < n; i += postList) {
      for (let j = roundUp(i + 1, cqMod) - 1; j < n; j += cqMod) {
        const t = Math.trunc((tcompleted[j]! - tposted[i]!) / (j - i + 1))
        if (t < optDelta) optDelta = t
      }
      // The last WR is always signalled when n is not a multiple of cq_mod.
      if (n % cqMod) {
        const j = n - 1
        const t = Math.trunc((tcompleted[j]! - tposted[i]!) / (j - i + 1))
        if (t < optDelta) optDelta = t
      }
    }
  }
  const total = tcompleted[n - 1]! - tposted[0]!
  const peakUp = input.noPeak ? 0 : Math.trunc(input.size * NS_PER_S)
  return {
    bytes: input.size,
    iterations: n,
    bwPeak: peakUp === 0 ? 0 : peakUp / (optDelta * factor),
    bwAverage: (input.size * n * NS_PER_S) / (total * factor),
    msgRate: (n * NS_PER_S) / (total * 1e6),
    unit: input.gbits ? 'Gb/sec' : 'MB/sec',
  }
}

/** print_report_bw in duration mode (-D): perftest forces no peak; the average spans the sampled period. */
export function bwDurationReport(input: {size: number; iters: number; elapsedNs: number; gbits?: boolean}): BwRow {
  const factor = input.gbits ? FORMAT_FACTOR.gb : FORMAT_FACTOR.mb
  return {
    bytes: input.size,
    iterations: input.iters,
    bwPeak: 0,
    bwAverage: (input.size * input.iters * NS_PER_S) / (input.elapsedNs * factor),
    msgRate: (input.iters * NS_PER_S) / (input.elapsedNs * 1e6),
    unit: input.gbits ? 'Gb/sec' : 'MB/sec',
  }
}

/** One row of the latency table, in usec. */
export interface LatRow {
  bytes: number
  iterations: number
  tMin: number
  tMax: number
  tTypical: number
  tAvg: number
  tStdev: number
  p99: number
  p999: number
}

/** RTT/2 for send and write (one-way), the full RTT for read and atomic (perftest `rtt_factor`). */
export function rttFactor(verb: PerftestVerb): 1 | 2 {
  return verb === 'read' || verb === 'atomic' ? 1 : 2
}

/** perftest's per-iteration samples: delta[i] = tposted[i+1] - tposted[i]. */
export function deltasFromStamps(tposted: ArrayLike<number>): number[] {
  const out: number[] = []
  for (let i = 0; i + 1 < tposted.length; i++) out.push(tposted[i + 1]! - tposted[i]!)
  return out
}

/**
 * print_report_lat: sort the round-trip samples (ns), drop the 2 largest, then min, "max" (perftest prints
 * delta[measure_cnt], the second largest sample), median, mean, stdev, delta[ceil(n*0.99)], delta[ceil(n*0.999)].
 * `iterations` defaults to samples + 1, as perftest measures iters - 1 deltas.
 */
export function latReport(samplesNs: ArrayLike<number>, opts: {size: number; verb: PerftestVerb; iterations?: number}): LatRow {
  if (samplesNs.length < LAT_MEASURE_TAIL + 1) throw new RangeError(`latReport needs at least ${LAT_MEASURE_TAIL + 1} samples`)
  // Whole ns play the role of cycles: perftest's median averages two cycles_t with integer division.
  const delta = Float64Array.from(samplesNs, (v) => Math.round(v)).sort()
  const q = NS_PER_US * rttFactor(opts.verb)
  const n = delta.length - LAT_MEASURE_TAIL
  const median = (n - 1) % 2 ? Math.floor((delta[n / 2]! + delta[n / 2 - 1]!) / 2) : delta[Math.floor(n / 2)]!
  let sum = 0
  for (let i = 0; i < n; i++) sum += delta[i]! / q
  const avg = sum / n
  // perftest 4.5 keeps each deviation in an `int`, so it truncates toward zero before squaring.
  let var2 = 0
  for (let i = 0; i < n; i++) {
    const d = Math.trunc(avg - delta[i]! / q)
    var2 += d * d
  }
  return {
    bytes: opts.size,
    iterations: opts.iterations ?? samplesNs.length + 1,
    tMin: delta[0]! / q,
    tMax: delta[n]! / q,
    tTypical: median / q,
    tAvg: avg,
    tStdev: Math.sqrt(var2 / n),
    p99: delta[Math.ceil(n * 0.99)]! / q,
    p999: delta[Math.ceil(n * 0.999)]! / q,
  }
}

/** One row of the duration-mode latency table. */
export interface LatDurRow {
  bytes: number
  iterations: number
  tAvg: number
  tps: number
}

/** print_report_lat_duration: mean latency over the sampled period, and transactions per second. */
export function latDurationReport(input: {size: number; iters: number; elapsedNs: number; verb: PerftestVerb}): LatDurRow {
  return {
    bytes: input.size,
    iterations: input.iters,
    tAvg: input.elapsedNs / NS_PER_US / rttFactor(input.verb) / input.iters,
    tps: input.iters / (input.elapsedNs / NS_PER_S),
  }
}

function roundUp(value: number, alignment: number): number {
  return value % alignment === 0 ? value : alignment * (Math.floor(value / alignment) + 1)
}
