// C11: QPN hijack through the control plane (MasQ-specific). On the wire only host addresses appear, so a tenant
// VM on the same host as a victim's peer passes rxe's check_addr: the backend must refuse, at modify_qp(RTR), a
// dest_qp_num that is not the peer this QP connected to. An RNIC alone accepts any QPN: needs the MasQ backend.
// The probe stops at the refusal; it never sends to the victim's QP (2^24 PSNs would be the next step).

import {Mtu, QpAttrMask as M, QpState} from '../../rdma-constants.js'
import {errnoOf} from '../ops.js'
import type {Scenario} from '../types.js'
import {endpoint} from './common.js'

const RTR_MASK = M.STATE | M.AV | M.PATH_MTU | M.DEST_QPN | M.RQ_PSN | M.MAX_DEST_RD_ATOMIC | M.MIN_RNR_TIMER

export const c11: Scenario = {
  id: 'C11', catalogue: 'C11', title: 'QPN hijack: RTR with another tenant\'s QPN', attackerModel: 'T1', needs: ['backend-policy'],
  async run(env, ctx) {
    const v = ctx.victim
    const atk = await endpoint(env, 'red-1') // on host A, like the victim's peer blue-1
    const peer = await endpoint(env, 'red-2')
    const init = async () => {
      const qp = await atk.pd.createQp({type: 'RC', sendCq: atk.cq, recvCq: atk.cq, cap: {}})
      await qp.modify({qpState: QpState.INIT, pkeyIndex: 0, portNum: 1, qpAccessFlags: 0}, M.STATE | M.PKEY_INDEX | M.PORT | M.ACCESS_FLAGS)
      return qp
    }
    const rtr = (destQpNum: number, dgid: string) => ({qpState: QpState.RTR, pathMtu: Mtu[1024], destQpNum, rqPsn: 0, maxDestRdAtomic: 1, minRnrTimer: 12, ahAttr: {dgid, sgidIndex: 0}})
    const victimIp = env.hostIp(v.host)
    for (const [name, qpn] of [['the victim\'s QPN', v.qpn], ['a neighbouring QPN (sequential guess)', v.qpn + 1]] as const) {
      const qp = await init()
      const got = await errnoOf(qp.modify(rtr(qpn, victimIp), RTR_MASK))
      ctx.probe({name: `modify_qp RTR to ${name} on ${v.host}`, want: 'denied', expected: 'EPERM/EINVAL (not a peer this QP connected to)', observed: got,
        ok: got === 'EPERM' || got === 'EINVAL'})
      await qp.destroy()
    }
    // positive control: the QP of its own peer, agreed on both sides, is accepted
    const theirs = await peer.pd.createQp({type: 'RC', sendCq: peer.cq, recvCq: peer.cq, cap: {}})
    const qp = await init()
    const got = await errnoOf(qp.modify(rtr(theirs.qpn, env.hostIp(peer.vm.host)), RTR_MASK))
    ctx.control('modify_qp RTR to its own peer QP succeeds', got === 'OK', got)
  },
}
