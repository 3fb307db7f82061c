// C03: out of bounds within a valid MR (rxe mr_check_range on (va, RETH length) at the first packet): after the
// end, before the start, wrapping near 2^64 (an MR at iova 2^64-4096 via ibv_reg_mr_iova), a READ longer than the
// MR, and a multi-packet WRITE whose later packets overrun. Guard bytes sit on both sides of each target MR.

import {Access} from '../../rdma-constants.js'
import {oneSided, sha256} from '../ops.js'
import type {Scenario} from '../types.js'
import {attempt, connect, endpoint, withFreshConnection} from './common.js'

const TOP = 0xffffffffffffffffn + 1n // 2^64

export const c03: Scenario = {
  id: 'C03', catalogue: 'C03', title: 'out-of-bounds access within a valid MR', attackerModel: 'T1', needs: ['rnic-checks'],
  async run(env, ctx) {
    const atk = await endpoint(env, 'red-1', 16384)
    const svc = await endpoint(env, 'blue-2')
    const mem = svc.vm.memory
    const rw = Access.LOCAL_WRITE | Access.REMOTE_WRITE | Access.REMOTE_READ
    const g1 = mem.alloc(256, 4096)
    const target = mem.alloc(4096, 1)
    const g2 = mem.alloc(256, 1)
    const g3 = mem.alloc(256, 4096)
    const high = mem.alloc(4096, 1) // registered at iova 2^64 - 4096
    const g4 = mem.alloc(256, 1)
    for (const r of [g1, target, g2, g3, high, g4]) for (let i = 0; i < r.length; i++) r.bytes[i] = (ctx.random() * 256) | 0
    const mr = await svc.pd.regMr(target, rw)
    const hiMr = await svc.pd.regMr(high, rw, {iova: TOP - 4096n})
    const guards = () => [g1, g2, g3, g4].map((g) => sha256(g.bytes)).join(',')
    const guardsBefore = guards()
    const contents = () => sha256(target.bytes) + sha256(high.bytes)
    const contentsBefore = contents()
    const base = mr.addr
    const len = BigInt(target.length)
    const probes: Array<[string, 'write' | 'read', bigint, number, number]> = [
      ['WRITE 16 B at end-1 (after)', 'write', base + len - 1n, mr.rkey, 16],
      ['WRITE 8 B at start-8 (before)', 'write', base - 8n, mr.rkey, 8],
      ['READ 16 B at end-1 (after)', 'read', base + len - 1n, mr.rkey, 16],
      ['READ MR length + 1 from start', 'read', base, mr.rkey, target.length + 1],
      ['multi-packet WRITE overrun (5 KB into 4 KB, MTU 1024)', 'write', base, mr.rkey, 5120],
      ['multi-packet WRITE from mid-MR past the end', 'write', base + 2048n, mr.rkey, 3072],
      ['WRITE 32 B wrapping 2^64', 'write', TOP - 16n, hiMr.rkey, 32],
      ['READ 4 KB wrapping 2^64', 'read', TOP - 2048n, hiMr.rkey, 4096],
      ['WRITE 8 B below an MR at 2^64-4096', 'write', TOP - 4096n - 8n, hiMr.rkey, 8],
    ]
    for (const [name, op, va, rkey, n] of probes) {
      atk.buf.bytes.fill(0xee)
      await withFreshConnection(env, atk, svc, (qa, qb) => attempt(env, ctx, atk, qa, qb, {name, op, remoteAddr: va, rkey, length: n, expect: 'REM_ACCESS_ERR'}))
      if (op === 'read') ctx.invariant(`${name}: no bytes returned`, atk.buf.bytes.every((b) => b === 0xee))
    }
    ctx.invariant('guard bytes around both MRs unchanged', guards() === guardsBefore)
    ctx.invariant('no byte placed in the MRs by rejected WRITEs (checked at the first packet)', contents() === contentsBefore)
    // positive controls: the exact MR extent, and the last bytes below 2^64
    const [qa, qb] = await connect(env, atk, svc)
    atk.buf.bytes.fill(0x31, 0, 4096)
    const full = await oneSided(env, qa, atk.cq, 'write', atk.mr, base, mr.rkey, 4096)
    ctx.control('WRITE of exactly the MR extent (4 KB, multi-packet) succeeds', full === 'SUCCESS' && target.bytes.every((b) => b === 0x31), full)
    const last = await oneSided(env, qa, atk.cq, 'write', atk.mr, TOP - 16n, hiMr.rkey, 16)
    ctx.control('WRITE of the last 16 B below 2^64 succeeds', last === 'SUCCESS' && high.bytes[4095] === 0x31, last)
    const rd = await oneSided(env, qa, atk.cq, 'read', atk.mr, TOP - 4096n, hiMr.rkey, 4096)
    ctx.control('READ of the whole high MR succeeds', rd === 'SUCCESS', rd)
    ctx.invariant('guard bytes unchanged after the controls', guards() === guardsBefore)
    await qa.destroy()
    await qb.destroy()
  },
}
