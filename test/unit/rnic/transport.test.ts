// RC transport rules: 24-bit PSN wrap, AckReq every 64 packets, the 128-PSN window, go-back-N after loss,
// READ replay from the responder resource, duplicate SEND re-ACK, FENCE.

import {describe, expect, it} from 'vitest'
import {Access, Mtu, SendFlags, WcStatus, WrOpcode} from '../../../src/rdma-constants.js'
import {decodeFrame} from '../../../src/wire/frame.js'
import {Opcode} from '../../../src/wire/opcodes.js'
import {PacketView} from '../../../src/wire/packet.js'
import {udpSrcPort} from '../../../src/rnic/tx.js'
import {connect, endpoint, fill, makeLab} from './helpers.js'

const S = SendFlags.SIGNALED

function tap(lab: ReturnType<typeof makeLab>) {
  const seen: Array<{op: number; psn: number; ackReq: number; dst: number}> = []
  const pv = new PacketView()
  lab.fabric.tap = (f, o, l) => {
    if (decodeFrame(f, o, l, pv) === 0) seen.push({op: pv.opcode, psn: pv.psn, ackReq: pv.ackReq, dst: pv.dstIp})
  }
  return seen
}

describe('RC transport', () => {
  it('PSNs wrap at 2^24 (sq_psn 0xFFFFF0, 40 packets) and every byte arrives', async () => {
    const lab = makeLab()
    const seen = tap(lab)
    const a = await endpoint(lab.nics[0]!)
    const b = await endpoint(lab.nics[1]!)
    const [qa, qb] = await connect(a, b, {mtu: Mtu[256], sqPsnA: 0xfffff0})
    const src = a.mem.alloc(40 * 256)
    fill(src.bytes, 21)
    const dst = b.mem.alloc(40 * 256)
    const smr = await a.pd.regMr(src, 0)
    const dmr = await b.pd.regMr(dst, Access.LOCAL_WRITE | Access.REMOTE_WRITE)
    qa.postSend({wrId: 1n, opcode: WrOpcode.RDMA_WRITE, sendFlags: S, sgList: [{addr: src.addr, length: src.length, lkey: smr.lkey}],
      rdma: {remoteAddr: dst.addr, rkey: dmr.rkey}})
    for (let i = 0; i < 4; i++) qb.postRecv({wrId: BigInt(i)})
    qa.postSend([0, 1, 2, 3].map((i) => ({wrId: BigInt(10 + i), opcode: WrOpcode.SEND, sendFlags: S})))
    lab.run()
    expect(a.cq.poll(8).map((w) => [w.wrId, w.status])).toEqual([[1n, 0], [10n, 0], [11n, 0], [12n, 0], [13n, 0]])
    expect(Buffer.from(dst.bytes).equals(Buffer.from(src.bytes))).toBe(true)
    const reqPsns = seen.filter((s) => s.op <= Opcode.RC_RDMA_WRITE_ONLY).map((s) => s.psn)
    expect(reqPsns.slice(14, 18)).toEqual([0xfffffe, 0xffffff, 0, 1])
    expect(reqPsns.at(-1)).toBe((0xfffff0 + 43) & 0xffffff)
  })

  it('AckReq on the last packet and after every 64 unacknowledged ones; never more than 128 PSNs outstanding', async () => {
    const lab = makeLab()
    const seen = tap(lab)
    const a = await endpoint(lab.nics[0]!, 1 << 20)
    const b = await endpoint(lab.nics[1]!, 1 << 20)
    const [qa] = await connect(a, b, {mtu: Mtu[256]})
    const src = a.mem.alloc(300 * 256)
    const dst = b.mem.alloc(300 * 256)
    const smr = await a.pd.regMr(src, 0)
    const dmr = await b.pd.regMr(dst, Access.LOCAL_WRITE | Access.REMOTE_WRITE)
    qa.postSend({wrId: 1n, opcode: WrOpcode.RDMA_WRITE, sendFlags: S, sgList: [{addr: src.addr, length: src.length, lkey: smr.lkey}],
      rdma: {remoteAddr: dst.addr, rkey: dmr.rkey}})
    // run the requester alone: it must stop at the window
    lab.nics[0]!.poll(10_000)
    const first = seen.filter((s) => s.op >= Opcode.RC_RDMA_WRITE_FIRST && s.op <= Opcode.RC_RDMA_WRITE_ONLY)
    expect(first.length).toBe(129) // PSNs 0x100 .. 0x100+128
    lab.run()
    const req = seen.filter((s) => s.op >= Opcode.RC_RDMA_WRITE_FIRST && s.op <= Opcode.RC_RDMA_WRITE_ONLY)
    expect(req).toHaveLength(300)
    const acked = req.flatMap((s, i) => (s.ackReq ? [i] : []))
    expect(acked.at(-1)).toBe(299)
    for (let i = 1; i < acked.length; i++) expect(acked[i]! - acked[i - 1]!).toBeLessThanOrEqual(66)
    expect(a.cq.poll(1)).toMatchObject([{wrId: 1n, status: 0}])
  })

  it('go-back-N: a lost packet in a multi-packet SEND gets one sequence NAK and a resend from the gap', async () => {
    const lab = makeLab()
    const seen = tap(lab)
    let dropped = false
    const pv = new PacketView()
    lab.fabric.filter = (f, o, l) => {
      if (!dropped && decodeFrame(f, o, l, pv) === 0 && pv.opcode === Opcode.RC_SEND_MIDDLE && pv.psn === 0x102) return (dropped = true)
      return false
    }
    const a = await endpoint(lab.nics[0]!)
    const b = await endpoint(lab.nics[1]!)
    const [qa, qb] = await connect(a, b, {mtu: Mtu[1024]})
    const src = a.mem.alloc(8000)
    fill(src.bytes, 8)
    const smr = await a.pd.regMr(src, 0)
    const dst = b.mem.alloc(8000)
    const dmr = await b.pd.regMr(dst, Access.LOCAL_WRITE)
    qb.postRecv({wrId: 1n, sgList: [{addr: dst.addr, length: 8000, lkey: dmr.lkey}]})
    qa.postSend({wrId: 2n, sendFlags: S, sgList: [{addr: src.addr, length: 8000, lkey: smr.lkey}]})
    lab.run()
    expect(a.cq.poll(2)).toMatchObject([{wrId: 2n, status: 0}])
    expect(b.cq.poll(2)).toMatchObject([{wrId: 1n, status: 0, byteLen: 8000}])
    expect(Buffer.from(dst.bytes).equals(Buffer.from(src.bytes))).toBe(true)
    const naks = seen.filter((s) => s.op === Opcode.RC_ACKNOWLEDGE && s.dst === 0x0a000001)
    expect(naks.map((s) => s.psn)).toContain(0x102)
    expect(lab.nics[1]!.counters().port.OUT_OF_SEQ_REQ).toBe(1)
    expect(lab.nics[0]!.counters().port.RCV_SEQ_ERR).toBe(1)
  })

  it('READ replay: a lost read response makes the requester re-read; the responder replays from its resource', async () => {
    const lab = makeLab()
    let dropped = false
    const pv = new PacketView()
    lab.fabric.filter = (f, o, l) => {
      if (!dropped && decodeFrame(f, o, l, pv) === 0 && pv.opcode === Opcode.RC_RDMA_READ_RESPONSE_MIDDLE) return (dropped = true)
      return false
    }
    const a = await endpoint(lab.nics[0]!)
    const b = await endpoint(lab.nics[1]!)
    const [qa] = await connect(a, b, {mtu: Mtu[1024], timeout: 8})
    const local = a.mem.alloc(4096)
    const remote = b.mem.alloc(4096)
    fill(remote.bytes, 17)
    const lmr = await a.pd.regMr(local, Access.LOCAL_WRITE)
    const rmr = await b.pd.regMr(remote, Access.REMOTE_READ)
    qa.postSend({wrId: 1n, opcode: WrOpcode.RDMA_READ, sendFlags: S, sgList: [{addr: local.addr, length: 4096, lkey: lmr.lkey}],
      rdma: {remoteAddr: remote.addr, rkey: rmr.rkey}})
    lab.run()
    expect(dropped).toBe(true)
    expect(a.cq.poll(1)).toMatchObject([{wrId: 1n, status: WcStatus.SUCCESS}])
    expect(Buffer.from(local.bytes).equals(Buffer.from(remote.bytes))).toBe(true)
    expect(lab.nics[1]!.counters().port.DUP_REQ).toBe(1)
  })

  it('a duplicate SEND (lost ACK) is re-acknowledged, not delivered twice', async () => {
    const lab = makeLab()
    let dropped = false
    const pv = new PacketView()
    lab.fabric.filter = (f, o, l) => {
      if (!dropped && decodeFrame(f, o, l, pv) === 0 && pv.opcode === Opcode.RC_ACKNOWLEDGE) return (dropped = true)
      return false
    }
    const a = await endpoint(lab.nics[0]!)
    const b = await endpoint(lab.nics[1]!)
    const [qa, qb] = await connect(a, b, {timeout: 8})
    qb.postRecv([{wrId: 1n}, {wrId: 2n}])
    qa.postSend({wrId: 3n, sendFlags: S})
    lab.run()
    expect(a.cq.poll(2)).toMatchObject([{wrId: 3n, status: 0}])
    expect(b.cq.poll(4).map((w) => w.wrId)).toEqual([1n])
    expect(lab.nics[1]!.counters().port.DUP_REQ).toBe(1)
  })

  it('FENCE holds a WQE until every earlier one has completed', async () => {
    const lab = makeLab()
    const seen = tap(lab)
    const a = await endpoint(lab.nics[0]!)
    const b = await endpoint(lab.nics[1]!)
    const [qa, qb] = await connect(a, b)
    const buf = a.mem.alloc(64)
    const lmr = await a.pd.regMr(buf, Access.LOCAL_WRITE)
    const remote = b.mem.alloc(64)
    const rmr = await b.pd.regMr(remote, Access.REMOTE_READ)
    qb.postRecv({wrId: 1n})
    qa.postSend([{wrId: 1n, opcode: WrOpcode.RDMA_READ, sendFlags: S, sgList: [{addr: buf.addr, length: 64, lkey: lmr.lkey}], rdma: {remoteAddr: remote.addr, rkey: rmr.rkey}},
      {wrId: 2n, opcode: WrOpcode.SEND, sendFlags: S | SendFlags.FENCE}])
    lab.nics[0]!.poll()
    expect(seen.map((s) => s.op)).not.toContain(Opcode.RC_SEND_ONLY)
    lab.run()
    expect(seen.map((s) => s.op)).toEqual([Opcode.RC_RDMA_READ_REQUEST, Opcode.RC_RDMA_READ_RESPONSE_ONLY, Opcode.RC_SEND_ONLY, Opcode.RC_ACKNOWLEDGE])
    expect(a.cq.poll(4).map((w) => w.wrId)).toEqual([1n, 2n])
  })
})

describe('SQD', () => {
  it('RTS→SQD stops new WQEs, lets outstanding ones complete, then raises SQ_DRAINED; SQD→RTS resumes', async () => {
    const lab = makeLab()
    const seen = tap(lab)
    const a = await endpoint(lab.nics[0]!)
    const b = await endpoint(lab.nics[1]!)
    const [qa, qb] = await connect(a, b)
    qb.postRecv([{wrId: 1}, {wrId: 2}])
    qa.postSend({wrId: 1, sendFlags: S})
    lab.nics[0]!.poll()
    await qa.modify({qpState: 4 /* SQD */, enSqdAsyncNotify: 1}, 1 | (1 << 2))
    qa.postSend({wrId: 2, sendFlags: S})
    lab.run()
    expect(a.cq.poll(4).map((w) => w.wrId)).toEqual([1n])
    expect(seen.filter((s) => s.op === Opcode.RC_SEND_ONLY)).toHaveLength(1)
    expect(lab.events).toContainEqual({event: 5, name: 'SQ_DRAINED', qpn: qa.qpn, cqn: undefined})
    await qa.modify({qpState: 3 /* RTS */}, 1)
    lab.run()
    expect(a.cq.poll(4).map((w) => w.wrId)).toEqual([2n])
  })
})

describe('SQD with loss', () => {
  it('a started multi-packet WQE still retries and completes while draining', async () => {
    const lab = makeLab()
    let dropped = false
    const pv = new PacketView()
    lab.fabric.filter = (f, o, l) => {
      if (!dropped && decodeFrame(f, o, l, pv) === 0 && pv.opcode === Opcode.RC_SEND_LAST) return (dropped = true)
      return false
    }
    const a = await endpoint(lab.nics[0]!)
    const b = await endpoint(lab.nics[1]!)
    const [qa, qb] = await connect(a, b, {mtu: Mtu[256], timeout: 8})
    const src = a.mem.alloc(1000)
    const smr = await a.pd.regMr(src, 0)
    const dst = b.mem.alloc(1000)
    const dmr = await b.pd.regMr(dst, Access.LOCAL_WRITE)
    qb.postRecv({wrId: 3, sgList: [{addr: dst.addr, length: 1000, lkey: dmr.lkey}]})
    qa.postSend({wrId: 1, sendFlags: S, sgList: [{addr: src.addr, length: 1000, lkey: smr.lkey}]})
    lab.nics[0]!.poll()
    await qa.modify({qpState: 4 /* SQD */}, 1)
    lab.run()
    expect(dropped).toBe(true)
    expect(a.cq.poll(2)).toMatchObject([{wrId: 1n, status: WcStatus.SUCCESS}])
  })
})

describe('coalesced ACKs', () => {
  it('an ACK for a later PSN completes every earlier SEND/WRITE WQE without a retry', async () => {
    const lab = makeLab()
    let dropped = 0
    const pv = new PacketView()
    lab.fabric.filter = (f, o, l) => {
      if (dropped < 2 && decodeFrame(f, o, l, pv) === 0 && pv.opcode === Opcode.RC_ACKNOWLEDGE) return ++dropped > 0
      return false
    }
    const a = await endpoint(lab.nics[0]!)
    const b = await endpoint(lab.nics[1]!)
    const [qa, qb] = await connect(a, b)
    qb.postRecv([{wrId: 1}, {wrId: 2}, {wrId: 3}])
    qa.postSend([{wrId: 1, sendFlags: S}, {wrId: 2, sendFlags: S}, {wrId: 3, sendFlags: S}])
    lab.run()
    expect(dropped).toBe(2)
    expect(a.cq.poll(4).map((w) => [w.wrId, w.status])).toEqual([[1n, 0], [2n, 0], [3n, 0]])
    expect(lab.nics[0]!.counters().port.COMP_RETRY).toBe(0)
  })
})

describe('PSN wrap with READ', () => {
  it('a READ whose response PSNs cross 2^24 completes and the next request continues after the wrap', async () => {
    const lab = makeLab()
    const seen = tap(lab)
    const a = await endpoint(lab.nics[0]!)
    const b = await endpoint(lab.nics[1]!)
    const [qa, qb] = await connect(a, b, {mtu: Mtu[256], sqPsnA: 0xfffffe})
    const local = a.mem.alloc(1024)
    const remote = b.mem.alloc(1024)
    fill(remote.bytes, 12)
    const lmr = await a.pd.regMr(local, Access.LOCAL_WRITE)
    const rmr = await b.pd.regMr(remote, Access.REMOTE_READ)
    qb.postRecv({wrId: 1})
    qa.postSend([{wrId: 1, opcode: WrOpcode.RDMA_READ, sendFlags: S, sgList: [{addr: local.addr, length: 1024, lkey: lmr.lkey}],
      rdma: {remoteAddr: remote.addr, rkey: rmr.rkey}}, {wrId: 2, sendFlags: S}])
    lab.run()
    expect(a.cq.poll(4).map((w) => [w.wrId, w.status])).toEqual([[1n, 0], [2n, 0]])
    expect(Buffer.from(local.bytes).equals(Buffer.from(remote.bytes))).toBe(true)
    const resp = seen.filter((s) => s.op >= Opcode.RC_RDMA_READ_RESPONSE_FIRST && s.op <= Opcode.RC_RDMA_READ_RESPONSE_ONLY)
    expect(resp.map((s) => s.psn)).toEqual([0xfffffe, 0xffffff, 0, 1])
    expect(seen.find((s) => s.op === Opcode.RC_SEND_ONLY)!.psn).toBe(2)
  })
})

describe('frame addressing', () => {
  it('MACs follow 02:00:<IPv4>, the UDP source port is per QP, DSCP/TTL come from the AV', async () => {
    const lab = makeLab()
    const frames: Array<{dst: string; src: string; sport: number; dscp: number; ttl: number}> = []
    const pv = new PacketView()
    lab.fabric.tap = (f, o, l) => {
      if (decodeFrame(f, o, l, pv) === 0) {
        frames.push({dst: Buffer.from(pv.dstMac).toString('hex'), src: Buffer.from(pv.srcMac).toString('hex'), sport: pv.srcPort, dscp: pv.dscp, ttl: pv.ttl})
      }
    }
    const a = await endpoint(lab.nics[0]!)
    const b = await endpoint(lab.nics[1]!)
    const [qa, qb] = await connect(a, b, {trafficClass: (26 << 2) | 1, hopLimit: 9})
    qb.postRecv({wrId: 1})
    qa.postSend({wrId: 1, sendFlags: S})
    lab.run()
    expect(frames[0]).toEqual({dst: '02000a000002', src: '02000a000001', sport: udpSrcPort(qa.qpn), dscp: 26, ttl: 9})
    expect(frames[1]).toMatchObject({dst: '02000a000001', src: '02000a000002', sport: udpSrcPort(qb.qpn)})
    expect(udpSrcPort(qa.qpn)).toBeGreaterThanOrEqual(0xc000)
    expect(udpSrcPort(17)).not.toBe(udpSrcPort(18))
  })
})
