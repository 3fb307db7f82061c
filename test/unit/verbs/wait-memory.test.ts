// Context.waitMemory: a guest polling its memory for a peer's RDMA WRITE sleeps on the RNIC's DMA epoch
// (queue.ts DMA_EPOCH) instead of spinning; the responder bumps the epoch for every WRITE payload it places.

import {Worker} from 'node:worker_threads'
import {describe, expect, it} from 'vitest'
import {SendFlags, WrOpcode} from '../../../src/rdma-constants.js'
import {DMA_EPOCH, DMA_WAITERS} from '../../../src/rnic/queue.js'
import {ALL_REMOTE, connect, endpoint, makeLab} from '../rnic/helpers.js'

describe('waiting for guest memory to change (DMA epoch)', () => {
  it('the responder bumps the epoch once per WRITE packet that carries data, not for a SEND', async () => {
    const lab = makeLab()
    const a = await endpoint(lab.nics[0]!)
    const b = await endpoint(lab.nics[1]!)
    const [qa, qb] = await connect(a, b) // MTU 1024
    const src = a.mem.alloc(3000)
    const dst = b.mem.alloc(3000)
    const smr = await a.pd.regMr(src, 0)
    const dmr = await b.pd.regMr(dst, ALL_REMOTE)
    const epoch = () => Atomics.load(b.ctx.doorbell, DMA_EPOCH)
    const e0 = epoch()
    qa.postSend({wrId: 1n, opcode: WrOpcode.RDMA_WRITE, sendFlags: SendFlags.SIGNALED,
      sgList: [{addr: src.addr, length: 3000, lkey: smr.lkey}], rdma: {remoteAddr: dst.addr, rkey: dmr.rkey}})
    lab.run()
    expect(epoch() - e0).toBe(3)
    qb.postRecv({wrId: 2n, sgList: [{addr: dst.addr, length: 3000, lkey: dmr.lkey}]})
    qa.postSend({wrId: 3n, opcode: WrOpcode.SEND, sendFlags: SendFlags.SIGNALED, sgList: [{addr: src.addr, length: 100, lkey: smr.lkey}]})
    lab.run()
    expect(epoch() - e0).toBe(3)
    expect(b.cq.poll(4)).toHaveLength(1)
  })

  it('returns at once when the byte is already there, false after the timeout when it never comes', async () => {
    const lab = makeLab()
    const b = await endpoint(lab.nics[0]!)
    const buf = b.mem.alloc(16)
    buf.bytes[15] = 7
    expect(b.ctx.waitMemory(buf.bytes, 15, 7)).toBe(true)
    expect(b.ctx.waitMemory(buf.bytes, 15, 8, 0, 20)).toBe(false)
    expect(Atomics.load(b.ctx.doorbell, DMA_WAITERS)).toBe(0) // the waiter count is released
  })

  it('a sleeping waiter is woken by a write from another thread that bumps the epoch', async () => {
    const lab = makeLab()
    const b = await endpoint(lab.nics[0]!)
    const buf = b.mem.alloc(16)
    // the other thread waits until the guest has armed the monitor, then writes and bumps the epoch
    const w = new Worker(`
      const {workerData: {db, mem, off}} = require('node:worker_threads')
      const d = new Int32Array(db), u8 = new Uint8Array(mem)
      while (Atomics.load(d, ${DMA_WAITERS}) === 0) Atomics.wait(d, 3, 0, 1)
      u8[off] = 42
      Atomics.add(d, ${DMA_EPOCH}, 1)
      Atomics.notify(d, ${DMA_EPOCH})
    `, {eval: true, workerData: {db: b.ctx.doorbell.buffer, mem: buf.bytes.buffer, off: buf.bytes.byteOffset + 3}})
    const exited = new Promise((r) => w.once('exit', r))
    expect(b.ctx.waitMemory(buf.bytes, 3, 42, 0, 60_000)).toBe(true)
    await exited
  })
})
