// Queue pair (rxe_qp.c): attributes, the validate-then-apply modify path, and the engine's private per-QP state.
// The SQ/RQ rings are VM memory: the engine snapshots a WQE into a shadow the first time it touches it
// ("don't trust user space data", rxe get_srq_wqe) and never reads the slot again.

import {QpAttrMask as M, QpState as S, QpType} from '../rdma-constants.js'
import {BTH_PSN_MASK} from '../wire/opcodes.js'
import {type AhAttr, Av, avFromAttr, avToAttr} from './av.js'
import {Counters} from './counters.js'
import type {Cq} from './cq.js'
import type {Mr} from './mr.js'
import {modifyQpIsOk} from './qp-table.js'
import type {RateGroup} from './ratelimit.js'
import type {VpcContext} from './vpc.js'
import {Ring, roundPow2} from './queue.js'
import {Task} from './task.js'

export const RXE_MAX_UNACKED_PSNS = 128
export const RXE_MAX_PKT_PER_ACK = 64
export const RXE_MAX_RD_ATOMIC = 128

export interface QpCap {
  maxSendWr: number
  maxRecvWr: number
  maxSendSge: number
  maxRecvSge: number
  maxInlineData: number
}

/** struct ibv_qp_attr in camelCase. */
export interface QpAttr {
  qpState?: number
  curQpState?: number
  pathMtu?: number
  pathMigState?: number
  qkey?: number
  rqPsn?: number
  sqPsn?: number
  destQpNum?: number
  qpAccessFlags?: number
  cap?: QpCap
  ahAttr?: AhAttr
  pkeyIndex?: number
  enSqdAsyncNotify?: number
  sqDraining?: number
  maxRdAtomic?: number
  maxDestRdAtomic?: number
  minRnrTimer?: number
  portNum?: number
  timeout?: number
  retryCnt?: number
  rnrRetry?: number
}

// POSTED: slot not read yet; READY: snapshot taken, (re)send due (rxe's wqe_state_posted).
export enum WqeState { POSTED, READY, PROCESSING, PENDING, DONE, ERROR }

/** Engine copy of a send WQE. */
export class SendWqe {
  state = WqeState.POSTED
  wrIdHi = 0
  wrIdLo = 0
  opcode = 0
  flags = 0
  imm = 0
  raddrHi = 0
  raddrLo = 0
  rkey = 0
  cmpHi = 0
  cmpLo = 0
  swapHi = 0
  swapLo = 0
  udQpn = 0
  udQkey = 0
  ahIp = 0
  ahTclass = 0
  ahHop = 64
  mask = 0 // Mask.SEND/WRITE/READ/ATOMIC class of the WR (rxe wr_opcode_mask)
  numSge = 0
  readonly sgeMr: Array<Mr | undefined>
  readonly sgeOff: Float64Array
  readonly sgeLen: Float64Array
  readonly inline: Uint8Array
  isInline = false
  length = 0
  // DMA cursor (rxe_dma_info)
  resid = 0
  curSge = 0
  sgeOffset = 0
  remoteAdv = 0 // bytes the remote address advanced (rxe wqe->iova - remote_addr)
  firstPsn = 0
  lastPsn = 0
  status = 0
  hasRdAtomic = false
  started = false // a packet of it has left (SQD finishes only started WQEs)
  sentLast = false // its END packet has left at least once: lastPsn is final even while a retry re-sends it

  constructor(maxSge: number, maxInline: number) {
    this.sgeMr = new Array(Math.max(1, maxSge)).fill(undefined)
    this.sgeOff = new Float64Array(Math.max(1, maxSge))
    this.sgeLen = new Float64Array(Math.max(1, maxSge))
    this.inline = new Uint8Array(Math.max(4, maxInline))
  }
}

export class RecvWqe {
  wrIdHi = 0
  wrIdLo = 0
  numSge = 0
  readonly sgeMr: Array<Mr | undefined>
  readonly sgeOff: Float64Array
  readonly sgeLen: Float64Array
  length = 0
  constructor(maxSge: number) {
    this.sgeMr = new Array(Math.max(1, maxSge)).fill(undefined)
    this.sgeOff = new Float64Array(Math.max(1, maxSge))
    this.sgeLen = new Float64Array(Math.max(1, maxSge))
  }
}

export enum ResType { NONE, READ, ATOMIC }

/** Responder resource for READ / atomic replay (rxe resp_res). */
export class RespRes {
  type = ResType.NONE
  firstPsn = 0
  lastPsn = 0
  curPsn = 0
  replay = false
  mr: Mr | undefined
  rkey = 0
  vaHi = 0
  vaLo = 0
  origOff = 0 // MR offset of the original request
  origLen = 0
  off = 0 // next MR offset to read
  resid = 0
  origHi = 0 // atomic original value
  origLo = 0
}

export class Qp {
  state: number = S.RESET
  readonly sq: Ring
  readonly rq: Ring
  readonly sqShadow: SendWqe[]
  readonly counters = new Counters()

  // attributes (ibv_qp_attr)
  accessFlags = 0
  pkeyIndex = 0
  port = 1
  qkey = 0
  pathMtu = 0
  mtu = 256
  destQpn = 0
  timeout = 0
  timeoutUs = 0 // 4.096 us << timeout; 0 = no retransmit timer
  retryCnt = 0
  rnrRetry = 0
  minRnrTimer = 0
  maxRdAtomic = 0
  maxDestRdAtomic = 0
  enSqdAsyncNotify = 0
  pathMigState = 0
  sqPsn = 0
  rqPsn = 0
  readonly av = new Av()

  // requester (qp->req)
  reqPsn = 0
  reqIndex = 0
  reqOpcode = -1
  noackPkts = 0
  rdAtomic = 0 // free read/atomic credits (rxe qp->req.rd_atomic)
  needRetry = false
  waitForRnrTimer = false
  waitPsn = false
  waitFence = false
  needRdAtomic = false

  // completer (qp->comp)
  compPsn = 0
  compIndex = 0
  compOpcode = -1
  compRetryCnt = 0
  compRnrRetry = 0
  startedRetry = false
  timeoutRetry = false
  retransDeadline = Infinity
  rateDeadline = Infinity
  rate: RateGroup | undefined
  /** masq/freeflow UD: the QP's VPC (set by the backend); UD WQEs name vIPs that the RNIC renames (vpc.ts). */
  vpc: VpcContext | undefined
  rnrDeadline = Infinity

  // responder (qp->resp)
  respPsn = 0
  respOpcode = -1
  msn = 0
  sentPsnNak = false
  aethSyndrome = 0x1f
  respStatus = 0
  rqIndex = 0 // RQ consumer (engine side)
  wqeActive = false
  readonly rwqe: RecvWqe
  rwqeOff = 0 // bytes already written into the receive WQE
  respVaHi = 0 // RETH of the request in progress (qp->resp.va/rkey/resid)
  respVaLo = 0
  respAdv = 0 // bytes of the current WRITE already placed
  respRkey = 0
  respResid = 0
  ackPsn = 0
  respLength = 0 // RETH length of the current WRITE (byte_len of WRITE_WITH_IMM)
  dropMsg = false // UC: drop until the next FIRST/ONLY
  resources: RespRes[] = []
  resHead = 0
  commEst = false

  sqSigAll = false
  drainNotified = false
  reqTask: Task = new Task(() => undefined) // set by the Rnic that owns the QP
  reqPending = false // requester has (maybe) work: set by doorbells, ACKs, timers

  constructor(
    readonly qpn: number,
    readonly type: number,
    readonly pdn: number,
    readonly scq: Cq,
    readonly rcq: Cq,
    readonly cap: QpCap,
    sq: Ring,
    rq: Ring,
  ) {
    this.sq = sq
    this.rq = rq
    this.sqShadow = Array.from({length: sq.size}, () => new SendWqe(cap.maxSendSge, cap.maxInlineData))
    this.rwqe = new RecvWqe(cap.maxRecvSge)
    if (type === QpType.UD) this.mtu = 4096
  }

  /**
   * Producer indexes as the engine trusts them: a VM owns these words and may write anything, but an honest
   * producer is never more than the ring size ahead of the consumer. Clamping keeps a hostile index from
   * turning a flush or a requester pass into a 2^32-step loop.
   */
  sqProducer(): number {
    const p = this.sq.producer()
    return ((p - this.compIndex) >>> 0) > this.sq.size ? (this.compIndex + this.sq.size) >>> 0 : p
  }
  rqProducer(): number {
    const p = this.rq.producer()
    return ((p - this.rqIndex) >>> 0) > this.rq.size ? (this.rqIndex + this.rq.size) >>> 0 : p
  }

  /** The shadow for a SQ counter. */
  wqe(counter: number): SendWqe {
    return this.sqShadow[counter & this.sq.mask]!
  }

  /** Requests are accepted in RTR, RTS, SQD (rxe resp.state READY). */
  respReady(): boolean {
    return this.state === S.RTR || this.state === S.RTS || this.state === S.SQD
  }
  /** Responses are accepted while the requester is READY or draining. */
  reqReady(): boolean {
    return this.state === S.RTS || this.state === S.SQD
  }
}

const U32 = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 0xffffffff
const inRange = (v: unknown, max: number): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= max

export interface PortInfo {
  maxMtuEnum: number
  gids: ReadonlyArray<number | undefined>
}

/** rxe_qp_chk_attr: checks everything before anything changes. Returns an error text or undefined. */
export function checkAttr(qp: Qp, attr: QpAttr, mask: number, port: PortInfo): string | undefined {
  if (!U32(mask) || mask >= 1 << 21) return `bad attr_mask 0x${Number(mask).toString(16)}`
  if (mask & M.CUR_STATE && !inRange(attr.curQpState, S.ERR)) return 'bad cur_qp_state'
  if (mask & M.STATE && !inRange(attr.qpState, S.ERR)) return 'bad qp_state'
  const cur = mask & M.CUR_STATE ? attr.curQpState! : qp.state
  const next = mask & M.STATE ? attr.qpState! : cur
  if (!modifyQpIsOk(cur, next, qp.type, mask)) {
    return `invalid attribute mask 0x${mask.toString(16)} for ${stateName(cur)}->${stateName(next)} on a ${typeName(qp.type)} QP`
  }
  if (mask & M.PORT && attr.portNum !== 1) return `invalid port ${attr.portNum}`
  if (mask & M.PKEY_INDEX && attr.pkeyIndex !== 0) return `invalid pkey index ${attr.pkeyIndex}`
  if (mask & M.QKEY && !U32(attr.qkey)) return 'bad qkey'
  if (mask & M.ACCESS_FLAGS && !inRange(attr.qpAccessFlags, 0xffff)) return 'bad qp_access_flags'
  if (mask & M.AV) {
    const err = avFromAttr(new Av(), attr.ahAttr as AhAttr, port.gids)
    if (err) return err
  }
  if (mask & M.PATH_MTU) {
    if (!inRange(attr.pathMtu, 5) || attr.pathMtu < 1) return `bad path_mtu ${attr.pathMtu}`
    if (attr.pathMtu > port.maxMtuEnum) return `path_mtu ${attr.pathMtu} above the port's ${port.maxMtuEnum}`
  }
  if (mask & M.TIMEOUT && !inRange(attr.timeout, 31)) return `invalid QP timeout ${attr.timeout}`
  if (mask & M.RETRY_CNT && !inRange(attr.retryCnt, 7)) return 'bad retry_cnt'
  if (mask & M.RNR_RETRY && !inRange(attr.rnrRetry, 7)) return 'bad rnr_retry'
  if (mask & M.MIN_RNR_TIMER && !inRange(attr.minRnrTimer, 31)) return 'bad min_rnr_timer'
  if (mask & M.MAX_QP_RD_ATOMIC && !inRange(attr.maxRdAtomic, RXE_MAX_RD_ATOMIC)) return `invalid max_rd_atomic ${attr.maxRdAtomic}`
  if (mask & M.MAX_DEST_RD_ATOMIC && !inRange(attr.maxDestRdAtomic, RXE_MAX_RD_ATOMIC)) return `invalid max_dest_rd_atomic ${attr.maxDestRdAtomic}`
  if (mask & M.DEST_QPN && !inRange(attr.destQpNum, 0xffffff)) return 'bad dest_qp_num'
  if (mask & M.RQ_PSN && !U32(attr.rqPsn)) return 'bad rq_psn'
  if (mask & M.SQ_PSN && !U32(attr.sqPsn)) return 'bad sq_psn'
  return undefined
}

const MTU_BYTES = [0, 256, 512, 1024, 2048, 4096]

/** rxe_qp_from_attr: apply attributes, then the state change. Caller flushes on ERR. */
export function fromAttr(qp: Qp, attr: QpAttr, mask: number, port: PortInfo): void {
  if (mask & M.ACCESS_FLAGS) qp.accessFlags = attr.qpAccessFlags!
  if (mask & M.PKEY_INDEX) qp.pkeyIndex = attr.pkeyIndex!
  if (mask & M.PORT) qp.port = attr.portNum!
  if (mask & M.QKEY) qp.qkey = attr.qkey! >>> 0
  if (mask & M.AV) avFromAttr(qp.av, attr.ahAttr!, port.gids)
  if (mask & M.PATH_MTU) {
    qp.pathMtu = attr.pathMtu!
    qp.mtu = MTU_BYTES[qp.pathMtu]!
  }
  if (mask & M.TIMEOUT) {
    qp.timeout = attr.timeout!
    qp.timeoutUs = qp.timeout === 0 ? 0 : 4.096 * 2 ** qp.timeout
  }
  if (mask & M.RETRY_CNT) qp.retryCnt = qp.compRetryCnt = attr.retryCnt!
  if (mask & M.RNR_RETRY) qp.rnrRetry = qp.compRnrRetry = attr.rnrRetry!
  if (mask & M.MIN_RNR_TIMER) qp.minRnrTimer = attr.minRnrTimer!
  if (mask & M.RQ_PSN) {
    qp.rqPsn = attr.rqPsn! & BTH_PSN_MASK
    qp.respPsn = qp.rqPsn
  }
  if (mask & M.SQ_PSN) {
    qp.sqPsn = attr.sqPsn! & BTH_PSN_MASK
    qp.reqPsn = qp.compPsn = qp.sqPsn
  }
  if (mask & M.MAX_QP_RD_ATOMIC) {
    qp.maxRdAtomic = attr.maxRdAtomic ? roundPow2(attr.maxRdAtomic) : 0
    qp.rdAtomic = qp.maxRdAtomic
  }
  if (mask & M.MAX_DEST_RD_ATOMIC) {
    qp.maxDestRdAtomic = attr.maxDestRdAtomic ? roundPow2(attr.maxDestRdAtomic) : 0
    qp.resources = Array.from({length: qp.maxDestRdAtomic}, () => new RespRes())
    qp.resHead = 0
  }
  if (mask & M.DEST_QPN) qp.destQpn = attr.destQpNum!
  if (mask & M.EN_SQD_ASYNC_NOTIFY) qp.enSqdAsyncNotify = attr.enSqdAsyncNotify ?? 0
  if (mask & M.PATH_MIG_STATE) qp.pathMigState = attr.pathMigState ?? 0
  if (mask & M.STATE) {
    const next = attr.qpState!
    if (next === S.RESET) resetQp(qp)
    qp.state = next
  }
}

/** rxe_qp_to_attr. */
export function toAttr(qp: Qp): QpAttr {
  return {
    qpState: qp.state, curQpState: qp.state, pathMtu: qp.pathMtu, pathMigState: qp.pathMigState, qkey: qp.qkey,
    rqPsn: qp.respPsn, sqPsn: qp.reqPsn, destQpNum: qp.destQpn, qpAccessFlags: qp.accessFlags, cap: {...qp.cap},
    ahAttr: avToAttr(qp.av), pkeyIndex: qp.pkeyIndex, enSqdAsyncNotify: qp.enSqdAsyncNotify, sqDraining: 0,
    maxRdAtomic: qp.maxRdAtomic, maxDestRdAtomic: qp.maxDestRdAtomic, minRnrTimer: qp.minRnrTimer, portNum: qp.port,
    timeout: qp.timeout, retryCnt: qp.retryCnt, rnrRetry: qp.rnrRetry,
  }
}

/** rxe_qp_reset: empty the queues and forget all transport state. */
export function resetQp(qp: Qp): void {
  qp.sq.reset()
  qp.rq.reset()
  for (const w of qp.sqShadow) {
    w.state = WqeState.POSTED
    w.hasRdAtomic = false
  }
  qp.reqPsn = qp.compPsn = qp.respPsn = 0
  qp.reqIndex = qp.compIndex = qp.rqIndex = 0
  qp.reqOpcode = qp.compOpcode = qp.respOpcode = -1
  qp.noackPkts = 0
  qp.rdAtomic = qp.maxRdAtomic
  qp.needRetry = qp.waitForRnrTimer = qp.waitPsn = qp.waitFence = qp.needRdAtomic = false
  qp.startedRetry = qp.timeoutRetry = false
  qp.retransDeadline = qp.rnrDeadline = qp.rateDeadline = Infinity
  qp.msn = 0
  qp.sentPsnNak = false
  qp.wqeActive = false
  qp.dropMsg = false
  for (const r of qp.resources) r.type = ResType.NONE
  qp.resHead = 0
  qp.commEst = false
  qp.reqPending = false
}

export function stateName(s: number): string {
  return Object.entries(S).find(([, v]) => v === s)?.[0] ?? String(s)
}
export function typeName(t: number): string {
  return Object.entries(QpType).find(([, v]) => v === t)?.[0] ?? String(t)
}
