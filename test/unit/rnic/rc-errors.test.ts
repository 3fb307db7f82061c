// The error table of rxe (rdma-emulation.md §1.5, rdma-security.md §5.3): what a violating request gets on each
// side, and that nothing outside the MR is touched.

import {describe, expect, it} from 'vitest'
import {Access, Mtu, QpState, SendFlags, WcOpcode, WcStatus, WrOpcode} from '../../../src/rdma-constants.js'
import {decodeFrame} from '../../../src/wire/frame.js'
import {Opcode} from '../../../src/wire/opcodes.js'
import {PacketView} from '../../../src/wire/packet.js'
import {type Endpoint, connect, endpoint, fill, makeLab} from './helpers.js'
import type {Qp} from '../../../src/verbs/index.js'

const S = SendFlags.SIGNALED

function tapSyndromes(lab: ReturnType<typeof makeLab>): number[] {
  const out: number[] = []
  const pv = new PacketView()
  lab.fabric.tap = (f, o, l) => {
    if (decodeFrame(f, o, l, pv) === 0 && pv.opcode === Opcode.RC_ACKNOWLEDGE) out.push(pv.aethSyndrome)
  }
  return out
}

async function setup(opts: Parameters<typeof connect>[2] = {}) {
  const lab = makeLab()
  const syn = tapSyndromes(lab)
  const a = await endpoint(lab.nics[0]!)
  const b = await endpoint(lab.nics[1]!)
  const [qa, qb] = await connect(a, b, {mtu: Mtu[1024], ...opts})
  const src = a.mem.alloc(8192)
  fill(src.bytes, 5)
  const smr = await a.pd.regMr(src, Access.LOCAL_WRITE)
  return {lab, syn, a, b, qa, qb, src, smr}
}

/** Post a WRITE that will fail, then two more WRs that must be flushed. */
function postFailingWrite(qa: Qp, src: {addr: bigint}, lkey: number, remoteAddr: bigint, rkey: number, len = 64): void {
  qa.postSend([
    {wrId: 1n, opcode: WrOpcode.RDMA_WRITE, sendFlags: S, sgList: [{addr: src.addr, length: len, lkey}], rdma: {remoteAddr, rkey}},
    {wrId: 2n, opcode: WrOpcode.SEND, sendFlags: S, sgList: [{addr: src.addr, length: 8, lkey}]},
    {wrId: 3n, opcode: WrOpcode.RDMA_WRITE, sendFlags: 0, sgList: [{addr: src.addr, length: 8, lkey}], rdma: {remoteAddr, rkey}},
  ])
}

async function expectBothErr(a: Endpoint, qa: Qp, qb: Qp, status: number): Promise<void> {
  const wcs = a.cq.poll(8)
  expect(wcs.map((w) => [w.wrId, w.status])).toEqual([[1n, status], [2n, WcStatus.WR_FLUSH_ERR], [3n, WcStatus.WR_FLUSH_ERR]])
  expect(wcs[0]!.opcode).toBe(WcOpcode.RDMA_WRITE)
  expect((await qa.query()).qpState).toBe(QpState.ERR)
  expect((await qb.query()).qpState).toBe(QpState.ERR)
}

describe('RC error table', () => {
  it('bad rkey → NAK Remote Access Error, REM_ACCESS_ERR (10), both QPs ERR, the rest WR_FLUSH_ERR (5)', async () => {
    const {lab, syn, a, b, qa, qb, src, smr} = await setup()
    const dst = b.mem.alloc(4096)
    const dmr = await b.pd.regMr(dst, Access.LOCAL_WRITE | Access.REMOTE_WRITE)
    postFailingWrite(qa, src, smr.lkey, dst.addr, (dmr.rkey ^ 0x80) >>> 0)
    lab.run()
    await expectBothErr(a, qa, qb, WcStatus.REM_ACCESS_ERR)
    expect(syn).toEqual([0x62])
    expect(dst.bytes.every((x) => x === 0)).toBe(true)
    expect(lab.events).toContainEqual(expect.objectContaining({name: 'QP_ACCESS_ERR', qpn: qb.qpn}))
  })

  it('an rkey of an MR in another PD → REM_ACCESS_ERR, both ERR', async () => {
    const {lab, a, b, qa, qb, src, smr} = await setup()
    const otherPd = await b.ctx.allocPd()
    const dst = b.mem.alloc(4096)
    const dmr = await otherPd.regMr(dst, Access.LOCAL_WRITE | Access.REMOTE_WRITE)
    postFailingWrite(qa, src, smr.lkey, dst.addr, dmr.rkey)
    lab.run()
    await expectBothErr(a, qa, qb, WcStatus.REM_ACCESS_ERR)
    expect(dst.bytes.every((x) => x === 0)).toBe(true)
  })

  it('a deregistered MR\'s rkey is invalid at once', async () => {
    const {lab, a, b, qa, qb, src, smr} = await setup()
    const dst = b.mem.alloc(4096)
    const dmr = await b.pd.regMr(dst, Access.LOCAL_WRITE | Access.REMOTE_WRITE)
    await dmr.dereg()
    postFailingWrite(qa, src, smr.lkey, dst.addr, dmr.rkey)
    lab.run()
    await expectBothErr(a, qa, qb, WcStatus.REM_ACCESS_ERR)
  })

  const GUARD = 0xaa
  for (const [name, at, len] of [['before the MR', -8n, 64], ['after the MR', 4096n - 32n, 64], ['past the end by one byte', 1n, 4096]] as const) {
    it(`out of bounds (${name}) → REM_ACCESS_ERR with the guard bytes untouched`, async () => {
      const {lab, a, b, qa, qb, src, smr} = await setup()
      const whole = b.mem.alloc(4096 + 2 * 256)
      whole.bytes.fill(GUARD)
      const mrRegion = b.mem.region(whole.offset + 256, 4096)
      mrRegion.bytes.fill(0)
      const dmr = await b.pd.regMr(mrRegion, Access.LOCAL_WRITE | Access.REMOTE_WRITE)
      postFailingWrite(qa, src, smr.lkey, mrRegion.addr + at, dmr.rkey, len)
      lab.run()
      await expectBothErr(a, qa, qb, WcStatus.REM_ACCESS_ERR)
      expect(whole.bytes.subarray(0, 256).every((x) => x === GUARD)).toBe(true)
      expect(whole.bytes.subarray(256 + 4096).every((x) => x === GUARD)).toBe(true)
      expect(mrRegion.bytes.every((x) => x === 0)).toBe(true)
    })
  }

  it('out of bounds wrapping 2^64 (MR at iova 2^64-4096) → REM_ACCESS_ERR, memory untouched', async () => {
    const {lab, a, b, qa, qb, src, smr} = await setup()
    const whole = b.mem.alloc(4096 + 512)
    whole.bytes.fill(GUARD)
    const mrRegion = b.mem.region(whole.offset + 256, 4096)
    mrRegion.bytes.fill(0)
    const top = 2n ** 64n - 4096n
    const dmr = await b.pd.regMr(mrRegion, Access.LOCAL_WRITE | Access.REMOTE_WRITE, {iova: top})
    // va + len wraps past 2^64 back to a small number: must not pass a naive va+len <= end check
    postFailingWrite(qa, src, smr.lkey, 2n ** 64n - 16n, dmr.rkey, 64)
    lab.run()
    await expectBothErr(a, qa, qb, WcStatus.REM_ACCESS_ERR)
    expect(whole.bytes.subarray(0, 256).every((x) => x === GUARD)).toBe(true)
    expect(whole.bytes.subarray(256 + 4096).every((x) => x === GUARD)).toBe(true)
    expect(mrRegion.bytes.every((x) => x === 0)).toBe(true)
  })

  it('a WRITE inside the top-of-address-space MR works (the check is not just "reject high addresses")', async () => {
    const {lab, a, b, qa, src, smr} = await setup()
    const region = b.mem.alloc(4096)
    const dmr = await b.pd.regMr(region, Access.LOCAL_WRITE | Access.REMOTE_WRITE, {iova: 2n ** 64n - 4096n})
    qa.postSend({wrId: 1n, opcode: WrOpcode.RDMA_WRITE, sendFlags: S, sgList: [{addr: src.addr, length: 64, lkey: smr.lkey}],
      rdma: {remoteAddr: 2n ** 64n - 64n, rkey: dmr.rkey}})
    lab.run()
    expect(a.cq.poll(1)).toMatchObject([{status: WcStatus.SUCCESS}])
    expect(Buffer.from(region.bytes.subarray(4032)).equals(Buffer.from(src.bytes.subarray(0, 64)))).toBe(true)
  })

  it('responder QP without REMOTE_WRITE → NAK Invalid Request, REM_INV_REQ_ERR (9), both ERR', async () => {
    const {lab, syn, a, b, qa, qb, src, smr} = await setup({accessB: Access.LOCAL_WRITE | Access.REMOTE_READ})
    const dst = b.mem.alloc(4096)
    const dmr = await b.pd.regMr(dst, Access.LOCAL_WRITE | Access.REMOTE_WRITE)
    postFailingWrite(qa, src, smr.lkey, dst.addr, dmr.rkey)
    lab.run()
    await expectBothErr(a, qa, qb, WcStatus.REM_INV_REQ_ERR)
    expect(syn).toEqual([0x61])
  })

  it('no receive posted → RNR NAKs, then RNR_RETRY_EXC_ERR (13) after rnr_retry', async () => {
    const {lab, syn, a, qa, qb, src, smr} = await setup({rnrRetry: 2, minRnrTimer: 1})
    qa.postSend([{wrId: 1n, opcode: WrOpcode.SEND, sendFlags: S, sgList: [{addr: src.addr, length: 100, lkey: smr.lkey}]},
      {wrId: 2n, opcode: WrOpcode.SEND, sendFlags: S, sgList: [{addr: src.addr, length: 100, lkey: smr.lkey}]}])
    lab.run()
    expect(a.cq.poll(4).map((w) => [w.wrId, w.status])).toEqual([[1n, WcStatus.RNR_RETRY_EXC_ERR], [2n, WcStatus.WR_FLUSH_ERR]])
    // first try + 2 retries, each answered with RNR NAK carrying min_rnr_timer 1
    expect(syn.filter((s) => s === 0x21)).toHaveLength(3)
    const c = lab.nics[0]!.counters()
    expect(c.qps[qa.qpn]).toMatchObject({RCV_RNR: 3, RNR_RETRY_EXCEEDED: 1})
    expect(lab.nics[1]!.counters().qps[qb.qpn]).toMatchObject({SND_RNR: 3})
    // the retries are paced by the RNR timer (code 1 = 10 us), not by the 67 ms transport timeout
    expect(lab.clock.t).toBeGreaterThanOrEqual(20)
    expect(lab.clock.t).toBeLessThan(1000)
    expect((await qa.query()).qpState).toBe(QpState.ERR)
    // the responder is not at fault: it stays usable (class B)
    expect((await qb.query()).qpState).toBe(QpState.RTS)
  })

  it('a receive posted during the RNR wait lets the retry succeed (rnr_retry 7 = infinite)', async () => {
    const {lab, a, b, qa, qb, src, smr} = await setup({rnrRetry: 7, minRnrTimer: 14})
    const dst = b.mem.alloc(256)
    const dmr = await b.pd.regMr(dst, Access.LOCAL_WRITE)
    qa.postSend({wrId: 1n, opcode: WrOpcode.SEND, sendFlags: S, sgList: [{addr: src.addr, length: 100, lkey: smr.lkey}]})
    lab.run({untilUs: 100_000})
    expect(a.cq.poll(1)).toEqual([])
    qb.postRecv({wrId: 5n, sgList: [{addr: dst.addr, length: 256, lkey: dmr.lkey}]})
    lab.run()
    expect(a.cq.poll(1)).toMatchObject([{wrId: 1n, status: WcStatus.SUCCESS}])
    expect(b.cq.poll(1)).toMatchObject([{wrId: 5n, status: WcStatus.SUCCESS, byteLen: 100}])
  })

  it('zero-length READ with a bogus rkey succeeds (C9-88)', async () => {
    const {lab, a, qa, src, smr} = await setup()
    qa.postSend({wrId: 1n, opcode: WrOpcode.RDMA_READ, sendFlags: S, sgList: [{addr: src.addr, length: 0, lkey: smr.lkey}],
      rdma: {remoteAddr: 0xdead0000n, rkey: 0x12345678}})
    lab.run()
    expect(a.cq.poll(1)).toMatchObject([{wrId: 1n, status: WcStatus.SUCCESS, opcode: WcOpcode.RDMA_READ, byteLen: 0}])
  })

  it('a dead peer (every frame lost) ends in RETRY_EXC_ERR (12) after retry_cnt, the rest flushed', async () => {
    const {lab, a, qa, src, smr} = await setup({retryCnt: 3, timeout: 10})
    lab.fabric.filter = () => true
    qa.postSend([{wrId: 1n, opcode: WrOpcode.SEND, sendFlags: S, sgList: [{addr: src.addr, length: 100, lkey: smr.lkey}]},
      {wrId: 2n, opcode: WrOpcode.RDMA_READ, sendFlags: 0, sgList: [{addr: src.addr, length: 100, lkey: smr.lkey}], rdma: {remoteAddr: 0n, rkey: 1}}])
    lab.run()
    expect(a.cq.poll(4).map((w) => [w.wrId, w.status])).toEqual([[1n, WcStatus.RETRY_EXC_ERR], [2n, WcStatus.WR_FLUSH_ERR]])
    expect(lab.nics[0]!.counters().qps[qa.qpn]).toMatchObject({COMP_RETRY: 3, RETRY_EXCEEDED: 1})
    // timeout 10 = 4.096 us * 2^10 per attempt: 4 attempts
    expect(lab.clock.t).toBeGreaterThanOrEqual(4 * 4.096 * 1024)
  })

  it('a local protection error (bad lkey) completes with LOC_PROT_ERR (4) and flushes', async () => {
    const {lab, a, qa, src, smr} = await setup()
    qa.postSend([{wrId: 1n, opcode: WrOpcode.SEND, sendFlags: 0, sgList: [{addr: src.addr, length: 8, lkey: smr.lkey + 1}]},
      {wrId: 2n, opcode: WrOpcode.SEND, sendFlags: S, sgList: []}])
    lab.run()
    expect(a.cq.poll(4).map((w) => [w.wrId, w.status])).toEqual([[1n, WcStatus.LOC_PROT_ERR], [2n, WcStatus.WR_FLUSH_ERR]])
  })

  it('CQ overflow raises CQ_ERR and fails the QP', async () => {
    const lab = makeLab()
    const a = await endpoint(lab.nics[0]!, 1 << 16, 2)
    const b = await endpoint(lab.nics[1]!)
    const [qa, qb] = await connect(a, b)
    for (let i = 0; i < 4; i++) qb.postRecv({wrId: BigInt(i), sgList: []})
    for (let i = 0; i < 4; i++) qa.postSend({wrId: BigInt(i), opcode: WrOpcode.SEND, sendFlags: S, sgList: []})
    lab.run()
    expect(lab.events).toContainEqual(expect.objectContaining({name: 'CQ_ERR', cqn: a.cq.cqn}))
    expect((await qa.query()).qpState).toBe(QpState.ERR)
  })
})
