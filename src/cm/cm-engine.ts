// The IB CM protocol (IBTA vol 1 ch. 12; Linux drivers/infiniband/core/cm.c) as one explicit state machine per
// connection. Every received message and every timer is a step `(conn, input) → next state`, plus the messages
// it sends and at most one event for the consumer (the rdma_cm layer, src/cm/rdma-cm.ts). The engine never touches
// QPs: like ib_cm it only carries REQ/MRA/REP/RTU/REJ/DREQ/DREP and leaves QP transitions to its consumer.

import type {Clock} from '../rnic/clock.js'
import type {MadSource} from '../rnic/gsi.js'
import {RejReason} from '../rdma-constants.js'
import {
  CmMsgCode, type CmDreq, type CmMessage, type CmMra, type CmRej, type CmRep, type CmReq, type CmRtu, type CmType,
  decodeCm, emptyCmPath, encodeCm, REJ_ARI_SIZE, roceCmPath, TransportServiceType,
} from '../wire/cm.js'
import {WireError} from '../wire/errors.js'
import {decodeSidr, encodeSidr, isSidr, type SidrRep, type SidrReq, SidrStatus} from './sidr.js'
import {ibTimeoutUs, type CmTimeouts, TESTBED_TIMEOUTS} from './timeouts.js'
import type {MadTransport} from './transport.js'

/** enum ib_cm_state (cm.c), without SIDR and LAP. */
export type CmState =
  | 'IDLE' | 'REQ_SENT' | 'REQ_RCVD' | 'MRA_REQ_SENT' | 'MRA_REQ_RCVD' | 'REP_SENT' | 'REP_RCVD' | 'MRA_REP_SENT'
  | 'MRA_REP_RCVD' | 'ESTABLISHED' | 'DREQ_SENT' | 'DREQ_RCVD' | 'TIMEWAIT' | 'SIDR_REQ_SENT' | 'SIDR_REQ_RCVD'

/** enum ib_cm_event_type: what the consumer of a connection is told. */
export type CmConnEvent =
  | {type: 'REQ_ERROR'}
  | {type: 'REP_ERROR'}
  | {type: 'DREQ_ERROR'}
  | {type: 'MRA_RECEIVED'; mra: CmMra}
  | {type: 'REP_RECEIVED'; rep: CmRep}
  | {type: 'RTU_RECEIVED'; rtu: CmRtu}
  | {type: 'REJ_RECEIVED'; rej: CmRej}
  | {type: 'DREQ_RECEIVED'; dreq: CmDreq}
  | {type: 'DREP_RECEIVED'}
  | {type: 'TIMEWAIT_EXIT'}
  | {type: 'SIDR_REQ_ERROR'}
  | {type: 'SIDR_REP_RECEIVED'; rep: SidrRep}

export type CmConnHandler = (conn: CmConn, ev: CmConnEvent) => void

export class CmConn {
  state: CmState = 'IDLE'
  remoteCommId = 0
  tid = 0n // the REQ's transaction id: REQ, MRA, REP, RTU and REJ share it (cm.c cm_id_priv->tid)
  dreqTid = 0n
  localQpn = 0
  remoteQpn = 0
  handler: CmConnHandler | undefined
  /** Set by the consumer (rdma_cm id); the engine does not look at it. */
  context: unknown
  retries = 0
  deadline = Infinity
  timeoutUs = 0 // wait for a response before resending (cm.c timeout_ms)
  lastMad: Uint8Array | undefined // the message a timer re-sends, or a duplicate REQ/REP is answered with
  req: CmReq | undefined

  constructor(readonly localCommId: number, readonly localIp: number, readonly remoteIp: number, readonly dscp: number) {}
}

export interface ReqArgs {
  localIp: number // wire addresses
  remoteIp: number
  dscp?: number
  serviceId: bigint
  localQpn: number
  startingPsn: number
  responderResources: number
  initiatorDepth: number
  retryCount: number
  rnrRetryCount: number
  pathMtu: number // ibv_mtu enum
  srq?: number
  flowControl?: number
  privateData: Uint8Array // ≤ 92 bytes (cma_hdr included)
  trafficClass?: number
  localAckTimeout?: number
  handler: CmConnHandler
  context?: unknown
}

export interface RepArgs {
  localQpn: number
  startingPsn: number
  responderResources: number
  initiatorDepth: number
  rnrRetryCount: number
  srq?: number
  flowControl?: number
  targetAckDelay?: number
  privateData?: Uint8Array
}

export interface SidrReqArgs {
  localIp: number
  remoteIp: number
  dscp?: number
  serviceId: bigint
  privateData: Uint8Array // ≤ 216 bytes (cma_hdr included)
  handler: CmConnHandler
  context?: unknown
}

/** Decides what to do with a new SIDR_REQ (answer it with sendSidrRep). */
export type SidrReqHandler = (conn: CmConn, req: SidrReq, from: MadSource) => void

/** Decides what to do with a new REQ (the rdma_cm layer: find the listener, apply policy, or reject). */
export type ReqHandler = (conn: CmConn, req: CmReq, from: MadSource) => void

export interface CmEngineOptions {
  clock: Clock
  random?: () => number
  timeouts?: Partial<CmTimeouts>
  onReq?: ReqHandler
  onSidrReq?: SidrReqHandler
  /** Called whenever a timer is armed (a real-time driver re-arms its setTimeout). */
  onTimer?: () => void
}

type Step = {next: CmState; event?: CmConnEvent; send?: CmMessage}

const ACTIVE_WAIT: ReadonlySet<CmState> = new Set(['REQ_SENT', 'MRA_REQ_RCVD'])
const PASSIVE_WAIT: ReadonlySet<CmState> = new Set(['REP_SENT', 'MRA_REP_RCVD'])

/** EUI-64 node GUID from the host's MAC 02:00:a.b.c.d (rxe: addrconf_addr_eui48 of the netdev MAC). */
export function caGuidOf(ip: number): bigint {
  // EUI-48 → EUI-64: flip the universal/local bit of the first octet (0x02 → 0x00), insert ff:fe in the middle
  const b = [0x02 ^ 0x02, 0x00, ip >>> 24, 0xff, 0xfe, (ip >>> 16) & 255, (ip >>> 8) & 255, ip & 255]
  return b.reduce((v, x) => (v << 8n) | BigInt(x), 0n)
}

export class CmEngine {
  readonly clock: Clock
  readonly timeouts: CmTimeouts
  onReq: ReqHandler | undefined
  onSidrReq: SidrReqHandler | undefined
  onTimer: (() => void) | undefined
  readonly stats = {
    sent: {} as Record<string, number>, received: {} as Record<string, number>, retransmits: 0,
    drops: {} as Record<string, number>,
  }
  private readonly random: () => number
  private readonly byLocal = new Map<number, CmConn>()
  private readonly byRemote = new Map<string, CmConn>()
  private tidCounter: number
  private readonly timers = new Set<{at: number; fn: () => void}>()

  constructor(readonly transport: MadTransport, opts: CmEngineOptions) {
    this.clock = opts.clock
    this.random = opts.random ?? Math.random
    this.timeouts = {...TESTBED_TIMEOUTS, ...opts.timeouts}
    this.onReq = opts.onReq
    this.onTimer = opts.onTimer
    this.onSidrReq = opts.onSidrReq
    this.tidCounter = Math.floor(this.random() * 0x7fffffff)
    transport.onMad((mad, from) => this.receive(mad, from))
  }

  get connections(): number {
    return this.byLocal.size
  }

  connection(localCommId: number): CmConn | undefined {
    return this.byLocal.get(localCommId)
  }

  // ---- consumer API (ib_send_cm_*) ----

  /** ib_send_cm_req: a new connection in REQ_SENT. */
  sendReq(a: ReqArgs): CmConn {
    const conn = this.newConn(a.localIp, a.remoteIp, a.dscp ?? 0)
    conn.handler = a.handler
    conn.context = a.context
    conn.localQpn = a.localQpn
    conn.tid = this.nextTid()
    const t = this.timeouts
    conn.timeoutUs = 2 * ibTimeoutUs(t.packetLifeTime) + ibTimeoutUs(t.cmResponseTimeout)
    const req: CmReq = {
      type: 'REQ', transactionId: conn.tid, localCommId: conn.localCommId, serviceId: a.serviceId,
      localCaGuid: caGuidOf(a.localIp), localQkey: 0, localQpn: a.localQpn, responderResources: a.responderResources,
      localEecn: 0, initiatorDepth: a.initiatorDepth, remoteEecn: 0, remoteCmResponseTimeout: t.cmResponseTimeout,
      transportServiceType: TransportServiceType.RC, e2eFlowControl: a.flowControl ?? 0, startingPsn: a.startingPsn,
      localCmResponseTimeout: t.cmResponseTimeout, retryCount: a.retryCount & 7, pkey: 0xffff, pathMtu: a.pathMtu,
      rdcExists: 0, rnrRetryCount: a.rnrRetryCount & 7, maxCmRetries: t.maxCmRetries & 15, srq: a.srq ?? 0,
      extendedTransportType: 0,
      primaryPath: roceCmPath(a.localIp, a.remoteIp, {trafficClass: a.trafficClass ?? 0,
        localAckTimeout: a.localAckTimeout ?? t.packetLifeTime + 1}),
      alternatePath: emptyCmPath(), privateData: a.privateData,
    }
    conn.req = req
    this.transmit(conn, req, true)
    this.set(conn, 'REQ_SENT')
    this.arm(conn, conn.timeoutUs)
    return conn
  }

  /** ib_send_cm_mra for a received REQ (rdma_cm sends it once CONNECT_REQUEST is delivered). */
  sendMra(conn: CmConn): boolean {
    if (conn.state !== 'REQ_RCVD') return false
    const mra: CmMra = {type: 'MRA', transactionId: conn.tid, localCommId: conn.localCommId,
      remoteCommId: conn.remoteCommId, messageMraed: CmMsgCode.REQ, serviceTimeout: this.timeouts.mraServiceTimeout,
      privateData: new Uint8Array(0)}
    this.transmit(conn, mra, true)
    this.set(conn, 'MRA_REQ_SENT')
    return true
  }

  /** ib_send_cm_rep: REQ_RCVD / MRA_REQ_SENT → REP_SENT, re-sent until RTU (or REJ) arrives. */
  sendRep(conn: CmConn, a: RepArgs): boolean {
    if (conn.state !== 'REQ_RCVD' && conn.state !== 'MRA_REQ_SENT') return false
    conn.localQpn = a.localQpn
    const rep: CmRep = {
      type: 'REP', transactionId: conn.tid, localCommId: conn.localCommId, remoteCommId: conn.remoteCommId,
      localQkey: 0, localQpn: a.localQpn, localEecn: 0, startingPsn: a.startingPsn,
      responderResources: a.responderResources, initiatorDepth: a.initiatorDepth, targetAckDelay: a.targetAckDelay ?? 0,
      failoverAccepted: 0, e2eFlowControl: a.flowControl ?? 0, rnrRetryCount: a.rnrRetryCount & 7, srq: a.srq ?? 0,
      localCaGuid: caGuidOf(conn.localIp), privateData: a.privateData ?? new Uint8Array(0),
    }
    this.transmit(conn, rep, true)
    this.set(conn, 'REP_SENT')
    conn.retries = 0
    this.arm(conn, conn.timeoutUs)
    return true
  }

  /** ib_send_cm_rtu: REP_RCVD → ESTABLISHED. */
  sendRtu(conn: CmConn, privateData?: Uint8Array): boolean {
    if (conn.state !== 'REP_RCVD' && conn.state !== 'MRA_REP_SENT') return false
    const rtu: CmRtu = {type: 'RTU', transactionId: conn.tid, localCommId: conn.localCommId,
      remoteCommId: conn.remoteCommId, privateData: privateData ?? new Uint8Array(0)}
    this.transmit(conn, rtu, true)
    this.set(conn, 'ESTABLISHED')
    this.disarm(conn)
    return true
  }

  /** ib_send_cm_rej: before ESTABLISHED. A REJ of a REQ lingers so a crossing duplicate REQ gets the same answer. */
  sendRej(conn: CmConn, reason: number, opts: {ari?: Uint8Array; privateData?: Uint8Array} = {}): boolean {
    const s = conn.state
    const code = s === 'REQ_RCVD' || s === 'MRA_REQ_SENT' ? CmMsgCode.REQ
      : s === 'REP_RCVD' || s === 'MRA_REP_SENT' ? CmMsgCode.REP : CmMsgCode.OTHER
    if (s === 'IDLE' || s === 'ESTABLISHED' || s === 'DREQ_SENT' || s === 'DREQ_RCVD' || s === 'TIMEWAIT') return false
    const ari = new Uint8Array(REJ_ARI_SIZE)
    const ariLen = Math.min(opts.ari?.length ?? 0, REJ_ARI_SIZE)
    if (opts.ari) ari.set(opts.ari.subarray(0, ariLen))
    const rej: CmRej = {type: 'REJ', transactionId: conn.tid, localCommId: conn.localCommId,
      remoteCommId: conn.remoteCommId, messageRejected: code, rejectInfoLength: ariLen, reason, ari,
      privateData: opts.privateData ?? new Uint8Array(0)}
    this.transmit(conn, rej, true)
    conn.handler = undefined
    // cm.c ib_send_cm_rej: from REP_SENT / MRA_REP_RCVD into TIMEWAIT, otherwise back to IDLE
    if (s === 'REP_SENT' || s === 'MRA_REP_RCVD') {
      this.enterTimewait(conn)
    } else {
      this.set(conn, 'IDLE')
      this.arm(conn, this.timeouts.timewaitUs) // linger, then forget
    }
    return true
  }

  /** ib_send_cm_dreq: ESTABLISHED → DREQ_SENT, re-sent until DREP; DREQ_ERROR when retries run out. */
  sendDreq(conn: CmConn, privateData?: Uint8Array): boolean {
    if (conn.state !== 'ESTABLISHED') return false
    conn.dreqTid = this.nextTid()
    const dreq: CmDreq = {type: 'DREQ', transactionId: conn.dreqTid, localCommId: conn.localCommId,
      remoteCommId: conn.remoteCommId, remoteQpn: conn.remoteQpn, privateData: privateData ?? new Uint8Array(0)}
    this.transmit(conn, dreq, true)
    this.set(conn, 'DREQ_SENT')
    conn.retries = 0
    this.arm(conn, conn.timeoutUs)
    return true
  }

  /** ib_send_cm_sidr_req: resolve a service id to a UD QPN / Q_Key; re-sent until SIDR_REP, SIDR_REQ_ERROR after. */
  sendSidrReq(a: SidrReqArgs): CmConn {
    const conn = this.newConn(a.localIp, a.remoteIp, a.dscp ?? 0)
    conn.handler = a.handler
    conn.context = a.context
    conn.tid = this.nextTid()
    const t = this.timeouts
    conn.timeoutUs = 2 * ibTimeoutUs(t.packetLifeTime) + ibTimeoutUs(t.cmResponseTimeout)
    const mad = encodeSidr({type: 'SIDR_REQ', transactionId: conn.tid, requestId: conn.localCommId, pkey: 0xffff,
      serviceId: a.serviceId, privateData: a.privateData})
    this.transmitMad(conn, mad, 'SIDR_REQ')
    this.set(conn, 'SIDR_REQ_SENT')
    this.arm(conn, conn.timeoutUs)
    return conn
  }

  /** ib_send_cm_sidr_rep: answer a SIDR_REQ; the answer lingers so a duplicate SIDR_REQ gets it again. */
  sendSidrRep(conn: CmConn, a: {status: number; qpn?: number; qkey?: number; serviceId: bigint; privateData?: Uint8Array}): boolean {
    if (conn.state !== 'SIDR_REQ_RCVD') return false
    const mad = encodeSidr({type: 'SIDR_REP', transactionId: conn.tid, requestId: conn.remoteCommId, status: a.status,
      qpn: a.qpn ?? 0, serviceId: a.serviceId, qkey: a.qkey ?? 0, privateData: a.privateData ?? new Uint8Array(0)})
    this.transmitMad(conn, mad, 'SIDR_REP')
    conn.handler = undefined
    this.set(conn, 'IDLE')
    this.arm(conn, this.timeouts.timewaitUs)
    return true
  }

  /** Forget a connection without telling the peer (ib_destroy_cm_id after the consumer is done). */
  destroy(conn: CmConn): void {
    conn.handler = undefined
    if (conn.state === 'TIMEWAIT' || (conn.state === 'IDLE' && conn.deadline !== Infinity)) return // let it expire
    this.remove(conn)
  }

  // ---- timers ----

  /** A one-shot timer on the engine's clock (rdma_cm's address-query timeout); returns a cancel function. */
  schedule(afterUs: number, fn: () => void): () => void {
    const t = {at: this.clock.now() + afterUs, fn}
    this.timers.add(t)
    this.onTimer?.()
    return () => this.timers.delete(t)
  }

  /** Fire due timers. Returns how many fired. */
  poll(): number {
    const now = this.clock.now()
    let n = 0
    for (const t of this.timers) {
      if (t.at > now) continue
      this.timers.delete(t)
      n++
      t.fn()
    }
    for (const conn of this.byLocal.values()) {
      if (conn.deadline > now) continue
      conn.deadline = Infinity
      n++
      this.apply(conn, this.onTimeout(conn))
    }
    return n
  }

  nextDeadline(): number {
    let d = Infinity
    for (const c of this.byLocal.values()) if (c.deadline < d) d = c.deadline
    for (const t of this.timers) if (t.at < d) d = t.at
    return d
  }

  private onTimeout(conn: CmConn): Step {
    const s = conn.state
    const canRetry = conn.retries < this.timeouts.maxCmRetries && conn.lastMad !== undefined
    if (ACTIVE_WAIT.has(s) || PASSIVE_WAIT.has(s) || s === 'DREQ_SENT') {
      if (canRetry) {
        conn.retries++
        this.stats.retransmits++
        this.resend(conn)
        this.arm(conn, conn.timeoutUs)
        return {next: s === 'MRA_REQ_RCVD' ? 'REQ_SENT' : s}
      }
      if (s === 'DREQ_SENT') return {next: 'TIMEWAIT', event: {type: 'DREQ_ERROR'}}
      return {next: 'IDLE', event: {type: ACTIVE_WAIT.has(s) ? 'REQ_ERROR' : 'REP_ERROR'}}
    }
    if (s === 'TIMEWAIT') return {next: 'IDLE', event: {type: 'TIMEWAIT_EXIT'}}
    if (s === 'SIDR_REQ_SENT') {
      if (!canRetry) return {next: 'IDLE', event: {type: 'SIDR_REQ_ERROR'}}
      conn.retries++
      this.stats.retransmits++
      this.resend(conn)
      this.arm(conn, conn.timeoutUs)
      return {next: s}
    }
    return {next: 'IDLE'} // a lingering REJ
  }

  // ---- receive ----

  private receive(view: Uint8Array, from: MadSource): void {
    // The GSI hands a view valid only during the call (a fabric slot or frame buffer, often a Buffer, whose
    // slice() is another view); decoded fields (private data, ARI) outlive the call in events, so own a plain
    // copy first, as ib_mad owns each receive buffer until the CM frees it.
    const mad = new Uint8Array(view)
    if (isSidr(mad)) return this.receiveSidr(mad, from)
    const msg = decodeCm(mad)
    if (msg instanceof WireError) return this.drop(msg.reason)
    this.stats.received[msg.type] = (this.stats.received[msg.type] ?? 0) + 1
    if (msg.type === 'REQ') return this.receiveReq(msg, from)
    // cm.c cm_acquire_rejected_id: a REJ TIMEOUT from a peer that never learnt our id (it gave up in REQ_SENT)
    // names the connection by its own comm id
    const conn = msg.type === 'REJ' && msg.remoteCommId === 0
      ? this.byRemote.get(remoteKey(from.srcIp, msg.localCommId))
      : this.byLocal.get(msg.remoteCommId)
    if (!conn || conn.remoteIp !== from.srcIp) {
      // cm.c cm_dreq_handler: a DREQ for an unknown connection still gets a DREP so the peer can finish
      if (msg.type === 'DREQ') this.issueDrep(msg, from)
      return this.drop('unknown_comm_id')
    }
    if (conn.remoteCommId !== 0 && msg.localCommId !== conn.remoteCommId && msg.type !== 'REJ') {
      return this.drop('comm_id_mismatch')
    }
    this.apply(conn, this.step(conn, msg))
  }

  private receiveReq(req: CmReq, from: MadSource): void {
    const key = remoteKey(from.srcIp, req.localCommId)
    const dup = this.byRemote.get(key)
    if (dup) {
      // cm.c cm_dup_req_handler: MRA_REQ_SENT re-sends the MRA, TIMEWAIT answers REJ(STALE_CONN),
      // a rejected REQ gets its REJ again; anything else is dropped (the REP has its own timer)
      this.drop('duplicate_req')
      if (dup.state === 'MRA_REQ_SENT' || (dup.state === 'IDLE' && dup.lastMad)) this.resend(dup)
      else if (dup.state === 'TIMEWAIT') this.rejStale(dup, req)
      return
    }
    const conn = this.newConn(from.dstIp, from.srcIp, 0)
    conn.remoteCommId = req.localCommId
    conn.remoteQpn = req.localQpn
    conn.tid = req.transactionId
    conn.req = req
    this.byRemote.set(key, conn)
    const t = this.timeouts
    conn.timeoutUs = 2 * ibTimeoutUs(t.packetLifeTime) + ibTimeoutUs(req.remoteCmResponseTimeout)
    this.set(conn, 'REQ_RCVD')
    if (!this.onReq) {
      this.sendRej(conn, RejReason.INVALID_SERVICE_ID)
      return
    }
    this.onReq(conn, req, from)
  }

  private receiveSidr(mad: Uint8Array, from: MadSource): void {
    const msg = decodeSidr(mad)
    if (!msg) return this.drop('SIDR_MALFORMED')
    this.stats.received[msg.type] = (this.stats.received[msg.type] ?? 0) + 1
    if (msg.type === 'SIDR_REP') {
      const conn = this.byLocal.get(msg.requestId)
      if (!conn || conn.remoteIp !== from.srcIp || conn.state !== 'SIDR_REQ_SENT') return this.drop('unknown_request_id')
      return this.apply(conn, {next: 'IDLE', event: {type: 'SIDR_REP_RECEIVED', rep: msg}})
    }
    const key = remoteKey(from.srcIp, msg.requestId)
    const dup = this.byRemote.get(key)
    if (dup) {
      // cm_sidr_req_handler: a duplicate is dropped while pending; once answered, the answer goes out again
      this.drop('duplicate_sidr_req')
      if (dup.state === 'IDLE') this.resend(dup)
      return
    }
    const conn = this.newConn(from.dstIp, from.srcIp, 0)
    conn.remoteCommId = msg.requestId
    conn.tid = msg.transactionId
    this.byRemote.set(key, conn)
    this.set(conn, 'SIDR_REQ_RCVD')
    if (!this.onSidrReq) {
      this.sendSidrRep(conn, {status: SidrStatus.UNSUPPORTED, serviceId: msg.serviceId})
      return
    }
    this.onSidrReq(conn, msg, from)
  }

  /** One transition: the state after `msg` arrives in conn.state (cm.c cm_*_handler). */
  private step(conn: CmConn, msg: Exclude<CmMessage, CmReq>): Step {
    const s = conn.state
    switch (msg.type) {
      case 'MRA':
        if (msg.messageMraed === CmMsgCode.REQ && s === 'REQ_SENT') {
          this.arm(conn, ibTimeoutUs(msg.serviceTimeout) + 2 * ibTimeoutUs(this.timeouts.packetLifeTime))
          return {next: 'MRA_REQ_RCVD', event: {type: 'MRA_RECEIVED', mra: msg}}
        }
        if (msg.messageMraed === CmMsgCode.REP && s === 'REP_SENT') {
          this.arm(conn, ibTimeoutUs(msg.serviceTimeout) + 2 * ibTimeoutUs(this.timeouts.packetLifeTime))
          return {next: 'MRA_REP_RCVD', event: {type: 'MRA_RECEIVED', mra: msg}}
        }
        return this.ignore(s, 'mra_state')
      case 'REP':
        if (ACTIVE_WAIT.has(s)) {
          this.disarm(conn)
          conn.remoteCommId = msg.localCommId
          conn.remoteQpn = msg.localQpn
          this.byRemote.set(remoteKey(conn.remoteIp, msg.localCommId), conn)
          return {next: 'REP_RCVD', event: {type: 'REP_RECEIVED', rep: msg}}
        }
        // cm.c cm_dup_rep_handler: ESTABLISHED re-sends the RTU (it was lost), MRA_REP_SENT the MRA
        if (s === 'ESTABLISHED' || s === 'MRA_REP_SENT') this.resend(conn)
        return this.ignore(s, 'duplicate_rep')
      case 'RTU':
        if (PASSIVE_WAIT.has(s)) {
          this.disarm(conn)
          return {next: 'ESTABLISHED', event: {type: 'RTU_RECEIVED', rtu: msg}}
        }
        return this.ignore(s, 'rtu_state')
      case 'REJ': {
        // cm.c cm_rej_handler: before the connection exists back to IDLE (STALE_CONN: TIMEWAIT), after it TIMEWAIT
        const early = ACTIVE_WAIT.has(s) || PASSIVE_WAIT.has(s) || s === 'REQ_RCVD' || s === 'MRA_REQ_SENT'
        const late = s === 'DREQ_SENT' || s === 'REP_RCVD' || s === 'MRA_REP_SENT' || s === 'ESTABLISHED'
        if (!early && !late) return this.ignore(s, 'rej_state')
        this.disarm(conn)
        const event: CmConnEvent = {type: 'REJ_RECEIVED', rej: msg}
        if (late || msg.reason === RejReason.STALE_CONN) {
          this.enterTimewait(conn)
          return {next: 'TIMEWAIT', event}
        }
        return {next: 'IDLE', event}
      }
      case 'DREQ':
        // cm.c cm_dreq_handler; the DREP is sent at once (the kernel's rdma_disconnect / destroy would send it)
        if (s === 'ESTABLISHED' || s === 'DREQ_SENT' || PASSIVE_WAIT.has(s)) {
          this.disarm(conn)
          conn.dreqTid = msg.transactionId
          this.sendDrep(conn)
          return {next: 'TIMEWAIT', event: {type: 'DREQ_RECEIVED', dreq: msg}}
        }
        if (s === 'TIMEWAIT') {
          conn.dreqTid = msg.transactionId
          this.sendDrep(conn)
          return this.ignore(s, 'duplicate_dreq')
        }
        return this.ignore(s, 'dreq_state')
      case 'DREP':
        if (s === 'DREQ_SENT') {
          this.enterTimewait(conn)
          return {next: 'TIMEWAIT', event: {type: 'DREP_RECEIVED'}}
        }
        return this.ignore(s, 'drep_state')
    }
  }

  private ignore(s: CmState, reason: string): Step {
    this.drop(reason)
    return {next: s}
  }

  private apply(conn: CmConn, st: Step): void {
    this.set(conn, st.next)
    if (st.next === 'TIMEWAIT' && conn.deadline === Infinity) this.arm(conn, this.timeouts.timewaitUs)
    if (st.next === 'IDLE' && conn.deadline === Infinity) this.remove(conn)
    if (st.event) conn.handler?.(conn, st.event)
  }

  // ---- helpers ----

  private sendDrep(conn: CmConn): void {
    this.transmit(conn, {type: 'DREP', transactionId: conn.dreqTid, localCommId: conn.localCommId,
      remoteCommId: conn.remoteCommId, privateData: new Uint8Array(0)}, false)
    this.enterTimewait(conn)
  }

  private issueDrep(dreq: CmDreq, from: MadSource): void {
    const drep = encodeCm({type: 'DREP', transactionId: dreq.transactionId, localCommId: dreq.remoteCommId,
      remoteCommId: dreq.localCommId, privateData: new Uint8Array(0)})
    this.count('DREP')
    this.transport.send(from.srcIp, drep, {srcIp: from.dstIp})
  }

  private rejStale(conn: CmConn, req: CmReq): void {
    const rej = encodeCm({type: 'REJ', transactionId: req.transactionId, localCommId: conn.localCommId,
      remoteCommId: req.localCommId, messageRejected: CmMsgCode.REQ, rejectInfoLength: 0,
      reason: RejReason.STALE_CONN, ari: new Uint8Array(REJ_ARI_SIZE), privateData: new Uint8Array(0)})
    this.count('REJ')
    this.transport.send(conn.remoteIp, rej, {srcIp: conn.localIp, dscp: conn.dscp})
  }

  private enterTimewait(conn: CmConn): void {
    this.set(conn, 'TIMEWAIT')
    this.arm(conn, this.timeouts.timewaitUs)
  }

  private transmit(conn: CmConn, msg: CmMessage, keep: boolean): void {
    const mad = encodeCm(msg)
    if (keep) conn.lastMad = mad
    this.count(msg.type)
    this.transport.send(conn.remoteIp, mad, {srcIp: conn.localIp, dscp: conn.dscp})
  }

  private transmitMad(conn: CmConn, mad: Uint8Array, type: string): void {
    conn.lastMad = mad
    this.count(type)
    this.transport.send(conn.remoteIp, mad, {srcIp: conn.localIp, dscp: conn.dscp})
  }

  private resend(conn: CmConn): void {
    if (!conn.lastMad) return
    this.count(TYPE_OF_ATTR[conn.lastMad[17]!] ?? 'unknown')
    this.transport.send(conn.remoteIp, conn.lastMad, {srcIp: conn.localIp, dscp: conn.dscp})
  }

  private count(type: string): void {
    this.stats.sent[type] = (this.stats.sent[type] ?? 0) + 1
  }

  private drop(reason: string): void {
    this.stats.drops[reason] = (this.stats.drops[reason] ?? 0) + 1
  }

  private set(conn: CmConn, s: CmState): void {
    conn.state = s
  }

  private arm(conn: CmConn, us: number): void {
    conn.deadline = this.clock.now() + us
    this.onTimer?.()
  }

  private disarm(conn: CmConn): void {
    conn.deadline = Infinity
    conn.retries = 0
  }

  private newConn(localIp: number, remoteIp: number, dscp: number): CmConn {
    // cm.c allocates local comm ids from a random start; 0 is never used (it means "not known yet" on the wire)
    for (;;) {
      const id = (Math.floor(this.random() * 0xffffffff) + 1) >>> 0
      if (id !== 0 && !this.byLocal.has(id)) {
        const conn = new CmConn(id, localIp, remoteIp, dscp)
        this.byLocal.set(id, conn)
        return conn
      }
    }
  }

  private remove(conn: CmConn): void {
    conn.deadline = Infinity
    this.byLocal.delete(conn.localCommId)
    const k = remoteKey(conn.remoteIp, conn.remoteCommId)
    if (this.byRemote.get(k) === conn) this.byRemote.delete(k)
  }

  private nextTid(): bigint {
    this.tidCounter = (this.tidCounter + 1) >>> 0
    return BigInt(this.tidCounter)
  }
}

const TYPE_OF_ATTR: Record<number, CmType | 'SIDR_REQ' | 'SIDR_REP'> = {0x10: 'REQ', 0x11: 'MRA', 0x12: 'REJ', 0x13: 'REP',
  0x14: 'RTU', 0x15: 'DREQ', 0x16: 'DREP', 0x17: 'SIDR_REQ', 0x18: 'SIDR_REP'}

function remoteKey(ip: number, commId: number): string {
  return `${ip}/${commId}`
}
