// C09: forged or foreign object handles at the backend (syzkaller-style typed handles). A tenant's frontend sends
// control verbs that carry the victim's QP, PD, CQ and MR handles over its own control channel. Every handle must
// be looked up in the caller's own table: unknown or foreign → EINVAL/ENOENT/EPERM with no side effect. An RNIC
// alone has one global table, so this needs the MasQ backend (in process it would succeed: skipped).

import {QpAttrMask as M, QpState, QpType} from '../../rdma-constants.js'
import {isRnicError} from '../../rnic/rnic.js'
import {errnoName} from '../ops.js'
import type {Scenario} from '../types.js'
import {endpoint} from './common.js'

const DENIED = new Set(['EINVAL', 'ENOENT', 'EPERM'])

export const c09: Scenario = {
  id: 'C09', catalogue: 'C09', title: 'forged / foreign handles in control verbs', attackerModel: 'T1', needs: ['backend-policy'],
  async run(env, ctx) {
    const v = ctx.victim
    const atk = await endpoint(env, 'red-2') // same host and backend as the victim's blue-2
    const own = await atk.pd.createQp({type: 'RC', sendCq: atk.cq, recvCq: atk.cq, cap: {}})
    const ch = atk.ctx.channel
    const cap = {maxSendWr: 4, maxRecvWr: 4, maxSendSge: 1, maxRecvSge: 1, maxInlineData: 0}
    const region = atk.vm.memory.alloc(4096, 4096)
    // non-destructive first, destructive last
    const attempts: Array<[string, () => Promise<unknown>]> = [
      ['query_qp(victim QPN)', () => ch.call('queryQp', v.qpn)],
      ['reg_mr in the victim PD', () => ch.call('regMr', {pdn: v.pdn, memory: region.mem.sab, offset: region.offset, length: 4096, iova: region.addr, access: 1})],
      ['create_qp in the victim PD', () => ch.call('createQp', {pdn: v.pdn, type: QpType.RC, sendCqn: atk.cq.cqn, recvCqn: atk.cq.cqn, cap})],
      ['create_qp on the victim CQ', () => ch.call('createQp', {pdn: atk.pd.pdn, type: QpType.RC, sendCqn: v.cqn, recvCqn: v.cqn, cap})],
      ['modify_qp(victim QPN → ERR)', () => ch.call('modifyQp', v.qpn, {qpState: QpState.ERR}, M.STATE)],
      ['dereg_mr(victim canary)', () => ch.call('deregMr', v.canaryIndex)],
      ['destroy_qp(victim QPN)', () => ch.call('destroyQp', v.qpn)],
      ['destroy_cq(victim CQ)', () => ch.call('destroyCq', v.cqn)],
      ['dealloc_pd(victim PD)', () => ch.call('deallocPd', v.pdn)],
    ]
    const objects0 = env.objects(v.host)
    for (const [name, fn] of attempts) {
      const r = await fn()
      const got = isRnicError(r) ? errnoName(r.errno) : 'OK'
      ctx.probe({name, want: 'denied', expected: 'EINVAL/ENOENT/EPERM, no side effect', observed: got, ok: DENIED.has(got)})
    }
    const objects1 = env.objects(v.host)
    ctx.invariant('no object created or destroyed on the victim host by the forged calls', JSON.stringify(objects0) === JSON.stringify(objects1),
      `${JSON.stringify(objects0)} → ${JSON.stringify(objects1)}`)
    // positive control: the same verbs on the attacker's own handles work
    const q = await ch.call('queryQp', own.qpn)
    ctx.control('query_qp on its own QP succeeds', !isRnicError(q))
    const m = await ch.call('regMr', {pdn: atk.pd.pdn, memory: region.mem.sab, offset: region.offset, length: 4096, iova: region.addr, access: 1})
    ctx.control('reg_mr in its own PD succeeds', !isRnicError(m))
  },
}
