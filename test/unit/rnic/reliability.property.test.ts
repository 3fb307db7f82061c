// Property: an RC connection delivers every byte exactly once and in order through a fabric that loses,
// duplicates and reorders up to 10% of frames (seeded, bounded runs); a dead peer ends in RETRY_EXC_ERR.

import fc from 'fast-check'
import {describe, expect, it} from 'vitest'
import {Access, Mtu, SendFlags, WcStatus, WrOpcode} from '../../../src/rdma-constants.js'
import {connect, endpoint, fill, makeLab} from './helpers.js'

type Op = {kind: 'SEND' | 'WRITE' | 'READ'; len: number}

const opArb = fc.record({kind: fc.constantFrom<'SEND' | 'WRITE' | 'READ'>('SEND', 'WRITE', 'READ'), len: fc.integer({min: 0, max: 6000})})
const SLOT = 6000

describe('RC reliability (fast-check)', () => {
  it('every byte exactly once and in order under loss, duplication and reordering', async () => {
    await fc.assert(fc.asyncProperty(
      fc.array(opArb, {minLength: 1, maxLength: 16}),
      fc.record({loss: fc.double({min: 0, max: 0.1, noNaN: true}), duplicate: fc.double({min: 0, max: 0.1, noNaN: true}),
        reorder: fc.double({min: 0, max: 0.1, noNaN: true})}),
      fc.integer({min: 1, max: 2 ** 30}),
      fc.constantFrom(Mtu[256], Mtu[1024], Mtu[4096]),
      async (ops: Op[], imp, seed, mtu) => {
        const lab = makeLab(2, {seed, impairments: {...imp, reorderDelayUs: 30}})
        const a = await endpoint(lab.nics[0]!, 1 << 21)
        const b = await endpoint(lab.nics[1]!, 1 << 21)
        const [qa, qb] = await connect(a, b, {mtu, timeout: 6, retryCnt: 7, rnrRetry: 7, minRnrTimer: 1})
        const n = ops.length
        const aBuf = a.mem.alloc(n * SLOT)
        const bBuf = b.mem.alloc(n * SLOT)
        const aMr = await a.pd.regMr(aBuf, Access.LOCAL_WRITE)
        const bMr = await b.pd.regMr(bBuf, Access.LOCAL_WRITE | Access.REMOTE_WRITE | Access.REMOTE_READ)
        ops.forEach((op, i) => {
          // the source of each op holds distinct bytes: a's slot for SEND/WRITE, b's slot for READ
          fill((op.kind === 'READ' ? bBuf : aBuf).bytes.subarray(i * SLOT, i * SLOT + op.len), seed + i)
        })
        const sends = ops.flatMap((op, i) => (op.kind === 'SEND' ? [i] : []))
        qb.postRecv(sends.map((i) => ({wrId: BigInt(i), sgList: [{addr: bBuf.addr + BigInt(i * SLOT), length: SLOT, lkey: bMr.lkey}]})))
        qa.postSend(ops.map((op, i) => ({
          wrId: BigInt(i), sendFlags: SendFlags.SIGNALED,
          opcode: op.kind === 'SEND' ? WrOpcode.SEND : op.kind === 'WRITE' ? WrOpcode.RDMA_WRITE : WrOpcode.RDMA_READ,
          sgList: [{addr: aBuf.addr + BigInt(i * SLOT), length: op.len, lkey: aMr.lkey}],
          rdma: {remoteAddr: bBuf.addr + BigInt(i * SLOT), rkey: bMr.rkey},
        })))
        lab.run({untilUs: 120e6})
        const swc = a.cq.poll(64)
        expect(swc.map((w) => [Number(w.wrId), w.status])).toEqual(ops.map((_, i) => [i, WcStatus.SUCCESS]))
        const rwc = b.cq.poll(64)
        // exactly once and in order
        expect(rwc.map((w) => [Number(w.wrId), w.status, w.byteLen])).toEqual(sends.map((i) => [i, WcStatus.SUCCESS, ops[i]!.len]))
        ops.forEach((op, i) => {
          const x = aBuf.bytes.subarray(i * SLOT, i * SLOT + op.len)
          const y = bBuf.bytes.subarray(i * SLOT, i * SLOT + op.len)
          expect(Buffer.compare(Buffer.from(x), Buffer.from(y)), `${op.kind} #${i} of ${op.len} bytes`).toBe(0)
        })
      },
    ), {numRuns: 25, seed: 4242, examples: [
      // found by this property: stale duplicate ACKs arriving in the middle of a multi-packet READ response
      [[{kind: 'SEND', len: 769}, {kind: 'SEND', len: 769}, {kind: 'READ', len: 257}], {loss: 5e-324, duplicate: 5e-324, reorder: 0.07508786744438113}, 501744007, Mtu[256]],
    ]})
  })

  it('a dead peer ends in RETRY_EXC_ERR (12) after retry_cnt retries, the rest flushed', async () => {
    await fc.assert(fc.asyncProperty(fc.integer({min: 0, max: 6}), fc.integer({min: 1, max: 5}), async (retryCnt, extra) => {
      const lab = makeLab(2, {impairments: {loss: 1}})
      const a = await endpoint(lab.nics[0]!)
      const b = await endpoint(lab.nics[1]!)
      const [qa] = await connect(a, b, {retryCnt, timeout: 4})
      qa.postSend(Array.from({length: 1 + extra}, (_, i) => ({wrId: BigInt(i), sendFlags: 0})))
      lab.run()
      const wcs = a.cq.poll(16)
      expect(wcs.map((w) => w.status)).toEqual([WcStatus.RETRY_EXC_ERR, ...Array(extra).fill(WcStatus.WR_FLUSH_ERR)])
      expect(lab.nics[0]!.counters().port.COMP_RETRY).toBe(retryCnt)
    }), {numRuns: 10, seed: 7})
  })
})

describe('RNR and UC under impairments (fast-check)', () => {
  it('RC SENDs posted before the receives: RNR NAKs, retries and losses still deliver each message once, in order', async () => {
    await fc.assert(fc.asyncProperty(
      fc.array(fc.integer({min: 0, max: 3000}), {minLength: 1, maxLength: 12}),
      fc.integer({min: 0, max: 11}), fc.double({min: 0, max: 0.1, noNaN: true}), fc.integer({min: 1, max: 2 ** 30}),
      async (lens, early, loss, seed) => {
        const lab = makeLab(2, {seed, impairments: {loss}})
        const a = await endpoint(lab.nics[0]!, 1 << 20)
        const b = await endpoint(lab.nics[1]!, 1 << 20)
        const [qa, qb] = await connect(a, b, {mtu: Mtu[1024], timeout: 6, retryCnt: 7, rnrRetry: 7, minRnrTimer: 3})
        const src = a.mem.alloc(lens.length * 3000)
        const dst = b.mem.alloc(lens.length * 3000)
        const smr = await a.pd.regMr(src, 0)
        const dmr = await b.pd.regMr(dst, Access.LOCAL_WRITE)
        lens.forEach((n, i) => fill(src.bytes.subarray(i * 3000, i * 3000 + n), seed + i))
        const recv = (i: number) => qb.postRecv({wrId: BigInt(i), sgList: [{addr: dst.addr + BigInt(i * 3000), length: 3000, lkey: dmr.lkey}]})
        // only some receives up front: the rest arrive after the sender has been told "not ready"
        const upFront = Math.min(early, lens.length)
        for (let i = 0; i < upFront; i++) recv(i)
        qa.postSend(lens.map((n, i) => ({wrId: BigInt(i), sendFlags: SendFlags.SIGNALED, sgList: [{addr: src.addr + BigInt(i * 3000), length: n, lkey: smr.lkey}]})))
        lab.run({untilUs: lab.clock.t + 2000})
        for (let i = upFront; i < lens.length; i++) recv(i)
        lab.run({untilUs: 120e6})
        expect(a.cq.poll(64).map((w) => [Number(w.wrId), w.status])).toEqual(lens.map((_, i) => [i, WcStatus.SUCCESS]))
        expect(b.cq.poll(64).map((w) => [Number(w.wrId), w.status, w.byteLen])).toEqual(lens.map((n, i) => [i, WcStatus.SUCCESS, n]))
        lens.forEach((n, i) => {
          expect(Buffer.compare(Buffer.from(src.bytes.subarray(i * 3000, i * 3000 + n)), Buffer.from(dst.bytes.subarray(i * 3000, i * 3000 + n)))).toBe(0)
        })
      }), {numRuns: 25, seed: 11})
  })

  it('UC under loss: a message arrives whole or not at all, never out of order, and the sender never fails', async () => {
    await fc.assert(fc.asyncProperty(
      fc.array(fc.integer({min: 1, max: 3000}), {minLength: 1, maxLength: 12}),
      fc.double({min: 0, max: 0.1, noNaN: true}), fc.integer({min: 1, max: 2 ** 30}),
      async (lens, loss, seed) => {
        const lab = makeLab(2, {seed, impairments: {loss}})
        const a = await endpoint(lab.nics[0]!, 1 << 20)
        const b = await endpoint(lab.nics[1]!, 1 << 20)
        const [qa, qb] = await connect(a, b, {type: 'UC', mtu: Mtu[1024]})
        const src = a.mem.alloc(lens.length * 3000)
        const dst = b.mem.alloc(lens.length * 3000)
        const smr = await a.pd.regMr(src, 0)
        const dmr = await b.pd.regMr(dst, Access.LOCAL_WRITE)
        lens.forEach((n, i) => fill(src.bytes.subarray(i * 3000, i * 3000 + n), seed + i))
        qb.postRecv(lens.map((_, i) => ({wrId: BigInt(i), sgList: [{addr: dst.addr + BigInt(i * 3000), length: 3000, lkey: dmr.lkey}]})))
        qa.postSend(lens.map((n, i) => ({wrId: BigInt(i), sendFlags: SendFlags.SIGNALED, sgList: [{addr: src.addr + BigInt(i * 3000), length: n, lkey: smr.lkey}]})))
        lab.run()
        expect(a.cq.poll(64).map((w) => w.status)).toEqual(lens.map(() => WcStatus.SUCCESS))
        // receive WQEs are consumed in order; the k-th completion holds the k-th *delivered* message
        const got = b.cq.poll(64)
        let last = -1
        got.forEach((w, k) => {
          expect(w.status).toBe(WcStatus.SUCCESS)
          expect(Number(w.wrId)).toBe(k)
          // find which message it is by length and content, and check that order is kept
          const bytes = Buffer.from(dst.bytes.subarray(k * 3000, k * 3000 + w.byteLen))
          const m = lens.findIndex((n, i) => i > last && n === w.byteLen && bytes.equals(Buffer.from(src.bytes.subarray(i * 3000, i * 3000 + n))))
          expect(m).toBeGreaterThan(last)
          last = m
        })
      }), {numRuns: 25, seed: 12})
  })
})
