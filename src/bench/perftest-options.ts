// perftest's own refusals (perftest_parameters.c parser / change_conn_type / CHECK_VALUE), so that
// `masq bench` rejects what perftest rejects, all at once, with perftest's words.
import type {PerftestVerb} from './perftest-stats.js'

export const MIN_ITER = 5
export const MAX_ITER = 100_000_000
export const MIN_QP_NUM = 1
export const MAX_QP_NUM = 16384
/** -s bound: CHECK_VALUE(size, 1, UINT_MAX / 2, "Message size"); -a stops at 2^23 (ALL_SIZES). */
export const MAX_MSG_SIZE = 2_147_483_647
export const MTU_VALUES = [256, 512, 1024, 2048, 4096] as const

export interface PerftestOptions {
  ops: readonly PerftestVerb[]
  connection?: 'RC' | 'UC' | 'UD'
  all?: boolean
  durationSeconds?: number
  iterations?: number
  qps?: number
  size?: number
  mtu?: number
}

/** Every problem perftest would stop on, in perftest's wording (without its leading space). */
export function checkPerftestOptions(o: PerftestOptions): string[] {
  const errors: string[] = []
  const conn = o.connection ?? 'RC'
  if (conn === 'UC' && o.ops.some((op) => op === 'read' || op === 'atomic')) errors.push('UC connection not possible in READ/ATOMIC verbs')
  if (conn === 'UD' && o.ops.some((op) => op !== 'send')) errors.push('UD connection only possible in SEND verb')
  if (o.durationSeconds !== undefined && o.all) errors.push("Duration mode currently doesn't support running on all sizes.")
  if (o.iterations !== undefined && !(Number.isInteger(o.iterations) && o.iterations >= MIN_ITER && o.iterations <= MAX_ITER)) {
    errors.push(`Iteration num should be between ${MIN_ITER} and ${MAX_ITER}`)
  }
  if (o.qps !== undefined && !(Number.isInteger(o.qps) && o.qps >= MIN_QP_NUM && o.qps <= MAX_QP_NUM)) {
    errors.push(`num of Qps should be between ${MIN_QP_NUM} and ${MAX_QP_NUM}`)
  }
  if (o.size !== undefined && !(Number.isInteger(o.size) && o.size >= 1 && o.size <= MAX_MSG_SIZE)) errors.push(`Message size should be between 1 and ${MAX_MSG_SIZE}`)
  // The MTU wording is masq's: perftest's set_mtu message was not checked against its source.
  if (o.mtu !== undefined && !(MTU_VALUES as readonly number[]).includes(o.mtu)) errors.push(`Invalid MTU - ${o.mtu}. Please choose mtu from {256,512,1024,2048,4096}`)
  return errors
}
