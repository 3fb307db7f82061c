// What one `masq bench` run will do, decided before any lab starts: perftest's defaults (sizes, iterations,
// warm-up), its refusals (perftest-options.ts), the refusals of the workloads available today, and the ordered
// list of steps per mode. Pure: the runner executes it, the unit tests pin it.
import {MODES, type Mode} from '../topology/types.js'
import {checkPerftestOptions} from './perftest-options.js'
import {ALL_SIZES} from './perftest-stats.js'
import type {BenchConfig, Op} from './results.js'
import {workloadFor, type BenchTest, type WorkloadRef} from './workload-contract.js'

export const OPS: readonly Op[] = ['send', 'write', 'read', 'atomic']
export const TESTS = ['bw', 'lat', 'conn', 'verbs', 'all'] as const
export type TestSel = (typeof TESTS)[number]

/** perftest's defaults: ib_*_bw -n 5000 -s 65536, ib_*_lat -n 1000 -s 2; verbs-lat 200 iterations. */
export const DEFAULT_ITERS: Record<BenchTest, number> = {bw: 5000, lat: 1000, conn: 100, verbs: 200}
export const DEFAULT_SIZE = {bw: 65536, lat: 2} as const
/** --test all without -s/-a: the sizes the paper-shape checks read (2 B, 512 B, 64 KiB throughput). */
export const SHAPE_BW_SIZES = [2, 512, 65536] as const
/** perftest's atomics move 8 bytes whatever -s / -a say (DEF_SIZE_ATOMIC, 8-byte remote operands). */
export const ATOMIC_SIZE = 8
/** perftest's DEF_TX_BW. */
export const DEFAULT_TX_DEPTH = 128

/**
 * The default tx depth for one size on a fabric: perftest's 128, but never more bytes in flight than half the
 * egress buffer. Real RoCE has PFC; the emulated fabric tail-drops beyond its buffer (DESIGN §3), and go-back-N
 * after a drop would measure retransmission instead of the data path (64 KiB x 128 = 8 MiB > the default 4 MiB).
 */
export function fittingTxDepth(size: number, bufferBytes: number, depth = DEFAULT_TX_DEPTH): number {
  return Math.max(1, Math.min(depth, Math.floor(bufferBytes / 2 / Math.max(1, size))))
}

/** Workloads that drive one RC QP only (bench-write): -q and -c need the `bw`/`pingpong` workloads. */
const ONE_RC_QP = new Set(['bench-write'])

export interface BenchRequest {
  modes: Mode[]
  ops: Op[]
  test: TestSel
  size?: number
  all?: boolean
  iterations?: number
  durationSeconds?: number
  qps?: number
  connection?: 'RC' | 'UC' | 'UD'
  reportGbits?: boolean
  runs?: number
  /** perftest -e: sleep on CQ events instead of busy polling. */
  events?: boolean
  /** perftest -t: send queue depth for bw (default 128, lowered by the runner to what the fabric buffer holds). */
  txDepth?: number
}

export interface BenchStep {
  test: BenchTest
  op?: Op
  size?: number
  workload: WorkloadRef
  params: Record<string, unknown>
}

export interface BenchPlan {
  config: BenchConfig
  /** Steps of one run in one mode (repeated per mode and per --runs). */
  steps: BenchStep[]
  /** Cells that --test all skips because no workload serves them yet (said on stderr, not an error). */
  skipped: string[]
}

/** Parse a comma list against the allowed values; unknown names are errors. */
export function parseList<T extends string>(value: string | undefined, allowed: readonly T[], what: string, fallback: readonly T[]): {values: T[]; errors: string[]} {
  if (value === undefined) return {values: [...fallback], errors: []}
  const names = value.split(',').map((s) => s.trim()).filter(Boolean)
  const errors = names.filter((n) => !(allowed as readonly string[]).includes(n)).map((n) => `unknown ${what} "${n}" (known: ${allowed.join(', ')})`)
  if (names.length === 0) errors.push(`--${what}s needs at least one ${what}`)
  // keep the canonical order (tables and charts show modes in MODES order)
  return {values: allowed.filter((a) => names.includes(a)), errors}
}

const testsOf = (t: TestSel): BenchTest[] => (t === 'all' ? ['bw', 'lat', 'conn', 'verbs'] : [t])

/** Every refusal at once (perftest's wording first), or the plan. */
export function planBench(r: BenchRequest, available?: ReadonlySet<string>): {plan?: BenchPlan; errors: string[]} {
  const errors = checkPerftestOptions({
    ops: r.ops, connection: r.connection, all: r.all, durationSeconds: r.durationSeconds, iterations: r.iterations, qps: r.qps, size: r.size,
  })
  if (r.all && r.size !== undefined) errors.push('-s and -a are exclusive: -a runs every size from 2 to 8388608')
  if (r.iterations !== undefined && r.durationSeconds !== undefined) errors.push('-n and -D are exclusive: iterations or duration')
  if (r.durationSeconds !== undefined && !(r.durationSeconds > 0)) errors.push('Duration should be positive')
  if (r.runs !== undefined && !(Number.isInteger(r.runs) && r.runs >= 1)) errors.push('--runs should be a positive integer')
  // perftest: CHECK_VALUE(tx_depth, 1, 15000, "Tx depth") (perftest_parameters.c, MIN_TX / MAX_TX)
  if (r.txDepth !== undefined && !(Number.isInteger(r.txDepth) && r.txDepth >= 1 && r.txDepth <= 15000)) errors.push('Tx depth should be between 1 and 15000')
  if (r.modes.length === 0) errors.push('no mode to measure')
  const qps = r.qps ?? 1
  const connection = r.connection ?? 'RC'
  const dataOps = r.ops.length ? r.ops : ['write' as Op]
  const steps: BenchStep[] = []
  const skipped: string[] = []
  for (const test of testsOf(r.test)) {
    if (test === 'conn' || test === 'verbs') {
      const w = workloadFor(test, undefined, available)
      if (!w) (r.test === 'all' ? skipped : errors).push(`no built-in workload measures ${test === 'conn' ? 'connection setup' : 'control verbs'} yet (needs ${test === 'conn' ? 'connrate' : 'verbs-lat'})`)
      else steps.push({test, workload: w, params: {contract: 1, iters: r.iterations ?? DEFAULT_ITERS[test], warmupIters: warmupOf(r.iterations ?? DEFAULT_ITERS[test])}})
      continue
    }
    for (const op of dataOps) {
      const w = workloadFor(test, op, available)
      if (!w) {
        (r.test === 'all' ? skipped : errors).push(`no built-in workload runs ${op} ${test} yet (needs ${test === 'lat' ? 'pingpong' : 'bw'})`)
        continue
      }
      if (ONE_RC_QP.has(w.name) && (qps !== 1 || connection !== 'RC')) {
        errors.push(`${w.name} (which runs ${op} ${test} today) drives one RC QP: -q ${qps} -c ${connection} needs the ${test === 'lat' ? 'pingpong' : 'bw'} workload`)
        continue
      }
      for (const size of op === 'atomic' ? [ATOMIC_SIZE] : sizesOf(test, r)) steps.push({test, op, size, workload: w, params: dataParams(test, op, size, r, qps, connection)})
    }
  }
  if (errors.length) return {errors}
  const sizes = [...new Set(steps.flatMap((s) => (s.size === undefined ? [] : [s.size])))].sort((a, b) => a - b)
  const config: BenchConfig = {
    modes: MODES.filter((m) => r.modes.includes(m)), ops: dataOps, test: r.test, sizes,
    ...(r.durationSeconds !== undefined ? {durationSeconds: r.durationSeconds} : r.iterations !== undefined ? {iterations: r.iterations} : {}),
    qps, connection, reportGbits: r.reportGbits ?? false, runs: r.runs ?? 1,
  }
  return {plan: {config, steps, skipped}, errors}
}

function sizesOf(test: 'bw' | 'lat', r: BenchRequest): number[] {
  if (r.all) return [...ALL_SIZES]
  if (r.size !== undefined) return [r.size]
  return test === 'bw' && r.test === 'all' ? [...SHAPE_BW_SIZES] : [DEFAULT_SIZE[test]]
}

/** Warm-up excluded from the figures: a tenth of the iterations, 5..200 (perftest has none; the JIT needs it). */
export function warmupOf(iters: number): number {
  return Math.min(200, Math.max(5, Math.ceil(iters / 10)))
}

function dataParams(test: 'bw' | 'lat', op: Op, size: number, r: BenchRequest, qps: number, connection: string): Record<string, unknown> {
  const p: Record<string, unknown> = {contract: 1, test, op, size, qps, connection, txDepth: test === 'bw' ? r.txDepth ?? DEFAULT_TX_DEPTH : 1, cqMod: 100}
  if (test === 'bw' && r.txDepth === undefined) p.txDepthAuto = true
  if (r.durationSeconds !== undefined) {
    const ms = r.durationSeconds * 1000
    p.durationMs = ms
    p.warmupMs = Math.min(2000, Math.ceil(ms / 10))
    p.warmupIters = 0
  } else {
    const iters = r.iterations ?? DEFAULT_ITERS[test]
    p.iters = iters
    p.warmupIters = warmupOf(iters)
    p.warmupMs = 0
  }
  if (r.events) p.events = true
  return p
}
