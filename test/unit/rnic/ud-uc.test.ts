// test_ud and UC: datagrams with the 40-byte GRH area and src_qp, Q_Key violations dropped silently and counted,
// UC's silent drops.

import {describe, expect, it} from 'vitest'
import {Access, QpAttrMask as M, QpState, SendFlags, WcFlags, WcOpcode, WcStatus, WrOpcode} from '../../../src/rdma-constants.js'
import {udpSrcPort} from '../../../src/rnic/tx.js'
import {decodeFrame} from '../../../src/wire/frame.js'
import {Opcode} from '../../../src/wire/opcodes.js'
import {PacketView} from '../../../src/wire/packet.js'
import {type Endpoint, connect, endpoint, fill, makeLab} from './helpers.js'

const QKEY = 0x11111111

async function udQp(ep: Endpoint, qkey = QKEY) {
  const qp = await ep.pd.createQp({type: 'UD', sendCq: ep.cq, recvCq: ep.cq, cap: {maxSendWr: 16, maxRecvWr: 16, maxSendSge: 1, maxRecvSge: 1}})
  await qp.modify({qpState: QpState.INIT, pkeyIndex: 0, portNum: 1, qkey}, M.STATE | M.PKEY_INDEX | M.PORT | M.QKEY)
  await qp.modify({qpState: QpState.RTR}, M.STATE)
  await qp.modify({qpState: QpState.RTS, sqPsn: 0}, M.STATE | M.SQ_PSN)
  return qp
}

describe('UD', () => {
  it('delivers a datagram with the GRH area (20 zero bytes + IPv4 header), src_qp and byte_len + 40', async () => {
    const lab = makeLab()
    const pv = new PacketView()
    const frames: Array<{op: number; qkey: number; srcQp: number; sport: number; dscp: number}> = []
    lab.fabric.tap = (f, o, l) => {
      if (decodeFrame(f, o, l, pv) === 0) frames.push({op: pv.opcode, qkey: pv.dethQkey, srcQp: pv.dethSrcQp, sport: pv.srcPort, dscp: pv.dscp})
    }
    const a = await endpoint(lab.nics[0]!)
    const b = await endpoint(lab.nics[1]!)
    const qa = await udQp(a)
    const qb = await udQp(b)
    const src = a.mem.alloc(300)
    fill(src.bytes, 9)
    const smr = await a.pd.regMr(src, 0)
    const dst = b.mem.alloc(512)
    const dmr = await b.pd.regMr(dst, Access.LOCAL_WRITE)
    qb.postRecv({wrId: 11n, sgList: [{addr: dst.addr, length: 512, lkey: dmr.lkey}]})
    const ah = a.pd.createAh({dgid: '::ffff:10.0.0.2', trafficClass: 0x68})
    qa.postSend({wrId: 1n, opcode: WrOpcode.SEND_WITH_IMM, immData: 77, sendFlags: SendFlags.SIGNALED,
      sgList: [{addr: src.addr, length: 300, lkey: smr.lkey}], ud: {ah, remoteQpn: qb.qpn, remoteQkey: QKEY}})
    lab.run()
    expect(a.cq.poll(1)).toMatchObject([{wrId: 1n, status: 0, opcode: WcOpcode.SEND}])
    expect(b.cq.poll(1)).toMatchObject([{wrId: 11n, status: 0, opcode: WcOpcode.RECV, byteLen: 340, srcQp: qa.qpn, immData: 77,
      wcFlags: WcFlags.GRH | WcFlags.WITH_IMM}])
    expect(dst.bytes.subarray(0, 20).every((x) => x === 0)).toBe(true)
    expect(dst.bytes[20]).toBe(0x45) // IPv4 version/IHL
    expect(Array.from(dst.bytes.subarray(32, 36))).toEqual([10, 0, 0, 1]) // source address
    expect(Buffer.from(dst.bytes.subarray(40, 340)).equals(Buffer.from(src.bytes))).toBe(true)
    expect(frames).toEqual([{op: Opcode.UD_SEND_ONLY_WITH_IMMEDIATE, qkey: QKEY, srcQp: qa.qpn, sport: udpSrcPort(qa.qpn), dscp: 0x68 >> 2}])
  })

  it('a wrong Q_Key is dropped silently and counted; the sender still sees success', async () => {
    const lab = makeLab()
    const a = await endpoint(lab.nics[0]!)
    const b = await endpoint(lab.nics[1]!)
    const qa = await udQp(a)
    const qb = await udQp(b)
    qb.postRecv({wrId: 1n, sgList: []})
    const ah = a.pd.createAh({dgid: '10.0.0.2'})
    qa.postSend({wrId: 2n, sendFlags: SendFlags.SIGNALED, ud: {ah, remoteQpn: qb.qpn, remoteQkey: 0x22222222}})
    lab.run()
    expect(a.cq.poll(1)).toMatchObject([{wrId: 2n, status: WcStatus.SUCCESS}])
    expect(b.cq.poll(1)).toEqual([])
    expect(lab.nics[1]!.counters().drops).toMatchObject({qkey_violation: 1})
  })

  it('a datagram larger than the port MTU fails locally (LOC_LEN_ERR)', async () => {
    const lab = makeLab(2, {}, {mtu: 1024})
    const a = await endpoint(lab.nics[0]!)
    const qa = await udQp(a)
    const src = a.mem.alloc(2000)
    const smr = await a.pd.regMr(src, 0)
    qa.postSend({wrId: 1n, sendFlags: SendFlags.SIGNALED, sgList: [{addr: src.addr, length: 2000, lkey: smr.lkey}],
      ud: {ah: a.pd.createAh({dgid: '10.0.0.2'}), remoteQpn: 99, remoteQkey: QKEY}})
    lab.run()
    expect(a.cq.poll(1)).toMatchObject([{wrId: 1n, status: WcStatus.LOC_LEN_ERR}])
  })

  it('no receive posted: dropped and counted, no NAK', async () => {
    const lab = makeLab()
    const a = await endpoint(lab.nics[0]!)
    const b = await endpoint(lab.nics[1]!)
    const qa = await udQp(a)
    const qb = await udQp(b)
    qa.postSend({wrId: 2n, sendFlags: SendFlags.SIGNALED, ud: {ah: a.pd.createAh({dgid: '10.0.0.2'}), remoteQpn: qb.qpn, remoteQkey: QKEY}})
    lab.run()
    expect(lab.nics[1]!.counters().drops).toMatchObject({ud_no_recv_wqe: 1})
    expect(lab.fabric.stats.sent).toBe(1)
  })
})

describe('UC', () => {
  it('WRITE and SEND work without ACKs', async () => {
    const lab = makeLab()
    const a = await endpoint(lab.nics[0]!)
    const b = await endpoint(lab.nics[1]!)
    const [qa, qb] = await connect(a, b, {type: 'UC'})
    const src = a.mem.alloc(3000)
    fill(src.bytes, 4)
    const smr = await a.pd.regMr(src, 0)
    const dst = b.mem.alloc(3000)
    const dmr = await b.pd.regMr(dst, Access.LOCAL_WRITE | Access.REMOTE_WRITE)
    qb.postRecv({wrId: 5n, sgList: [{addr: dst.addr, length: 3000, lkey: dmr.lkey}]})
    qa.postSend([{wrId: 1n, opcode: WrOpcode.RDMA_WRITE, sendFlags: SendFlags.SIGNALED, sgList: [{addr: src.addr, length: 3000, lkey: smr.lkey}],
      rdma: {remoteAddr: dst.addr, rkey: dmr.rkey}}])
    lab.run()
    expect(Buffer.from(dst.bytes).equals(Buffer.from(src.bytes))).toBe(true)
    dst.bytes.fill(0)
    qa.postSend([{wrId: 2n, opcode: WrOpcode.SEND, sendFlags: SendFlags.SIGNALED, sgList: [{addr: src.addr, length: 3000, lkey: smr.lkey}]}])
    lab.run()
    expect(a.cq.poll(4).map((w) => [w.wrId, w.status])).toEqual([[1n, 0], [2n, 0]])
    expect(b.cq.poll(4)).toMatchObject([{wrId: 5n, status: 0, byteLen: 3000}])
    expect(Buffer.from(dst.bytes).equals(Buffer.from(src.bytes))).toBe(true)
    expect(lab.fabric.stats.sent).toBe(6) // 3 + 3 packets at MTU 1024, no ACK
  })

  it('a lost middle packet drops the whole message silently; the next message is delivered', async () => {
    const lab = makeLab()
    const a = await endpoint(lab.nics[0]!)
    const b = await endpoint(lab.nics[1]!)
    const [qa, qb] = await connect(a, b, {type: 'UC'})
    const src = a.mem.alloc(3000)
    const smr = await a.pd.regMr(src, 0)
    const dst = b.mem.alloc(3000)
    const dmr = await b.pd.regMr(dst, Access.LOCAL_WRITE)
    const pv = new PacketView()
    lab.fabric.filter = (f, o, l) => decodeFrame(f, o, l, pv) === 0 && pv.opcode === Opcode.UC_SEND_MIDDLE && pv.psn === 0x101
    qb.postRecv([{wrId: 5n, sgList: [{addr: dst.addr, length: 3000, lkey: dmr.lkey}]}])
    qa.postSend([{wrId: 1n, sendFlags: SendFlags.SIGNALED, sgList: [{addr: src.addr, length: 3000, lkey: smr.lkey}]},
      {wrId: 2n, sendFlags: SendFlags.SIGNALED, sgList: [{addr: src.addr, length: 100, lkey: smr.lkey}]}])
    lab.run()
    expect(a.cq.poll(4).map((w) => [w.wrId, w.status])).toEqual([[1n, 0], [2n, 0]])
    expect(b.cq.poll(4)).toMatchObject([{wrId: 5n, status: 0, byteLen: 100}])
    expect(lab.nics[1]!.counters().drops.uc_drop).toBeGreaterThan(0)
  })
})

describe('QP1', () => {
  it('is not for VMs: createQp({gsi}) is refused with EPERM (the RNIC\'s GSI path carries the CM MADs)', async () => {
    const lab = makeLab()
    const a = await endpoint(lab.nics[0]!)
    await expect(a.pd.createQp({type: 'UD', gsi: true, sendCq: a.cq, recvCq: a.cq, cap: {}})).rejects.toMatchObject({errno: 1})
  })
})
