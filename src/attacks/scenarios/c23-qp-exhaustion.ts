// C23: QP allocation exhaustion (ReDMArk A4). A tenant creates QPs until it fails: the per-tenant quota must hit
// first with a clean errno (EDQUOT/EAGAIN/ENOMEM), leaving the device's capacity to others, so that the victim
// tenant can still create a QP and connect. Quotas live in the MasQ backend: needs 'backend-policy'.

import {Access} from '../../rdma-constants.js'
import type {Qp} from '../../verbs/index.js'
import {errnoName, oneSided} from '../ops.js'
import {VerbsError} from '../../verbs/index.js'
import type {Scenario} from '../types.js'
import {connect, endpoint} from './common.js'

export const c23: Scenario = {
  id: 'C23', catalogue: 'C23', title: 'QP exhaustion by one tenant', attackerModel: 'T1', needs: ['backend-policy'],
  async run(env, ctx) {
    const atk = await endpoint(env, 'red-2') // on the victim service's host
    const limit = atk.ctx.info.limits.maxQp
    const qps: Qp[] = []
    let errno = 'none'
    for (let i = 0; i <= limit; i++) {
      try {
        qps.push(await atk.pd.createQp({type: 'RC', sendCq: atk.cq, recvCq: atk.cq, cap: {maxSendWr: 1, maxRecvWr: 1, maxSendSge: 1, maxRecvSge: 1}}))
      } catch (e) {
        if (!(e instanceof VerbsError)) throw e
        errno = errnoName(e.errno)
        break
      }
    }
    ctx.log(`the attacker created ${qps.length} QPs (device limit ${limit}) before ${errno}`)
    ctx.probe({name: 'create QPs until failure', want: 'denied', expected: 'a quota errno (EDQUOT/EAGAIN/ENOMEM) below the device limit',
      observed: `${errno} after ${qps.length} QPs`, ok: ['EDQUOT', 'EAGAIN', 'ENOMEM'].includes(errno) && qps.length < limit})
    // the victim tenant can still create and connect (NL-std iv)
    const a = await endpoint(env, 'blue-1')
    const b = await endpoint(env, 'blue-2')
    let st = 'not connected'
    try {
      const [qa] = await connect(env, a, b)
      const mr = await b.pd.regMr(b.vm.memory.alloc(4096, 4096), Access.LOCAL_WRITE | Access.REMOTE_WRITE)
      st = await oneSided(env, qa, a.cq, 'write', a.mr, mr.addr, mr.rkey, 64)
    } catch (e) {
      st = e instanceof VerbsError ? `${errnoName(e.errno)}: ${e.message}` : String(e)
    }
    ctx.invariant('the victim tenant can still create QPs, connect and WRITE', st === 'SUCCESS', st)
    for (const q of qps) await q.destroy()
    // positive control: within its quota the attacker's creates succeed
    ctx.control('the attacker\'s first QPs were created', qps.length > 0, `${qps.length}`)
  },
}
