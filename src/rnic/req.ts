// Requester (rxe_req.c): walks the SQ, snapshots each WQE, picks opcodes by MTU (next_opcode_rc/uc/ud),
// assigns 24-bit PSNs (a READ consumes ceil(len/MTU)), sets AckReq on the last packet and every
// RXE_MAX_PKT_PER_ACK, stalls at RXE_MAX_UNACKED_PSNS, honours FENCE and max_rd_atomic, and rewinds for
// go-back-N retries (req_retry).

import {Access, QpState, QpType, SendFlags, WcStatus, WrOpcode} from '../rdma-constants.js'
import {frameLength} from '../wire/frame.js'
import {Mask, OPCODES, Opcode, READ_OR_ATOMIC} from '../wire/opcodes.js'
import {completer} from './comp.js'
import {Counter} from './counters.js'
import {advance, gather, rewind} from './dma.js'
import {psnAdd, psnCompare} from './psn.js'
import * as Q from './queue.js'
import {type Qp, RXE_MAX_PKT_PER_ACK, RXE_MAX_UNACKED_PSNS, type SendWqe, WqeState} from './qp.js'
import type {Rnic} from './rnic.js'
import {initTx, sendPkt, stageTx} from './tx.js'
import {VPC_UNREACHABLE} from './vpc.js'

const TWO32 = 4294967296
const MAX_MSG = 2 ** 31

/** rxe wr_opcode_info: the class mask of a WR opcode per QP type; 0 = not allowed on that QP type. */
export function wrMask(opcode: number, qpType: number): number {
  const rc = qpType === QpType.RC
  const uc = qpType === QpType.UC
  const ud = qpType === QpType.UD
  switch (opcode) {
    case WrOpcode.RDMA_WRITE:
    case WrOpcode.RDMA_WRITE_WITH_IMM:
      return rc || uc ? Mask.WRITE : 0
    case WrOpcode.SEND:
    case WrOpcode.SEND_WITH_IMM:
      return Mask.SEND
    case WrOpcode.SEND_WITH_INV:
      return rc ? Mask.SEND : 0
    case WrOpcode.RDMA_READ:
      return rc ? Mask.READ : 0
    case WrOpcode.ATOMIC_CMP_AND_SWP:
    case WrOpcode.ATOMIC_FETCH_AND_ADD:
      return rc ? Mask.ATOMIC : 0
    default:
      return 0
  }
}

/** Snapshot and validate the WQE at `counter`. Returns a WcStatus (SUCCESS when usable). */
function loadWqe(nic: Rnic, qp: Qp, counter: number, w: SendWqe): number {
  const r = qp.sq
  const u = r.u32
  const s = r.slot(counter)
  w.wrIdHi = u[s + Q.SQ_WRID_HI]!
  w.wrIdLo = u[s + Q.SQ_WRID_LO]!
  w.opcode = u[s + Q.SQ_OPCODE]!
  w.flags = u[s + Q.SQ_FLAGS]!
  w.imm = u[s + Q.SQ_IMM]!
  w.raddrHi = u[s + Q.SQ_RADDR_HI]!
  w.raddrLo = u[s + Q.SQ_RADDR_LO]!
  w.rkey = u[s + Q.SQ_RKEY]!
  w.cmpHi = u[s + Q.SQ_CMP_HI]!
  w.cmpLo = u[s + Q.SQ_CMP_LO]!
  w.swapHi = u[s + Q.SQ_SWAP_HI]!
  w.swapLo = u[s + Q.SQ_SWAP_LO]!
  w.udQpn = u[s + Q.SQ_UD_QPN]! & 0xffffff
  w.udQkey = u[s + Q.SQ_UD_QKEY]!
  w.ahIp = u[s + Q.SQ_AH_IP]!
  w.ahTclass = u[s + Q.SQ_AH_TCLASS]! & 0xff
  w.ahHop = u[s + Q.SQ_AH_HOP]! & 0xff
  w.numSge = u[s + Q.SQ_NUM_SGE]!
  w.status = WcStatus.SUCCESS
  w.firstPsn = w.lastPsn = qp.reqPsn
  w.remoteAdv = 0
  w.curSge = 0
  w.sgeOffset = 0
  w.length = 0
  w.hasRdAtomic = false
  w.started = false
  w.sentLast = false
  w.mask = wrMask(w.opcode, qp.type)
  w.isInline = (w.flags & SendFlags.INLINE) !== 0
  if (w.mask === 0) return WcStatus.LOC_QP_OP_ERR
  if (w.isInline) {
    const n = u[s + Q.SQ_INLINE_LEN]!
    if (n > qp.cap.maxInlineData || w.mask & READ_OR_ATOMIC) return WcStatus.LOC_LEN_ERR
    const base = (s + Q.SQ_SGE + Q.SGE_WORDS * qp.cap.maxSendSge) * 4
    for (let i = 0; i < n; i++) w.inline[i] = r.u8[base + i]!
    w.length = w.resid = n
    w.numSge = 0
    return WcStatus.SUCCESS
  }
  if (w.numSge > qp.cap.maxSendSge) return WcStatus.LOC_LEN_ERR
  // READ and atomic results land in local memory: those SGEs need LOCAL_WRITE (copy_data access).
  const access = w.mask & READ_OR_ATOMIC ? Access.LOCAL_WRITE : 0
  let len = 0
  for (let i = 0; i < w.numSge; i++) {
    const g = s + Q.SQ_SGE + i * Q.SGE_WORDS
    const n = u[g + 2]!
    w.sgeLen[i] = n
    w.sgeMr[i] = undefined
    if (n === 0) continue
    const mr = nic.mrs.lookup(qp.pdn, access, u[g + 3]!, false)
    if (!mr) return WcStatus.LOC_PROT_ERR
    const off = mr.offsetOf(u[g]!, u[g + 1]!)
    if (!mr.inRange(off, n)) return WcStatus.LOC_PROT_ERR
    w.sgeMr[i] = mr
    w.sgeOff[i] = off
    len += n
  }
  if (len > MAX_MSG) return WcStatus.LOC_LEN_ERR
  if (w.mask & Mask.ATOMIC && len !== 8) return WcStatus.LOC_LEN_ERR
  w.length = w.resid = len
  return WcStatus.SUCCESS
}

/** next_opcode_rc / next_opcode_uc / next_opcode_ud. -1 when the WR cannot be sent on this QP. */
function nextOpcode(qp: Qp, w: SendWqe, fits: boolean): number {
  const prev = qp.reqOpcode & 0x1f
  const uc = qp.type === QpType.UC ? 0x20 : 0
  switch (w.opcode) {
    case WrOpcode.RDMA_WRITE:
    case WrOpcode.RDMA_WRITE_WITH_IMM: {
      const imm = w.opcode === WrOpcode.RDMA_WRITE_WITH_IMM
      const mid = qp.reqOpcode >= 0 && (prev === Opcode.RC_RDMA_WRITE_FIRST || prev === Opcode.RC_RDMA_WRITE_MIDDLE)
      const op = mid
        ? fits ? (imm ? Opcode.RC_RDMA_WRITE_LAST_WITH_IMMEDIATE : Opcode.RC_RDMA_WRITE_LAST) : Opcode.RC_RDMA_WRITE_MIDDLE
        : fits ? (imm ? Opcode.RC_RDMA_WRITE_ONLY_WITH_IMMEDIATE : Opcode.RC_RDMA_WRITE_ONLY) : Opcode.RC_RDMA_WRITE_FIRST
      return op | uc
    }
    case WrOpcode.SEND:
    case WrOpcode.SEND_WITH_IMM:
    case WrOpcode.SEND_WITH_INV: {
      if (qp.type === QpType.UD) {
        if (!fits) return -1
        return w.opcode === WrOpcode.SEND_WITH_IMM ? Opcode.UD_SEND_ONLY_WITH_IMMEDIATE : Opcode.UD_SEND_ONLY
      }
      const mid = qp.reqOpcode >= 0 && (prev === Opcode.RC_SEND_FIRST || prev === Opcode.RC_SEND_MIDDLE)
      let op: number
      if (!fits) op = mid ? Opcode.RC_SEND_MIDDLE : Opcode.RC_SEND_FIRST
      else if (w.opcode === WrOpcode.SEND_WITH_IMM) op = mid ? Opcode.RC_SEND_LAST_WITH_IMMEDIATE : Opcode.RC_SEND_ONLY_WITH_IMMEDIATE
      else if (w.opcode === WrOpcode.SEND_WITH_INV) op = mid ? Opcode.RC_SEND_LAST_WITH_INVALIDATE : Opcode.RC_SEND_ONLY_WITH_INVALIDATE
      else op = mid ? Opcode.RC_SEND_LAST : Opcode.RC_SEND_ONLY
      return op | uc
    }
    case WrOpcode.RDMA_READ:
      return Opcode.RC_RDMA_READ_REQUEST
    case WrOpcode.ATOMIC_CMP_AND_SWP:
      return Opcode.RC_COMPARE_SWAP
    case WrOpcode.ATOMIC_FETCH_AND_ADD:
      return Opcode.RC_FETCH_ADD
    default:
      return -1
  }
}

/** req_retry: go back to the oldest uncompleted WQE and resend from comp.psn. */
function reqRetry(qp: Qp): void {
  const prod = qp.sqProducer()
  qp.reqIndex = qp.compIndex
  qp.reqPsn = qp.compPsn
  qp.reqOpcode = -1
  let first = true
  for (let i = qp.compIndex; i !== prod; i = (i + 1) >>> 0) {
    const w = qp.wqe(i)
    if (w.state === WqeState.POSTED) break
    if (w.state === WqeState.DONE) continue
    w.remoteAdv = 0
    if (!first || !(w.mask & Mask.READ)) rewind(w)
    if (first) {
      first = false
      if (w.mask & (Mask.WRITE | Mask.SEND)) {
        // retry_first_write_send: skip the packets the responder already acknowledged
        const npsn = (qp.compPsn - w.firstPsn) & 0xffffff
        for (let k = 0; k < npsn && w.resid > 0; k++) {
          const n = Math.min(w.resid, qp.mtu)
          qp.reqOpcode = nextOpcode(qp, w, w.resid <= qp.mtu)
          if (w.mask & Mask.WRITE) w.remoteAdv += qp.mtu
          advance(w, n)
        }
      }
      if (w.mask & Mask.READ) {
        // resume a partially received READ at the next missing MTU
        const npsn = Math.floor((w.length - w.resid) / qp.mtu)
        w.remoteAdv = npsn * qp.mtu
      }
    }
    w.state = WqeState.READY
  }
}

/** Complete a WQE that failed before any packet left: status set, then the completer reports it in order. */
function failWqe(nic: Rnic, qp: Qp, w: SendWqe, status: number): void {
  w.status = status
  w.state = WqeState.ERROR
  qp.reqIndex = (qp.reqIndex + 1) >>> 0
  qp.counters.inc(Counter.SEND_ERR)
  completer(nic, qp, null)
}

export enum ReqState {
  START, GET_WQE, LOAD_WQE, CHECK_FENCE, CHECK_WINDOW, CHECK_RD_ATOMIC, OPCODE, CHECK_RATE, SEND, WQE_ERROR, EXIT,
}

/** Per-pass scratch of the requester (one pass never nests with another on the same QP: task.ts). */
class ReqCtx {
  w!: SendWqe
  opcode = 0
  mtu = 0
  status = 0
  sent = 0
  budget = 0
}
const ctx = new ReqCtx()

/** RTS sends; SQD (rxe req.state DRAIN) only finishes and retries WQEs that already started. */
function canSend(qp: Qp): boolean {
  return qp.state === QpState.RTS || qp.state === QpState.SQD
}

function start(qp: Qp): ReqState {
  if (!canSend(qp)) return ReqState.EXIT
  // a retry waits for the RNR timer when one is running (rxe_requester)
  if (qp.needRetry && !qp.waitForRnrTimer) {
    reqRetry(qp)
    qp.needRetry = false
  }
  return qp.waitForRnrTimer ? ReqState.EXIT : ReqState.GET_WQE
}

function getWqe(qp: Qp): ReqState {
  if (!canSend(qp)) return ReqState.EXIT
  if (ctx.sent >= ctx.budget) {
    qp.reqPending = true // more next time: other QPs get their turn
    return ReqState.EXIT
  }
  if (qp.reqIndex === qp.sqProducer()) return ReqState.EXIT
  const w = (ctx.w = qp.wqe(qp.reqIndex))
  if (qp.state === QpState.SQD && (w.state === WqeState.POSTED || !w.started)) return ReqState.EXIT
  if (w.state === WqeState.POSTED) return ReqState.LOAD_WQE
  if (w.state === WqeState.ERROR || w.state === WqeState.DONE) {
    // already finished (seen again after a retry rewound the index)
    qp.reqIndex = (qp.reqIndex + 1) >>> 0
    return ReqState.GET_WQE
  }
  return ReqState.CHECK_FENCE
}

function load(nic: Rnic, qp: Qp): ReqState {
  const st = loadWqe(nic, qp, qp.reqIndex, ctx.w)
  if (st !== WcStatus.SUCCESS) {
    ctx.status = st
    return ReqState.WQE_ERROR
  }
  if (qp.vpc) return renameUd(nic, qp, ctx.w)
  ctx.w.state = WqeState.READY
  return ReqState.CHECK_FENCE
}

/**
 * RConnrename for UD (vpc.ts): the WQE's vIP becomes its host's underlay address and the traffic class the
 * tenant's. A vIP outside the QP's VPC is never sent: counted, and the WQE completes as rxe completes a UD send
 * it cannot route (init_req_packet fails -> IB_WC_LOC_QP_OP_ERR, the QP goes to ERR).
 */
function renameUd(nic: Rnic, qp: Qp, w: SendWqe): ReqState {
  const wire = qp.vpc!.routes.get(w.ahIp)
  if (wire === undefined) {
    nic.drops.inc(VPC_UNREACHABLE)
    ctx.status = WcStatus.LOC_QP_OP_ERR
    return ReqState.WQE_ERROR
  }
  w.ahIp = wire
  w.ahTclass = qp.vpc!.trafficClass
  w.state = WqeState.READY
  return ReqState.CHECK_FENCE
}

function checkFence(qp: Qp): ReqState {
  // IBV_SEND_FENCE: wait until every earlier WQE has completed
  if (ctx.w.flags & SendFlags.FENCE && qp.reqIndex !== qp.compIndex) {
    qp.waitFence = true
    return ReqState.EXIT
  }
  return ReqState.CHECK_WINDOW
}

function checkWindow(qp: Qp): ReqState {
  // never more than RXE_MAX_UNACKED_PSNS outstanding
  if (qp.type === QpType.RC && psnCompare(qp.reqPsn, psnAdd(qp.compPsn, RXE_MAX_UNACKED_PSNS)) > 0) {
    qp.waitPsn = true
    return ReqState.EXIT
  }
  return ReqState.CHECK_RD_ATOMIC
}

function checkRdAtomic(qp: Qp): ReqState {
  const w = ctx.w
  // at most max_rd_atomic READs/atomics outstanding; a WQE keeps its credit across retries
  if (w.mask & READ_OR_ATOMIC && !w.hasRdAtomic) {
    if (qp.rdAtomic <= 0) {
      qp.needRdAtomic = true
      return ReqState.EXIT
    }
    qp.rdAtomic--
    w.hasRdAtomic = true
  }
  return ReqState.OPCODE
}

function chooseOpcode(nic: Rnic, qp: Qp): ReqState {
  const w = ctx.w
  ctx.mtu = qp.type === QpType.UD ? nic.portMtuBytes : qp.mtu
  ctx.opcode = nextOpcode(qp, w, w.resid <= ctx.mtu)
  if (ctx.opcode < 0) {
    // UD messages must fit one packet; anything else here is an opcode the QP cannot send
    ctx.status = qp.type === QpType.UD ? WcStatus.LOC_LEN_ERR : WcStatus.LOC_QP_OP_ERR
    return ReqState.WQE_ERROR
  }
  return qp.rate ? ReqState.CHECK_RATE : ReqState.SEND
}

function checkRate(nic: Rnic, qp: Qp): ReqState {
  const info = OPCODES[ctx.opcode]!
  const bytes = frameLength(ctx.opcode, info.mask & Mask.PAYLOAD ? Math.min(ctx.w.resid, ctx.mtu) : 0)
  const now = nic.clock.now()
  const wait = qp.rate!.take(bytes, now)
  if (wait > 0) {
    qp.rateDeadline = now + wait
    return ReqState.EXIT
  }
  return ReqState.SEND
}

/** Run the requester; returns the number of packets sent. Re-arms qp.reqPending when the budget ran out. */
export function requester(nic: Rnic, qp: Qp, budget: number): number {
  ctx.sent = 0
  ctx.budget = budget
  let state = ReqState.START
  for (;;) {
    switch (state) {
      case ReqState.START: state = start(qp); break
      case ReqState.GET_WQE: state = getWqe(qp); break
      case ReqState.LOAD_WQE: state = load(nic, qp); break
      case ReqState.CHECK_FENCE: state = checkFence(qp); break
      case ReqState.CHECK_WINDOW: state = checkWindow(qp); break
      case ReqState.CHECK_RD_ATOMIC: state = checkRdAtomic(qp); break
      case ReqState.OPCODE: state = chooseOpcode(nic, qp); break
      case ReqState.CHECK_RATE: state = checkRate(nic, qp); break
      case ReqState.SEND:
        sendOne(nic, qp, ctx.w, ctx.opcode, ctx.mtu)
        ctx.sent++
        state = ReqState.GET_WQE
        break
      case ReqState.WQE_ERROR:
        // the WQE completes in error, in order, through the completer; then the QP goes to ERR
        failWqe(nic, qp, ctx.w, ctx.status)
        state = ReqState.GET_WQE
        break
      case ReqState.EXIT:
        return ctx.sent
    }
  }
}

function sendOne(nic: Rnic, qp: Qp, w: SendWqe, opcode: number, mtu: number): void {
  const info = OPCODES[opcode]!
  const mask = info.mask
  const ud = qp.type === QpType.UD
  const payload = mask & Mask.PAYLOAD ? Math.min(w.resid, mtu) : 0
  const psn = qp.reqPsn
  const pkt = ud
    ? initTx(nic, qp, opcode, w.udQpn, psn, nic.firstGid(), w.ahIp, w.ahTclass, w.ahHop)
    : initTx(nic, qp, opcode, qp.destQpn, psn, qp.av.sgidIp, qp.av.dgidIp, qp.av.trafficClass, qp.av.hopLimit)
  if (w.flags & SendFlags.SOLICITED && mask & Mask.END &&
    (mask & Mask.SEND || (mask & (Mask.WRITE | Mask.IMMDT)) === (Mask.WRITE | Mask.IMMDT))) pkt.se = 1
  if (mask & Mask.END || qp.noackPkts++ > RXE_MAX_PKT_PER_ACK) {
    pkt.ackReq = 1
    qp.noackPkts = 0
  }
  if (mask & Mask.RETH) {
    const lo = w.raddrLo + w.remoteAdv
    pkt.rethVaHi = (w.raddrHi + Math.floor(lo / TWO32)) >>> 0
    pkt.rethVaLo = lo >>> 0
    pkt.rethRkey = w.rkey
    pkt.rethLen = w.resid
  }
  if (mask & Mask.IMMDT) pkt.immDt = w.imm
  if (mask & Mask.IETH) pkt.ieth = w.imm
  if (mask & Mask.DETH) {
    // C10-15: a WR Q_Key with the high bit set means "use the QP's own Q_Key"
    pkt.dethQkey = w.udQkey & 0x80000000 ? qp.qkey : w.udQkey
    pkt.dethSrcQp = qp.qpn
  }
  if (mask & Mask.ATMETH) {
    pkt.atomicVaHi = w.raddrHi
    pkt.atomicVaLo = w.raddrLo
    pkt.atomicRkey = w.rkey
    const cas = w.opcode === WrOpcode.ATOMIC_CMP_AND_SWP
    pkt.atomicSwapHi = cas ? w.swapHi : w.cmpHi
    pkt.atomicSwapLo = cas ? w.swapLo : w.cmpLo
    pkt.atomicCmpHi = w.cmpHi
    pkt.atomicCmpLo = w.cmpLo
  }
  // update_wqe_psn: PSNs this message still needs, computed before the payload is consumed
  const npkt = Math.max(1, Math.ceil(w.resid / mtu))
  if (payload > 0) {
    let view: Buffer
    const cur = w.curSge
    if (!w.isInline && w.sgeLen[cur]! - w.sgeOffset >= payload) {
      // the common case: the packet lies in one SGE, encode straight from VM memory
      view = stageTx(nic, opcode, w.sgeMr[cur]!.u8, w.sgeOff[cur]! + w.sgeOffset, payload)
      advance(w, payload)
    } else {
      view = nic.scratch.view(payload)
      gather(w, view, payload)
    }
    sendPkt(nic, qp, view, payload)
  } else {
    sendPkt(nic, qp, null, 0)
  }
  nic.portCounters.inc(Counter.SENT_BYTES, payload)
  if (mask & Mask.WRITE) w.remoteAdv += payload
  w.started = true
  if (mask & Mask.START) {
    w.firstPsn = psn
    w.lastPsn = psnAdd(psn, npkt - 1)
  }
  qp.reqPsn = mask & Mask.READ ? psnAdd(w.firstPsn, npkt) : psnAdd(psn, 1)
  qp.reqOpcode = opcode
  // update_wqe_state / update_state
  if (mask & Mask.END) {
    w.sentLast = true
    qp.reqIndex = (qp.reqIndex + 1) >>> 0
    if (qp.type === QpType.RC) {
      w.state = WqeState.PENDING
    } else {
      w.state = WqeState.DONE
      completer(nic, qp, null)
    }
  } else {
    w.state = WqeState.PROCESSING
  }
  if (qp.timeoutUs > 0 && qp.retransDeadline === Infinity) qp.retransDeadline = nic.clock.now() + qp.timeoutUs
}
