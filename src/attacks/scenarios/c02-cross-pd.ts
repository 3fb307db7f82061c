// C02: a valid rkey from another PD / tenant (IBA PD model; rxe lookup_mr compares the PD). The attacker knows
// the victim canary's exact rkey and address. Over its own connection (responder QP in the attacker's PD on the
// victim's host) and over a connection into a victim-tenant service QP in another PD, every access is NAKed.

import {Access} from '../../rdma-constants.js'
import {oneSided} from '../ops.js'
import type {Scenario} from '../types.js'
import {attempt, endpoint, withFreshConnection} from './common.js'

export const c02: Scenario = {
  id: 'C02', catalogue: 'C02', title: 'valid rkey from another PD / tenant', attackerModel: 'T1', needs: ['rnic-checks'],
  async run(env, ctx) {
    const v = ctx.victim
    const atk = await endpoint(env, 'red-1')
    const atkPeer = await endpoint(env, 'red-2') // the attacker's own VM on the victim's host
    const svc = await endpoint(env, 'blue-2') // a victim-tenant service QP in its own PD
    for (const [label, responder] of [['own QP on the victim host (tenant red)', atkPeer], ['victim service QP (tenant blue, other PD)', svc]] as const) {
      for (const op of ['write', 'read', 'faa'] as const) {
        atk.buf.bytes.fill(0xee)
        await withFreshConnection(env, atk, responder, (qa, qb) => attempt(env, ctx, atk, qa, qb, {
          name: `${op.toUpperCase()} canary via ${label}`, op, remoteAddr: v.canaryAddr, rkey: v.canaryRkey, length: op === 'faa' ? 8 : 64, expect: 'REM_ACCESS_ERR'}))
        if (op === 'read') {
          // NL-std (ii): nothing of the canary reached the attacker's buffer
          ctx.invariant(`attacker READ buffer holds no victim bytes (${label})`, atk.buf.bytes.subarray(0, 64).every((b) => b === 0xee))
        }
      }
    }
    // positive control: the same operations on an MR in the responder's own PD succeed
    const own = atkPeer.vm.memory.alloc(4096, 4096)
    const ownMr = await atkPeer.pd.regMr(own, Access.LOCAL_WRITE | Access.REMOTE_WRITE | Access.REMOTE_READ | Access.REMOTE_ATOMIC)
    await withFreshConnection(env, atk, atkPeer, async (qa) => {
      atk.buf.bytes.fill(0x77, 0, 64)
      const w = await oneSided(env, qa, atk.cq, 'write', atk.mr, ownMr.addr, ownMr.rkey, 64)
      ctx.control('same-PD WRITE succeeds and lands', w === 'SUCCESS' && own.bytes[0] === 0x77 && own.bytes[63] === 0x77, w)
      const r = await oneSided(env, qa, atk.cq, 'read', atk.mr, ownMr.addr, ownMr.rkey, 64)
      ctx.control('same-PD READ succeeds', r === 'SUCCESS', r)
    })
  },
}
