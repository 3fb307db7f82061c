// Completer (rxe_comp.c): matches ACKs, read responses and atomic ACKs to send WQEs in order, completes
// (coalesced ACKs complete every WQE up to the acknowledged PSN), maps NAK codes to WC statuses, and drives
// retries: retry_cnt / rnr_retry with 7 = infinite, the RNR timer table, go-back-N through the requester.

import {QpState, QpType, SendFlags, WcOpcode, WcStatus, WrOpcode} from '../rdma-constants.js'
import {AETH_TYPE_MASK, AethSyndrome, AethType, Mask, Opcode, READ_OR_ATOMIC} from '../wire/opcodes.js'
import type {PacketView} from '../wire/packet.js'
import {Counter} from './counters.js'
import {scatter} from './dma.js'
import {psnAdd, psnCompare} from './psn.js'
import * as Q from './queue.js'
import {type Qp, type SendWqe, WqeState} from './qp.js'
import type {Rnic} from './rnic.js'

export enum CompState {
  GET_WQE, CHECK_PSN, CHECK_ACK, READ, ATOMIC, WRITE_SEND, UPDATE_COMP, ERROR_RETRY, RNR_RETRY, ERROR,
  COMP_WQE, COMP_ACK, DONE, EXIT,
}

// rnrnak_usec[] (rxe_comp.c), IBTA table 45; code 25 uses the spec's 61440 (rxe has a 61410 typo).
export const RNR_NAK_USEC = [
  655360, 10, 20, 30, 40, 60, 80, 120, 160, 240, 320, 480, 640, 960, 1280, 1920, 2560, 3840, 5120, 7680, 10240, 15360,
  20480, 30720, 40960, 61440, 81920, 122880, 163840, 245760, 327680, 491520,
]

export function wcOpcodeOf(wrOpcode: number): number {
  switch (wrOpcode) {
    case WrOpcode.RDMA_WRITE:
    case WrOpcode.RDMA_WRITE_WITH_IMM:
      return WcOpcode.RDMA_WRITE
    case WrOpcode.RDMA_READ:
      return WcOpcode.RDMA_READ
    case WrOpcode.ATOMIC_CMP_AND_SWP:
      return WcOpcode.COMP_SWAP
    case WrOpcode.ATOMIC_FETCH_AND_ADD:
      return WcOpcode.FETCH_ADD
    default:
      return WcOpcode.SEND
  }
}

function resetRetryCounters(qp: Qp): void {
  qp.compRetryCnt = qp.retryCnt
  qp.compRnrRetry = qp.rnrRetry
  qp.startedRetry = false
}

/**
 * A SEND/WRITE that a go-back-N retry is re-sending (READY: rewound, PROCESSING: partly re-sent) after its END
 * packet had already left once, so its last_psn is final. rxe only completes a SEND/WRITE in wqe_state_pending,
 * assuming the ACK for last_psn cannot beat the re-sent LAST packet; a rate-limited re-send breaks that: the ACK
 * was dropped (or, at last_psn exactly, UPDATE_COMP moved comp.psn past a WQE that stayed open, and the next
 * req_retry skipped all of it, shifting every later PSN until the responder NAKed Invalid Request). An ACK
 * covers every earlier PSN (IBTA coalesced ACKs), so such a WQE completes like a pending one.
 */
function resending(w: SendWqe): boolean {
  return w.sentLast && (w.state === WqeState.READY || w.state === WqeState.PROCESSING) && !(w.mask & READ_OR_ATOMIC)
}

/** do_complete: a CQE if signaled or failed, then retire the slot. */
function doComplete(nic: Rnic, qp: Qp, w: SendWqe): void {
  if (resending(w) && qp.reqIndex === qp.compIndex) {
    // the requester is still re-sending this WQE: move it on to the next one, after last_psn
    qp.reqIndex = (qp.reqIndex + 1) >>> 0
    if (psnCompare(w.lastPsn, qp.reqPsn) >= 0) qp.reqPsn = psnAdd(w.lastPsn, 1)
    qp.reqOpcode = -1
    qp.reqPending = true
  }
  if (qp.sqSigAll || w.flags & SendFlags.SIGNALED || w.status !== WcStatus.SUCCESS) {
    const ok = qp.scq.post(w.wrIdHi, w.wrIdLo, w.status, wcOpcodeOf(w.opcode), w.length, 0, qp.qpn, 0, 0)
    if (!ok) {
      nic.cqOverflow(qp.scq, qp)
      return
    }
  }
  if (w.hasRdAtomic) {
    w.hasRdAtomic = false
    qp.rdAtomic++
    if (qp.needRdAtomic) {
      qp.needRdAtomic = false
      qp.reqPending = true
    }
  }
  w.state = WqeState.POSTED
  qp.compIndex = (qp.compIndex + 1) >>> 0
  qp.sq.release(qp.compIndex)
  if (qp.waitFence) {
    qp.waitFence = false
    qp.reqPending = true
  }
  if (qp.state === QpState.SQD) nic.checkDrained(qp)
}

function oldest(qp: Qp): SendWqe | undefined {
  return qp.compIndex === qp.sqProducer() ? undefined : qp.wqe(qp.compIndex)
}

function wakeWaitPsn(qp: Qp): void {
  if (qp.waitPsn) {
    qp.waitPsn = false
    qp.reqPending = true
  }
}

function checkPsn(qp: Qp, pkt: PacketView, w: SendWqe): CompState {
  // past the oldest WQE: complete a SEND/WRITE implicitly, a READ/atomic missed its response
  if (psnCompare(pkt.psn, w.lastPsn) > 0) {
    if (w.state === WqeState.PENDING || resending(w)) {
      if (w.mask & READ_OR_ATOMIC) return CompState.ERROR_RETRY
      resetRetryCounters(qp)
      return CompState.COMP_WQE
    }
    return CompState.DONE
  }
  const diff = psnCompare(pkt.psn, qp.compPsn)
  if (diff < 0) {
    // most likely a retried packet: complete if it matches the WQE's last PSN, else ignore
    if (pkt.psn === w.lastPsn) return CompState.COMP_ACK
    // rxe lets an old ACKNOWLEDGE through here so a NAK can interrupt a multi-packet READ; a stale *positive*
    // ACK (reordered or duplicated on the fabric) would reset comp.opcode and fail the READ, so masq drops it.
    if (pkt.opcode === Opcode.RC_ACKNOWLEDGE && (pkt.aethSyndrome & AETH_TYPE_MASK) !== AethType.ACK &&
      (qp.compOpcode === Opcode.RC_RDMA_READ_RESPONSE_FIRST || qp.compOpcode === Opcode.RC_RDMA_READ_RESPONSE_MIDDLE)) {
      return CompState.CHECK_ACK
    }
    return CompState.DONE
  }
  if (diff > 0 && w.mask & READ_OR_ATOMIC) return CompState.DONE
  return CompState.CHECK_ACK
}

function checkAck(nic: Rnic, qp: Qp, pkt: PacketView, w: SendWqe): CompState {
  const op = pkt.opcode
  if (qp.compOpcode === -1) {
    if (!(pkt.mask & Mask.START)) return CompState.ERROR
  } else if (qp.compOpcode === Opcode.RC_RDMA_READ_RESPONSE_FIRST || qp.compOpcode === Opcode.RC_RDMA_READ_RESPONSE_MIDDLE) {
    if (op !== Opcode.RC_ACKNOWLEDGE && op !== Opcode.RC_RDMA_READ_RESPONSE_MIDDLE && op !== Opcode.RC_RDMA_READ_RESPONSE_LAST) {
      // a retried partial READ may restart with FIRST or ONLY
      if (!((pkt.psn === w.firstPsn && op === Opcode.RC_RDMA_READ_RESPONSE_FIRST) ||
        (w.firstPsn === w.lastPsn && op === Opcode.RC_RDMA_READ_RESPONSE_ONLY))) return CompState.ERROR
    }
  }
  const syn = pkt.aethSyndrome
  switch (op) {
    case Opcode.RC_RDMA_READ_RESPONSE_FIRST:
    case Opcode.RC_RDMA_READ_RESPONSE_LAST:
    case Opcode.RC_RDMA_READ_RESPONSE_ONLY:
      if ((syn & AETH_TYPE_MASK) !== AethType.ACK) return CompState.ERROR
    // falls through: MIDDLE has no AETH
    case Opcode.RC_RDMA_READ_RESPONSE_MIDDLE:
      if (w.opcode !== WrOpcode.RDMA_READ) {
        w.status = WcStatus.FATAL_ERR
        return CompState.ERROR
      }
      resetRetryCounters(qp)
      return CompState.READ
    case Opcode.RC_ATOMIC_ACKNOWLEDGE:
      if ((syn & AETH_TYPE_MASK) !== AethType.ACK || !(w.mask & Mask.ATOMIC)) return CompState.ERROR
      resetRetryCounters(qp)
      return CompState.ATOMIC
    case Opcode.RC_ACKNOWLEDGE:
      switch (syn & AETH_TYPE_MASK) {
        case AethType.ACK:
          resetRetryCounters(qp)
          return CompState.WRITE_SEND
        case AethType.RNR_NAK:
          qp.counters.inc(Counter.RCV_RNR)
          nic.portCounters.inc(Counter.RCV_RNR)
          return CompState.RNR_RETRY
        case AethType.NAK:
          qp.counters.inc(Counter.NAK_RCVD)
          switch (syn) {
            case AethSyndrome.NAK_PSN_SEQ_ERROR:
              // a sequence NAK implicitly acknowledges every earlier PSN
              if (psnCompare(pkt.psn, qp.compPsn) > 0) {
                qp.counters.inc(Counter.RCV_SEQ_ERR)
                nic.portCounters.inc(Counter.RCV_SEQ_ERR)
                qp.compPsn = pkt.psn
                wakeWaitPsn(qp)
              }
              return CompState.ERROR_RETRY
            case AethSyndrome.NAK_INVALID_REQUEST:
              w.status = WcStatus.REM_INV_REQ_ERR
              return CompState.ERROR
            case AethSyndrome.NAK_REMOTE_ACCESS_ERROR:
              w.status = WcStatus.REM_ACCESS_ERR
              return CompState.ERROR
            default:
              w.status = WcStatus.REM_OP_ERR
              return CompState.ERROR
          }
        default:
          return CompState.ERROR
      }
    default:
      return CompState.ERROR
  }
}

/** Run the completer for one response packet (or none: a timer fired, or the requester finished a UD/UC WQE). */
export function completer(nic: Rnic, qp: Qp, pkt: PacketView | null): void {
  if (qp.state === QpState.ERR || qp.state === QpState.RESET) return
  const timeoutRetry = qp.timeoutRetry
  qp.timeoutRetry = false
  if (qp.needRetry) return
  let w: SendWqe | undefined
  let state = CompState.GET_WQE
  for (;;) {
    switch (state) {
      case CompState.GET_WQE:
        w = oldest(qp)
        if (!w || w.state === WqeState.POSTED || (w.state === WqeState.READY && !(pkt && resending(w)))) {
          state = pkt ? CompState.DONE : CompState.EXIT
        }
        else if (w.state === WqeState.DONE) state = CompState.COMP_WQE
        else if (w.state === WqeState.ERROR) state = CompState.ERROR
        else state = pkt ? CompState.CHECK_PSN : CompState.EXIT
        break
      case CompState.CHECK_PSN:
        state = checkPsn(qp, pkt!, w!)
        break
      case CompState.CHECK_ACK:
        state = checkAck(nic, qp, pkt!, w!)
        break
      case CompState.READ: {
        const p = pkt!
        const at = w!.length - w!.resid
        if (p.payloadLen > w!.resid ||
          !scatter(w!.sgeMr, w!.sgeOff, w!.sgeLen, w!.numSge, at, nic.rxFrame, p.payloadOff, p.payloadLen)) {
          w!.status = WcStatus.LOC_LEN_ERR
          state = CompState.ERROR
          break
        }
        w!.resid -= p.payloadLen
        state = w!.resid === 0 && p.mask & Mask.END ? CompState.COMP_ACK : CompState.UPDATE_COMP
        break
      }
      case CompState.ATOMIC: {
        // the original remote value lands in the local 8-byte buffer, host (little-endian) order
        const mr = w!.sgeMr[0]!
        mr.dv.setUint32(w!.sgeOff[0]!, pkt!.origLo, true)
        mr.dv.setUint32(w!.sgeOff[0]! + 4, pkt!.origHi, true)
        state = CompState.COMP_ACK
        break
      }
      case CompState.WRITE_SEND:
        state = (w!.state === WqeState.PENDING || resending(w!)) && w!.lastPsn === pkt!.psn
          ? CompState.COMP_ACK : CompState.UPDATE_COMP
        break
      case CompState.COMP_ACK:
        doComplete(nic, qp, w!)
        state = psnCompare(pkt!.psn, qp.compPsn) >= 0 ? CompState.UPDATE_COMP : CompState.DONE
        break
      case CompState.COMP_WQE:
        if (pkt && (w!.state === WqeState.PENDING || resending(w!))) {
          if (psnCompare(w!.lastPsn, qp.compPsn) >= 0) {
            qp.compPsn = psnAdd(w!.lastPsn, 1)
            qp.compOpcode = -1
          }
          wakeWaitPsn(qp)
        }
        doComplete(nic, qp, w!)
        state = CompState.GET_WQE
        break
      case CompState.UPDATE_COMP:
        qp.compOpcode = pkt!.mask & Mask.END ? -1 : pkt!.opcode
        if (psnCompare(pkt!.psn, qp.compPsn) >= 0) qp.compPsn = psnAdd(pkt!.psn, 1)
        wakeWaitPsn(qp)
        state = CompState.DONE
        break
      case CompState.DONE:
        rearmTimer(nic, qp)
        return
      case CompState.EXIT:
        if (timeoutRetry && w && w.state !== WqeState.POSTED && w.state !== WqeState.READY) {
          state = CompState.ERROR_RETRY
          break
        }
        rearmTimer(nic, qp)
        return
      case CompState.ERROR_RETRY:
        if (!w || w.state === WqeState.POSTED || w.state === WqeState.READY) return
        // a retry is already under way: only a timeout starts another
        if (qp.startedRetry && !timeoutRetry) return rearmTimer(nic, qp)
        if (qp.compRetryCnt > 0) {
          if (qp.compRetryCnt !== 7) qp.compRetryCnt--
          if (psnCompare(qp.reqPsn, qp.compPsn) > 0) {
            qp.counters.inc(Counter.COMP_RETRY)
            nic.portCounters.inc(Counter.COMP_RETRY)
            qp.needRetry = true
            qp.startedRetry = true
            qp.reqPending = true
          }
          return rearmTimer(nic, qp)
        }
        qp.counters.inc(Counter.RETRY_EXCEEDED)
        nic.portCounters.inc(Counter.RETRY_EXCEEDED)
        w.status = WcStatus.RETRY_EXC_ERR
        state = CompState.ERROR
        break
      case CompState.RNR_RETRY:
        if (qp.compRnrRetry > 0) {
          if (qp.compRnrRetry !== 7) qp.compRnrRetry--
          // no retry flow until the RNR timer fires (rnr_nak_timer sets need_retry)
          qp.waitForRnrTimer = true
          qp.rnrDeadline = nic.clock.now() + RNR_NAK_USEC[pkt!.aethSyndrome & 0x1f]!
          return
        }
        qp.counters.inc(Counter.RNR_RETRY_EXCEEDED)
        nic.portCounters.inc(Counter.RNR_RETRY_EXCEEDED)
        w!.status = WcStatus.RNR_RETRY_EXC_ERR
        state = CompState.ERROR
        break
      case CompState.ERROR:
        // the errored WQE always completes, then everything else flushes
        if (w!.status === WcStatus.SUCCESS) w!.status = WcStatus.BAD_RESP_ERR
        doComplete(nic, qp, w!)
        nic.qpError(qp)
        return
    }
  }
}

/** Keep the retransmit timer running while PSNs are outstanding (rxe COMPST_EXIT). */
function rearmTimer(nic: Rnic, qp: Qp): void {
  if (qp.type !== QpType.RC || qp.timeoutUs === 0) return
  if (psnCompare(qp.reqPsn, qp.compPsn) > 0) qp.retransDeadline = nic.clock.now() + qp.timeoutUs
  else qp.retransDeadline = Infinity
}

/** Flush every uncompleted send WQE with WR_FLUSH_ERR (always signaled), oldest first. */
export function flushSq(nic: Rnic, qp: Qp): void {
  const prod = qp.sqProducer()
  const u = qp.sq.u32
  while (qp.compIndex !== prod) {
    const w = qp.wqe(qp.compIndex)
    let hi: number, lo: number, op: number
    if (w.state === WqeState.POSTED) {
      const s = qp.sq.slot(qp.compIndex)
      hi = u[s + Q.SQ_WRID_HI]!
      lo = u[s + Q.SQ_WRID_LO]!
      op = u[s + Q.SQ_OPCODE]!
    } else {
      hi = w.wrIdHi
      lo = w.wrIdLo
      op = w.opcode
    }
    if (!qp.scq.post(hi, lo, WcStatus.WR_FLUSH_ERR, wcOpcodeOf(op), 0, 0, qp.qpn, 0, 0)) nic.cqOverflow(qp.scq, qp)
    w.state = WqeState.POSTED
    w.hasRdAtomic = false
    qp.compIndex = (qp.compIndex + 1) >>> 0
  }
  qp.reqIndex = qp.compIndex
  qp.rdAtomic = qp.maxRdAtomic
  qp.sq.release(qp.compIndex)
}
