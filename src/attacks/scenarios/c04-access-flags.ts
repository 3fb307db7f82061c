// C04: access-flag violations. MR level (READ on a write-only MR, WRITE on a read-only MR, ATOMIC without
// REMOTE_ATOMIC) → REM_ACCESS_ERR; QP level (qp_access_flags lacking the operation; rxe check_op_valid) →
// REM_INV_REQ_ERR; bad flag combinations at registration (REMOTE_WRITE/ATOMIC without LOCAL_WRITE, C10-31) → EINVAL
// with no object created.

import {Access} from '../../rdma-constants.js'
import {errnoOf, oneSided} from '../ops.js'
import type {Scenario} from '../types.js'
import {attempt, endpoint, withFreshConnection} from './common.js'

const {LOCAL_WRITE: LW, REMOTE_WRITE: RW, REMOTE_READ: RR, REMOTE_ATOMIC: RA} = Access

export const c04: Scenario = {
  id: 'C04', catalogue: 'C04', title: 'MR- and QP-level access-flag violations, bad flag combinations', attackerModel: 'T1', needs: ['rnic-checks'],
  async run(env, ctx) {
    const atk = await endpoint(env, 'red-1')
    const svc = await endpoint(env, 'blue-2')
    const mem = svc.vm.memory
    const wo = await svc.pd.regMr(mem.alloc(4096, 4096), LW | RW)
    const ro = await svc.pd.regMr(mem.alloc(4096, 4096), RR)
    const rwNoAtomic = await svc.pd.regMr(mem.alloc(4096, 4096), LW | RW | RR)
    const all = await svc.pd.regMr(mem.alloc(4096, 4096), LW | RW | RR | RA)
    const mrProbes: Array<[string, 'write' | 'read' | 'faa', typeof wo]> = [
      ['READ on a write-only MR', 'read', wo], ['WRITE on a read-only MR', 'write', ro], ['ATOMIC on an MR without REMOTE_ATOMIC', 'faa', rwNoAtomic],
    ]
    for (const [name, op, mr] of mrProbes) {
      await withFreshConnection(env, atk, svc, (qa, qb) => attempt(env, ctx, atk, qa, qb, {name, op, remoteAddr: mr.addr, rkey: mr.rkey, length: op === 'faa' ? 8 : 64, expect: 'REM_ACCESS_ERR'}))
    }
    // QP level: the responder QP allows only what its qp_access_flags say, whatever the MR allows
    const qpProbes: Array<[string, 'write' | 'read' | 'faa', number]> = [
      ['READ to a QP without REMOTE_READ', 'read', LW | RW | RA], ['WRITE to a QP without REMOTE_WRITE', 'write', LW | RR | RA],
      ['ATOMIC to a QP without REMOTE_ATOMIC', 'faa', LW | RW | RR],
    ]
    for (const [name, op, qpAccess] of qpProbes) {
      await withFreshConnection(env, atk, svc, (qa, qb) => attempt(env, ctx, atk, qa, qb, {name, op, remoteAddr: all.addr, rkey: all.rkey, length: op === 'faa' ? 8 : 64, expect: 'REM_INV_REQ_ERR'}), qpAccess)
    }
    // registration: bad combinations are EINVAL and create nothing
    const host = svc.vm.host
    for (const [name, access] of [['REMOTE_WRITE without LOCAL_WRITE', RW], ['REMOTE_ATOMIC without LOCAL_WRITE', RA], ['REMOTE_WRITE|REMOTE_ATOMIC without LOCAL_WRITE', RW | RA | RR]] as const) {
      const before = env.objects(host).mr
      const got = await errnoOf(svc.pd.regMr(mem.alloc(64, 64), access))
      const created = env.objects(host).mr - before
      ctx.probe({name: `reg_mr ${name}`, want: 'denied', expected: 'EINVAL, no MR', observed: `${got}, ${created} MR created`, ok: got === 'EINVAL' && created === 0})
    }
    // positive controls: the right flags work
    await withFreshConnection(env, atk, svc, async (qa) => {
      for (const op of ['write', 'read', 'faa'] as const) {
        const st = await oneSided(env, qa, atk.cq, op, atk.mr, all.addr, all.rkey, op === 'faa' ? 8 : 64)
        ctx.control(`${op.toUpperCase()} with matching MR and QP flags succeeds`, st === 'SUCCESS', st)
      }
    })
    const got = await errnoOf(svc.pd.regMr(mem.alloc(64, 64), LW | RW | RA))
    ctx.control('reg_mr LOCAL_WRITE|REMOTE_WRITE|REMOTE_ATOMIC succeeds', got === 'OK', got)
  },
}
