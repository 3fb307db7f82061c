// Responder error classes beyond the rkey family: length errors, malformed receive WQEs, misaligned atomics
// from a hostile requester, and the COMM_EST event.

import {describe, expect, it} from 'vitest'
import {Access, QpAttrMask as M, QpState, SendFlags, WcStatus} from '../../../src/rdma-constants.js'
import {decodeFrame, FrameEncoder} from '../../../src/wire/frame.js'
import {Opcode} from '../../../src/wire/opcodes.js'
import {PacketView} from '../../../src/wire/packet.js'
import {connect, endpoint, makeLab} from './helpers.js'

const S = SendFlags.SIGNALED

describe('responder errors', () => {
  it('a SEND longer than the receive buffer → NAK Invalid Request; REM_INV_REQ_ERR on both sides; both ERR', async () => {
    const lab = makeLab()
    const a = await endpoint(lab.nics[0]!)
    const b = await endpoint(lab.nics[1]!)
    const [qa, qb] = await connect(a, b)
    const src = a.mem.alloc(200)
    const smr = await a.pd.regMr(src, 0)
    const dst = b.mem.alloc(100)
    const dmr = await b.pd.regMr(dst, Access.LOCAL_WRITE)
    qb.postRecv([{wrId: 1, sgList: [{addr: dst.addr, length: 100, lkey: dmr.lkey}]}, {wrId: 2}])
    qa.postSend({wrId: 3, sendFlags: S, sgList: [{addr: src.addr, length: 200, lkey: smr.lkey}]})
    lab.run()
    expect(a.cq.poll(2)).toMatchObject([{wrId: 3n, status: WcStatus.REM_INV_REQ_ERR}])
    expect(b.cq.poll(4).map((w) => [w.wrId, w.status])).toEqual([[1n, WcStatus.REM_INV_REQ_ERR], [2n, WcStatus.WR_FLUSH_ERR]])
    expect((await qa.query()).qpState).toBe(QpState.ERR)
    expect((await qb.query()).qpState).toBe(QpState.ERR)
  })

  it('a receive WQE with a bad lkey → NAK Remote Operational Error: REM_OP_ERR (11) / LOC_QP_OP_ERR (2)', async () => {
    const lab = makeLab()
    const a = await endpoint(lab.nics[0]!)
    const b = await endpoint(lab.nics[1]!)
    const [qa, qb] = await connect(a, b)
    const dst = b.mem.alloc(100)
    qb.postRecv({wrId: 1, sgList: [{addr: dst.addr, length: 100, lkey: 0xbad00}]})
    qa.postSend({wrId: 3, sendFlags: S})
    lab.run()
    expect(a.cq.poll(2)).toMatchObject([{wrId: 3n, status: WcStatus.REM_OP_ERR}])
    expect(b.cq.poll(2)).toMatchObject([{wrId: 1n, status: WcStatus.LOC_QP_OP_ERR}])
  })

  it('a hostile, misaligned COMPARE_SWAP gets NAK Invalid Request and memory is untouched', async () => {
    const lab = makeLab()
    const a = await endpoint(lab.nics[0]!)
    const b = await endpoint(lab.nics[1]!)
    const [qa, qb] = await connect(a, b)
    const target = b.mem.alloc(64)
    const tmr = await b.pd.regMr(target, Access.LOCAL_WRITE | Access.REMOTE_ATOMIC)
    target.bytes.fill(0x5a)
    const naks: number[] = []
    const pv = new PacketView()
    lab.fabric.tap = (f, o, l) => {
      if (decodeFrame(f, o, l, pv) === 0 && pv.opcode === Opcode.RC_ACKNOWLEDGE) naks.push(pv.aethSyndrome)
    }
    // craft the request the provider would refuse to post
    const p = new PacketView()
    p.srcIp = 0x0a000001
    p.dstIp = 0x0a000002
    p.opcode = Opcode.RC_COMPARE_SWAP
    p.destQp = qb.qpn
    p.psn = 0x100
    p.ackReq = 1
    const va = target.addr + 4n
    p.atomicVaHi = Number(va >> 32n)
    p.atomicVaLo = Number(va & 0xffffffffn)
    p.atomicRkey = tmr.rkey
    const out = Buffer.alloc(256)
    const n = new FrameEncoder().encodeInto(out, 0, p, null, 0, 0)
    lab.fabric.transmit(out, 0, n)
    lab.run()
    expect(naks).toEqual([0x61])
    expect(target.bytes.every((x) => x === 0x5a)).toBe(true)
    expect((await qb.query()).qpState).toBe(QpState.ERR)
    void qa
  })

  it('the first request on a QP in RTR raises COMM_EST, once', async () => {
    const lab = makeLab()
    const a = await endpoint(lab.nics[0]!)
    const b = await endpoint(lab.nics[1]!)
    const [qa, qb] = await connect(a, b)
    // take b back to RTR: it can receive, not send (as rdma_cm's passive side before RTU)
    await qb.modify({qpState: QpState.RESET}, M.STATE)
    await qb.modify({qpState: QpState.INIT, pkeyIndex: 0, portNum: 1, qpAccessFlags: 0}, M.STATE | M.PKEY_INDEX | M.PORT | M.ACCESS_FLAGS)
    await qb.modify({qpState: QpState.RTR, pathMtu: 3, destQpNum: qa.qpn, rqPsn: 0x100, maxDestRdAtomic: 1, minRnrTimer: 1, ahAttr: {dgid: a.ip}},
      M.STATE | M.AV | M.PATH_MTU | M.DEST_QPN | M.RQ_PSN | M.MAX_DEST_RD_ATOMIC | M.MIN_RNR_TIMER)
    qb.postRecv([{wrId: 1}, {wrId: 2}])
    qa.postSend([{wrId: 3, sendFlags: S}, {wrId: 4, sendFlags: S}])
    lab.run()
    expect(a.cq.poll(4).map((w) => w.status)).toEqual([0, 0])
    expect(lab.events.filter((e) => e.name === 'COMM_EST')).toEqual([{event: 4, name: 'COMM_EST', qpn: qb.qpn, cqn: undefined}])
  })
})
