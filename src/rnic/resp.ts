// Responder (rxe_resp.c): one request packet through rxe's pipeline
//   CHK_PSN → CHK_OP_SEQ → CHK_OP_VALID → CHK_RESOURCE → CHK_LENGTH → CHK_RKEY → EXECUTE →
//   (READ_REPLY | ATOMIC_REPLY | COMPLETE) → ACKNOWLEDGE → CLEANUP
// Each handler returns the next state; error states map to their effect in one place (respond()).

import {Access, AsyncEvent, QpState, QpType, WcFlags, WcOpcode, WcStatus} from '../rdma-constants.js'
import {AethSyndrome, Mask, Opcode} from '../wire/opcodes.js'
import type {PacketView} from '../wire/packet.js'
import {Counter, DropReason} from './counters.js'
import {copy, scatterRecv} from './dma.js'
import type {Mr} from './mr.js'
import {psnAdd, psnCompare} from './psn.js'
import * as Q from './queue.js'
import {type Qp, ResType, type RespRes} from './qp.js'
import type {Rnic} from './rnic.js'
import {initTx, sendPkt, stageTx} from './tx.js'

export enum RespState {
  CHK_PSN, CHK_OP_SEQ, CHK_OP_VALID, CHK_RESOURCE, CHK_LENGTH, CHK_RKEY, EXECUTE, READ_REPLY, ATOMIC_REPLY, COMPLETE,
  ACKNOWLEDGE, CLEANUP, DUPLICATE_REQUEST, ERR_MALFORMED_WQE, ERR_UNSUPPORTED_OPCODE, ERR_MISALIGNED_ATOMIC,
  ERR_PSN_OUT_OF_SEQ, ERR_MISSING_OPCODE_FIRST, ERR_MISSING_OPCODE_LAST_C, ERR_MISSING_OPCODE_LAST_D1E,
  ERR_TOO_MANY_RDMA_ATM_REQ, ERR_RNR, ERR_RKEY_VIOLATION, ERR_INVALIDATE_RKEY, ERR_LENGTH, ERR_CQ_OVERFLOW, ERROR, DONE,
}

const MAX_RETH_LEN = 2 ** 31
const GRH_BYTES = 40

/** Per-packet scratch of the responder (rxe keeps these in qp->resp; a packet never outlives one call). */
class RespCtx {
  gotoError = false
  res: RespRes | undefined
  mr: Mr | undefined // MR validated by CHK_RKEY for this packet
  mrOff = 0
}
const ctx = new RespCtx()

function checkPsn(nic: Rnic, qp: Qp, pkt: PacketView): RespState {
  const diff = psnCompare(pkt.psn, qp.respPsn)
  if (qp.type === QpType.RC) {
    if (diff > 0) {
      if (qp.sentPsnNak) return RespState.CLEANUP
      qp.sentPsnNak = true
      qp.counters.inc(Counter.OUT_OF_SEQ_REQ)
      nic.portCounters.inc(Counter.OUT_OF_SEQ_REQ)
      return RespState.ERR_PSN_OUT_OF_SEQ
    }
    if (diff < 0) {
      qp.counters.inc(Counter.DUP_REQ)
      nic.portCounters.inc(Counter.DUP_REQ)
      return RespState.DUPLICATE_REQUEST
    }
    qp.sentPsnNak = false
  } else if (qp.type === QpType.UC) {
    // UC: after a gap, drop until the next FIRST/ONLY
    if (qp.dropMsg || diff !== 0) {
      if (pkt.mask & Mask.START) {
        qp.dropMsg = false
        // a new message abandons a half-received one
        if (qp.respOpcode >= 0) resetRecvProgress(qp)
        return RespState.CHK_OP_SEQ
      }
      qp.dropMsg = true
      nic.drops.inc(DropReason.UC_DROP)
      return RespState.CLEANUP
    }
  }
  return RespState.CHK_OP_SEQ
}

function resetRecvProgress(qp: Qp): void {
  qp.rwqeOff = 0
  qp.respOpcode = -1
}

function checkOpSeq(qp: Qp, pkt: PacketView): RespState {
  if (qp.type === QpType.UD) return RespState.CHK_OP_VALID
  const prev = qp.respOpcode & 0x1f
  const inSend = qp.respOpcode >= 0 && (prev === Opcode.RC_SEND_FIRST || prev === Opcode.RC_SEND_MIDDLE)
  const inWrite = qp.respOpcode >= 0 && (prev === Opcode.RC_RDMA_WRITE_FIRST || prev === Opcode.RC_RDMA_WRITE_MIDDLE)
  const m = pkt.mask
  const uc = qp.type === QpType.UC
  if (inSend) {
    if (m & Mask.SEND && !(m & Mask.START)) return RespState.CHK_OP_VALID
    return uc ? RespState.ERR_MISSING_OPCODE_LAST_D1E : RespState.ERR_MISSING_OPCODE_LAST_C
  }
  if (inWrite) {
    if (m & Mask.WRITE && !(m & Mask.START)) return RespState.CHK_OP_VALID
    return uc ? RespState.ERR_MISSING_OPCODE_LAST_D1E : RespState.ERR_MISSING_OPCODE_LAST_C
  }
  if (!(m & Mask.START)) return uc ? RespState.ERR_MISSING_OPCODE_LAST_D1E : RespState.ERR_MISSING_OPCODE_FIRST
  return RespState.CHK_OP_VALID
}

function checkOpValid(nic: Rnic, qp: Qp, pkt: PacketView): RespState {
  const a = qp.accessFlags
  const m = pkt.mask
  if (qp.type === QpType.RC) {
    if ((m & Mask.READ && !(a & Access.REMOTE_READ)) || (m & Mask.WRITE && !(a & Access.REMOTE_WRITE)) ||
      (m & Mask.ATOMIC && !(a & Access.REMOTE_ATOMIC))) return RespState.ERR_UNSUPPORTED_OPCODE
  } else if (qp.type === QpType.UC) {
    if (m & Mask.WRITE && !(a & Access.REMOTE_WRITE)) {
      qp.dropMsg = true
      nic.drops.inc(DropReason.UC_DROP)
      return RespState.CLEANUP
    }
  }
  return RespState.CHK_RESOURCE
}

/** Snapshot the RQ head into qp.rwqe; false when its SGEs are not usable (malformed WQE). */
function loadRecvWqe(nic: Rnic, qp: Qp): boolean {
  const r = qp.rq
  const u = r.u32
  const s = r.slot(qp.rqIndex)
  const w = qp.rwqe
  w.wrIdHi = u[s + Q.RQ_WRID_HI]!
  w.wrIdLo = u[s + Q.RQ_WRID_LO]!
  w.numSge = u[s + Q.RQ_NUM_SGE]!
  w.length = 0
  qp.wqeActive = true
  qp.rwqeOff = 0
  if (w.numSge > qp.cap.maxRecvSge) return false
  for (let i = 0; i < w.numSge; i++) {
    const g = s + Q.RQ_SGE + i * Q.SGE_WORDS
    const n = u[g + 2]!
    w.sgeLen[i] = n
    w.sgeMr[i] = undefined
    if (n === 0) continue
    const mr = nic.mrs.lookup(qp.pdn, Access.LOCAL_WRITE, u[g + 3]!, false)
    if (!mr) return false
    const off = mr.offsetOf(u[g]!, u[g + 1]!)
    if (!mr.inRange(off, n)) return false
    w.sgeMr[i] = mr
    w.sgeOff[i] = off
    w.length += n
  }
  return true
}

function checkResource(nic: Rnic, qp: Qp, pkt: PacketView): RespState {
  if (pkt.mask & (Mask.READ | Mask.ATOMIC)) {
    // the requester must not exceed max_dest_rd_atomic; the resource ring is recycled
    return qp.maxDestRdAtomic > 0 ? RespState.CHK_LENGTH : RespState.ERR_TOO_MANY_RDMA_ATM_REQ
  }
  if (pkt.mask & Mask.RWR) {
    if (qp.rqProducer() === qp.rqIndex) {
      qp.wqeActive = false
      return RespState.ERR_RNR
    }
    if (!loadRecvWqe(nic, qp)) return RespState.ERR_MALFORMED_WQE
  }
  return RespState.CHK_LENGTH
}

function checkLength(qp: Qp, pkt: PacketView): RespState {
  if (qp.type !== QpType.UD) {
    const m = pkt.mask
    const n = pkt.payloadLen
    const mtu = qp.mtu
    if (m & Mask.START && m & Mask.END) {
      if (n > mtu) return RespState.ERR_LENGTH
    } else if (m & (Mask.START | Mask.MIDDLE)) {
      if (n !== mtu) return RespState.ERR_LENGTH
    } else if (m & Mask.END) {
      if (n === 0 || n > mtu) return RespState.ERR_LENGTH
    }
  }
  if (pkt.mask & (Mask.READ | Mask.WRITE) && pkt.mask & Mask.RETH && pkt.rethLen > MAX_RETH_LEN) return RespState.ERR_LENGTH
  return pkt.mask & (Mask.READ | Mask.WRITE | Mask.ATOMIC) ? RespState.CHK_RKEY : RespState.EXECUTE
}

function checkRkey(nic: Rnic, qp: Qp, pkt: PacketView): RespState {
  const m = pkt.mask
  let access: number
  if (m & (Mask.READ | Mask.WRITE)) {
    if (m & Mask.RETH) {
      qp.respVaHi = pkt.rethVaHi
      qp.respVaLo = pkt.rethVaLo
      qp.respRkey = pkt.rethRkey
      qp.respResid = qp.respLength = pkt.rethLen
      qp.respAdv = 0
    }
    access = m & Mask.READ ? Access.REMOTE_READ : Access.REMOTE_WRITE
  } else {
    qp.respVaHi = pkt.atomicVaHi
    qp.respVaLo = pkt.atomicVaLo
    qp.respRkey = pkt.atomicRkey
    qp.respResid = 8
    qp.respAdv = 0
    access = Access.REMOTE_ATOMIC
  }
  ctx.mr = undefined
  // C9-88: a zero-length READ or WRITE need not carry a valid address or R_Key
  if (m & (Mask.READ | Mask.WRITE) && m & Mask.RETH && pkt.rethLen === 0) return RespState.EXECUTE
  // nic.unsafe: test-only weakenings (RnicUnsafe), off in every real build
  const pdn = nic.unsafe.skipPdCheck ? nic.mrs.byIndex(qp.respRkey >>> 8)?.pdn ?? qp.pdn : qp.pdn
  const mr = nic.mrs.lookup(pdn, access, qp.respRkey, true)
  if (!mr) return RespState.ERR_RKEY_VIOLATION
  const off = mr.offsetOf(qp.respVaHi, qp.respVaLo) + qp.respAdv
  if (!mr.inRange(off, qp.respResid) && !nic.unsafe.skipBoundsCheck) return RespState.ERR_RKEY_VIOLATION
  if (m & Mask.WRITE) {
    const mtu = qp.mtu
    if (qp.respResid > mtu) {
      if (pkt.payloadLen !== mtu || pkt.padCnt !== 0) return RespState.ERR_LENGTH
    } else if (pkt.payloadLen !== qp.respResid || pkt.padCnt !== ((-qp.respResid) & 3)) {
      return RespState.ERR_LENGTH
    }
  }
  ctx.mr = mr
  ctx.mrOff = off
  return RespState.EXECUTE
}

function execute(nic: Rnic, qp: Qp, pkt: PacketView): RespState {
  const m = pkt.mask
  if (qp.state === QpState.RTR && !qp.commEst) {
    qp.commEst = true
    nic.asyncEvent(AsyncEvent.COMM_EST, qp.qpn)
  }
  if (m & Mask.SEND) {
    if (qp.type === QpType.UD) {
      // 40-byte GRH area: 20 zero bytes, then the IPv4 header (rxe_resp.c execute)
      if (qp.rwqe.length < GRH_BYTES + pkt.payloadLen) return RespState.ERR_LENGTH
      const grh = nic.scratch.buf
      grh.fill(0, 0, 20)
      copy(grh, 20, nic.rxFrame, nic.rxOff + 14, 20)
      scatterRecv(qp.rwqe, 0, grh, 0, GRH_BYTES)
      qp.rwqeOff = GRH_BYTES
    }
    if (!scatterRecv(qp.rwqe, qp.rwqeOff, nic.rxFrame, pkt.payloadOff, pkt.payloadLen)) return RespState.ERR_LENGTH
    qp.rwqeOff += pkt.payloadLen
  } else if (m & Mask.WRITE) {
    if (pkt.payloadLen > 0) {
      const mr = ctx.mr!
      copy(mr.u8, ctx.mrOff, nic.rxFrame, pkt.payloadOff, pkt.payloadLen)
      Q.dmaWritten(nic.doorbell)
      qp.respAdv += pkt.payloadLen
      qp.respResid -= pkt.payloadLen
    }
  } else if (m & Mask.READ) {
    // C9-148: the MSN counts a READ as soon as it is accepted
    qp.msn = (qp.msn + 1) & 0xffffff
    return RespState.READ_REPLY
  } else if (m & Mask.ATOMIC) {
    return RespState.ATOMIC_REPLY
  }
  // SEND with invalidate: masq MRs are never fast-reg MRs, so invalidation always fails (rxe invalidate_rkey)
  if (m & Mask.IETH) return RespState.ERR_INVALIDATE_RKEY
  if (m & Mask.END) qp.msn = (qp.msn + 1) & 0xffffff
  qp.respPsn = psnAdd(pkt.psn, 1)
  qp.ackPsn = qp.respPsn
  qp.respOpcode = pkt.opcode
  qp.respStatus = WcStatus.SUCCESS
  nic.portCounters.inc(Counter.RCVD_BYTES, pkt.payloadLen)
  if (m & Mask.COMP) return RespState.COMPLETE
  return qp.type === QpType.RC ? RespState.ACKNOWLEDGE : RespState.CLEANUP
}

/** Take the next responder resource (rxe_prepare_res): a ring of max_dest_rd_atomic entries, recycled. */
function prepareRes(qp: Qp, pkt: PacketView, type: ResType): RespRes {
  const res = qp.resources[qp.resHead]!
  qp.resHead = (qp.resHead + 1) % qp.resources.length
  res.type = type
  res.replay = false
  res.firstPsn = res.curPsn = pkt.psn
  res.rkey = qp.respRkey
  res.mr = ctx.mr
  if (type === ResType.READ) {
    res.origOff = res.off = ctx.mrOff
    res.origLen = res.resid = qp.respResid
    res.vaHi = qp.respVaHi
    res.vaLo = qp.respVaLo
    const pkts = Math.max(1, Math.ceil(qp.respResid / qp.mtu))
    res.lastPsn = psnAdd(pkt.psn, pkts - 1)
  } else {
    res.lastPsn = pkt.psn
  }
  return res
}

function readReply(nic: Rnic, qp: Qp, pkt: PacketView): RespState {
  let res = ctx.res
  if (!res) res = ctx.res = prepareRes(qp, pkt, ResType.READ)
  const mr = res.mr
  // a replay re-checks that the MR is still registered (rxe_recheck_mr)
  if (res.replay && res.resid > 0 && (!mr || !mr.valid)) return RespState.ERR_RKEY_VIOLATION
  const mtu = qp.mtu
  // a replay that does not start at the original first PSN continues with MIDDLE/LAST (rdatm_res_state_replay)
  let first = !res.replay || res.curPsn === res.firstPsn
  do {
    const n = res.resid < mtu ? res.resid : mtu
    const opcode = first
      ? res.resid <= mtu ? Opcode.RC_RDMA_READ_RESPONSE_ONLY : Opcode.RC_RDMA_READ_RESPONSE_FIRST
      : res.resid <= mtu ? Opcode.RC_RDMA_READ_RESPONSE_LAST : Opcode.RC_RDMA_READ_RESPONSE_MIDDLE
    const p = initTx(nic, qp, opcode, qp.destQpn, res.curPsn, qp.av.sgidIp, qp.av.dgidIp, qp.av.trafficClass, qp.av.hopLimit)
    p.aethSyndrome = AethSyndrome.ACK_UNLIMITED
    p.aethMsn = qp.msn
    if (n > 0) {
      sendPkt(nic, qp, stageTx(nic, opcode, mr!.u8, res.off, n), n)
    } else {
      sendPkt(nic, qp, null, 0)
    }
    res.off += n
    res.resid -= n
    res.curPsn = psnAdd(res.curPsn, 1)
    first = false
  } while (res.resid > 0)
  ctx.res = undefined
  if (!res.replay) qp.respOpcode = -1
  if (psnCompare(res.curPsn, qp.respPsn) >= 0) qp.respPsn = res.curPsn
  return RespState.CLEANUP
}

function atomicReply(qp: Qp, pkt: PacketView): RespState {
  let res = ctx.res
  if (!res) {
    // 8-byte aligned target, else Invalid Request (rxe atomic_reply)
    if (qp.respVaLo & 7) return RespState.ERR_MISALIGNED_ATOMIC
    res = ctx.res = prepareRes(qp, pkt, ResType.ATOMIC)
    const mr = ctx.mr!
    const dv = mr.dv
    const o = ctx.mrOff
    const lo = dv.getUint32(o, true)
    const hi = dv.getUint32(o + 4, true)
    res.origLo = lo
    res.origHi = hi
    let nlo = lo
    let nhi = hi
    if (pkt.opcode === Opcode.RC_COMPARE_SWAP) {
      if (lo === pkt.atomicCmpLo && hi === pkt.atomicCmpHi) {
        nlo = pkt.atomicSwapLo
        nhi = pkt.atomicSwapHi
      }
    } else {
      const sum = lo + pkt.atomicSwapLo
      nlo = sum >>> 0
      nhi = (hi + pkt.atomicSwapHi + (sum > 0xffffffff ? 1 : 0)) >>> 0
    }
    dv.setUint32(o, nlo, true)
    dv.setUint32(o + 4, nhi, true)
    qp.msn = (qp.msn + 1) & 0xffffff
    qp.respPsn = psnAdd(pkt.psn, 1)
    qp.ackPsn = qp.respPsn
    qp.respOpcode = pkt.opcode
    qp.respStatus = WcStatus.SUCCESS
  }
  return RespState.ACKNOWLEDGE
}

/** do_complete: a receive CQE for the WQE in use (if any), then acknowledge. */
function complete(nic: Rnic, qp: Qp, pkt: PacketView): RespState {
  if (qp.wqeActive) {
    const w = qp.rwqe
    const m = pkt.mask
    const ok = qp.respStatus === WcStatus.SUCCESS
    const writeImm = (m & (Mask.WRITE | Mask.IMMDT)) === (Mask.WRITE | Mask.IMMDT)
    let flags = 0
    let imm = 0
    if (ok && m & Mask.IMMDT) {
      flags |= WcFlags.WITH_IMM
      imm = pkt.immDt
    }
    if (qp.type === QpType.UD) flags |= WcFlags.GRH
    const srcQp = m & Mask.DETH ? pkt.dethSrcQp : 0
    const byteLen = ok ? (writeImm ? qp.respLength : qp.rwqeOff) : 0
    const opcode = writeImm ? WcOpcode.RECV_RDMA_WITH_IMM : WcOpcode.RECV
    qp.wqeActive = false
    qp.rwqeOff = 0
    qp.rqIndex = (qp.rqIndex + 1) >>> 0
    qp.rq.release(qp.rqIndex)
    qp.counters.inc(Counter.RDMA_RECV)
    if (!qp.rcq.post(w.wrIdHi, w.wrIdLo, qp.respStatus, opcode, byteLen, imm, qp.qpn, srcQp, flags)) {
      return RespState.ERR_CQ_OVERFLOW
    }
  }
  return qp.type === QpType.RC ? RespState.ACKNOWLEDGE : RespState.CLEANUP
}

/** send_ack: ACKNOWLEDGE with AETH{syndrome, MSN}, PSN as given. */
function sendAck(nic: Rnic, qp: Qp, syndrome: number, psn: number): void {
  const p = initTx(nic, qp, Opcode.RC_ACKNOWLEDGE, qp.destQpn, psn, qp.av.sgidIp, qp.av.dgidIp, qp.av.trafficClass, qp.av.hopLimit)
  p.aethSyndrome = syndrome
  p.aethMsn = qp.msn
  sendPkt(nic, qp, null, 0)
  if (syndrome !== AethSyndrome.ACK_UNLIMITED) qp.counters.inc(Counter.NAK_SENT)
}

function sendAtomicAck(nic: Rnic, qp: Qp, psn: number): void {
  const res = ctx.res!
  const p = initTx(nic, qp, Opcode.RC_ATOMIC_ACKNOWLEDGE, qp.destQpn, psn, qp.av.sgidIp, qp.av.dgidIp, qp.av.trafficClass, qp.av.hopLimit)
  p.aethSyndrome = AethSyndrome.ACK_UNLIMITED
  p.aethMsn = qp.msn
  p.origHi = res.origHi
  p.origLo = res.origLo
  sendPkt(nic, qp, null, 0)
  ctx.res = undefined
}

function acknowledge(nic: Rnic, qp: Qp, pkt: PacketView): RespState {
  if (qp.type !== QpType.RC) return RespState.CLEANUP
  if (qp.aethSyndrome !== AethSyndrome.ACK_UNLIMITED) sendAck(nic, qp, qp.aethSyndrome, pkt.psn)
  else if (pkt.mask & Mask.ATOMIC) sendAtomicAck(nic, qp, pkt.psn)
  else if (pkt.ackReq) sendAck(nic, qp, AethSyndrome.ACK_UNLIMITED, pkt.psn)
  return RespState.CLEANUP
}

function findResource(qp: Qp, psn: number): RespRes | undefined {
  for (const r of qp.resources) {
    if (r.type === ResType.NONE) continue
    if (psnCompare(psn, r.firstPsn) >= 0 && psnCompare(psn, r.lastPsn) <= 0) return r
  }
  return undefined
}

function duplicateRequest(nic: Rnic, qp: Qp, pkt: PacketView): RespState {
  const m = pkt.mask
  if (m & (Mask.SEND | Mask.WRITE)) {
    // C9-105: acknowledge again, do not execute
    sendAck(nic, qp, AethSyndrome.ACK_UNLIMITED, psnAdd(qp.ackPsn, -1))
    return RespState.CLEANUP
  }
  const res = findResource(qp, pkt.psn)
  if (!res) {
    nic.drops.inc(DropReason.DUPLICATE)
    return RespState.CLEANUP
  }
  if (m & Mask.READ) {
    if (res.type !== ResType.READ || pkt.rethRkey !== res.rkey) {
      nic.drops.inc(DropReason.DUPLICATE)
      return RespState.CLEANUP
    }
    // the re-request must be a subset of the original (same R_Key, range inside)
    let off = res.origOff
    if (res.mr) off = res.mr.offsetOf(pkt.rethVaHi, pkt.rethVaLo)
    else if (pkt.rethVaHi !== res.vaHi || pkt.rethVaLo !== res.vaLo) off = -1
    if (off < res.origOff || pkt.rethLen > res.origLen || off + pkt.rethLen > res.origOff + res.origLen) {
      nic.drops.inc(DropReason.DUPLICATE)
      return RespState.CLEANUP
    }
    res.curPsn = pkt.psn
    res.replay = true
    res.off = off
    res.resid = pkt.rethLen
    ctx.res = res
    return RespState.READ_REPLY
  }
  if (res.type !== ResType.ATOMIC) {
    nic.drops.inc(DropReason.DUPLICATE)
    return RespState.CLEANUP
  }
  res.replay = true
  res.curPsn = pkt.psn
  ctx.res = res
  return RespState.ATOMIC_REPLY
}

/** Class A/C errors: NAK with `syndrome`, complete the WQE in use with `status`, then QP → ERR. */
function classAcError(qp: Qp, syndrome: number, status: number): RespState {
  qp.aethSyndrome = syndrome
  qp.respStatus = status
  ctx.gotoError = true
  return RespState.COMPLETE
}

/** Process one request packet for `qp`. */
export function responder(nic: Rnic, qp: Qp, pkt: PacketView): void {
  ctx.gotoError = false
  ctx.res = undefined
  ctx.mr = undefined
  qp.aethSyndrome = AethSyndrome.ACK_UNLIMITED
  const rc = qp.type === QpType.RC
  let state = RespState.CHK_PSN
  for (;;) {
    switch (state) {
      case RespState.CHK_PSN: state = checkPsn(nic, qp, pkt); break
      case RespState.CHK_OP_SEQ: state = checkOpSeq(qp, pkt); break
      case RespState.CHK_OP_VALID: state = checkOpValid(nic, qp, pkt); break
      case RespState.CHK_RESOURCE: state = checkResource(nic, qp, pkt); break
      case RespState.CHK_LENGTH: state = checkLength(qp, pkt); break
      case RespState.CHK_RKEY: state = checkRkey(nic, qp, pkt); break
      case RespState.EXECUTE: state = execute(nic, qp, pkt); break
      case RespState.READ_REPLY: state = readReply(nic, qp, pkt); break
      case RespState.ATOMIC_REPLY: state = atomicReply(qp, pkt); break
      case RespState.COMPLETE: state = complete(nic, qp, pkt); break
      case RespState.ACKNOWLEDGE: state = acknowledge(nic, qp, pkt); break
      case RespState.DUPLICATE_REQUEST: state = duplicateRequest(nic, qp, pkt); break
      case RespState.CLEANUP:
        state = RespState.DONE
        break
      case RespState.DONE:
        if (ctx.gotoError) {
          state = RespState.ERROR
          break
        }
        return

      // ---- errors: the one place where an error becomes a NAK, a completion status, a drop or QP → ERR ----
      case RespState.ERR_PSN_OUT_OF_SEQ:
        // RC class B: one sequence NAK carrying the PSN we expect
        sendAck(nic, qp, AethSyndrome.NAK_PSN_SEQ_ERROR, qp.respPsn)
        state = RespState.CLEANUP
        break
      case RespState.ERR_RNR:
        if (rc) {
          // RC class B: RNR NAK with our min_rnr_timer
          qp.counters.inc(Counter.SND_RNR)
          nic.portCounters.inc(Counter.SND_RNR)
          sendAck(nic, qp, AethSyndrome.RNR_NAK | (qp.minRnrTimer & 0x1f), pkt.psn)
        } else {
          // UC/UD class D: drop
          qp.dropMsg = qp.type === QpType.UC
          nic.drops.inc(qp.type === QpType.UD ? DropReason.UD_NO_WQE : DropReason.UC_DROP)
        }
        state = RespState.CLEANUP
        break
      case RespState.ERR_TOO_MANY_RDMA_ATM_REQ:
      case RespState.ERR_MISSING_OPCODE_FIRST:
      case RespState.ERR_MISSING_OPCODE_LAST_C:
      case RespState.ERR_UNSUPPORTED_OPCODE:
      case RespState.ERR_MISALIGNED_ATOMIC:
        // RC class C
        state = classAcError(qp, AethSyndrome.NAK_INVALID_REQUEST, WcStatus.REM_INV_REQ_ERR)
        break
      case RespState.ERR_MISSING_OPCODE_LAST_D1E:
        // UC: abandon the half-received message; a new FIRST/ONLY starts over
        resetRecvProgress(qp)
        if (pkt.mask & Mask.START) {
          state = RespState.CHK_OP_VALID
        } else {
          qp.dropMsg = true
          nic.drops.inc(DropReason.UC_DROP)
          state = RespState.CLEANUP
        }
        break
      case RespState.ERR_RKEY_VIOLATION:
        if (rc) {
          state = classAcError(qp, AethSyndrome.NAK_REMOTE_ACCESS_ERROR, WcStatus.REM_ACCESS_ERR)
          nic.asyncEvent(AsyncEvent.QP_ACCESS_ERR, qp.qpn)
        } else {
          qp.dropMsg = true
          nic.drops.inc(DropReason.UC_DROP)
          state = RespState.CLEANUP
        }
        break
      case RespState.ERR_INVALIDATE_RKEY:
        // RC class J: no NAK syndrome, the receive completes in error and the QP fails
        ctx.gotoError = true
        qp.respStatus = WcStatus.REM_INV_REQ_ERR
        state = RespState.COMPLETE
        break
      case RespState.ERR_LENGTH:
        if (rc) {
          state = classAcError(qp, AethSyndrome.NAK_INVALID_REQUEST, WcStatus.REM_INV_REQ_ERR)
        } else {
          qp.dropMsg = qp.type === QpType.UC
          qp.wqeActive = false
          nic.drops.inc(qp.type === QpType.UD ? DropReason.UD_LENGTH : DropReason.UC_DROP)
          state = RespState.CLEANUP
        }
        break
      case RespState.ERR_MALFORMED_WQE:
        // all QP types, class A
        state = classAcError(qp, AethSyndrome.NAK_REMOTE_OPERATIONAL_ERROR, WcStatus.LOC_QP_OP_ERR)
        if (!rc) state = RespState.COMPLETE
        break
      case RespState.ERR_CQ_OVERFLOW:
        // class G
        nic.cqOverflow(qp.rcq, qp)
        return
      case RespState.ERROR:
        ctx.gotoError = false
        nic.asyncEvent(AsyncEvent.QP_FATAL, qp.qpn)
        nic.qpError(qp)
        return
    }
  }
}

/** Flush every posted receive WQE with WR_FLUSH_ERR. */
export function flushRq(nic: Rnic, qp: Qp): void {
  const prod = qp.rqProducer()
  const u = qp.rq.u32
  while (qp.rqIndex !== prod) {
    const s = qp.rq.slot(qp.rqIndex)
    if (!qp.rcq.post(u[s + Q.RQ_WRID_HI]!, u[s + Q.RQ_WRID_LO]!, WcStatus.WR_FLUSH_ERR, WcOpcode.RECV, 0, 0, qp.qpn, 0, 0)) {
      nic.cqOverflow(qp.rcq, qp)
    }
    qp.rqIndex = (qp.rqIndex + 1) >>> 0
  }
  qp.wqeActive = false
  qp.rq.release(qp.rqIndex)
}
