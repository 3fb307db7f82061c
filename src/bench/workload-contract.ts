// The contract between `masq bench` and the built-in workloads it drives: the params the runner passes (as
// `masq run --param`) and the raw result it expects back from the client side. Raw stamps, not summaries:
// the bench library (collectMode) applies perftest's arithmetic, so every workload is reported the same way.
// Which workload serves which (test, op) is a table here; when `pingpong`/`bw`/`connrate` land, map them below.
import {BUILTIN} from '../workloads/index.js'
import type {ControlVerb, Op} from './results.js'

export type BenchTest = 'bw' | 'lat' | 'conn' | 'verbs'

/** What the runner passes to a data-path workload (perftest's flags, in workload terms). */
export interface BenchParams {
  /** Marks a call from the runner: the workload returns a {@link BenchRawResult}. */
  contract: 1
  test: 'bw' | 'lat'
  op: Op
  /** Message size in bytes (-s). */
  size: number
  /** Measured iterations (-n) after `warmupIters`; absent in duration mode. */
  iters?: number
  /** Duration mode (-D), ms measured after `warmupMs`. */
  durationMs?: number
  warmupIters: number
  warmupMs: number
  /** -q: QPs (workloads that support one QP only reject other values). */
  qps: number
  /** -c: RC | UC | UD. */
  connection: 'RC' | 'UC' | 'UD'
  /** -t: send queue depth for bw (perftest default 128), 1 for lat. */
  txDepth: number
  /** CQ moderation for bw: every cqMod-th WR is signalled (perftest default 100). */
  cqMod: number
}

/** What a data-path workload returns on the client side, warm-up already excluded. */
export interface BenchRawResult {
  contract: 1
  test: 'bw' | 'lat'
  op: Op
  size: number
  /** Measured iterations (messages for bw, round trips for lat). */
  iterations: number
  /** Payload bytes moved in the measured part. */
  bytes: number
  /** lat: round-trip times in ns (read/atomic: request to response), one per measured iteration. */
  samplesNs?: number[]
  /** bw, iterations mode: per-WR post stamp and completion stamp (ns, same clock; unsignalled WRs take the
   *  stamp of the completion that covers them), for perftest's BW peak. */
  tposted?: number[]
  tcompleted?: number[]
  cqMod?: number
  /** Duration mode: time of the measured part, ns. */
  elapsedNs?: number
  /** Banner fields: device name, MTU. */
  device?: string
  mtu?: number
}

/** What `verbs-lat` returns: per control verb, one latency sample (ns) per iteration. */
export interface VerbsRawResult {
  contract: 1
  test: 'verbs'
  iterations: number
  samplesNs: Partial<Record<ControlVerb, number[]>>
}

/** What a connection-setup workload (connrate) returns: one setup time per connection, ns. */
export interface ConnRawResult {
  contract: 1
  test: 'conn'
  samplesNs: number[]
  elapsedNs?: number
}

/** A workload serving one (test, op) cell; `paired` ones run on both VMs. */
export interface WorkloadRef { name: string; paired: boolean }

/**
 * Which built-in serves which cell. bench-write covers RDMA WRITE today; `pingpong` (lat), `bw` (bw) and
 * `connrate` (conn) take over when they land (a name not in BUILTIN counts as not available).
 */
export const WORKLOAD_TABLE: Record<BenchTest, Partial<Record<Op | '*', readonly string[]>>> = {
  lat: {write: ['pingpong', 'bench-write'], send: ['pingpong'], read: ['pingpong'], atomic: ['pingpong']},
  bw: {write: ['bw', 'bench-write'], send: ['bw'], read: ['bw'], atomic: ['bw']},
  conn: {'*': ['connrate']},
  verbs: {'*': ['verbs-lat']},
}

/** The first available built-in for the cell, or undefined. */
export function workloadFor(test: BenchTest, op?: Op, available: ReadonlySet<string> = new Set(Object.keys(BUILTIN))): WorkloadRef | undefined {
  const names = WORKLOAD_TABLE[test][op ?? '*'] ?? WORKLOAD_TABLE[test]['*'] ?? []
  const name = names.find((n) => available.has(n))
  return name ? {name, paired: test !== 'verbs'} : undefined
}

/** Whether a run result follows the contract (old workloads return summaries only). */
export function isBenchRaw(x: unknown): x is BenchRawResult {
  return typeof x === 'object' && x !== null && (x as {contract?: unknown}).contract === 1 && ((x as {test?: unknown}).test === 'bw' || (x as {test?: unknown}).test === 'lat')
}

/** The bench params in the option names of the rdma_cm built-ins (pingpong/bw/connrate read `warmup`, `count`). */
export function workloadParams(name: string, p: Record<string, unknown>): Record<string, unknown> {
  if (name === 'pingpong') return {...p, warmup: p.warmupIters ?? 100}
  if (name === 'connrate') return {...p, count: p.iters ?? 50}
  return p
}

/**
 * Maps what the rdma_cm built-ins return (src/workloads/{pingpong,bw,connrate}.ts: a summary plus `raw`) onto the
 * contract shapes; results already in the contract pass through. Unknown shapes are returned as they are and the
 * runner refuses them with a clear error.
 */
export function toContract(name: string, test: BenchTest, r: unknown): unknown {
  if (typeof r !== 'object' || r === null || (r as {contract?: unknown}).contract === 1) return r
  const x = r as {op?: Op; size?: number; iters?: number; iterations?: number; elapsedNs?: number;
    raw?: {samplesNs?: number[]; tposted?: number[]; tcompleted?: number[]; cqMod?: number; iters?: number; elapsedNs?: number;
      conn?: {samplesNs: number[]; elapsedNs?: number}}}
  if (name === 'pingpong' && test === 'lat' && x.raw?.samplesNs) {
    const n = x.raw.samplesNs.length
    return {contract: 1, test: 'lat', op: x.op!, size: x.size!, iterations: n, bytes: n * (x.size ?? 0), samplesNs: x.raw.samplesNs} satisfies BenchRawResult
  }
  if (name === 'bw' && test === 'bw' && x.raw) {
    const n = x.iterations ?? x.raw.iters ?? 0
    return {contract: 1, test: 'bw', op: x.op!, size: x.size!, iterations: n, bytes: n * (x.size ?? 0),
      // the CQ moderation the workload used (clamped to its tx depth): the banner prints it, the BW peak aligns on it
      cqMod: x.raw.cqMod ?? 1,
      ...(x.raw.tposted ? {tposted: x.raw.tposted, tcompleted: x.raw.tcompleted} : {elapsedNs: x.raw.elapsedNs ?? x.elapsedNs})} satisfies BenchRawResult
  }
  if (name === 'connrate' && test === 'conn' && x.raw?.conn) {
    return {contract: 1, test: 'conn', samplesNs: x.raw.conn.samplesNs, ...(x.raw.conn.elapsedNs !== undefined ? {elapsedNs: x.raw.conn.elapsedNs} : {})} satisfies ConnRawResult
  }
  return r
}
