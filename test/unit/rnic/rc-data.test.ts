// RC data path: multi-packet SEND / WRITE / READ with data verified, MTU segmentation and PSN accounting.

import {describe, expect, it} from 'vitest'
import {Access, Mtu, SendFlags, WcFlags, WcOpcode, WcStatus, WrOpcode} from '../../../src/rdma-constants.js'
import {Opcode} from '../../../src/wire/opcodes.js'
import {decodeFrame} from '../../../src/wire/frame.js'
import {PacketView} from '../../../src/wire/packet.js'
import {connect, endpoint, fill, makeLab} from './helpers.js'

function tapOpcodes(lab: ReturnType<typeof makeLab>): Array<{op: number; psn: number; ackReq: number; len: number}> {
  const seen: Array<{op: number; psn: number; ackReq: number; len: number}> = []
  const pv = new PacketView()
  lab.fabric.tap = (f, o, l) => {
    if (decodeFrame(f, o, l, pv) === 0) seen.push({op: pv.opcode, psn: pv.psn, ackReq: pv.ackReq, len: pv.payloadLen})
  }
  return seen
}

describe('RC data path', () => {
  it('SEND of 10 000 bytes at MTU 1024 arrives intact in 10 packets (FIRST, MIDDLE…, LAST)', async () => {
    const lab = makeLab()
    const seen = tapOpcodes(lab)
    const a = await endpoint(lab.nics[0]!)
    const b = await endpoint(lab.nics[1]!)
    const [qa, qb] = await connect(a, b, {mtu: Mtu[1024]})
    const src = a.mem.alloc(10_000)
    const dst = b.mem.alloc(16_384)
    fill(src.bytes, 1)
    const smr = await a.pd.regMr(src, 0)
    const dmr = await b.pd.regMr(dst, Access.LOCAL_WRITE)
    qb.postRecv({wrId: 7n, sgList: [{addr: dst.addr, length: dst.length, lkey: dmr.lkey}]})
    qa.postSend({wrId: 9n, opcode: WrOpcode.SEND, sendFlags: SendFlags.SIGNALED, sgList: [{addr: src.addr, length: 10_000, lkey: smr.lkey}]})
    lab.run()
    const [swc] = a.cq.poll(4)
    expect(swc).toMatchObject({wrId: 9n, status: WcStatus.SUCCESS, opcode: WcOpcode.SEND, byteLen: 10_000, qpNum: qa.qpn})
    const [rwc] = b.cq.poll(4)
    expect(rwc).toMatchObject({wrId: 7n, status: WcStatus.SUCCESS, opcode: WcOpcode.RECV, byteLen: 10_000, qpNum: qb.qpn})
    expect(Buffer.from(dst.bytes.subarray(0, 10_000)).equals(Buffer.from(src.bytes))).toBe(true)
    const req = seen.filter((s) => s.op <= Opcode.RC_SEND_ONLY_WITH_IMMEDIATE)
    expect(req.map((s) => s.op)).toEqual([0, 1, 1, 1, 1, 1, 1, 1, 1, 2])
    expect(req.map((s) => s.psn)).toEqual(Array.from({length: 10}, (_, i) => 0x100 + i))
    expect(req.map((s) => s.ackReq)).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0, 1])
    expect(req[9]!.len).toBe(10_000 - 9 * 1024)
    const acks = seen.filter((s) => s.op === Opcode.RC_ACKNOWLEDGE)
    expect(acks.map((s) => s.psn)).toEqual([0x109])
  })

  it('RDMA WRITE with immediate spanning 3 SGEs lands at the remote address', async () => {
    const lab = makeLab()
    const a = await endpoint(lab.nics[0]!)
    const b = await endpoint(lab.nics[1]!)
    const [qa, qb] = await connect(a, b, {mtu: Mtu[256]})
    const src = a.mem.alloc(3000)
    fill(src.bytes, 2)
    const dst = b.mem.alloc(4096)
    const smr = await a.pd.regMr(src, 0)
    const dmr = await b.pd.regMr(dst, Access.LOCAL_WRITE | Access.REMOTE_WRITE)
    qb.postRecv({wrId: 1n, sgList: []})
    qa.postSend({
      wrId: 2n, opcode: WrOpcode.RDMA_WRITE_WITH_IMM, sendFlags: SendFlags.SIGNALED, immData: 0xdeadbeef,
      sgList: [{addr: src.addr, length: 1000, lkey: smr.lkey}, {addr: src.addr + 1000n, length: 1500, lkey: smr.lkey},
        {addr: src.addr + 2500n, length: 500, lkey: smr.lkey}],
      rdma: {remoteAddr: dst.addr + 100n, rkey: dmr.rkey},
    })
    lab.run()
    expect(a.cq.poll(2)).toMatchObject([{wrId: 2n, status: 0, opcode: WcOpcode.RDMA_WRITE, byteLen: 3000}])
    expect(b.cq.poll(2)).toMatchObject([{wrId: 1n, status: 0, opcode: WcOpcode.RECV_RDMA_WITH_IMM, byteLen: 3000,
      immData: 0xdeadbeef, wcFlags: WcFlags.WITH_IMM}])
    expect(Buffer.from(dst.bytes.subarray(100, 3100)).equals(Buffer.from(src.bytes))).toBe(true)
    expect(dst.bytes.subarray(0, 100).every((x) => x === 0)).toBe(true)
    expect(dst.bytes.subarray(3100).every((x) => x === 0)).toBe(true)
  })

  it('RDMA READ of 5 MTUs consumes 5 PSNs and returns the data', async () => {
    const lab = makeLab()
    const seen = tapOpcodes(lab)
    const a = await endpoint(lab.nics[0]!)
    const b = await endpoint(lab.nics[1]!)
    const [qa, qb] = await connect(a, b, {mtu: Mtu[1024], sqPsnA: 0x10})
    const local = a.mem.alloc(5 * 1024)
    const remote = b.mem.alloc(5 * 1024)
    fill(remote.bytes, 3)
    const lmr = await a.pd.regMr(local, Access.LOCAL_WRITE)
    const rmr = await b.pd.regMr(remote, Access.REMOTE_READ)
    qa.postSend([
      {wrId: 1n, opcode: WrOpcode.RDMA_READ, sendFlags: SendFlags.SIGNALED, sgList: [{addr: local.addr, length: 5 * 1024, lkey: lmr.lkey}],
        rdma: {remoteAddr: remote.addr, rkey: rmr.rkey}},
      {wrId: 2n, opcode: WrOpcode.SEND, sendFlags: SendFlags.SIGNALED, sgList: []},
    ])
    qb.postRecv({wrId: 3n, sgList: []})
    lab.run()
    const wcs = a.cq.poll(4)
    expect(wcs[0]).toMatchObject({wrId: 1n, status: 0, opcode: WcOpcode.RDMA_READ, byteLen: 5120})
    expect(Buffer.from(local.bytes).equals(Buffer.from(remote.bytes))).toBe(true)
    const readReq = seen.find((s) => s.op === Opcode.RC_RDMA_READ_REQUEST)!
    expect(readReq.psn).toBe(0x10)
    const resp = seen.filter((s) => s.op >= Opcode.RC_RDMA_READ_RESPONSE_FIRST && s.op <= Opcode.RC_RDMA_READ_RESPONSE_ONLY)
    expect(resp.map((s) => s.psn)).toEqual([0x10, 0x11, 0x12, 0x13, 0x14])
    expect(resp.map((s) => s.op)).toEqual([0x0d, 0x0e, 0x0e, 0x0e, 0x0f])
    const send = seen.find((s) => s.op === Opcode.RC_SEND_ONLY)!
    expect(send.psn).toBe(0x15)
  })
})

describe('scatter/gather edge cases', () => {
  it('zero-length SGEs between others are skipped on both sides', async () => {
    const lab = makeLab()
    const a = await endpoint(lab.nics[0]!)
    const b = await endpoint(lab.nics[1]!)
    const [qa, qb] = await connect(a, b, {mtu: Mtu[256]})
    const src = a.mem.alloc(1000)
    fill(src.bytes, 31)
    const smr = await a.pd.regMr(src, 0)
    const dst = b.mem.alloc(1000)
    const dmr = await b.pd.regMr(dst, Access.LOCAL_WRITE)
    qb.postRecv({wrId: 1n, sgList: [{addr: dst.addr, length: 300, lkey: dmr.lkey}, {addr: 0n, length: 0, lkey: 0},
      {addr: dst.addr + 300n, length: 700, lkey: dmr.lkey}]})
    qa.postSend({wrId: 2n, sendFlags: SendFlags.SIGNALED, sgList: [{addr: src.addr, length: 500, lkey: smr.lkey},
      {addr: 0n, length: 0, lkey: 0}, {addr: src.addr + 500n, length: 500, lkey: smr.lkey}]})
    lab.run()
    expect(a.cq.poll(1)).toMatchObject([{wrId: 2n, status: WcStatus.SUCCESS}])
    expect(b.cq.poll(1)).toMatchObject([{wrId: 1n, status: WcStatus.SUCCESS, byteLen: 1000}])
    expect(Buffer.from(dst.bytes).equals(Buffer.from(src.bytes))).toBe(true)
  })
})
