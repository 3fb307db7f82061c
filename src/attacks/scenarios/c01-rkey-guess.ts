// C01: guessed / brute-forced rkeys (ReDMArk V1-V3, A3). The attacker holds one legitimately shared rkey of a
// victim-tenant service and sweeps neighbouring indexes (rxe's +0x100 step), the 8 key bits of that index and
// random keys. Each miss is NAK Remote Access Error and costs the attacker its QP, so it reconnects per guess.

import {Access} from '../../rdma-constants.js'
import {sha256} from '../ops.js'
import type {Scenario} from '../types.js'
import {attempt, connect, endpoint, withFreshConnection} from './common.js'
import {oneSided} from '../ops.js'

export const c01: Scenario = {
  id: 'C01', catalogue: 'C01', title: 'guessed / brute-forced rkeys (reconnect per guess)', attackerModel: 'T1', needs: ['rnic-checks'],
  async run(env, ctx) {
    const atk = await endpoint(env, 'red-1')
    const svc = await endpoint(env, 'blue-2')
    const shared = svc.vm.memory.alloc(4096, 4096)
    const sharedMr = await svc.pd.regMr(shared, Access.LOCAL_WRITE | Access.REMOTE_WRITE | Access.REMOTE_READ)
    // positive control: the rkey the service shared works
    atk.buf.bytes.fill(0x5c, 0, 64)
    const [qa, qb] = await connect(env, atk, svc)
    const ok = await oneSided(env, qa, atk.cq, 'write', atk.mr, sharedMr.addr, sharedMr.rkey, 64)
    ctx.control('WRITE with the shared rkey succeeds and lands', ok === 'SUCCESS' && shared.bytes[63] === 0x5c, ok)
    await qa.destroy()
    await qb.destroy()
    const before = sha256(shared.bytes)
    const own = sharedMr.rkey
    const guesses = new Set<number>()
    for (const k of [-3, -2, -1, 1, 2, 3, 4, 5]) guesses.add((own + k * 0x100) >>> 0) // adjacent indexes, same key byte
    while (guesses.size < 20) guesses.add(((own & ~0xff) | Math.floor(ctx.random() * 256)) >>> 0) // this index, other key bits
    while (guesses.size < 28) guesses.add(Math.floor(ctx.random() * 0x100000000) >>> 0) // random keys
    guesses.delete(own)
    const ev0 = env.events().length
    let n = 0
    for (const rkey of guesses) {
      const op = n++ % 2 === 0 ? 'write' : 'read'
      atk.buf.bytes.fill(0xee, 0, 256)
      await withFreshConnection(env, atk, svc, (qa, qb) => attempt(env, ctx, atk, qa, qb, {
        name: `${op.toUpperCase()} rkey 0x${rkey.toString(16).padStart(8, '0')}`, op, remoteAddr: sharedMr.addr, rkey, length: 256, expect: 'REM_ACCESS_ERR'}))
    }
    ctx.log(`${guesses.size} guesses, ${guesses.size} reconnects`)
    // ReDMArk M3: every violation is visible to the victim's host (rxe raises IB_EVENT_QP_ACCESS_ERR on the responder)
    const seen = env.events(ev0).filter((e) => e.host === svc.vm.host && e.name === 'QP_ACCESS_ERR').length
    ctx.invariant('every guess raised QP_ACCESS_ERR on the victim host (detectable)', seen === guesses.size, `${seen} events for ${guesses.size} guesses`)
    ctx.invariant('service MR unchanged by the guesses', sha256(shared.bytes) === before)
    ctx.invariant('backend connection-rate limiter trips', 'n/a', 'no backend in this env (issue 8: C01 setup-rate limiter)')
  },
}
