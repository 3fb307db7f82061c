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
