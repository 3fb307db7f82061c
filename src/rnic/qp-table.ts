// ib_modify_qp_is_ok() as data: qp_state_table from drivers/infiniband/core/verbs.c (rxe_qp_chk_attr calls it first).
// For each (current, next) pair: is the transition valid, and which attribute bits are required / optional per QP type.

import {QpAttrMask as M, QpState as S, QpType} from '../rdma-constants.js'

type PerType = {UD: number; UC: number; RC: number}
interface Transition {
  valid: true
  req?: Partial<PerType>
  opt?: Partial<PerType>
}

const NONE: Transition = {valid: true}
const to = (t: Omit<Transition, 'valid'>): Transition => ({valid: true, ...t})

const ALL_TYPES = (bits: number): PerType => ({UD: bits, UC: bits, RC: bits})

export const QP_STATE_TABLE: Partial<Record<number, Partial<Record<number, Transition>>>> = {
  [S.RESET]: {
    [S.RESET]: NONE,
    [S.INIT]: to({req: {UD: M.PKEY_INDEX | M.PORT | M.QKEY, UC: M.PKEY_INDEX | M.PORT | M.ACCESS_FLAGS, RC: M.PKEY_INDEX | M.PORT | M.ACCESS_FLAGS}}),
  },
  [S.INIT]: {
    [S.RESET]: NONE,
    [S.ERR]: NONE,
    [S.INIT]: to({opt: {UD: M.PKEY_INDEX | M.PORT | M.QKEY, UC: M.PKEY_INDEX | M.PORT | M.ACCESS_FLAGS, RC: M.PKEY_INDEX | M.PORT | M.ACCESS_FLAGS}}),
    [S.RTR]: to({
      req: {UC: M.AV | M.PATH_MTU | M.DEST_QPN | M.RQ_PSN, RC: M.AV | M.PATH_MTU | M.DEST_QPN | M.RQ_PSN | M.MAX_DEST_RD_ATOMIC | M.MIN_RNR_TIMER},
      opt: {UD: M.PKEY_INDEX | M.QKEY, UC: M.ALT_PATH | M.ACCESS_FLAGS | M.PKEY_INDEX, RC: M.ALT_PATH | M.ACCESS_FLAGS | M.PKEY_INDEX},
    }),
  },
  [S.RTR]: {
    [S.RESET]: NONE,
    [S.ERR]: NONE,
    [S.RTS]: to({
      req: {UD: M.SQ_PSN, UC: M.SQ_PSN, RC: M.TIMEOUT | M.RETRY_CNT | M.RNR_RETRY | M.SQ_PSN | M.MAX_QP_RD_ATOMIC},
      opt: {UD: M.CUR_STATE | M.QKEY, UC: M.CUR_STATE | M.ALT_PATH | M.ACCESS_FLAGS | M.PATH_MIG_STATE,
        RC: M.CUR_STATE | M.ALT_PATH | M.ACCESS_FLAGS | M.MIN_RNR_TIMER | M.PATH_MIG_STATE},
    }),
  },
  [S.RTS]: {
    [S.RESET]: NONE,
    [S.ERR]: NONE,
    [S.RTS]: to({opt: {UD: M.CUR_STATE | M.QKEY, UC: M.CUR_STATE | M.ACCESS_FLAGS | M.ALT_PATH | M.PATH_MIG_STATE,
      RC: M.CUR_STATE | M.ACCESS_FLAGS | M.ALT_PATH | M.PATH_MIG_STATE | M.MIN_RNR_TIMER}}),
    [S.SQD]: to({opt: ALL_TYPES(M.EN_SQD_ASYNC_NOTIFY)}),
  },
  [S.SQD]: {
    [S.RESET]: NONE,
    [S.ERR]: NONE,
    [S.RTS]: to({opt: {UD: M.CUR_STATE | M.QKEY, UC: M.CUR_STATE | M.ALT_PATH | M.ACCESS_FLAGS | M.PATH_MIG_STATE,
      RC: M.CUR_STATE | M.ALT_PATH | M.ACCESS_FLAGS | M.MIN_RNR_TIMER | M.PATH_MIG_STATE}}),
    [S.SQD]: to({opt: {UD: M.PKEY_INDEX | M.QKEY, UC: M.AV | M.ALT_PATH | M.ACCESS_FLAGS | M.PKEY_INDEX | M.PATH_MIG_STATE,
      RC: M.PORT | M.AV | M.TIMEOUT | M.RETRY_CNT | M.RNR_RETRY | M.MAX_QP_RD_ATOMIC | M.MAX_DEST_RD_ATOMIC | M.ALT_PATH |
        M.ACCESS_FLAGS | M.PKEY_INDEX | M.MIN_RNR_TIMER | M.PATH_MIG_STATE}}),
  },
  [S.SQE]: {
    [S.RESET]: NONE,
    [S.ERR]: NONE,
    [S.RTS]: to({opt: {UD: M.CUR_STATE | M.QKEY, UC: M.CUR_STATE | M.ACCESS_FLAGS}}),
  },
  [S.ERR]: {
    [S.RESET]: NONE,
    [S.ERR]: NONE,
  },
}

function typeKey(type: number): keyof PerType | undefined {
  return type === QpType.RC ? 'RC' : type === QpType.UC ? 'UC' : type === QpType.UD ? 'UD' : undefined
}

/** ib_modify_qp_is_ok(cur, next, type, mask). */
export function modifyQpIsOk(cur: number, next: number, type: number, mask: number): boolean {
  if (mask & M.CUR_STATE && cur !== S.RTR && cur !== S.RTS && cur !== S.SQD && cur !== S.SQE) return false
  const t = QP_STATE_TABLE[cur]?.[next]
  const key = typeKey(type)
  if (!t || !key) return false
  const req = t.req?.[key] ?? 0
  const opt = t.opt?.[key] ?? 0
  if ((mask & req) !== req) return false
  if (mask & ~(req | opt | M.STATE)) return false
  return true
}

/** Required and optional bits of a transition (for tests and error messages). */
export function transitionBits(cur: number, next: number, type: number): {req: number; opt: number} | undefined {
  const t = QP_STATE_TABLE[cur]?.[next]
  const key = typeKey(type)
  if (!t || !key) return undefined
  return {req: t.req?.[key] ?? 0, opt: t.opt?.[key] ?? 0}
}
