// The librdmacm API (rdma_cma.h) in camelCase over the CM engine: event channels, ids, address and route
// resolution, listen / connect / accept / reject / disconnect, and the QP transitions rdma_cm drives
// (cma.c + ucma / librdmacm's ucma_modify_qp_*). A CmAgent is one host's CM agent (one CmEngine on QP1, the
// listener table, the MasQ policy hooks); agent.vm({vni, addresses}) is the API one VM (or bare host) sees.

import {Access, CmEvent, Mtu, PortSpace, QpAttrMask as M, QpState, RDMA_UDP_QKEY, RejReason} from '../rdma-constants.js'
import {ipString, parseGidIp} from '../rnic/av.js'
import type {Clock} from '../rnic/clock.js'
import type {MadSource} from '../rnic/gsi.js'
import type {Cq, Pd, Qp} from '../verbs/verbs.js'
import type {CmReq} from '../wire/cm.js'
import {CM_PRIVATE_DATA_SIZE} from '../wire/cm.js'
import {CMA_HDR_SIZE, decodeReqPrivate, encodeReqPrivate, MASQ_HDR_SIZE, parseRdmaIpServiceId, REQ_USER_MAX,
  REQ_USER_MAX_MASQ} from '../wire/cma.js'
import {WireError} from '../wire/errors.js'
import {type CmConn, type CmConnEvent, CmEngine} from './cm-engine.js'
import {CmErrno, CmError} from './errors.js'
import type {CmTimeouts} from './timeouts.js'
import type {MadTransport} from './transport.js'
import {SIDR_REP_PRIVATE, SIDR_REQ_PRIVATE, type SidrReq, SidrStatus} from './sidr.js'

export type CmEventName = keyof typeof CmEvent
const EVENT_NAME = Object.fromEntries(Object.entries(CmEvent).map(([k, v]) => [v, k])) as Record<number, CmEventName>

/** enum rdma_cm_state (cma_priv.h). */
export type CmaState = 'IDLE' | 'ADDR_QUERY' | 'ADDR_RESOLVED' | 'ROUTE_QUERY' | 'ROUTE_RESOLVED' | 'CONNECT' |
  'DISCONNECT' | 'ADDR_BOUND' | 'LISTEN' | 'DESTROYING'

export interface SockAddr {
  ip: string
  port?: number
}

/** struct rdma_conn_param */
export interface ConnParam {
  privateData?: Uint8Array
  responderResources?: number
  initiatorDepth?: number
  flowControl?: number
  retryCount?: number // ignored by accept
  rnrRetryCount?: number
  srq?: number
  qpNum?: number
}

/** struct rdma_cm_event */
export interface RdmaCmEvent {
  event: number
  name: CmEventName
  status: number
  id: CmId
  listenId?: CmId
  param: {
    conn: Required<Omit<ConnParam, 'privateData'>> & {privateData: Uint8Array}
    /** struct rdma_ud_param: set on UD (RDMA_PS_UDP) CONNECT_REQUEST / ESTABLISHED / UNREACHABLE */
    ud?: {privateData: Uint8Array; ahAttr: {dgid: string; sgidIndex: number}; qpNum: number; qkey: number}
  }
}

export interface QpInitAttr {
  sendCq: Cq
  recvCq: Cq
  cap?: {maxSendWr?: number; maxRecvWr?: number; maxSendSge?: number; maxRecvSge?: number; maxInlineData?: number}
  sqSigAll?: boolean
}

export type PolicyDecision = {allow: true} | {allow: false; reason: number}
export interface ReqPolicyContext {
  vni: number // 0 when the VM has none
  ps: number
  srcIp: string // device (virtual) addresses, as in cma_hdr
  srcPort: number
  dstIp: string
  dstPort: number
  srcWireIp: string // host addresses on the wire
  dstWireIp: string
}
export interface CmPolicy {
  /** Egress check before any REQ leaves (a deny surfaces as REJECTED with `reason`, nothing on the wire). */
  onOutgoingReq?(ctx: ReqPolicyContext): PolicyDecision | Promise<PolicyDecision>
  /** Ingress check when a REQ has found its listener (a deny sends REJ with `reason`). */
  onIncomingReq?(ctx: ReqPolicyContext): PolicyDecision | Promise<PolicyDecision>
}

/** Address resolution (ARP/neighbour, or in MasQ the controller): device ip → wire ip and reachability. */
export type AddrResolver = (vni: number, ip: number) => {wireIp: number; reachable: boolean} | undefined |
  Promise<{wireIp: number; reachable: boolean} | undefined>
/** Device (virtual) ip of this host's VM → the wire ip it sends from. */
export type AddrTranslator = (vni: number, ip: number) => number

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

const ANY = 0
const EPHEMERAL_LO = 32768 // ip_local_port_range
const EPHEMERAL_HI = 60999
const ERR_TIMEDOUT = -CmErrno.ETIMEDOUT

export class EventChannel {
  private readonly queue: RdmaCmEvent[] = []
  private readonly waiters: Array<(e: RdmaCmEvent) => void> = []
  unacked = 0

  push(e: RdmaCmEvent): void {
    this.unacked++
    const w = this.waiters.shift()
    if (w) w(e)
    else this.queue.push(e)
  }

  /** rdma_get_cm_event: the next event (waits for one). */
  get(): Promise<RdmaCmEvent> {
    const e = this.queue.shift()
    if (e) return Promise.resolve(e)
    return new Promise((resolve) => this.waiters.push(resolve))
  }

  /** Non-blocking variant (an O_NONBLOCK channel fd): undefined when nothing is queued. */
  tryGet(): RdmaCmEvent | undefined {
    return this.queue.shift()
  }

  get pending(): number {
    return this.queue.length
  }
}

export class CmId {
  state: CmaState = 'IDLE'
  src: {ip: number; port: number} | undefined
  dst: {ip: number; port: number} | undefined
  srcWire = 0
  dstWire = 0
  qp: Qp | undefined
  conn: CmConn | undefined
  listenKey: string | undefined
  backlog = 0
  startingPsn = 0
  req: CmReq | undefined // passive side: the REQ this id answers
  sidr: SidrReq | undefined // passive UD side: the SIDR_REQ this id answers
  passive = false
  retryCount = 7
  destroyed = false

  constructor(readonly cm: RdmaCm, readonly channel: EventChannel, public context: unknown, readonly ps: number) {}

  get localAddr(): SockAddr | undefined {
    return this.src && {ip: ipString(this.src.ip), port: this.src.port}
  }
  get peerAddr(): SockAddr | undefined {
    return this.dst && {ip: ipString(this.dst.ip), port: this.dst.port}
  }
  get qpNum(): number | undefined {
    return this.qp?.qpn
  }

  bindAddr(addr: SockAddr): void {
    this.cm.bindAddr(this, addr)
  }
  resolveAddr(src: SockAddr | undefined, dst: SockAddr, timeoutMs = 2000): void {
    this.cm.resolveAddr(this, src, dst, timeoutMs)
  }
  resolveRoute(timeoutMs = 2000): void {
    this.cm.resolveRoute(this, timeoutMs)
  }
  createQp(pd: Pd, attr: QpInitAttr): Promise<Qp> {
    return this.cm.createQp(this, pd, attr)
  }
  connect(param: ConnParam = {}): Promise<void> {
    return this.cm.connect(this, param)
  }
  listen(backlog = 0): void {
    this.cm.listen(this, backlog)
  }
  accept(param: ConnParam = {}): Promise<void> {
    return this.cm.accept(this, param)
  }
  reject(privateData?: Uint8Array): void {
    this.cm.reject(this, privateData)
  }
  disconnect(): Promise<void> {
    return this.cm.disconnect(this)
  }
  destroy(): void {
    this.cm.destroyId(this)
  }
}

function ipOf(s: string): number {
  const v = parseGidIp(s)
  if (v === undefined) throw new CmError(CmErrno.EINVAL, `bad address ${s}`)
  return v
}

function emptyParam(): RdmaCmEvent['param'] {
  return {conn: {privateData: new Uint8Array(0), responderResources: 0, initiatorDepth: 0, flowControl: 0,
    retryCount: 0, rnrRetryCount: 0, srq: 0, qpNum: 0}}
}

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
    const id = this.childId(listener, conn, priv.cma, sid.port, from)
    id.sidr = req
    const p = emptyParam()
    p.ud = {privateData: priv.user, ahAttr: {dgid: `::ffff:${ipString(from.srcIp)}`, sgidIndex: 0}, qpNum: 0, qkey: 0}
    listener.cm.emit(id, CmEvent.CONNECT_REQUEST, 0, p, listener)
  }

  private childId(listener: CmId, conn: CmConn, cma: {srcIp: number; dstIp: number; srcPort: number}, port: number,
    from: MadSource): CmId {
    const id = new CmId(listener.cm, listener.channel, listener.context, listener.ps)
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
    const id = this.childId(listener, conn, priv.cma, sid.port, from)
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

/** The librdmacm API one VM sees. */
export class RdmaCm {
  constructor(readonly agent: CmAgent, readonly vni: number | undefined, readonly addresses: number[]) {}

  private get vniKey(): number {
    return this.vni ?? 0
  }

  createEventChannel(): EventChannel {
    return new EventChannel()
  }

  createId(channel: EventChannel, context: unknown = null, ps: number = PortSpace.TCP): CmId {
    if (ps !== PortSpace.TCP && ps !== PortSpace.UDP) throw new CmError(CmErrno.EINVAL, `port space 0x${ps.toString(16)}`)
    return new CmId(this, channel, context, ps)
  }

  getCmEvent(channel: EventChannel): Promise<RdmaCmEvent> {
    return channel.get()
  }

  ackCmEvent(event: RdmaCmEvent): void {
    if (event.id.channel.unacked > 0) event.id.channel.unacked--
  }

  bindAddr(id: CmId, addr: SockAddr): void {
    if (id.state !== 'IDLE') throw new CmError(CmErrno.EINVAL, `bind in state ${id.state}`)
    const ip = ipOf(addr.ip)
    if (ip !== ANY && !this.addresses.includes(ip)) throw new CmError(CmErrno.EADDRNOTAVAIL, `${addr.ip} is not local`)
    const port = this.agent.claim(this.vniKey, ip, id.ps, addr.port ?? 0)
    id.src = {ip, port}
    id.state = 'ADDR_BOUND'
  }

  /** rdma_resolve_addr: ADDR_RESOLVED, or ADDR_ERROR (-EHOSTUNREACH; -ETIMEDOUT when the resolver is too slow). */
  resolveAddr(id: CmId, src: SockAddr | undefined, dst: SockAddr, timeoutMs = 2000): void {
    if (id.state === 'IDLE') this.bindAddr(id, src ?? {ip: ipString(this.addresses[0] ?? ANY), port: 0})
    if (id.state !== 'ADDR_BOUND') throw new CmError(CmErrno.EINVAL, `resolve_addr in state ${id.state}`)
    if (id.src!.ip === ANY) id.src!.ip = this.addresses[0] ?? ANY
    const dstIp = ipOf(dst.ip)
    id.dst = {ip: dstIp, port: dst.port ?? 0}
    id.state = 'ADDR_QUERY'
    const clock = this.agent.engine.clock
    const started = clock.now()
    void Promise.resolve().then(() => this.agent.resolve(this.vniKey, dstIp)).catch((err: unknown) => {
      this.agent.failed(err)
      return undefined
    }).then((r) => {
      if (id.destroyed || id.state !== 'ADDR_QUERY') return
      const late = clock.now() - started > timeoutMs * 1000
      if (!r || !r.reachable || late) {
        id.state = 'ADDR_BOUND'
        this.emit(id, CmEvent.ADDR_ERROR, late ? ERR_TIMEDOUT : -CmErrno.EHOSTUNREACH)
        return
      }
      id.srcWire = this.agent.translate(this.vniKey, id.src!.ip)
      id.dstWire = r.wireIp
      id.state = 'ADDR_RESOLVED'
      this.emit(id, CmEvent.ADDR_RESOLVED, 0)
    })
  }

  /** rdma_resolve_route: RoCE builds the path locally (no SA query), so this always succeeds. */
  resolveRoute(id: CmId, _timeoutMs = 2000): void {
    if (id.state !== 'ADDR_RESOLVED') throw new CmError(CmErrno.EINVAL, `resolve_route in state ${id.state}`)
    id.state = 'ROUTE_QUERY'
    queueMicrotask(() => {
      if (id.destroyed || id.state !== 'ROUTE_QUERY') return
      id.state = 'ROUTE_RESOLVED'
      this.emit(id, CmEvent.ROUTE_RESOLVED, 0)
    })
  }

  /** rdma_create_qp: RC to INIT (access 0, cma_ib_init_qp_attr); UD straight to RTS with RDMA_UDP_QKEY. */
  async createQp(id: CmId, pd: Pd, attr: QpInitAttr): Promise<Qp> {
    if (id.qp) throw new CmError(CmErrno.EINVAL, 'id already has a QP')
    const ud = id.ps === PortSpace.UDP
    const qp = await pd.createQp({type: ud ? 'UD' : 'RC', sendCq: attr.sendCq, recvCq: attr.recvCq, cap: attr.cap ?? {},
      sqSigAll: attr.sqSigAll})
    const base = {qpState: QpState.INIT, pkeyIndex: 0, portNum: 1}
    if (ud) {
      await qp.modify({...base, qkey: RDMA_UDP_QKEY}, M.STATE | M.PKEY_INDEX | M.PORT | M.QKEY)
      await qp.modify({qpState: QpState.RTR}, M.STATE)
      await qp.modify({qpState: QpState.RTS, sqPsn: 0}, M.STATE | M.SQ_PSN)
    } else {
      await qp.modify({...base, qpAccessFlags: 0}, M.STATE | M.PKEY_INDEX | M.PORT | M.ACCESS_FLAGS)
    }
    id.qp = qp
    return qp
  }

  listen(id: CmId, backlog = 0): void {
    if (id.state === 'IDLE') this.bindAddr(id, {ip: '0.0.0.0', port: 0})
    if (id.state !== 'ADDR_BOUND') throw new CmError(CmErrno.EINVAL, `listen in state ${id.state}`)
    const key = this.agent.bindKey(this.vniKey, id.src!.ip, id.ps, id.src!.port)
    id.listenKey = key
    id.backlog = backlog
    id.state = 'LISTEN'
    this.agent.addListener(key, id)
  }

  /** rdma_connect: REQ with cma_hdr (+ MasQ header) + user private data; egress policy first. */
  async connect(id: CmId, param: ConnParam = {}): Promise<void> {
    if (id.state !== 'ROUTE_RESOLVED') throw new CmError(CmErrno.EINVAL, `connect in state ${id.state}`)
    const ud = id.ps === PortSpace.UDP
    const qp = id.qp
    if (!qp && !ud) throw new CmError(CmErrno.EINVAL, 'connect: no QP (rdma_create_qp first)')
    const user = param.privateData ?? new Uint8Array(0)
    const hdr = CMA_HDR_SIZE + (this.vni !== undefined ? MASQ_HDR_SIZE : 0)
    const max = ud ? SIDR_REQ_PRIVATE - hdr : this.vni !== undefined ? REQ_USER_MAX_MASQ : REQ_USER_MAX
    if (user.length > max) throw new CmError(CmErrno.EINVAL, `private data ${user.length} > ${max} bytes`)
    id.state = 'CONNECT'
    const src = id.src!
    const dst = id.dst!
    const ctx: ReqPolicyContext = {vni: this.vniKey, ps: id.ps, srcIp: ipString(src.ip), srcPort: src.port,
      dstIp: ipString(dst.ip), dstPort: dst.port, srcWireIp: ipString(id.srcWire), dstWireIp: ipString(id.dstWire)}
    let verdict: PolicyDecision
    try {
      verdict = (await this.agent.policy.onOutgoingReq?.(ctx)) ?? {allow: true}
    } catch (err) {
      id.state = 'ROUTE_RESOLVED'
      throw err
    }
    if (id.destroyed) return
    if (!verdict.allow) {
      id.state = 'DISCONNECT'
      const p = emptyParam()
      this.emit(id, CmEvent.REJECTED, verdict.reason, p)
      return
    }
    const masq = this.vni !== undefined ? {version: 1, flags: 0, vni: this.vni} : undefined
    if (ud) {
      // cma_resolve_ib_udp: SIDR_REQ with cma_hdr (+ MasQ header) + user data
      const privateData = new Uint8Array(hdr + user.length)
      privateData.set(encodeReqPrivate({cma: {srcPort: src.port, srcIp: src.ip, dstIp: dst.ip}, masq,
        user: new Uint8Array(0)}).subarray(0, hdr))
      privateData.set(user, hdr)
      id.conn = this.agent.engine.sendSidrReq({localIp: id.srcWire, remoteIp: id.dstWire,
        dscp: this.agent.trafficClass >>> 2, serviceId: serviceIdOf(id.ps, dst.port), privateData,
        handler: (c, ev) => void this.onConnEvent(id, c, ev).catch((err: unknown) => this.agent.failed(err)), context: id})
      return
    }
    const responderResources = param.responderResources ?? 0
    const initiatorDepth = param.initiatorDepth ?? 0
    id.retryCount = param.retryCount ?? 7
    id.startingPsn = Math.floor(this.agent.random() * 0x1000000) & 0xffffff
    // ucma_modify_qp_rtr re-applies INIT with ib_cm's access flags (cm_init_qp_init_attr)
    await qp!.modify({qpState: QpState.INIT, qpAccessFlags: accessFor(responderResources)}, M.STATE | M.ACCESS_FLAGS)
    const privateData = encodeReqPrivate({cma: {srcPort: src.port, srcIp: src.ip, dstIp: dst.ip}, masq, user})
    id.conn = this.agent.engine.sendReq({
      localIp: id.srcWire, remoteIp: id.dstWire, dscp: this.agent.trafficClass >>> 2,
      serviceId: serviceIdOf(id.ps, dst.port), localQpn: qp!.qpn, startingPsn: id.startingPsn, responderResources,
      initiatorDepth, retryCount: id.retryCount, rnrRetryCount: param.rnrRetryCount ?? 7,
      pathMtu: qp!.pd.ctx.info.maxMtu, srq: param.srq ?? 0, flowControl: param.flowControl ?? 0, privateData,
      trafficClass: this.agent.trafficClass, localAckTimeout: this.agent.localAckTimeout,
      handler: (c, ev) => void this.onConnEvent(id, c, ev).catch((err: unknown) => this.agent.failed(err)), context: id,
    })
  }

  /** rdma_accept: QP INIT→RTR→RTS from the REQ, then REP. */
  async accept(id: CmId, param: ConnParam = {}): Promise<void> {
    if (id.sidr) return this.acceptUd(id, param)
    const conn = id.conn
    const req = id.req
    if (!conn || !req || (conn.state !== 'REQ_RCVD' && conn.state !== 'MRA_REQ_SENT')) {
      throw new CmError(CmErrno.EINVAL, 'accept: no pending connection request')
    }
    const qp = id.qp
    if (!qp) throw new CmError(CmErrno.EINVAL, 'accept: no QP (rdma_create_qp first)')
    const privateData = param.privateData ?? new Uint8Array(0)
    if (privateData.length > CM_PRIVATE_DATA_SIZE.REP) throw new CmError(CmErrno.EINVAL, 'accept: private data > 196 bytes')
    const responderResources = param.responderResources ?? req.initiatorDepth
    const initiatorDepth = param.initiatorDepth ?? req.responderResources
    const rnrRetryCount = param.rnrRetryCount ?? 7
    id.startingPsn = Math.floor(this.agent.random() * 0x1000000) & 0xffffff
    const mtu = Math.min(req.pathMtu || Mtu[1024], qp.pd.ctx.info.maxMtu)
    try {
      await qp.modify({qpState: QpState.INIT, qpAccessFlags: accessFor(responderResources)}, M.STATE | M.ACCESS_FLAGS)
      await this.toRts(id, qp, {destQpn: req.localQpn, rqPsn: req.startingPsn, mtu, maxDestRd: responderResources,
        maxRd: initiatorDepth, retryCnt: req.retryCount, rnrRetry: req.rnrRetryCount})
    } catch (err) {
      this.agent.engine.sendRej(conn, RejReason.CONSUMER_DEFINED)
      throw err
    }
    if (id.destroyed || !this.agent.engine.sendRep(conn, {localQpn: qp.qpn, startingPsn: id.startingPsn,
      responderResources, initiatorDepth, rnrRetryCount, srq: param.srq ?? 0, flowControl: param.flowControl ?? 0,
      privateData})) {
      throw new CmError(CmErrno.EINVAL, 'accept: the connection request is gone')
    }
  }

  /** rdma_accept on a UD id: SIDR_REP SUCCESS with the UD QP's number and RDMA_UDP_QKEY. */
  private acceptUd(id: CmId, param: ConnParam): Promise<void> {
    const conn = id.conn!
    const qpn = param.qpNum ?? id.qp?.qpn
    if (qpn === undefined) throw new CmError(CmErrno.EINVAL, 'accept: no QP (rdma_create_qp first)')
    const privateData = param.privateData ?? new Uint8Array(0)
    if (privateData.length > SIDR_REP_PRIVATE) throw new CmError(CmErrno.EINVAL, 'accept: private data > 136 bytes')
    if (!this.agent.engine.sendSidrRep(conn, {status: SidrStatus.SUCCESS, qpn, qkey: RDMA_UDP_QKEY,
      serviceId: id.sidr!.serviceId, privateData})) {
      throw new CmError(CmErrno.EINVAL, 'accept: the request is gone')
    }
    return Promise.resolve()
  }

  /** rdma_reject: REJ with CONSUMER_DEFINED (28) and the caller's private data (≤ 148 bytes). */
  reject(id: CmId, privateData?: Uint8Array): void {
    if (id.sidr) {
      if ((privateData?.length ?? 0) > SIDR_REP_PRIVATE) throw new CmError(CmErrno.EINVAL, 'reject: private data > 136 bytes')
      if (!this.agent.engine.sendSidrRep(id.conn!, {status: SidrStatus.REJECT, serviceId: id.sidr.serviceId, privateData})) {
        throw new CmError(CmErrno.EINVAL, 'reject: the request is gone')
      }
      id.state = 'DISCONNECT'
      return
    }
    const conn = id.conn
    if (!conn || !id.req) throw new CmError(CmErrno.EINVAL, 'reject: no pending connection request')
    if ((privateData?.length ?? 0) > CM_PRIVATE_DATA_SIZE.REJ) throw new CmError(CmErrno.EINVAL, 'reject: private data > 148 bytes')
    if (!this.agent.engine.sendRej(conn, RejReason.CONSUMER_DEFINED, {privateData})) {
      throw new CmError(CmErrno.EINVAL, `reject in CM state ${conn.state}`)
    }
    id.state = 'DISCONNECT'
  }

  /** rdma_disconnect: QP to ERR, DREQ; DISCONNECTED follows on DREP (or -ETIMEDOUT when no DREP comes). */
  async disconnect(id: CmId): Promise<void> {
    const conn = id.conn
    if (!conn) throw new CmError(CmErrno.EINVAL, 'disconnect: not connected')
    if (conn.state === 'TIMEWAIT' || conn.state === 'DREQ_SENT' || id.state === 'DISCONNECT') return // peer first
    if (conn.state !== 'ESTABLISHED') throw new CmError(CmErrno.EINVAL, `disconnect in CM state ${conn.state}`)
    this.agent.engine.sendDreq(conn)
    id.state = 'DISCONNECT'
    await this.qpToErr(id)
  }

  /** rdma_destroy_id: a live connection is torn down the way cm.c cm_destroy_id does it. */
  destroyId(id: CmId): void {
    if (id.destroyed) return
    id.destroyed = true
    const e = this.agent.engine
    if (id.listenKey) this.agent.removeListener(id.listenKey)
    const conn = id.conn
    if (conn) {
      conn.handler = undefined
      const s = conn.state
      if (s === 'ESTABLISHED') e.sendDreq(conn)
      else if (s === 'REQ_SENT' || s === 'MRA_REQ_RCVD') e.sendRej(conn, RejReason.TIMEOUT)
      else if (s === 'SIDR_REQ_RCVD') e.sendSidrRep(conn, {status: SidrStatus.REJECT, serviceId: id.sidr!.serviceId})
      else if (s !== 'IDLE' && s !== 'TIMEWAIT' && s !== 'DREQ_SENT') e.sendRej(conn, RejReason.CONSUMER_DEFINED)
      conn.handler = undefined
      e.destroy(conn)
    }
    // a passive id shares its listener's port; only ids that bound their own port release it
    if (id.src && !id.passive) this.agent.release(this.vniKey, id.src.ip, id.ps, id.src.port)
    id.state = 'DESTROYING'
  }

  // ---- engine events → rdma_cm events (cma_ib_handler) ----

  async onConnEvent(id: CmId, conn: CmConn, ev: CmConnEvent): Promise<void> {
    if (id.destroyed) return
    const p = emptyParam()
    switch (ev.type) {
      case 'REP_RECEIVED': {
        const rep = ev.rep
        const qp = id.qp!
        try {
          await this.toRts(id, qp, {destQpn: rep.localQpn, rqPsn: rep.startingPsn, mtu: qp.pd.ctx.info.maxMtu,
            maxDestRd: rep.initiatorDepth, maxRd: rep.responderResources, retryCnt: id.retryCount,
            rnrRetry: rep.rnrRetryCount})
        } catch (err) {
          // cma_rep_recv failed: REJ and CONNECT_ERROR
          this.agent.engine.sendRej(conn, RejReason.CONSUMER_DEFINED)
          id.state = 'DISCONNECT'
          this.emit(id, CmEvent.CONNECT_ERROR, -((err as {errno?: number}).errno ?? CmErrno.EINVAL))
          return
        }
        if (id.destroyed || !this.agent.engine.sendRtu(conn)) return
        p.conn = {privateData: rep.privateData, responderResources: rep.initiatorDepth,
          initiatorDepth: rep.responderResources, flowControl: rep.e2eFlowControl, retryCount: 0,
          rnrRetryCount: rep.rnrRetryCount, srq: rep.srq, qpNum: rep.localQpn}
        this.emit(id, CmEvent.ESTABLISHED, 0, p)
        return
      }
      case 'RTU_RECEIVED':
        p.conn.privateData = ev.rtu.privateData
        p.conn.qpNum = conn.remoteQpn
        this.emit(id, CmEvent.ESTABLISHED, 0, p)
        return
      case 'REJ_RECEIVED':
        p.conn.privateData = ev.rej.privateData
        id.state = 'DISCONNECT'
        await this.qpToErr(id)
        this.emit(id, CmEvent.REJECTED, ev.rej.reason, p)
        return
      case 'REQ_ERROR':
      case 'REP_ERROR':
        id.state = 'DISCONNECT'
        await this.qpToErr(id)
        this.emit(id, CmEvent.UNREACHABLE, ERR_TIMEDOUT, p)
        return
      case 'DREQ_RECEIVED':
        p.conn.privateData = ev.dreq.privateData
        id.state = 'DISCONNECT'
        await this.qpToErr(id)
        this.emit(id, CmEvent.DISCONNECTED, 0, p)
        return
      case 'DREP_RECEIVED':
        this.emit(id, CmEvent.DISCONNECTED, 0, p)
        return
      case 'DREQ_ERROR':
        this.emit(id, CmEvent.DISCONNECTED, ERR_TIMEDOUT, p)
        return
      case 'TIMEWAIT_EXIT':
        this.emit(id, CmEvent.TIMEWAIT_EXIT, 0, p)
        return
      case 'MRA_RECEIVED':
        return
      case 'SIDR_REQ_ERROR':
        this.emit(id, CmEvent.UNREACHABLE, ERR_TIMEDOUT, p)
        return
      case 'SIDR_REP_RECEIVED': {
        // cma_sidr_rep_handler: a status other than SUCCESS is UNREACHABLE with that status
        const rep = ev.rep
        const gids = id.qp?.pd.ctx.info.gids ?? []
        const sgidIndex = Math.max(0, gids.findIndex((g) => parseGidIp(g) === id.srcWire))
        p.ud = {privateData: rep.privateData, ahAttr: {dgid: `::ffff:${ipString(id.dstWire)}`, sgidIndex},
          qpNum: rep.qpn, qkey: rep.qkey}
        id.state = rep.status === SidrStatus.SUCCESS ? 'CONNECT' : 'ROUTE_RESOLVED'
        this.emit(id, rep.status === SidrStatus.SUCCESS ? CmEvent.ESTABLISHED : CmEvent.UNREACHABLE, rep.status, p)
        return
      }
    }
  }

  emit(id: CmId, event: number, status: number, param: RdmaCmEvent['param'] = emptyParam(), listenId?: CmId): void {
    if (id.destroyed && event !== CmEvent.CONNECT_REQUEST) return
    id.channel.push({event, name: EVENT_NAME[event]!, status, id, listenId, param})
  }

  private async toRts(id: CmId, qp: Qp, a: {destQpn: number; rqPsn: number; mtu: number; maxDestRd: number;
    maxRd: number; retryCnt: number; rnrRetry: number}): Promise<void> {
    const gids = qp.pd.ctx.info.gids
    const sgidIndex = Math.max(0, gids.findIndex((g) => parseGidIp(g) === id.srcWire))
    await qp.modify({
      qpState: QpState.RTR, pathMtu: a.mtu, destQpNum: a.destQpn, rqPsn: a.rqPsn, maxDestRdAtomic: a.maxDestRd,
      minRnrTimer: this.agent.minRnrTimer,
      ahAttr: {dgid: `::ffff:${ipString(id.dstWire)}`, sgidIndex, trafficClass: this.agent.trafficClass, hopLimit: 64},
    }, M.STATE | M.AV | M.PATH_MTU | M.DEST_QPN | M.RQ_PSN | M.MAX_DEST_RD_ATOMIC | M.MIN_RNR_TIMER)
    await qp.modify({qpState: QpState.RTS, sqPsn: id.startingPsn, timeout: this.agent.localAckTimeout,
      retryCnt: a.retryCnt, rnrRetry: a.rnrRetry, maxRdAtomic: a.maxRd},
    M.STATE | M.SQ_PSN | M.TIMEOUT | M.RETRY_CNT | M.RNR_RETRY | M.MAX_QP_RD_ATOMIC)
  }

  private async qpToErr(id: CmId): Promise<void> {
    const qp = id.qp
    if (!qp || qp.state === QpState.ERR || qp.state === QpState.RESET) return
    try {
      await qp.modify({qpState: QpState.ERR}, M.STATE)
    } catch {
      // the QP may be gone already (destroyed by the application); nothing to flush then
    }
  }
}

/** ib_cm's INIT access flags: remote write always, remote read/atomic when responder resources are offered. */
function accessFor(responderResources: number): number {
  return Access.REMOTE_WRITE | (responderResources > 0 ? Access.REMOTE_READ | Access.REMOTE_ATOMIC : 0)
}

/** RDMA IP service id: 0x0000000001000000 | ps << 16 | port (cma.c cma_get_service_id). */
export function serviceIdOf(ps: number, port: number): bigint {
  return 0x0000000001000000n | (BigInt(ps & 0xffff) << 16n) | BigInt(port & 0xffff)
}
