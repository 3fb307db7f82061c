// One host's CM agent: the IB CM engine on QP1, rdma_cm's port and listener tables (keyed by VNI so overlapping
// tenant CIDRs work), the MasQ hooks, and the passive side of connection set-up (cma_ib_req_handler). In MasQ the
// backend runs it for its VMs; agent.vm({vni, addresses}) gives the librdmacm API one VM sees.

import {CmEvent, RejReason} from '../rdma-constants.js'
import {ipString} from '../rnic/av.js'
import type {Clock} from '../rnic/clock.js'
import type {MadSource} from '../rnic/gsi.js'
import type {CmReq} from '../wire/cm.js'
import {decodeReqPrivate, parseRdmaIpServiceId} from '../wire/cma.js'
import {WireError} from '../wire/errors.js'
import {type CmConn, CmEngine} from './cm-engine.js'
import {CmErrno, CmError} from './errors.js'
import {emptyParam} from './event-channel.js'
import type {AddrResolver, AddrTranslator, CmPolicy, ReqPolicyContext} from './policy.js'
import {CmId, ipOf, RdmaCm} from './rdma-cm.js'
import {type SidrReq, SidrStatus} from './sidr.js'
import type {CmTimeouts} from './timeouts.js'
import type {MadTransport} from './transport.js'

export interface CmAgentOptions {
  transport: MadTransport
  clock: Clock
  random?: () => number
  timeouts?: Partial<CmTimeouts>
  policy?: CmPolicy
  resolve?: AddrResolver
  translate?: AddrTranslator
  /** QP timeout (local ACK timeout exponent) set at RTS. The kernel takes packet life time + 1 (≈17 on RoCE). */
  localAckTimeout?: number
  /** min_rnr_timer set at RTR: cm.c cm_init_qp_rtr_attr uses 0 (655.36 ms). */
  minRnrTimer?: number
  /** Traffic class of CM MADs and connections (DSCP << 2). */
  trafficClass?: number
}

export const ANY = 0
const EPHEMERAL_LO = 32768 // ip_local_port_range
const EPHEMERAL_HI = 60999

/** One host's CM agent: the IB CM on QP1 plus rdma_cm's listener table and the MasQ hooks. */
export class CmAgent {
  readonly engine: CmEngine
  readonly policy: CmPolicy
  readonly resolve: AddrResolver
  readonly translate: AddrTranslator
  readonly localAckTimeout: number
  readonly minRnrTimer: number
  readonly trafficClass: number
  readonly random: () => number
  private readonly listeners = new Map<string, CmId>()
  private readonly bound = new Set<string>()
  /** Errors thrown by hooks (policy, resolver) or by event handling; the last one is kept for logs. */
  readonly errors = {count: 0, last: undefined as unknown}
  /** REQs forgotten because the listener's backlog was full (the peer re-sends them). */
  backlogDrops = 0
  private readonly live = new Set<CmId>()

  constructor(opts: CmAgentOptions) {
    this.random = opts.random ?? Math.random
    this.engine = new CmEngine(opts.transport, {clock: opts.clock, random: this.random, timeouts: opts.timeouts,
      onSidrReq: (conn, req, from) => void this.onSidrReq(conn, req, from).catch((err: unknown) => {
        this.failed(err)
        this.engine.sendSidrRep(conn, {status: SidrStatus.REJECT, serviceId: req.serviceId})
      }),
      onReq: (conn, req, from) => void this.onReq(conn, req, from).catch((err: unknown) => {
        // a failing hook (policy backend down, …): refuse like cm_destroy_id in REQ_RCVD and count it
        this.failed(err)
        this.engine.sendRej(conn, RejReason.CONSUMER_DEFINED)
      })})
    this.policy = opts.policy ?? {}
    this.translate = opts.translate ?? ((_vni, ip) => ip)
    this.resolve = opts.resolve ?? ((vni, ip) => ({wireIp: this.translate(vni, ip), reachable: true}))
    this.localAckTimeout = opts.localAckTimeout ?? 14
    this.minRnrTimer = opts.minRnrTimer ?? 0
    this.trafficClass = opts.trafficClass ?? 0
  }

  // ---- connection tracking (RConntrack): every established RC connection of this host's VMs ----

  track(id: CmId): void {
    this.live.add(id)
  }
  untrack(id: CmId): void {
    this.live.delete(id)
  }

  /** Established connections with the addresses the policy saw (tuples run active → passive on both ends). */
  liveConnections(): Array<{id: CmId; tuple: ReqPolicyContext; passive: boolean}> {
    return [...this.live].map((id) => ({id, tuple: id.tuple!, passive: id.passive}))
  }

  /**
   * Tear down live connections the new rules no longer allow (RConntrack on a rule change): each one is
   * disconnected as rdma_disconnect would (QP to ERR, flushed work requests, DREQ), so both applications see
   * DISCONNECTED. Returns how many were reset.
   */
  async reset(which: (tuple: ReqPolicyContext, passive: boolean) => boolean): Promise<number> {
    const victims = [...this.live].filter((id) => which(id.tuple!, id.passive))
    for (const id of victims) {
      this.live.delete(id)
      await id.cm.disconnect(id)
    }
    return victims.length
  }

  failed(err: unknown): void {
    this.errors.count++
    this.errors.last = err
  }

  /** The rdma_cm API of one VM: its VNI (MasQ header in every REQ) and its device addresses. */
  vm(opts: {vni?: number; addresses: string[]}): RdmaCm {
    return new RdmaCm(this, opts.vni, opts.addresses.map(ipOf))
  }

  // ---- port and listener tables (keyed by VNI so overlapping tenant CIDRs work) ----

  bindKey(vni: number, ip: number, ps: number, port: number): string {
    return `${vni}/${ip}/${ps}/${port}`
  }

  claim(vni: number, ip: number, ps: number, port: number): number {
    if (port === 0) {
      for (let i = 0; i < 1000; i++) {
        const p = EPHEMERAL_LO + Math.floor(this.random() * (EPHEMERAL_HI - EPHEMERAL_LO + 1))
        if (!this.isBound(vni, ip, ps, p)) return this.claim(vni, ip, ps, p)
      }
      throw new CmError(CmErrno.EADDRINUSE, 'no free port')
    }
    if (this.isBound(vni, ip, ps, port)) throw new CmError(CmErrno.EADDRINUSE, `port ${port} in use`)
    this.bound.add(this.bindKey(vni, ip, ps, port))
    return port
  }

  private isBound(vni: number, ip: number, ps: number, port: number): boolean {
    return this.bound.has(this.bindKey(vni, ip, ps, port)) || (ip !== ANY && this.bound.has(this.bindKey(vni, ANY, ps, port)))
  }

  release(vni: number, ip: number, ps: number, port: number): void {
    this.bound.delete(this.bindKey(vni, ip, ps, port))
  }

  addListener(key: string, id: CmId): void {
    this.listeners.set(key, id)
  }
  removeListener(key: string): void {
    this.listeners.delete(key)
  }

  // ---- passive side (cma_ib_req_handler) ----

  /** Listener for (VNI, device ip, ps, port), falling back to a wildcard bind; undefined when nobody listens. */
  private findListener(vni: number, ip: number, ps: number, port: number): CmId | undefined {
    const l = this.listeners.get(this.bindKey(vni, ip, ps, port)) ?? this.listeners.get(this.bindKey(vni, ANY, ps, port))
    return l && !l.destroyed ? l : undefined
  }

  /** cma_ib_req_handler for SIDR (UD ids): CONNECT_REQUEST with param.ud; no listener → SIDR_REP UNSUPPORTED. */
  private async onSidrReq(conn: CmConn, req: SidrReq, from: MadSource): Promise<void> {
    const e = this.engine
    const priv = decodeReqPrivate(req.privateData)
    const sid = parseRdmaIpServiceId(req.serviceId)
    const vni = priv instanceof WireError ? 0 : priv.masq?.vni ?? 0
    const listener = priv instanceof WireError || sid === null ? undefined
      : this.findListener(vni, priv.cma.dstIp, sid.ps, sid.port)
    if (!listener || priv instanceof WireError || sid === null) {
      e.sendSidrRep(conn, {status: SidrStatus.UNSUPPORTED, serviceId: req.serviceId})
      return
    }
    const ctx: ReqPolicyContext = {vni, ps: sid.ps, srcIp: ipString(priv.cma.srcIp), srcPort: priv.cma.srcPort,
      dstIp: ipString(priv.cma.dstIp), dstPort: sid.port, srcWireIp: ipString(from.srcIp), dstWireIp: ipString(from.dstIp)}
    const verdict = (await this.policy.onIncomingReq?.(ctx)) ?? {allow: true}
    if (!verdict.allow) {
      e.sendSidrRep(conn, {status: SidrStatus.REJECT, serviceId: req.serviceId})
      return
    }
    if (conn.state !== 'SIDR_REQ_RCVD') return
    if (listener.destroyed) { // gone while the policy was asked
      e.sendSidrRep(conn, {status: SidrStatus.UNSUPPORTED, serviceId: req.serviceId})
      return
    }
    if (this.backlogFull(listener, conn)) return
    const id = this.childId(listener, conn, priv.cma, sid.port, from, ctx)
    id.sidr = req
    const p = emptyParam()
    // a VPC VM addresses its peer by vIP (the RNIC renames each UD WQE, src/rnic/vpc.ts); other modes by the wire address
    const peer = priv.masq ? priv.cma.srcIp : from.srcIp
    p.ud = {privateData: priv.user, ahAttr: {dgid: `::ffff:${ipString(peer)}`, sgidIndex: 0}, qpNum: 0, qkey: 0}
    listener.cm.emit(id, CmEvent.CONNECT_REQUEST, 0, p, listener)
  }

  /**
   * ucma: a listener whose backlog of unfetched CONNECT_REQUESTs is full refuses with -ENOMEM, and cm_destroy_id
   * then forgets the REQ without a REJ "to allow future retries": the active side's retransmission tries again.
   */
  private backlogFull(listener: CmId, conn: CmConn): boolean {
    if (listener.backlogUsed < listener.backlog) return false
    this.backlogDrops++
    this.engine.destroy(conn)
    return true
  }

  private childId(listener: CmId, conn: CmConn, cma: {srcIp: number; dstIp: number; srcPort: number}, port: number,
    from: MadSource, tuple: ReqPolicyContext): CmId {
    const id = new CmId(listener.cm, listener.channel, listener.context, listener.ps)
    id.tuple = tuple
    id.state = 'CONNECT'
    id.src = {ip: cma.dstIp, port}
    id.dst = {ip: cma.srcIp, port: cma.srcPort}
    id.srcWire = from.dstIp
    id.dstWire = from.srcIp
    id.conn = conn
    id.passive = true
    conn.context = id
    conn.handler = (c, ev) => void listener.cm.onConnEvent(id, c, ev).catch((err: unknown) => this.failed(err))
    return id
  }

  private async onReq(conn: CmConn, req: CmReq, from: MadSource): Promise<void> {
    const e = this.engine
    const priv = decodeReqPrivate(req.privateData)
    const sid = parseRdmaIpServiceId(req.serviceId)
    if (priv instanceof WireError || sid === null) {
      e.sendRej(conn, RejReason.INVALID_SERVICE_ID)
      return
    }
    const vni = priv.masq?.vni ?? 0
    const listener = this.findListener(vni, priv.cma.dstIp, sid.ps, sid.port)
    if (!listener) {
      e.sendRej(conn, RejReason.INVALID_SERVICE_ID)
      return
    }
    const ctx: ReqPolicyContext = {vni, ps: sid.ps, srcIp: ipString(priv.cma.srcIp), srcPort: priv.cma.srcPort,
      dstIp: ipString(priv.cma.dstIp), dstPort: sid.port, srcWireIp: ipString(from.srcIp), dstWireIp: ipString(from.dstIp)}
    const verdict = (await this.policy.onIncomingReq?.(ctx)) ?? {allow: true}
    if (!verdict.allow) {
      e.sendRej(conn, verdict.reason)
      return
    }
    if (conn.state !== 'REQ_RCVD') return
    if (listener.destroyed) { // gone while the policy was asked
      e.sendRej(conn, RejReason.INVALID_SERVICE_ID)
      return
    }
    if (this.backlogFull(listener, conn)) return
    const id = this.childId(listener, conn, priv.cma, sid.port, from, ctx)
    id.req = req
    const p = emptyParam()
    p.conn = {privateData: priv.user, responderResources: req.initiatorDepth, initiatorDepth: req.responderResources,
      flowControl: req.e2eFlowControl, retryCount: req.retryCount, rnrRetryCount: req.rnrRetryCount, srq: req.srq,
      qpNum: req.localQpn}
    listener.cm.emit(id, CmEvent.CONNECT_REQUEST, 0, p, listener)
    // cma_ib_req_handler: the id is still in CONNECT after the event is queued, so an MRA goes out
    e.sendMra(conn)
  }
}
