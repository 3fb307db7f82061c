// test_qp in the style of pyverbs: creation limits, query, and the exact ib_modify_qp_is_ok mask table.

import {describe, expect, it} from 'vitest'
import {Errno, QpAttrMask as M, QpState as S, QpType} from '../../../src/rdma-constants.js'
import {type QpAttr} from '../../../src/rnic/qp.js'
import {isRnicError, Rnic} from '../../../src/rnic/rnic.js'

const ALL_BITS = Object.values(M).filter((b) => b !== M.STATE)

// Required bits per transition, transcribed from drivers/infiniband/core/verbs.c qp_state_table.
const REQUIRED: Record<'RC' | 'UC' | 'UD', Array<[number, number, number]>> = {
  RC: [
    [S.RESET, S.INIT, M.PKEY_INDEX | M.PORT | M.ACCESS_FLAGS],
    [S.INIT, S.RTR, M.AV | M.PATH_MTU | M.DEST_QPN | M.RQ_PSN | M.MAX_DEST_RD_ATOMIC | M.MIN_RNR_TIMER],
    [S.RTR, S.RTS, M.TIMEOUT | M.RETRY_CNT | M.RNR_RETRY | M.SQ_PSN | M.MAX_QP_RD_ATOMIC],
  ],
  UC: [
    [S.RESET, S.INIT, M.PKEY_INDEX | M.PORT | M.ACCESS_FLAGS],
    [S.INIT, S.RTR, M.AV | M.PATH_MTU | M.DEST_QPN | M.RQ_PSN],
    [S.RTR, S.RTS, M.SQ_PSN],
  ],
  UD: [
    [S.RESET, S.INIT, M.PKEY_INDEX | M.PORT | M.QKEY],
    [S.INIT, S.RTR, 0],
    [S.RTR, S.RTS, M.SQ_PSN],
  ],
}
// Optional bits per transition (same source).
const OPTIONAL: Record<'RC' | 'UC' | 'UD', number[]> = {
  RC: [0, M.ALT_PATH | M.ACCESS_FLAGS | M.PKEY_INDEX, M.CUR_STATE | M.ALT_PATH | M.ACCESS_FLAGS | M.MIN_RNR_TIMER | M.PATH_MIG_STATE],
  UC: [0, M.ALT_PATH | M.ACCESS_FLAGS | M.PKEY_INDEX, M.CUR_STATE | M.ALT_PATH | M.ACCESS_FLAGS | M.PATH_MIG_STATE],
  UD: [0, M.PKEY_INDEX | M.QKEY, M.CUR_STATE | M.QKEY],
}

const FULL_ATTR: QpAttr = {
  qpState: S.RESET, curQpState: S.RESET, pathMtu: 3, qkey: 0x11111111, rqPsn: 1, sqPsn: 2, destQpNum: 99, qpAccessFlags: 0,
  ahAttr: {dgid: '10.0.0.2', sgidIndex: 0}, pkeyIndex: 0, enSqdAsyncNotify: 0, maxRdAtomic: 3, maxDestRdAtomic: 5,
  minRnrTimer: 12, portNum: 1, timeout: 14, retryCnt: 7, rnrRetry: 7, pathMigState: 0,
}

function nic(): Rnic {
  return new Rnic({name: 'rxe0', gids: ['10.0.0.1']})
}

function mkQp(r: Rnic, type: number): number {
  const pd = r.allocPd()
  const cq = r.createCq({depth: 16})
  if (isRnicError(pd) || isRnicError(cq)) throw new Error('setup')
  const qp = r.createQp({pdn: pd.pdn, type, sendCqn: cq.cqn, recvCqn: cq.cqn, cap: {maxSendWr: 4, maxRecvWr: 4, maxSendSge: 1, maxRecvSge: 1, maxInlineData: 0}})
  if (isRnicError(qp)) throw new Error(qp.message)
  return qp.qpn
}

/** A QP of `type` brought to `state` along the valid path with exactly the required bits. */
function qpIn(r: Rnic, type: 'RC' | 'UC' | 'UD', state: number): number {
  const qpn = mkQp(r, QpType[type])
  for (const [from, to, req] of REQUIRED[type]) {
    if (from >= state) break
    const res = r.modifyQp(qpn, {...FULL_ATTR, qpState: to}, M.STATE | req)
    expect(res).toEqual({})
  }
  return qpn
}

function stateOf(r: Rnic, qpn: number): number {
  const q = r.queryQp(qpn)
  if (isRnicError(q)) throw new Error(q.message)
  return q.attr.qpState!
}

describe('modify_qp: ib_modify_qp_is_ok mask table', () => {
  for (const type of ['RC', 'UC', 'UD'] as const) {
    REQUIRED[type].forEach(([from, to, req], i) => {
      const opt = OPTIONAL[type][i]!
      it(`${type} ${from}->${to}: required bits OK, each missing → EINVAL, an extra bit → EINVAL`, () => {
        const r = nic()
        // every required bit missing in turn
        for (const bit of ALL_BITS.filter((b) => req & b)) {
          const qpn = qpIn(r, type, from)
          const res = r.modifyQp(qpn, {...FULL_ATTR, qpState: to}, (M.STATE | req) & ~bit)
          expect(res, `${type} missing 0x${bit.toString(16)}`).toMatchObject({errno: Errno.EINVAL})
          expect(stateOf(r, qpn)).toBe(from) // validate before mutate
        }
        // every bit outside required|optional
        for (const bit of ALL_BITS.filter((b) => !(req & b) && !(opt & b))) {
          const qpn = qpIn(r, type, from)
          const res = r.modifyQp(qpn, {...FULL_ATTR, qpState: to, curQpState: from}, M.STATE | req | bit)
          expect(res, `${type} extra 0x${bit.toString(16)}`).toMatchObject({errno: Errno.EINVAL})
        }
        // required + all optional bits
        const qpn = qpIn(r, type, from)
        const res = r.modifyQp(qpn, {...FULL_ATTR, qpState: to, curQpState: from}, M.STATE | req | opt)
        expect(res).toEqual({})
        expect(stateOf(r, qpn)).toBe(to)
      })
    })
  }

  it('CUR_STATE is only allowed from RTR, RTS, SQD, SQE', () => {
    const r = nic()
    const qpn = qpIn(r, 'RC', S.INIT)
    expect(r.modifyQp(qpn, {qpState: S.INIT, curQpState: S.INIT}, M.STATE | M.CUR_STATE)).toMatchObject({errno: Errno.EINVAL})
    const q2 = qpIn(r, 'RC', S.RTS)
    expect(r.modifyQp(q2, {qpState: S.RTS, curQpState: S.RTS, minRnrTimer: 3}, M.STATE | M.CUR_STATE | M.MIN_RNR_TIMER)).toEqual({})
  })

  it('invalid transitions → EINVAL; any state → RESET and → ERR are valid', () => {
    const r = nic()
    const qpn = mkQp(r, QpType.RC)
    expect(r.modifyQp(qpn, {qpState: S.RTS}, M.STATE)).toMatchObject({errno: Errno.EINVAL})
    expect(r.modifyQp(qpn, {qpState: S.RTR}, M.STATE)).toMatchObject({errno: Errno.EINVAL})
    for (const st of [S.INIT, S.RTR, S.RTS]) {
      for (const target of [S.ERR, S.RESET]) {
        const q = qpIn(r, 'RC', st)
        expect(r.modifyQp(q, {qpState: target}, M.STATE)).toEqual({})
        expect(stateOf(r, q)).toBe(target)
      }
    }
    const q = qpIn(r, 'RC', S.RTS)
    expect(r.modifyQp(q, {qpState: S.SQD}, M.STATE)).toEqual({})
    expect(r.modifyQp(q, {qpState: S.RTS}, M.STATE)).toEqual({})
    // RC never enters SQE
    expect(r.modifyQp(q, {qpState: S.SQE}, M.STATE)).toMatchObject({errno: Errno.EINVAL})
  })

  it('attribute range checks (rxe_qp_chk_attr): port, timeout, max_rd_atomic, path MTU, sgid index', () => {
    const r = new Rnic({name: 'rxe0', gids: ['10.0.0.1'], mtu: 1024})
    const bad: Array<[Partial<QpAttr>, number, number]> = [
      [{portNum: 2}, S.INIT, M.PORT],
      [{pathMtu: 4}, S.RTR, M.PATH_MTU],
      [{ahAttr: {dgid: '10.0.0.2', sgidIndex: 3}}, S.RTR, M.AV],
      [{ahAttr: {dgid: 'not-an-ip'}}, S.RTR, M.AV],
      [{timeout: 32}, S.RTS, M.TIMEOUT],
      [{maxRdAtomic: 129}, S.RTS, M.MAX_QP_RD_ATOMIC],
      [{retryCnt: 8}, S.RTS, M.RETRY_CNT],
    ]
    const from = {[S.INIT]: S.RESET, [S.RTR]: S.INIT, [S.RTS]: S.RTR} as Record<number, number>
    for (const [attr, to, bit] of bad) {
      const qpn = qpIn(r, 'RC', from[to]!)
      const req = REQUIRED.RC.find(([f]) => f === from[to])![2]
      expect(r.modifyQp(qpn, {...FULL_ATTR, ...attr, qpState: to}, M.STATE | req | bit), JSON.stringify(attr)).toMatchObject({errno: Errno.EINVAL})
    }
  })

  it('max_rd_atomic and max_dest_rd_atomic round up to a power of two; timeout/psn are kept', () => {
    const r = nic()
    const qpn = qpIn(r, 'RC', S.RTS)
    const q = r.queryQp(qpn)
    expect(q).toMatchObject({attr: {maxRdAtomic: 4, maxDestRdAtomic: 8, timeout: 14, sqPsn: 2, rqPsn: 1, destQpNum: 99, pathMtu: 3}})
  })
})

describe('create_qp / destroy_qp', () => {
  it('QPNs are rxe-style from 17 upward, or random 24-bit numbers when randomQpn is on', () => {
    const r = nic()
    expect([mkQp(r, QpType.RC), mkQp(r, QpType.UD)]).toEqual([17, 18])
    const rr = new Rnic({name: 'x', gids: ['10.0.0.1'], randomQpn: true, random: () => 0.5})
    const q = mkQp(rr, QpType.RC)
    expect(q).toBeGreaterThan(1000)
    expect(q).toBeLessThan(0xffffff)
  })

  it('bad type, bad CQ, caps out of range → EINVAL; destroy releases the CQ and PD', () => {
    const r = nic()
    const pd = r.allocPd() as {pdn: number}
    const cq = r.createCq({depth: 8}) as {cqn: number}
    const cap = {maxSendWr: 4, maxRecvWr: 4, maxSendSge: 1, maxRecvSge: 1, maxInlineData: 0}
    expect(r.createQp({pdn: pd.pdn, type: QpType.RAW_PACKET, sendCqn: cq.cqn, recvCqn: cq.cqn, cap})).toMatchObject({errno: Errno.EINVAL})
    expect(r.createQp({pdn: pd.pdn, type: QpType.RC, sendCqn: 99, recvCqn: cq.cqn, cap})).toMatchObject({errno: Errno.EINVAL})
    expect(r.createQp({pdn: pd.pdn, type: QpType.RC, sendCqn: cq.cqn, recvCqn: cq.cqn, cap: {...cap, maxSendSge: 1000}})).toMatchObject({errno: Errno.EINVAL})
    expect(r.createQp({pdn: 77, type: QpType.RC, sendCqn: cq.cqn, recvCqn: cq.cqn, cap})).toMatchObject({errno: Errno.EINVAL})
    const qp = r.createQp({pdn: pd.pdn, type: QpType.RC, sendCqn: cq.cqn, recvCqn: cq.cqn, cap}) as {qpn: number}
    expect(r.destroyCq(cq.cqn)).toMatchObject({errno: Errno.EBUSY})
    expect(r.deallocPd(pd.pdn)).toMatchObject({errno: Errno.EBUSY})
    expect(r.destroyQp(qp.qpn)).toEqual({})
    expect(r.destroyQp(qp.qpn)).toMatchObject({errno: Errno.EINVAL})
    expect(r.destroyCq(cq.cqn)).toEqual({})
    expect(r.deallocPd(pd.pdn)).toEqual({})
  })
})
