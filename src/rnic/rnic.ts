// The emulated RNIC: object tables and the command API (control verbs), plus the pumpable engine entry points
// (poll, receive, nextDeadline). Command results are structured-cloneable plain objects; errors are results
// {errno, message}, never exceptions, so the MasQ backend can relay them over a MessagePort unchanged.

import {VpcTables} from './vpc.js'
import {AsyncEvent, Errno, Mtu, QpAttrMask, QpState, QpType} from '../rdma-constants.js'
import {FrameEncoder, FRAME_OVERHEAD} from '../wire/frame.js'
import {PacketView} from '../wire/packet.js'
import {parseGidIp, ipString} from './av.js'
import type {Clock} from './clock.js'
import {realClock} from './clock.js'
import {completer, flushSq} from './comp.js'
import {Counter, Counters, DropCounters} from './counters.js'
import {Cq} from './cq.js'
import {alignedBuffer, Scratch} from './dma.js'
import {checkMrInit, Mr, MrTable, REMOTE_ACCESS} from './mr.js'
import {Gsi} from './gsi.js'
import {Pd} from './pd.js'
import type {Port} from './port.js'
import {checkAttr, fromAttr, type PortInfo, Qp, type QpAttr, type QpCap, toAttr} from './qp.js'
import {DOORBELL_WORDS, Ring, rqSlotWords, sqSlotWords} from './queue.js'
import {RateGroup} from './ratelimit.js'
import {rxeRcv} from './recv.js'
import {requester} from './req.js'
import {Task} from './task.js'
import {flushRq} from './resp.js'

import {fail, type RnicError} from './errors.js'

export {isRnicError, type RnicError} from './errors.js'

export interface RnicLimits {
  maxQp: number
  maxMr: number
  maxCq: number
  maxPd: number
  maxQpWr: number
  maxSge: number
  maxInline: number
  maxCqe: number
}
// rxe_param.h orders of magnitude, scaled down for an in-process emulator.
export const DEFAULT_LIMITS: RnicLimits = {
  maxQp: 4096, maxMr: 0x40000, maxCq: 4096, maxPd: 4096, maxQpWr: 0x4000, maxSge: 32, maxInline: 256, maxCqe: 0x8000,
}

export interface AsyncEventRecord {
  event: number
  name: string
  qpn?: number
  cqn?: number
}

export interface RnicOptions {
  name: string
  gids: string[]
  mtu?: number // port max MTU in bytes (default 4096)
  limits?: Partial<RnicLimits>
  port?: Port
  random?: () => number
  randomQpn?: boolean
  clock?: Clock
  onAsyncEvent?: (ev: AsyncEventRecord) => void
  /** TEST ONLY (attack-suite oracle tests): switch off one protection check. Never set outside tests. */
  unsafe?: RnicUnsafe
}

/** Deliberate weakenings that prove the attack oracles can fail (test/unit/attacks, MASQ_UNSAFE_TEST). */
export interface RnicUnsafe {
  skipPdCheck?: boolean // check_rkey accepts an MR of any PD
  skipBoundsCheck?: boolean // check_rkey skips mr_check_range
}

export interface RegMrArgs {
  pdn: number
  memory: SharedArrayBuffer
  offset: number
  length: number
  iova: bigint
  access: number
}

export interface CreateQpArgs {
  pdn: number
  type: number
  sendCqn: number
  recvCqn: number
  cap: QpCap
  sqSigAll?: boolean
  /** QP1 is the RNIC's own (Rnic.gsi, the host's CM agent): asking for it is refused with EPERM. */
  gsi?: boolean
}

const MAX_FRAME = FRAME_OVERHEAD + 40 + 4096 + 4
const EVENT_NAME = Object.fromEntries(Object.entries(AsyncEvent).map(([k, v]) => [v, k])) as Record<number, string>

export class Rnic {
  readonly name: string
  readonly gids: Array<number | undefined> = []
  readonly portMtu: number
  readonly portMtuBytes: number
  readonly portInfo: PortInfo
  readonly limits: RnicLimits
  readonly clock: Clock
  readonly random: () => number
  readonly randomQpn: boolean
  port: Port | undefined
  onAsyncEvent: ((ev: AsyncEventRecord) => void) | undefined
  readonly unsafe: RnicUnsafe

  readonly doorbellSab = new SharedArrayBuffer(DOORBELL_WORDS * 4)
  readonly doorbell = new Int32Array(this.doorbellSab)
  private lastDoorbell = 0

  private readonly pds = new Map<number, Pd>()
  private nextPdn = 1
  readonly mrs: MrTable
  private readonly cqs = new Map<number, Cq>()
  private nextCqn = 1
  readonly qps = new Map<number, Qp>()
  private qpList: Qp[] = []
  private nextQpn = 17 // RXE_MIN_QP_INDEX 16 is the GSI's neighbour; user QPs start above it

  private readonly rateGroups = new Map<string, RateGroup>()
  readonly vpcTables = new VpcTables()
  readonly portCounters = new Counters()
  readonly drops = new DropCounters()
  readonly gsi: Gsi = new Gsi(this) // QP1: CM MADs (src/rnic/gsi.ts)

  // engine scratch, reused for every packet
  readonly txPkt = new PacketView()
  readonly txBuf = alignedBuffer(MAX_FRAME + 8)
  readonly txViews = new Map<number, Buffer>() // tx.ts stageTx: payload views of txBuf
  readonly scratch = new Scratch(4096)
  readonly encoder = new FrameEncoder()
  readonly rxPkt = new PacketView()
  rxFrame: Buffer = Buffer.alloc(0)
  rxOff = 0
  ipId = 0
  inReceive = false
  inPoll = false
  inMadSend = false
  private reqBudget = 0
  private reqWork = 0
  lastFault: string | undefined

  constructor(opts: RnicOptions) {
    this.name = opts.name
    for (const g of opts.gids) this.addGid(g)
    const mtu = opts.mtu ?? 4096
    this.portMtu = (Mtu as Record<number, number>)[mtu] ?? Mtu[4096]
    this.portMtuBytes = 128 << this.portMtu
    this.portInfo = {maxMtuEnum: this.portMtu, gids: this.gids}
    this.limits = {...DEFAULT_LIMITS, ...opts.limits}
    this.mrs = new MrTable(this.limits.maxMr)
    this.clock = opts.clock ?? realClock
    this.random = opts.random ?? Math.random
    this.randomQpn = opts.randomQpn ?? false
    this.port = opts.port
    this.onAsyncEvent = opts.onAsyncEvent
    this.unsafe = {...opts.unsafe}
  }

  // ---- device ----

  /** Device attributes for a provider; `gids[i]` is GID index i (null where the entry is empty). */
  deviceInfo(): {name: string; doorbell: SharedArrayBuffer; gids: Array<string | null>; maxMtu: number; limits: RnicLimits} {
    return {
      name: this.name, doorbell: this.doorbellSab, gids: this.gids.map((g) => (g === undefined ? null : `::ffff:${ipString(g)}`)),
      maxMtu: this.portMtu, limits: {...this.limits},
    }
  }

  addGid(ip: string): {index: number} | RnicError {
    const v = parseGidIp(ip)
    if (v === undefined) return fail(Errno.EINVAL, `bad GID ${ip}`)
    const have = this.gids.indexOf(v)
    if (have >= 0) return {index: have}
    let idx = this.gids.indexOf(undefined)
    if (idx < 0) idx = this.gids.length
    this.gids[idx] = v
    return {index: idx}
  }

  removeGid(ip: string): Record<string, never> | RnicError {
    const v = parseGidIp(ip)
    const idx = v === undefined ? -1 : this.gids.indexOf(v)
    if (idx < 0) return fail(Errno.ENOENT, `no GID ${ip}`)
    this.gids[idx] = undefined
    return {}
  }

  /** Source address for UD sends: the first GID (sgid_index 0). */
  firstGid(): number {
    for (const g of this.gids) if (g !== undefined) return g
    return 0
  }

  hasGid(ip: number): boolean {
    return this.gids.includes(ip)
  }

  setPort(port: Port): void {
    this.port = port
  }

  // ---- PD ----

  allocPd(): {pdn: number} | RnicError {
    if (this.pds.size >= this.limits.maxPd) return fail(Errno.ENOMEM, 'PD limit reached')
    const pdn = this.nextPdn++
    this.pds.set(pdn, new Pd(pdn))
    return {pdn}
  }

  deallocPd(pdn: number): Record<string, never> | RnicError {
    const pd = this.pds.get(pdn)
    if (!pd) return fail(Errno.EINVAL, `no PD ${pdn}`)
    if (pd.users > 0) return fail(Errno.EBUSY, `PD ${pdn} still has ${pd.users} users`)
    this.pds.delete(pdn)
    return {}
  }

  // ---- MR ----

  regMr(a: RegMrArgs): {mrIndex: number; lkey: number; rkey: number} | RnicError {
    const pd = this.pds.get(a?.pdn)
    if (!pd) return fail(Errno.EINVAL, `no PD ${a?.pdn}`)
    const err = checkMrInit(a.memory, a.offset, a.length, a.iova, a.access)
    if (err) return fail(Errno.EINVAL, err)
    if (this.mrs.count >= this.limits.maxMr) return fail(Errno.ENOMEM, 'MR limit reached')
    const index = this.mrs.allocIndex()
    if (index === 0) return fail(Errno.ENOMEM, 'MR table full')
    const lkey = ((index << 8) | Math.floor(this.random() * 256)) >>> 0
    const rkey = a.access & REMOTE_ACCESS ? lkey : 0
    this.mrs.set(new Mr(index, lkey, rkey, a.pdn, a.access, a.memory, a.offset, a.length, a.iova))
    pd.users++
    return {mrIndex: index, lkey, rkey}
  }

  /** Deregistration invalidates the keys at once (rxe_dereg_mr marks the MR invalid before freeing). */
  deregMr(mrIndex: number): Record<string, never> | RnicError {
    const mr = this.mrs.byIndex(mrIndex)
    if (!mr) return fail(Errno.EINVAL, `no MR ${mrIndex}`)
    this.mrs.remove(mrIndex)
    const pd = this.pds.get(mr.pdn)
    if (pd) pd.users--
    return {}
  }

  // ---- CQ ----

  createCq(a: {depth: number}): {cqn: number; ring: SharedArrayBuffer; depth: number} | RnicError {
    const depth = a?.depth
    if (!Number.isInteger(depth) || depth < 1 || depth > this.limits.maxCqe) return fail(Errno.EINVAL, `bad CQ depth ${depth}`)
    if (this.cqs.size >= this.limits.maxCq) return fail(Errno.ENOMEM, 'CQ limit reached')
    const cqn = this.nextCqn++
    const cq = new Cq(cqn, depth)
    this.cqs.set(cqn, cq)
    return {cqn, ring: cq.ring.sab, depth: cq.ring.size}
  }

  destroyCq(cqn: number): Record<string, never> | RnicError {
    const cq = this.cqs.get(cqn)
    if (!cq) return fail(Errno.EINVAL, `no CQ ${cqn}`)
    if (cq.users > 0) return fail(Errno.EBUSY, `CQ ${cqn} is used by ${cq.users} QPs`)
    this.cqs.delete(cqn)
    return {}
  }

  // ---- QP ----

  createQp(a: CreateQpArgs): {qpn: number; sq: SharedArrayBuffer; rq: SharedArrayBuffer; cap: QpCap} | RnicError {
    const pd = this.pds.get(a?.pdn)
    if (!pd) return fail(Errno.EINVAL, `no PD ${a?.pdn}`)
    if (a.type !== QpType.RC && a.type !== QpType.UC && a.type !== QpType.UD) return fail(Errno.EINVAL, `unsupported QP type ${a.type}`)
    const scq = this.cqs.get(a.sendCqn)
    const rcq = this.cqs.get(a.recvCqn)
    if (!scq || !rcq) return fail(Errno.EINVAL, 'no such CQ')
    const c = a.cap
    const L = this.limits
    const ok = (v: unknown, lo: number, hi: number) => Number.isInteger(v) && (v as number) >= lo && (v as number) <= hi
    if (!c || !ok(c.maxSendWr, 1, L.maxQpWr) || !ok(c.maxRecvWr, 1, L.maxQpWr) || !ok(c.maxSendSge, 0, L.maxSge) ||
      !ok(c.maxRecvSge, 0, L.maxSge) || !ok(c.maxInlineData ?? 0, 0, L.maxInline)) {
      return fail(Errno.EINVAL, 'QP capabilities out of range (rxe_qp_chk_cap)')
    }
    if (this.qps.size >= L.maxQp) return fail(Errno.ENOMEM, 'QP limit reached')
    if (a.gsi) return fail(Errno.EPERM, 'QP1 belongs to the RNIC (GSI path for the CM agent)')
    const qpn = this.allocQpn()
    if (qpn < 0) return fail(Errno.ENOMEM, 'no free QPN')
    const cap: QpCap = {maxSendWr: c.maxSendWr, maxRecvWr: c.maxRecvWr, maxSendSge: c.maxSendSge, maxRecvSge: c.maxRecvSge, maxInlineData: c.maxInlineData ?? 0}
    const sq = Ring.create(cap.maxSendWr, sqSlotWords(cap.maxSendSge, cap.maxInlineData))
    const rq = Ring.create(cap.maxRecvWr, rqSlotWords(cap.maxRecvSge))
    const qp = new Qp(qpn, a.type, a.pdn, scq, rcq, cap, sq, rq)
    qp.sqSigAll = a.sqSigAll === true
    // the requester never nests on a QP (its per-pass scratch relies on it): rxe_task semantics
    qp.reqTask = new Task(() => {
      this.reqWork += requester(this, qp, this.reqBudget)
    })
    this.qps.set(qpn, qp)
    this.qpList = [...this.qps.values()]
    pd.users++
    scq.users++
    rcq.users++
    return {qpn, sq: sq.sab, rq: rq.sab, cap}
  }

  private allocQpn(): number {
    if (!this.randomQpn) {
      for (let i = 0; i < 0xffffff; i++) {
        const q = this.nextQpn
        this.nextQpn = this.nextQpn >= 0xfffffe ? 17 : this.nextQpn + 1
        if (!this.qps.has(q)) return q
      }
      return -1
    }
    // ReDMArk M1: QPNs drawn from the whole 24-bit space (0, 1 and 0xFFFFFF are reserved).
    for (let i = 0; i < 64; i++) {
      const q = 2 + Math.floor(this.random() * 0xfffffd)
      if (!this.qps.has(q)) return q
    }
    return -1
  }

  modifyQp(qpn: number, attr: QpAttr, mask: number): Record<string, never> | RnicError {
    const qp = this.qps.get(qpn)
    if (!qp) return fail(Errno.EINVAL, `no QP ${qpn}`)
    const err = checkAttr(qp, attr ?? {}, mask, this.portInfo)
    if (err) return fail(Errno.EINVAL, err)
    const wasErr = qp.state === QpState.ERR
    fromAttr(qp, attr, mask, this.portInfo)
    if (mask & QpAttrMask.STATE && qp.state === QpState.ERR && !wasErr) this.qpError(qp)
    if (qp.state === QpState.RTS || qp.state === QpState.SQD) qp.reqPending = true
    if (qp.state === QpState.SQD) {
      qp.drainNotified = false
      this.checkDrained(qp)
    }
    return {}
  }

  queryQp(qpn: number): {attr: QpAttr} | RnicError {
    const qp = this.qps.get(qpn)
    if (!qp) return fail(Errno.EINVAL, `no QP ${qpn}`)
    return {attr: toAttr(qp)}
  }

  destroyQp(qpn: number): Record<string, never> | RnicError {
    const qp = this.qps.get(qpn)
    if (!qp) return fail(Errno.EINVAL, `no QP ${qpn}`)
    this.qps.delete(qpn)
    this.qpList = [...this.qps.values()]
    qp.scq.users--
    qp.rcq.users--
    const pd = this.pds.get(qp.pdn)
    if (pd) pd.users--
    qp.state = QpState.RESET
    return {}
  }

  /**
   * Put QPs into a shared rate-limit group (created or replaced); bytesPerSec 0 removes the group. Frame bytes on
   * the wire count against the budget; the burst is at least one maximal frame.
   */
  setRateLimit(a: {group: string; qpns: number[]; bytesPerSec: number; burstBytes?: number}): Record<string, never> | RnicError {
    if (typeof a?.group !== 'string' || !Array.isArray(a.qpns)) return fail(Errno.EINVAL, 'setRateLimit needs {group, qpns[]}')
    if (!Number.isFinite(a.bytesPerSec) || a.bytesPerSec < 0) return fail(Errno.EINVAL, 'bad bytesPerSec')
    const qps: Qp[] = []
    for (const n of a.qpns) {
      const qp = this.qps.get(n)
      if (!qp) return fail(Errno.EINVAL, `no QP ${n}`)
      qps.push(qp)
    }
    const old = this.rateGroups.get(a.group)
    if (old) {
      for (const n of old.qpns) {
        const qp = this.qps.get(n)
        if (qp && qp.rate === old) qp.rate = undefined
      }
      this.rateGroups.delete(a.group)
    }
    if (a.bytesPerSec === 0) return {}
    const g = new RateGroup(a.group, a.bytesPerSec / 1e6, Math.max(a.burstBytes ?? 0, MAX_FRAME), this.clock.now())
    for (const qp of qps) {
      qp.rate = g
      g.qpns.add(qp.qpn)
      qp.reqPending = true
    }
    this.rateGroups.set(a.group, g)
    return {}
  }

  /**
   * masq/freeflow (trusted: the host agent only): put a UD QP into its VPC. Its WQEs' destinations are then vIPs,
   * renamed per WQE to host underlay addresses from the VNI's table (vpc.ts), and its frames carry the tenant's
   * traffic class whatever the AH says.
   */
  setVpcQp(a: {qpn: number; vni: number; trafficClass: number}): Record<string, never> | RnicError {
    const qp = this.qps.get(a?.qpn)
    if (!qp) return fail(Errno.EINVAL, `no QP ${String(a?.qpn)}`)
    if (qp.type !== QpType.UD) return fail(Errno.EINVAL, `setVpcQp: QP ${a.qpn} is not UD (RC/UC are renamed at modify_qp)`)
    if (!Number.isInteger(a.vni) || a.vni < 0 || a.vni > 0xffffff) return fail(Errno.EINVAL, 'bad vni')
    if (!Number.isInteger(a.trafficClass) || a.trafficClass < 0 || a.trafficClass > 255) return fail(Errno.EINVAL, 'bad trafficClass')
    qp.vpc = {vni: a.vni, trafficClass: a.trafficClass, routes: this.vpcTables.routes(a.vni)}
    return {}
  }

  /** Replace a VNI's vIP -> host underlay table (trusted: the host agent, from its cached controller lookups). */
  setVpcRoutes(a: {vni: number; routes: Array<[string, string]>}): Record<string, never> | RnicError {
    if (!Number.isInteger(a?.vni) || !Array.isArray(a.routes)) return fail(Errno.EINVAL, 'setVpcRoutes needs {vni, routes[]}')
    const err = this.vpcTables.set(a.vni, a.routes)
    return err ? fail(Errno.EINVAL, err) : {}
  }

  /** Live object counts (the baseline the attack suite compares after teardown). */
  objectCounts(): {pd: number; mr: number; cq: number; qp: number} {
    return {pd: this.pds.size, mr: this.mrs.count, cq: this.cqs.size, qp: this.qps.size}
  }

  counters(): {port: Record<string, number>; drops: Record<string, number>; qps: Record<number, Record<string, number>>} {
    const qps: Record<number, Record<string, number>> = {}
    for (const qp of this.qpList) qps[qp.qpn] = qp.counters.toJSON()
    return {port: this.portCounters.toJSON(), drops: this.drops.toJSON(), qps}
  }

  /** A MAD from QP1 to the peer's QP1 (UD SEND ONLY, Q_Key 0x80010000). */
  sendMad(srcIp: number, dstIp: number, dscp: number, mad: Uint8Array): void {
    this.gsi.send(srcIp, dstIp, dscp, mad)
  }

  // ---- engine plumbing ----

  /** rxe_qp_error: both directions to ERROR and every outstanding WQE flushed (WR_FLUSH_ERR). */
  qpError(qp: Qp): void {
    qp.state = QpState.ERR
    qp.retransDeadline = qp.rnrDeadline = qp.rateDeadline = Infinity
    qp.reqPending = false
    flushSq(this, qp)
    flushRq(this, qp)
  }

  /** SQD: once nothing sent is unacknowledged, SQ_DRAINED (when en_sqd_async_notify was set; rxe_qp_drain). */
  checkDrained(qp: Qp): void {
    if (qp.state !== QpState.SQD || qp.drainNotified) return
    if (qp.compIndex !== qp.reqIndex) return
    qp.drainNotified = true
    if (qp.enSqdAsyncNotify) this.asyncEvent(AsyncEvent.SQ_DRAINED, qp.qpn)
  }

  /**
   * Last line of defence: VM memory (WQEs) and frames are hostile input, and a bug they trigger must cost the
   * QP involved, never the RNIC. Counted, QP_FATAL, QP → ERR.
   */
  engineFault(qp: Qp | undefined, e: unknown): void {
    this.drops.inc('engine_fault')
    this.lastFault = e instanceof Error ? e.stack ?? e.message : String(e)
    if (qp && qp.state !== QpState.ERR) {
      this.asyncEvent(AsyncEvent.QP_FATAL, qp.qpn)
      try {
        this.qpError(qp)
      } catch {
        qp.state = QpState.ERR
      }
    }
  }

  asyncEvent(event: number, qpn?: number, cqn?: number): void {
    this.onAsyncEvent?.({event, name: EVENT_NAME[event] ?? String(event), qpn, cqn})
  }

  /** A CQ overflowed: CQ_ERR once, and the QP that posted goes to ERR (class G). */
  cqOverflow(cq: Cq, qp: Qp): void {
    if (!cq.overflowReported) {
      cq.overflowReported = true
      this.asyncEvent(AsyncEvent.CQ_ERR, undefined, cq.cqn)
    }
    if (qp.state !== QpState.ERR) {
      this.asyncEvent(AsyncEvent.QP_FATAL, qp.qpn)
      this.qpError(qp)
    }
  }

  transmit(qp: Qp, off: number, len: number): void {
    qp.counters.inc(Counter.SENT_PKTS)
    this.portCounters.inc(Counter.SENT_PKTS)
    this.port?.transmit(this.txBuf, off, len)
  }

  /** Frames from the port. Not re-entrant: a frame that arrives while one is processed is dropped and counted. */
  receive(frame: Uint8Array, off: number, len: number): void {
    if (this.inReceive) {
      this.drops.inc('reentrant_receive')
      return
    }
    this.inReceive = true
    try {
      if (frame !== this.rxFrame) this.rxFrame = Buffer.isBuffer(frame) ? frame : Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength)
      this.rxOff = off
      rxeRcv(this, this.rxFrame, off, len)
    } catch (e) {
      this.engineFault(this.qps.get(this.rxPkt.destQp), e)
    } finally {
      this.inReceive = false
    }
  }

  /** Do pending work without blocking: doorbells, timers, requesters. Returns the amount of work done. */
  poll(budget = 256): number {
    this.inPoll = true
    try {
      return this.pollInner(budget)
    } finally {
      this.inPoll = false
    }
  }

  /**
   * Inside poll(), receive() or a MAD send: a frame for this RNIC must be queued, not delivered re-entrantly.
   * A MAD send is the one transmit outside poll(): without it a cut-through answer (DREP to a DREQ) would reach
   * the sending CM agent before its own step had finished (ib_post_send on QP1 never completes synchronously).
   */
  busy(): boolean {
    return this.inPoll || this.inReceive || this.inMadSend
  }

  private pollInner(budget: number): number {
    let work = 0
    const db = Atomics.load(this.doorbell, 0)
    if (db !== this.lastDoorbell) {
      this.lastDoorbell = db
      work++
      for (const qp of this.qpList) {
        if (qp.state === QpState.ERR) {
          if (qp.sqProducer() !== qp.compIndex) flushSq(this, qp)
          if (qp.rqProducer() !== qp.rqIndex) flushRq(this, qp)
        } else if (qp.sqProducer() !== qp.reqIndex) {
          qp.reqPending = true
        }
      }
    }
    const now = this.clock.now()
    for (const qp of this.qpList) {
      if (qp.rateDeadline <= now) {
        qp.rateDeadline = Infinity
        qp.reqPending = true
      }
      if (qp.rnrDeadline <= now) {
        // rnr_nak_timer: go back to the NAKed PSN and resend
        qp.rnrDeadline = Infinity
        qp.waitForRnrTimer = false
        qp.needRetry = true
        qp.reqPending = true
        work++
      }
      if (qp.retransDeadline <= now) {
        qp.retransDeadline = Infinity
        qp.timeoutRetry = true
        work++
        completer(this, qp, null)
      }
    }
    for (const qp of this.qpList) {
      if (qp.reqPending) {
        qp.reqPending = false
        this.reqBudget = budget
        this.reqWork = 0
        try {
          qp.reqTask.run()
          work += this.reqWork
        } catch (e) {
          this.engineFault(qp, e)
        }
      }
    }
    return work
  }

  /** When poll() has something to do next: now if work is pending, a timer deadline, or Infinity. */
  nextDeadline(): number {
    if (Atomics.load(this.doorbell, 0) !== this.lastDoorbell) return this.clock.now()
    let d = Infinity
    for (const qp of this.qpList) {
      if (qp.reqPending) return this.clock.now()
      if (qp.retransDeadline < d) d = qp.retransDeadline
      if (qp.rnrDeadline < d) d = qp.rnrDeadline
      if (qp.rateDeadline < d) d = qp.rateDeadline
    }
    return d
  }
}
