// C15: P_Key / partition bypass. RoCE uses the single default P_Key 0xFFFF (rxe's table has one entry), so a
// tenant asking for any other pkey_index is refused (EINVAL) and cannot reach another partition; frames carrying a
// foreign P_Key are dropped and counted (C10 covers the injected ones).

import {QpAttrMask as M, QpState} from '../../rdma-constants.js'
import {errnoOf} from '../ops.js'
import type {Scenario} from '../types.js'
import {endpoint} from './common.js'

export const c15: Scenario = {
  id: 'C15', catalogue: 'C15', title: 'pkey_index of another partition refused', attackerModel: 'T1', needs: ['rnic-checks'],
  async run(env, ctx) {
    const atk = await endpoint(env, 'red-1')
    for (const type of ['RC', 'UD'] as const) {
      const qp = await atk.pd.createQp({type, sendCq: atk.cq, recvCq: atk.cq, cap: {}})
      for (const pkeyIndex of [1, 0x7f, 0xffff]) {
        const extra = type === 'UD' ? {qkey: 0x1234} : {qpAccessFlags: 0}
        const got = await errnoOf(qp.modify({qpState: QpState.INIT, pkeyIndex, portNum: 1, ...extra}, M.STATE | M.PKEY_INDEX | M.PORT | (type === 'UD' ? M.QKEY : M.ACCESS_FLAGS)))
        const state = (await qp.query()).qpState
        ctx.probe({name: `${type} modify_qp INIT with pkey_index ${pkeyIndex}`, want: 'denied', expected: 'EINVAL, QP stays RESET',
          observed: `${got}, QP ${state === QpState.RESET ? 'RESET' : state}`, ok: got === 'EINVAL' && state === QpState.RESET})
      }
      const extra = type === 'UD' ? {qkey: 0x1234} : {qpAccessFlags: 0}
      const ok = await errnoOf(qp.modify({qpState: QpState.INIT, pkeyIndex: 0, portNum: 1, ...extra}, M.STATE | M.PKEY_INDEX | M.PORT | (type === 'UD' ? M.QKEY : M.ACCESS_FLAGS)))
      ctx.control(`${type} modify_qp INIT with the default pkey_index 0 succeeds`, ok === 'OK', ok)
      await qp.destroy()
    }
  },
}
