// The VM end of rdma_cm in a lab: the librdmacm API (the RdmaCm / CmId method names) as a proxy over the VM's
// port to its host agent, where the real CM runs (src/host/cm-host.ts), like ucma's write()s to /dev/infiniband/
// rdma_cm. Events come back as messages and queue in local EventChannels. The QP is created here, through the
// VM's verbs (so the backend owns it); the host moves it through its states and reports the state in every reply
// and event, which this end mirrors into the Qp handle (ibv_post_send checks it).
// Calls that rdma_cm makes synchronous (bind, resolve, listen, reject, destroy) are sent in order and checked
// locally; an error the host finds later surfaces as an event (ADDR_ERROR) or on the next call.
import {PortSpace} from '../rdma-constants.js'
import {type CreateQpResult, type Pd, type Qp, VerbsError} from '../verbs/verbs.js'
import {CmErrno, CmError} from './errors.js'
import {type ConnParam, EVENT_NAME, EventChannel, type RdmaCmEvent} from './event-channel.js'
import type {QpInitAttr, SockAddr} from './rdma-cm.js'

export interface CmLink {
  call<T = any>(op: string, params: Record<string, unknown>): Promise<T>
  /** fire-and-forget, in order with calls */
  send(op: string, params: Record<string, unknown>): void
  /**
   * The VM's control verbs go to a backend on the same host thread as the CM agent (hyv, masq, freeflow): then
   * rdma_create_qp sends the create_qp command inside its rdma_cm request, one virtio round trip instead of two,
   * and the backend runs it as it runs every create_qp (ownership, quotas, audit).
   */
  qpViaAgent?: boolean
}

interface Reply {local?: SockAddr; peer?: SockAddr; qpState?: number; error?: {errno: number; message: string; verbs?: boolean}
  qp?: CreateQpResult}

export class RemoteCmId {
  qp: Qp | undefined
  localAddr: SockAddr | undefined
  peerAddr: SockAddr | undefined
  destroyed = false

  constructor(readonly cm: RemoteCm, readonly num: number, readonly channel: EventChannel, public context: unknown, readonly ps: number) {}

  get qpNum(): number | undefined {
    return this.qp?.qpn
  }

  bindAddr(addr: SockAddr): void {
    this.cm.send(this, 'bindAddr', {addr})
  }
  resolveAddr(src: SockAddr | undefined, dst: SockAddr, timeoutMs = 2000): void {
    this.cm.send(this, 'resolveAddr', {src, dst, timeoutMs})
  }
  resolveRoute(_timeoutMs = 2000): void {
    this.cm.send(this, 'resolveRoute', {})
  }
  async createQp(pd: Pd, attr: QpInitAttr): Promise<Qp> {
    if (this.qp) throw new CmError(CmErrno.EINVAL, 'id already has a QP')
    const init = {type: this.ps === PortSpace.UDP ? 'UD' as const : 'RC' as const, sendCq: attr.sendCq, recvCq: attr.recvCq,
      cap: attr.cap ?? {}, sqSigAll: attr.sqSigAll}
    const cmAttr = {cap: attr.cap, sqSigAll: attr.sqSigAll}
    if (this.cm.qpViaAgent) {
      const create = pd.createQpArgs(init)
      const r = await this.cm.request(this, 'createQp', {create, attr: cmAttr})
      if (r.error?.verbs) throw new VerbsError(r.error.errno, `createQp: ${r.error.message}`) // as pd.createQp throws
      if (r.qp) this.qp = pd.adoptQp(create, r.qp) // created, even if rdma_cm then failed (as below)
      if (r.error) throw new CmError(r.error.errno, r.error.message)
      this.update(r)
      return this.qp!
    }
    const qp = await pd.createQp(init)
    this.qp = qp
    await this.cm.call(this, 'createQp', {qpn: qp.qpn, attr: cmAttr})
    return qp
  }
  async connect(param: ConnParam = {}): Promise<void> {
    await this.cm.call(this, 'connect', {param})
  }
  listen(backlog = 0): void {
    this.cm.send(this, 'listen', {backlog})
  }
  async accept(param: ConnParam = {}): Promise<void> {
    await this.cm.call(this, 'accept', {param})
  }
  reject(privateData?: Uint8Array): void {
    this.cm.send(this, 'reject', {privateData})
  }
  async disconnect(): Promise<void> {
    await this.cm.call(this, 'disconnect', {})
  }
  destroy(): void {
    if (this.destroyed) return
    this.destroyed = true
    this.cm.send(this, 'destroy', {})
  }

  /** Mirror what the host reported. */
  update(r: Reply): void {
    if (r.local) this.localAddr = r.local
    if (r.peer) this.peerAddr = r.peer
    if (this.qp && typeof r.qpState === 'number') this.qp.state = r.qpState
  }
}

export type RemoteCmEvent = Omit<RdmaCmEvent, 'id' | 'listenId'> & {id: RemoteCmId; listenId?: RemoteCmId}

/** The librdmacm API one VM sees in a lab (the same calls as RdmaCm in process). */
// Ids and channels are numbered per VM worker, not per RemoteCm: concurrent runs in one VM each have their own
// RemoteCm (destroyed with the run, like a process's ids) over the same port to the host.
let nextId = 1
let nextChannel = 1

export class RemoteCm {
  private readonly ids = new Map<number, RemoteCmId>()
  private readonly channels = new Map<number, EventChannel>()
  private readonly channelNum = new WeakMap<EventChannel, number>()
  /** errors of calls made without waiting (bind, listen, ...), the last one kept */
  readonly asyncErrors = {count: 0, last: undefined as undefined | {errno: number; message: string}}

  constructor(private readonly link: CmLink) {}

  createEventChannel(): EventChannel {
    const ch = new EventChannel()
    const n = nextChannel++
    this.channels.set(n, ch)
    this.channelNum.set(ch, n)
    return ch
  }

  createId(channel: EventChannel, context: unknown = null, ps: number = PortSpace.TCP): RemoteCmId {
    if (ps !== PortSpace.TCP && ps !== PortSpace.UDP) throw new CmError(CmErrno.EINVAL, `port space 0x${ps.toString(16)}`)
    const n = this.channelNum.get(channel)
    if (n === undefined) throw new CmError(CmErrno.EINVAL, 'not an event channel of this rdma_cm')
    const id = new RemoteCmId(this, nextId++, channel, context, ps)
    this.ids.set(id.num, id)
    this.link.send('cm', {op: 'createId', id: id.num, channel: n, ps})
    return id
  }

  ownsChannel(n: number): boolean {
    return this.channels.has(n)
  }

  /** A run ended (like a process exiting): every id it left is destroyed, so its ports and listeners are freed. */
  destroyAll(): void {
    for (const id of this.ids.values()) id.destroy()
    this.ids.clear()
    this.channels.clear()
  }

  getCmEvent(channel: EventChannel): Promise<RemoteCmEvent> {
    return channel.get() as unknown as Promise<RemoteCmEvent>
  }

  ackCmEvent(event: RemoteCmEvent): void {
    if (event.id.channel.unacked > 0) event.id.channel.unacked--
  }

  send(id: RemoteCmId, op: string, params: Record<string, unknown>): void {
    this.link.call<Reply>('cm', {op, id: id.num, ...params}).then((r) => {
      if (r?.error) {
        this.asyncErrors.count++
        this.asyncErrors.last = r.error
      } else id.update(r ?? {})
    }, (err: unknown) => {
      this.asyncErrors.count++
      this.asyncErrors.last = {errno: CmErrno.EINVAL, message: (err as Error).message}
    })
  }

  async call(id: RemoteCmId, op: string, params: Record<string, unknown>): Promise<void> {
    const r = await this.request(id, op, params)
    if (r.error) throw new CmError(r.error.errno, r.error.message)
    id.update(r)
  }

  /** One rdma_cm request and the host's whole reply (errors included). */
  async request(id: RemoteCmId, op: string, params: Record<string, unknown>): Promise<Reply> {
    return (await this.link.call<Reply>('cm', {op, id: id.num, ...params})) ?? {}
  }

  get qpViaAgent(): boolean {
    return this.link.qpViaAgent === true
  }

  /** An event pushed by the host agent. */
  onEvent(m: {channel: number; event: number; status: number; cmId: number; listenId?: number; param: RdmaCmEvent['param'];
    qpState?: number; local?: SockAddr; peer?: SockAddr}): void {
    const ch = this.channels.get(m.channel)
    if (!ch) return
    const listener = m.listenId !== undefined ? this.ids.get(m.listenId) : undefined
    let id = this.ids.get(m.cmId)
    if (!id) { // a CONNECT_REQUEST's new id: the listener's channel and context (cma_ib_req_handler)
      id = new RemoteCmId(this, m.cmId, ch, listener?.context ?? null, listener?.ps ?? PortSpace.TCP)
      this.ids.set(m.cmId, id)
    }
    id.update({local: m.local, peer: m.peer, qpState: m.qpState})
    ch.push({event: m.event, name: EVENT_NAME[m.event]!, status: m.status, id, listenId: listener, param: m.param} as unknown as RdmaCmEvent)
  }
}
