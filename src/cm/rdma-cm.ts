// The librdmacm API (rdma_cma.h) in camelCase over the CM engine: ids, address and route resolution,
// listen / connect / accept / reject / disconnect, and the QP transitions rdma_cm drives (cma.c + ucma /
// librdmacm's ucma_modify_qp_*). One RdmaCm per VM, made by its host's CmAgent (src/cm/agent.ts).

import {Access, CmEvent, Mtu, PortSpace, QpAttrMask as M, QpState, RDMA_UDP_QKEY, RejReason} from '../rdma-constants.js'
import {ipString, parseGidIp} from '../rnic/av.js'
import type {Cq, Pd, Qp} from '../verbs/verbs.js'
import type {CmReq} from '../wire/cm.js'
import {CM_PRIVATE_DATA_SIZE} from '../wire/cm.js'
import {CMA_HDR_SIZE, encodeReqPrivate, MASQ_HDR_SIZE, REQ_USER_MAX, REQ_USER_MAX_MASQ} from '../wire/cma.js'
import type {CmAgent} from './agent.js'
import {caGuidOf, type CmConn, type CmConnEvent} from './cm-engine.js'
import {CmErrno, CmError} from './errors.js'
import {type ConnParam, emptyParam, EVENT_NAME, EventChannel, type RdmaCmEvent} from './event-channel.js'
import type {PolicyDecision, ReqPolicyContext} from './policy.js'
import {SIDR_REP_PRIVATE, SIDR_REQ_PRIVATE, type SidrReq, SidrStatus} from './sidr.js'

export type {ConnParam, RdmaCmEvent} from './event-channel.js'
export {EventChannel} from './event-channel.js'

const ANY = 0
const ERR_TIMEDOUT = -CmErrno.ETIMEDOUT
const MAX_BACKLOG = 1024 // ucma.c max_backlog

/** enum rdma_cm_state (cma_priv.h). */
export type CmaState = 'IDLE' | 'ADDR_QUERY' | 'ADDR_RESOLVED' | 'ROUTE_QUERY' | 'ROUTE_RESOLVED' | 'CONNECT' |
  'DISCONNECT' | 'ADDR_BOUND' | 'LISTEN' | 'DESTROYING'

export interface SockAddr {
  ip: string
  port?: number
}

export interface QpInitAttr {
  sendCq: Cq
  recvCq: Cq
  cap?: {maxSendWr?: number; maxRecvWr?: number; maxSendSge?: number; maxRecvSge?: number; maxInlineData?: number}
  sqSigAll?: boolean
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
  backlogUsed = 0 // CONNECT_REQUESTs queued on the channel and not yet fetched (ucma's ctx->backlog)
  startingPsn = 0
  req: CmReq | undefined // passive side: the REQ this id answers
  sidr: SidrReq | undefined // passive UD side: the SIDR_REQ this id answers
  passive = false
  /** The connection's addresses as the policy saw them (RConntrack's record of a live connection). */
  tuple: ReqPolicyContext | undefined
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

export function ipOf(s: string): number {
  const v = parseGidIp(s)
  if (v === undefined) throw new CmError(CmErrno.EINVAL, `bad address ${s}`)
  return v
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
    // the resolver may be slow (MasQ asks the controller): ADDR_ERROR -ETIMEDOUT once timeoutMs has passed
    let settled = false
    const cancel = this.agent.engine.schedule(timeoutMs * 1000, () => {
      if (settled || id.destroyed || id.state !== 'ADDR_QUERY') return
      settled = true
      id.state = 'ADDR_BOUND'
      this.emit(id, CmEvent.ADDR_ERROR, ERR_TIMEDOUT)
    })
    void Promise.resolve().then(() => this.agent.resolve(this.vniKey, dstIp)).catch((err: unknown) => {
      this.agent.failed(err)
      return undefined
    }).then((r) => {
      if (settled) return
      settled = true
      cancel()
      if (id.destroyed || id.state !== 'ADDR_QUERY') return
      if (!r || !r.reachable) {
        id.state = 'ADDR_BOUND'
        this.emit(id, CmEvent.ADDR_ERROR, -CmErrno.EHOSTUNREACH)
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
    // ucma_listen: a backlog outside 1..max_backlog (1024) becomes max_backlog
    id.backlog = backlog > 0 && backlog < MAX_BACKLOG ? backlog : MAX_BACKLOG
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
    id.tuple = ctx
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
      else if (s === 'REQ_SENT' || s === 'MRA_REQ_RCVD') e.sendRej(conn, RejReason.TIMEOUT, {ari: guidBytes(conn.localIp)})
      else if (s === 'SIDR_REQ_RCVD') e.sendSidrRep(conn, {status: SidrStatus.REJECT, serviceId: id.sidr!.serviceId})
      else if (s !== 'IDLE' && s !== 'TIMEWAIT' && s !== 'DREQ_SENT') e.sendRej(conn, RejReason.CONSUMER_DEFINED)
      conn.handler = undefined
      e.destroy(conn)
    }
    // a passive id shares its listener's port; only ids that bound their own port release it
    if (id.src && !id.passive) this.agent.release(this.vniKey, id.src.ip, id.ps, id.src.port)
    id.state = 'DESTROYING'
    this.agent.untrack(id)
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
        const sgidIndex = Math.max(0, gids.findIndex((g) => g !== null && parseGidIp(g) === id.srcWire))
        // a VPC VM's AH names the peer's vIP: its RNIC renames each UD WQE to the host address (src/rnic/vpc.ts)
        const peer = this.vni !== undefined ? id.dst!.ip : id.dstWire
        p.ud = {privateData: rep.privateData, ahAttr: {dgid: `::ffff:${ipString(peer)}`, sgidIndex},
          qpNum: rep.qpn, qkey: rep.qkey}
        id.state = rep.status === SidrStatus.SUCCESS ? 'CONNECT' : 'ROUTE_RESOLVED'
        this.emit(id, rep.status === SidrStatus.SUCCESS ? CmEvent.ESTABLISHED : CmEvent.UNREACHABLE, rep.status, p)
        return
      }
    }
  }

  emit(id: CmId, event: number, status: number, param: RdmaCmEvent['param'] = emptyParam(), listenId?: CmId): void {
    if (id.destroyed && event !== CmEvent.CONNECT_REQUEST) return
    if (listenId) listenId.backlogUsed++
    if (event === CmEvent.ESTABLISHED && id.ps === PortSpace.TCP) this.agent.track(id)
    else if (event !== CmEvent.TIMEWAIT_EXIT) this.agent.untrack(id)
    id.channel.push({event, name: EVENT_NAME[event]!, status, id, listenId, param})
  }

  private async toRts(id: CmId, qp: Qp, a: {destQpn: number; rqPsn: number; mtu: number; maxDestRd: number;
    maxRd: number; retryCnt: number; rnrRetry: number}): Promise<void> {
    const gids = qp.pd.ctx.info.gids
    const sgidIndex = Math.max(0, gids.findIndex((g) => g !== null && parseGidIp(g) === id.srcWire))
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

/** ARI of a REJ TIMEOUT: the sender's node GUID (cm_destroy_id). */
function guidBytes(ip: number): Uint8Array {
  const b = new Uint8Array(8)
  new DataView(b.buffer).setBigUint64(0, caGuidOf(ip))
  return b
}

/** ib_cm's INIT access flags: remote write always, remote read/atomic when responder resources are offered. */
function accessFor(responderResources: number): number {
  return Access.REMOTE_WRITE | (responderResources > 0 ? Access.REMOTE_READ | Access.REMOTE_ATOMIC : 0)
}

/** RDMA IP service id: 0x0000000001000000 | ps << 16 | port (cma.c cma_get_service_id). */
export function serviceIdOf(ps: number, port: number): bigint {
  return 0x0000000001000000n | (BigInt(ps & 0xffff) << 16n) | BigInt(port & 0xffff)
}
