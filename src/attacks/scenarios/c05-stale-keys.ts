// C05: use after deregistration and stale keys. The attacker holds a rkey the victim tenant shared; after
// ibv_dereg_mr returns the key is dead at once (rxe marks the MR invalid before freeing). Then another tenant's
// registration recycles the same MR index (rxe reuses pool indexes, only the 8-bit key changes): neither the old
// key nor any key byte of that index reaches the new MR from the attacker's connection (other PD).

import {Access} from '../../rdma-constants.js'
import type {Mr} from '../../verbs/index.js'
import {oneSided} from '../ops.js'
import type {Scenario} from '../types.js'
import {attempt, connect, endpoint, withFreshConnection} from './common.js'

const RWA = Access.LOCAL_WRITE | Access.REMOTE_WRITE | Access.REMOTE_READ

export const c05: Scenario = {
  id: 'C05', catalogue: 'C05', title: 'use after deregistration, stale keys, recycled index in another PD', attackerModel: 'T1', needs: ['rnic-checks'],
  async run(env, ctx) {
    const atk = await endpoint(env, 'red-1')
    const svc = await endpoint(env, 'blue-2')
    const host = svc.vm.host
    const x = svc.vm.memory.alloc(4096, 4096)
    x.bytes.fill(0x42)
    const xMr = await svc.pd.regMr(x, RWA)
    // positive control before dereg: the shared key works
    await withFreshConnection(env, atk, svc, async (qa) => {
      const st = await oneSided(env, qa, atk.cq, 'read', atk.mr, xMr.addr, xMr.rkey, 64)
      ctx.control('READ with the shared rkey before dereg succeeds', st === 'SUCCESS' && atk.buf.bytes[0] === 0x42, st)
    })
    const mrsBefore = env.objects(host).mr
    await xMr.dereg()
    ctx.invariant('dereg releases the MR at once', env.objects(host).mr === mrsBefore - 1)
    for (const op of ['read', 'write'] as const) {
      atk.buf.bytes.fill(0xee)
      await withFreshConnection(env, atk, svc, (qa, qb) => attempt(env, ctx, atk, qa, qb, {
        name: `${op.toUpperCase()} with the rkey after dereg`, op, remoteAddr: xMr.addr, rkey: xMr.rkey, length: 64, expect: 'REM_ACCESS_ERR'}))
    }
    // another tenant (green) registers until it gets X's index back
    const green = await endpoint(env, 'green-1')
    const y = green.vm.memory.alloc(4096, 4096)
    y.bytes.fill(0x67)
    let yMr: Mr | undefined
    for (let i = 0; i < 1 << 16 && !yMr; i++) {
      const m = await green.pd.regMr(y, RWA)
      if (m.index === xMr.index) yMr = m
      else await m.dereg()
    }
    if (!yMr) throw new Error(`MR index ${xMr.index} was never recycled`)
    ctx.log(`index ${xMr.index} recycled: old rkey 0x${xMr.rkey.toString(16)}, new rkey 0x${yMr.rkey.toString(16)} (tenant green)`)
    const keys = new Set<number>([xMr.rkey, yMr.rkey])
    while (keys.size < 10) keys.add(((xMr.index << 8) | Math.floor(ctx.random() * 256)) >>> 0)
    for (const rkey of keys) {
      const name = rkey === yMr.rkey ? 'WRITE with the recycled MR\'s exact rkey (other PD)' : rkey === xMr.rkey ? 'WRITE with the stale rkey into the recycled index' : `WRITE index ${xMr.index} key byte 0x${(rkey & 0xff).toString(16)}`
      atk.buf.bytes.fill(0xee)
      await withFreshConnection(env, atk, svc, (qa, qb) => attempt(env, ctx, atk, qa, qb, {name, op: 'write', remoteAddr: yMr.addr, rkey, length: 64, expect: 'REM_ACCESS_ERR'}))
    }
    ctx.invariant('recycled MR (tenant green) untouched', y.bytes.every((b) => b === 0x67))
    ctx.invariant('pinned-page count decreases on dereg', 'n/a', 'no backend in this env')
    // positive control: green's own QP (same PD as the recycled MR) can use it
    const gPeer = await endpoint(env, 'green-1')
    const [qa, qb] = await connect(env, gPeer, green)
    gPeer.buf.bytes.fill(0x99, 0, 64)
    const st = await oneSided(env, qa, gPeer.cq, 'write', gPeer.mr, yMr.addr, yMr.rkey, 64)
    ctx.control('the owner of the recycled MR can WRITE it', st === 'SUCCESS' && y.bytes[0] === 0x99, st)
    await qa.destroy()
    await qb.destroy()
  },
}
