// FreeFlow's software relay (NSDI'19 §4, DESIGN §2): in freeflow mode a VM never touches the RNIC's queues. It
// writes WQEs into shadow SQ/RQ rings and rings a shadow doorbell; this relay, on the host's main thread (the
// backend), copies each WQE into the RNIC's real ring and rings the real doorbell. The RNIC posts completions into
// the real CQ, whose notify wakes this thread, which copies each CQE into the VM's shadow CQ. So every data verb
// pays two thread hand-offs per direction (VM -> backend -> RNIC, RNIC -> backend -> VM) instead of one: the cost
// is the real extra hop, nothing is injected. Shadow and real rings have the same geometry and their counters run
// in lockstep (slot i of the shadow goes to slot i of the real ring), so the RNIC sees exactly what the VM wrote.
import {QpState, SendFlags, WcOpcode} from '../rdma-constants.js'
import * as Q from '../rnic/queue.js'

interface AtomicsWaitAsync {
  waitAsync(a: Int32Array, i: number, v: number, t?: number): {async: false; value: string} | {async: true; value: Promise<string>}
}
const waitAsync = (Atomics as unknown as AtomicsWaitAsync).waitAsync.bind(Atomics)

export interface RelayStats {
  /** Shadow doorbells the relay answered (one drain of every shadow SQ/RQ each). */
  doorbellsRelayed: number
  /** Send and receive WQEs copied from a shadow ring into the RNIC's ring. */
  wqesRelayed: number
  /** CQEs copied from the RNIC's CQ into the VM's shadow CQ. */
  cqesRelayed: number
}

interface QpRelay {
  qpn: number
  sq: Q.Ring // real
  rq: Q.Ring
  ssq: Q.Ring // shadow (the VM's)
  srq: Q.Ring
  sqSigAll: boolean
  /** Send-queue counters of relayed WQEs that will complete with a CQE (signalled), oldest first. */
  signalled: number[]
  sigHead: number
}

interface CqRelay {
  real: Q.Ring
  shadow: Q.Ring
  closed: boolean
  retry: NodeJS.Timeout | undefined
}

/** Copy `words` uint32 words of slot `at` from one ring to the other (same geometry): no allocation per WQE. */
function copySlot(from: Uint32Array, to: Uint32Array, at: number, words: number): void {
  for (let i = 0; i < words; i++) to[at + i] = from[at + i]!
}

const isRecvCqe = (opcode: number) => opcode === WcOpcode.RECV || opcode === WcOpcode.RECV_RDMA_WITH_IMM

export class DataRelay {
  readonly stats: RelayStats = {doorbellsRelayed: 0, wqesRelayed: 0, cqesRelayed: 0}
  /** The doorbell the VM rings (word 0) instead of the RNIC's. */
  readonly shadowDoorbell = new Int32Array(new SharedArrayBuffer(Q.DOORBELL_WORDS * 4))
  private readonly qps = new Map<number, QpRelay>()
  private readonly cqs = new Map<number, CqRelay>()
  private closed = false

  constructor(private readonly doorbell: Int32Array) {
    this.armDoorbell(0)
  }

  /** A new CQ: the VM gets a shadow ring of the same geometry; the RNIC's ring notifies this thread on every CQE. */
  addCq(key: number, realSab: SharedArrayBuffer): SharedArrayBuffer {
    const real = new Q.Ring(realSab)
    const shadow = Q.Ring.create(real.size, real.slotWords)
    const c: CqRelay = {real, shadow, closed: false, retry: undefined}
    this.cqs.set(key, c)
    this.armCq(c) // cq.ts notifies the producer word while the ring's flags word is set
    return shadow.sab
  }

  removeCq(key: number): void {
    const c = this.cqs.get(key)
    if (!c) return
    this.cqs.delete(key)
    this.stopCq(c)
  }

  /** A new QP: shadow SQ/RQ for the VM, same geometry as the RNIC's rings. */
  addQp(qpn: number, sqSab: SharedArrayBuffer, rqSab: SharedArrayBuffer, sqSigAll: boolean): {sq: SharedArrayBuffer; rq: SharedArrayBuffer} {
    const sq = new Q.Ring(sqSab)
    const rq = new Q.Ring(rqSab)
    const q: QpRelay = {qpn, sq, rq, ssq: Q.Ring.create(sq.size, sq.slotWords), srq: Q.Ring.create(rq.size, rq.slotWords), sqSigAll,
      signalled: [], sigHead: 0}
    this.qps.set(qpn, q)
    return {sq: q.ssq.sab, rq: q.srq.sab}
  }

  removeQp(qpn: number): void {
    this.qps.delete(qpn)
  }

  /** modify_qp to a state: RESET empties the RNIC's rings (rxe_qp_reset), so the shadows restart too. */
  modified(qpn: number, state: number): void {
    const q = this.qps.get(qpn)
    if (!q || state !== QpState.RESET) return
    q.ssq.reset()
    q.srq.reset()
    q.signalled.length = 0
    q.sigHead = 0
  }

  /**
   * Move every WQE the VM posted since the last drain into the RNIC's rings, then ring the real doorbell once.
   * Returns the number of WQEs moved.
   */
  drainPosts(): number {
    let moved = 0
    for (const q of this.qps.values()) {
      moved += this.moveSends(q)
      moved += this.moveRing(q.srq, q.rq)
    }
    if (moved) {
      this.stats.wqesRelayed += moved
      Q.ringDoorbell(this.doorbell)
    }
    return moved
  }

  private moveSends(q: QpRelay): number {
    const from = q.ssq
    const to = q.sq
    const start = to.producer()
    const end = from.producer()
    const u = from.u32
    for (let c = start; c !== end; c = (c + 1) >>> 0) {
      const s = from.slot(c)
      copySlot(u, to.u32, s, from.slotWords)
      if (q.sqSigAll || (u[s + Q.SQ_FLAGS]! & SendFlags.SIGNALED) !== 0) q.signalled.push(c)
    }
    if (start !== end) to.publish(end)
    // WQEs the RNIC retired (flushes, unsignalled ones before a signalled one) free their shadow slots too
    const done = to.consumer()
    if (((done - from.consumer()) | 0) > 0) from.release(done)
    return (end - start) >>> 0
  }

  private moveRing(from: Q.Ring, to: Q.Ring): number {
    const start = to.producer()
    const end = from.producer()
    for (let c = start; c !== end; c = (c + 1) >>> 0) copySlot(from.u32, to.u32, from.slot(c), from.slotWords)
    if (start !== end) to.publish(end)
    // the RNIC releases a receive WQE before it posts its CQE (rxe_resp.c): mirroring here is never late
    Atomics.store(from.i32, Q.RING_CONSUMER, Atomics.load(to.i32, Q.RING_CONSUMER))
    return (end - start) >>> 0
  }

  /**
   * Move the CQEs the RNIC posted into the VM's shadow CQ (as many as fit; the rest wait in the RNIC's ring, whose
   * overflow is then the RNIC's, as in rxe). Before the VM can see a send completion, the shadow SQ's consumer
   * covers that WQE: the VM may reuse the slot as soon as it reaps the CQE, as it may on the RNIC's own ring.
   */
  drainCq(c: CqRelay): number {
    const {real, shadow} = c
    let rc = real.consumer()
    const rp = real.producer()
    let sp = shadow.producer()
    const room = shadow.size - ((sp - shadow.consumer()) >>> 0)
    let n = 0
    const ru = real.u32
    while (rc !== rp && n < room) {
      const s = real.slot(rc)
      const d = shadow.slot(sp)
      for (let i = 0; i < Q.CQE_WORDS; i++) shadow.u32[d + i] = ru[s + i]!
      this.retire(ru[s + Q.CQE_QP_NUM]!, ru[s + Q.CQE_OPCODE]!, ru[s + Q.CQE_STATUS]!)
      rc = (rc + 1) >>> 0
      sp = (sp + 1) >>> 0
      n++
    }
    if (!n) return 0
    real.release(rc)
    for (const q of this.qps.values()) Atomics.store(q.srq.i32, Q.RING_CONSUMER, Atomics.load(q.rq.i32, Q.RING_CONSUMER))
    shadow.publish(sp)
    if (Atomics.load(shadow.i32, Q.RING_FLAGS) !== 0) Atomics.notify(shadow.i32, Q.RING_PRODUCER) // as cq.ts
    this.stats.cqesRelayed += n
    if (rc !== rp && !c.retry) c.retry = setTimeout(() => { // the VM's CQ was full: try again once it polled
      c.retry = undefined
      if (!c.closed) this.drainCq(c)
    }, 1)
    return n
  }

  /** A CQE of QP `qpn` was relayed: free the shadow SQ slots it retires (rxe completes a QP's WQEs in order). */
  private retire(qpn: number, opcode: number, status: number): void {
    const q = this.qps.get(qpn)
    if (!q) return
    if (isRecvCqe(opcode)) return // receive slots are mirrored from the RNIC's consumer (released first)
    let done = Atomics.load(q.sq.i32, Q.RING_CONSUMER) >>> 0
    if (status === 0 && q.sigHead < q.signalled.length) {
      const c = (q.signalled[q.sigHead++]! + 1) >>> 0
      if (((c - done) | 0) > 0) done = c
      if (q.sigHead > 64 && q.sigHead * 2 > q.signalled.length) {
        q.signalled.splice(0, q.sigHead)
        q.sigHead = 0
      }
    }
    if (((done - q.ssq.consumer()) | 0) > 0) q.ssq.release(done)
  }

  private armDoorbell(seen: number): void {
    const db = this.shadowDoorbell
    for (;;) {
      if (this.closed) return
      const r = waitAsync(db, 0, seen)
      if (r.async) {
        void r.value.then(() => this.armDoorbell(this.onDoorbell()))
        return
      }
      seen = this.onDoorbell()
    }
  }

  private onDoorbell(): number {
    const now = Atomics.load(this.shadowDoorbell, 0)
    if (this.closed) return now
    this.stats.doorbellsRelayed++
    this.drainPosts()
    return now
  }

  private armCq(c: CqRelay): void {
    for (;;) {
      if (c.closed || this.closed) return
      // armed on every pass, not once: a one-shot notify (ibv_req_notify_cq semantics) must not lose us
      Atomics.store(c.real.i32, Q.RING_FLAGS, 1)
      const seen = c.real.producer()
      this.drainCq(c)
      const r = waitAsync(c.real.i32, Q.RING_PRODUCER, seen | 0)
      if (r.async) {
        void r.value.then(() => this.armCq(c))
        return
      }
    }
  }

  private stopCq(c: CqRelay): void {
    c.closed = true
    clearTimeout(c.retry)
    Atomics.notify(c.real.i32, Q.RING_PRODUCER) // release our pending wait; the ring's value is untouched
  }

  close(): void {
    this.closed = true
    for (const c of this.cqs.values()) this.stopCq(c)
    this.cqs.clear()
    this.qps.clear()
    Atomics.add(this.shadowDoorbell, 0, 1) // release the pending wait
    Atomics.notify(this.shadowDoorbell, 0)
  }
}
