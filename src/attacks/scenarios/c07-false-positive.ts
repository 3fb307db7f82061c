// C07: false-positive guards that must NOT be reported as bypasses. A zero-length READ/WRITE needs no valid
// address or rkey (IBA C9-88; rxe check_rkey), and guessing an rkey in the responder QP's own PD succeeds by
// design (ReDMArk A3 / V9: the PD is the barrier, not the key). Verdict: expected behaviour.

import {Access} from '../../rdma-constants.js'
import {oneSided} from '../ops.js'
import type {Scenario} from '../types.js'
import {connect, endpoint, withFreshConnection} from './common.js'

export const c07: Scenario = {
  id: 'C07', catalogue: 'C07', title: 'false-positive guards: zero-length access, same-PD guess', attackerModel: 'T1', needs: ['rnic-checks'],
  async run(env, ctx) {
    const atk = await endpoint(env, 'red-1')
    const svc = await endpoint(env, 'blue-2')
    const rw = Access.LOCAL_WRITE | Access.REMOTE_WRITE | Access.REMOTE_READ
    const pub = await svc.pd.regMr(svc.vm.memory.alloc(4096, 4096), rw)
    const secretRegion = svc.vm.memory.alloc(4096, 4096)
    secretRegion.bytes.fill(0x53)
    const secret = await svc.pd.regMr(secretRegion, rw)
    const bogus = 0xdeadbe00 | Math.floor(ctx.random() * 256)
    for (const op of ['read', 'write'] as const) {
      await withFreshConnection(env, atk, svc, async (qa) => {
        const st = await oneSided(env, qa, atk.cq, op, atk.mr, 0x1234n, bogus, 0)
        ctx.probe({name: `zero-length ${op.toUpperCase()} with a bogus rkey`, want: 'success', expected: 'SUCCESS (C9-88)', observed: st, ok: st === 'SUCCESS'})
      })
    }
    // same-PD guess: sweep the key byte of the index next to the shared MR until it hits
    let hit: string | undefined
    let misses = 0
    for (let b = 0; b < 256 && !hit; b++) {
      // the index is known (sequential allocation, ReDMArk V1); only its 8 key bits are guessed
      const rkey = ((secret.index << 8) | b) >>> 0
      await withFreshConnection(env, atk, svc, async (qa) => {
        const st = await oneSided(env, qa, atk.cq, 'read', atk.mr, secret.addr, rkey, 64)
        if (st === 'SUCCESS') hit = `SUCCESS after ${misses} misses (rkey 0x${rkey.toString(16)})`
        else misses++
      })
    }
    ctx.probe({name: 'same-PD rkey guess (key byte sweep of a neighbouring index)', want: 'success', expected: 'SUCCESS by design (PD is the barrier)',
      observed: hit ?? `no guess succeeded (${misses} misses)`, ok: hit !== undefined && atk.buf.bytes[0] === 0x53})
    // positive control: the legitimate op with the shared key
    const [qa, qb] = await connect(env, atk, svc)
    const st = await oneSided(env, qa, atk.cq, 'write', atk.mr, pub.addr, pub.rkey, 64)
    ctx.control('WRITE with the shared rkey succeeds', st === 'SUCCESS', st)
    await qa.destroy()
    await qb.destroy()
  },
}
