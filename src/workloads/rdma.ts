// Helpers every rdma_cm workload needs, on the public API only: an event demultiplexer over one event channel
// (several ids share a listener's channel), the librdmacm connect / listen / accept sequences (rdma_cm.7),
// completion polling that yields to the event loop, and the {addr, rkey} private-data blob RDMA apps exchange.
import type {CmId, EventChannel, RdmaCm, RdmaCmEvent} from '../cm/rdma-cm.js'
import {CmEvent, WC_STATUS_STR, WcStatus} from '../rdma-constants.js'
import {InProcessChannel} from '../verbs/channel.js'
import type {Cq, Mr, Pd, Qp, Wc} from '../verbs/index.js'
import {requireCm, waitCq, type WorkloadVm} from './api.js'

export const EVENT_NAMES = Object.fromEntries(Object.entries(CmEvent).map(([k, v]) => [v, k])) as Record<number, string>
export const WC_NAMES = Object.fromEntries(Object.entries(WcStatus).map(([k, v]) => [v, k])) as Record<number, string>

/** Default perftest port (rdma_cm service 0x0000000001064853). */
export const DEFAULT_PORT = 18515

export class CmError extends Error {
  constructor(message: string, readonly event?: RdmaCmEvent) {
    super(message)
  }
}

/** Events of one channel, fetched in order; `next` takes the first that matches and keeps the others for later. */
export class CmEvents {
  private readonly held: RdmaCmEvent[] = []
  private pending: Promise<RdmaCmEvent> | undefined

  // the CM engine owns a copy of every received MAD, so an event's private data stays valid (cm-engine receive)
  constructor(readonly cm: RdmaCm, readonly channel: EventChannel) {}

  async next(match: (e: RdmaCmEvent) => boolean, what: string, timeoutMs = 30_000): Promise<RdmaCmEvent> {
    const end = Date.now() + timeoutMs
    for (;;) {
      const i = this.held.findIndex(match)
      if (i >= 0) return this.held.splice(i, 1)[0]!
      const left = end - Date.now()
      if (left <= 0) throw new CmError(`timed out after ${timeoutMs} ms waiting for ${what}`)
      // one rdma_get_cm_event outstanding at a time, so a timed-out wait never swallows a later event; several
      // waiters share it, and only the first to wake files the event (the others find it among the held ones)
      const pending = (this.pending ??= this.cm.getCmEvent(this.channel))
      let timer: NodeJS.Timeout | undefined
      const e = await Promise.race([pending, new Promise<undefined>((r) => (timer = setTimeout(() => r(undefined), left)))])
      clearTimeout(timer)
      if (!e || this.pending !== pending) continue
      this.pending = undefined
      this.cm.ackCmEvent(e)
      this.held.push(e)
    }
  }

  /** The next event for `id` (or a CONNECT_REQUEST on listener `id`); it must be `event`, else a CmError. */
  async expect(id: CmId, event: number, timeoutMs?: number): Promise<RdmaCmEvent> {
    const e = await this.next((x) => x.id === id || x.listenId === id, `${EVENT_NAMES[event]}`, timeoutMs)
    if (e.event !== event) {
      throw new CmError(`expected RDMA_CM_EVENT_${EVENT_NAMES[event]}, got RDMA_CM_EVENT_${e.name} (status ${e.status})`, e)
    }
    return e
  }
}

export interface QpCaps {maxSendWr?: number; maxRecvWr?: number; maxSendSge?: number; maxRecvSge?: number; maxInlineData?: number}

export interface Connection {
  id: CmId
  qp: Qp
  events: CmEvents
  /** The peer's private data (REP on the active side, REQ on the passive side). */
  privateData: Uint8Array  /** The peer disconnected before this (passive) side saw ESTABLISHED: DISCONNECTED was already delivered. */
  disconnected?: boolean
}

/**
 * Active side (rdma_cm.7): resolve_addr → ADDR_RESOLVED, resolve_route → ROUTE_RESOLVED, create_qp, connect →
 * ESTABLISHED. The QP is RC for RDMA_PS_TCP.
 */
export async function connect(vm: WorkloadVm, o: {ip: string; port?: number; pd: Pd; sendCq: Cq; recvCq: Cq; cap?: QpCaps;
  privateData?: Uint8Array; responderResources?: number; initiatorDepth?: number; timeoutMs?: number; events?: CmEvents}): Promise<Connection> {
  const cm = requireCm(vm)
  const events = o.events ?? new CmEvents(cm, cm.createEventChannel())
  const id = cm.createId(events.channel, null)
  try {
    id.resolveAddr(undefined, {ip: o.ip, port: o.port ?? DEFAULT_PORT})
    await events.expect(id, CmEvent.ADDR_RESOLVED, o.timeoutMs)
    id.resolveRoute()
    await events.expect(id, CmEvent.ROUTE_RESOLVED, o.timeoutMs)
    const qp = await id.createQp(o.pd, {sendCq: o.sendCq, recvCq: o.recvCq, cap: o.cap})
    await id.connect({privateData: o.privateData, responderResources: o.responderResources ?? 4,
      initiatorDepth: o.initiatorDepth ?? 4, retryCount: 7, rnrRetryCount: 7})
    const est = await events.expect(id, CmEvent.ESTABLISHED, o.timeoutMs)
    return {id, qp, events, privateData: est.param.conn.privateData}
  } catch (err) {
    id.destroy()
    throw err
  }
}

export interface Listener {id: CmId; events: CmEvents; port: number}

/** Passive side: bind_addr + listen on this VM's address. */
export function listen(vm: WorkloadVm, port = DEFAULT_PORT, backlog = 64, ps?: number): Listener {
  const cm = requireCm(vm)
  const events = new CmEvents(cm, cm.createEventChannel())
  const id = cm.createId(events.channel, null, ps)
  id.bindAddr({ip: vm.ip, port})
  id.listen(backlog)
  return {id, events, port}
}

/** Take the next CONNECT_REQUEST, give it a QP, accept, wait for ESTABLISHED. `beforeAccept` may post receives. */
export async function accept(l: Listener, o: {pd: Pd; sendCq: Cq; recvCq: Cq; cap?: QpCaps; privateData?: Uint8Array;
  timeoutMs?: number; beforeAccept?: (qp: Qp) => void}): Promise<Connection> {
  const req = await l.events.expect(l.id, CmEvent.CONNECT_REQUEST, o.timeoutMs)
  const privateData = req.param.conn.privateData
  const id = req.id
  try {
    const qp = await id.createQp(o.pd, {sendCq: o.sendCq, recvCq: o.recvCq, cap: o.cap})
    o.beforeAccept?.(qp)
    await id.accept({privateData: o.privateData})
    // When the RTU is lost, the active side may already have used the connection and disconnected before our
    // REP retry brings the RTU: its DREQ then ends the id in REP_SENT, and rdma_cm reports DISCONNECTED without
    // ESTABLISHED (cm.c cm_dreq_handler accepts a DREQ in REP_SENT; cma_ib_handler). The connection still was.
    const e = await l.events.next((x) => x.id === id, 'ESTABLISHED', o.timeoutMs)
    if (e.event === CmEvent.DISCONNECTED) return {id, qp, events: l.events, privateData, disconnected: true}
    if (e.event !== CmEvent.ESTABLISHED) {
      throw new CmError(`expected RDMA_CM_EVENT_ESTABLISHED, got RDMA_CM_EVENT_${e.name} (status ${e.status})`, e)
    }
    return {id, qp, events: l.events, privateData}
  } catch (err) {
    id.destroy()
    throw err
  }
}

/** rdma_disconnect on our side, or wait for the peer's; then destroy the QP and the id. */
export async function disconnect(c: Connection, initiate: boolean, timeoutMs = 30_000): Promise<void> {
  if (!c.disconnected) {
    if (initiate) await c.id.disconnect()
    await c.events.expect(c.id, CmEvent.DISCONNECTED, timeoutMs)
  }
  await c.qp.destroy()
  c.id.destroy()
}

/**
 * Wait a little for the CQ: yield to the event loop while work is recent (in-process RNICs run on this loop),
 * else sleep on the CQ's notification (ibv_req_notify_cq) with a short timeout.
 */
export async function idleCq(cq: Cq, idleSinceMs: number): Promise<void> {
  if (performance.now() - idleSinceMs < 2) await new Promise((r) => setImmediate(r))
  else await cq.wait(5)
}

/**
 * Sleep on the CQ until a completion arrives or `timeoutMs` passes (ibv_req_notify_cq + ibv_get_cq_event), freeing
 * the core for the RNIC threads. A lab VM blocks its thread (Atomics.wait: the RNIC's notify wakes it with one futex
 * wake, no event-loop turn, and no setImmediate spin competes with the RNIC threads for a small machine's cores);
 * with an in-process RNIC, whose engine runs on this very event loop, it yields to the loop instead.
 */
export function sleepCq(cq: Cq, timeoutMs: number): Promise<unknown> | undefined {
  if (cq.ctx.channel instanceof InProcessChannel) return cq.wait(timeoutMs)
  waitCq(cq.ring, timeoutMs)
  return undefined
}

/** Poll until `n` completions arrived (sleeping on the CQ between polls); any status but SUCCESS throws. */
export async function pollCq(cq: Cq, n: number, what: string, timeoutMs = 30_000): Promise<Wc[]> {
  const out: Wc[] = []
  const end = Date.now() + timeoutMs
  const since = performance.now()
  while (out.length < n) {
    const got = cq.poll(n - out.length)
    for (const wc of got) checkWc(wc, what)
    out.push(...got)
    if (out.length >= n) break
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (${out.length}/${n} completions)`)
    await idleCq(cq, since)
  }
  return out
}

export function checkWc(wc: Wc, what: string): void {
  if (wc.status !== WcStatus.SUCCESS) {
    throw new Error(`${what}: work completion IBV_WC_${WC_NAMES[wc.status] ?? wc.status} (${wc.status}, "${WC_STATUS_STR[wc.status] ?? ''}") for wr_id ${wc.wrId}`)
  }
}

/** Resolves once `done()` holds; checks it in short bursts and yields to the event loop in between. */
export async function waitUntil(done: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs
  for (;;) {
    for (let i = 0; i < 200; i++) if (done()) return
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((r) => setImmediate(r))
  }
}

/** The 12-byte blob {u64 addr, u32 rkey} (big-endian) a peer needs for one-sided access to an MR. */
export function encodeRemote(mr: Mr, offset = 0): Uint8Array {
  const b = new Uint8Array(12)
  const v = new DataView(b.buffer)
  v.setBigUint64(0, mr.addr + BigInt(offset))
  v.setUint32(8, mr.rkey)
  return b
}

export function decodeRemote(b: Uint8Array): {remoteAddr: bigint; rkey: number} {
  if (b.length < 12) throw new Error(`private data too short for {addr, rkey}: ${b.length} bytes`)
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength)
  return {remoteAddr: v.getBigUint64(0), rkey: v.getUint32(8)}
}

/** Rendezvous key of this run. */
export function runKey(vm: WorkloadVm, ...parts: Array<string | number>): string {
  return [vm.runId, ...parts].join('/')
}

/** The name of the other VM of a pair (client ↔ server). */
export function peerName(vm: WorkloadVm): string {
  const other = vm.members.find((m) => m !== vm.vm.name)
  if (!other) throw new Error('this workload needs a peer VM (--peer)')
  return other
}

export function peerIp(vm: WorkloadVm, name = peerName(vm)): string {
  const ip = vm.peers[name]
  if (!ip) throw new Error(`no address for VM ${name}`)
  return ip
}

export function numOpt(o: Record<string, unknown>, k: string, def: number): number {
  const v = o[k]
  if (v === undefined || v === null || v === '') return def
  const n = Number(v)
  if (!Number.isFinite(n)) throw new Error(`option ${k}: not a number (${String(v)})`)
  return n
}
