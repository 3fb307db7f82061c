// One switch port direction as a queueing model: DSCP classification into strict-priority queues with per-queue
// byte limits (tail drop), a scheduler paced at the link rate, then propagation delay (+ jitter) before the frame
// is handed to `next`. Used for the host's uplink (egress.ts) and for the switch's downlink toward a host
// (downlink.ts). Process-free: time comes from an injected Clock, and the port keeps at most one armed timer.
//
// Timeline of a frame: it waits in its queue until the link is free and no higher priority waits; serialisation
// takes len*8/rate ns (Ethernet preamble/IFG/FCS are not counted: the frames are what a pcap shows); it is
// delivered `delayNs` (+ jitter) after its last bit left. Delivery keeps departure order (jitter never reorders,
// like netem with a rate; reordering is impair.ts's job).

import {type Clock, Timer} from './clock.js'
import {frameDscp, markCe} from './dscp.js'
import {FrameRing} from './frame-ring.js'

export interface FrameSink {
  transmit(frame: Uint8Array, off: number, len: number): void
}

export interface PortOptions {
  clock: Clock
  next: FrameSink
  /** Link rate in bits per second; 0 = infinitely fast (no serialisation time). */
  rateBps: number
  delayNs: number
  /** Number of strict-priority queues; queue 0 is served first. */
  priorities: number
  /** Priority per DSCP value (length 64); values are clamped to the last queue. */
  dscpPriority: readonly number[]
  /** Total buffer, split equally between the queues (see queueBytes). */
  bufferBytes: number
  /** Per-queue byte limits, overriding the equal split of bufferBytes. */
  queueBytes?: readonly number[]
  /**
   * How far ahead of the link the scheduler may commit frames (bytes at the link rate). 0 = exact pacing; larger
   * values let one wake-up send several frames (the real-time clock wakes every few µs), at the price of that much
   * extra head-of-line wait for a higher-priority frame. Default 16 KiB.
   */
  burstBytes?: number
  /** Largest frame accepted; larger ones are dropped and counted as oversize. Default 9216 (jumbo). */
  maxFrameBytes?: number
  /**
   * ECN step marking: a frame queued behind more than this many bytes of its class leaves with CE set if it is
   * ECN-capable (the single-threshold marking DCQCN deployments configure as RED min = max). Off when undefined.
   */
  ecnMarkBytes?: number
  /** Extra delay per frame in ns (impair.ts), sampled once per frame. */
  jitter?: () => number
}

export interface QueueCounters {
  enqueuedFrames: number
  enqueuedBytes: number
  droppedFrames: number
  droppedBytes: number
  sentFrames: number
  sentBytes: number
  /** Peak queued bytes. */
  peakBytes: number
  /** Frames marked CE. */
  ecnMarked: number
}

export interface PortCounters {
  queues: QueueCounters[]
  oversize: number
  deliveredFrames: number
  deliveredBytes: number
}

export const DEFAULT_MAX_FRAME = 9216
export const DEFAULT_BURST_BYTES = 16 * 1024
const MIN_FRAME = 60 // Ethernet minimum without FCS: bounds the number of frames a byte limit can hold

export class Port implements FrameSink {
  readonly counters: PortCounters
  private readonly clock: Clock
  private readonly next: FrameSink
  private readonly nsPerByte: number
  private readonly delayNs: number
  private readonly burstNs: number
  private readonly maxFrame: number
  private readonly jitter: (() => number) | undefined
  private readonly ecnMarkBytes: number
  private readonly prioOf: Uint8Array // DSCP -> queue
  private readonly limits: number[]
  private readonly queues: FrameRing[]
  private readonly inFlight: FrameRing // frames serialised, waiting out the propagation delay; tag = delivery time
  private readonly timer: Timer
  private busyUntil = 0 // when the link finishes the last committed frame
  private lastDelivery = 0
  private queued = 0 // frames in all queues
  private servicing = false

  constructor(o: PortOptions) {
    if (o.priorities < 1 || o.priorities > 8) throw new RangeError(`priorities must be 1..8, got ${o.priorities}`)
    this.clock = o.clock
    this.next = o.next
    this.nsPerByte = o.rateBps > 0 ? 8e9 / o.rateBps : 0
    this.delayNs = o.delayNs
    this.burstNs = (o.burstBytes ?? DEFAULT_BURST_BYTES) * this.nsPerByte
    this.maxFrame = o.maxFrameBytes ?? DEFAULT_MAX_FRAME
    this.jitter = o.jitter
    this.ecnMarkBytes = o.ecnMarkBytes ?? Infinity
    this.prioOf = new Uint8Array(64)
    for (let d = 0; d < 64; d++) this.prioOf[d] = Math.min(Math.max(0, o.dscpPriority[d] ?? o.priorities - 1), o.priorities - 1)
    this.limits = []
    this.queues = []
    const queues: QueueCounters[] = []
    for (let p = 0; p < o.priorities; p++) {
      const limit = o.queueBytes?.[p] ?? Math.floor(o.bufferBytes / o.priorities)
      this.limits.push(limit)
      // limit + one frame of slack covers the wasted tail gap when a frame wraps (frame-ring.ts)
      this.queues.push(new FrameRing(limit + this.maxFrame, Math.min(4096, Math.ceil(limit / MIN_FRAME) + 2), true))
      queues.push({enqueuedFrames: 0, enqueuedBytes: 0, droppedFrames: 0, droppedBytes: 0, sentFrames: 0, sentBytes: 0, peakBytes: 0, ecnMarked: 0})
    }
    const inFlightBytes = o.rateBps > 0 ? Math.ceil((o.rateBps / 8e9) * this.delayNs) : 0
    this.inFlight = new FrameRing(inFlightBytes + 4 * this.maxFrame, 256, true)
    this.counters = {queues, oversize: 0, deliveredFrames: 0, deliveredBytes: 0}
    this.timer = new Timer((now) => this.service(now))
  }

  /** Priority queue a frame goes to. */
  classify(frame: Uint8Array, off: number, len: number): number {
    return this.prioOf[frameDscp(frame, off, len)]!
  }

  /** Frames waiting in the queues plus frames in flight. */
  get backlogFrames(): number {
    return this.queued + this.inFlight.count
  }

  queuedBytes(priority: number): number {
    return this.queues[priority]?.bytes ?? 0
  }

  /** Whether a frame of `len` bytes at `priority` would be queued now rather than tail-dropped (backpressure). */
  canAccept(priority: number, len: number): boolean {
    const q = this.queues[priority]
    return q !== undefined && q.bytes + len <= this.limits[priority]!
  }

  /** Take a frame (copied if it has to wait: callers reuse their buffers). */
  transmit(frame: Uint8Array, off: number, len: number): void {
    if (len <= 0 || len > this.maxFrame) {
      this.counters.oversize++
      return
    }
    const p = this.classify(frame, off, len)
    const c = this.counters.queues[p]!
    const q = this.queues[p]!
    if (q.bytes + len > this.limits[p]!) {
      c.droppedFrames++
      c.droppedBytes += len
      return
    }
    c.enqueuedFrames++
    c.enqueuedBytes += len
    const now = this.clock.now()
    if (this.queued === 0 && !this.servicing && this.busyUntil <= now + this.burstNs) {
      // cut-through: nothing waits and the link is free, so the frame goes straight to the link (no queue copy)
      c.sentFrames++
      c.sentBytes += len
      this.servicing = true
      this.depart(frame, off, len, now)
      this.servicing = false
      this.rearm(now)
      return
    }
    // the bytes ahead of this frame decide the mark; the queue's copy is marked, never the caller's buffer
    const ahead = q.bytes
    q.push(frame, off, len, now) // tag = arrival time (see depart)
    if (ahead > this.ecnMarkBytes && markCe(q.buf, q.lastOff, len)) c.ecnMarked++
    this.queued++
    if (q.bytes > c.peakBytes) c.peakBytes = q.bytes
    if (!this.servicing) this.service(now)
  }

  /** Serve queues and deliver due frames; the timer's callback. */
  private service(now: number): void {
    this.servicing = true
    this.release(now)
    while (this.queued > 0 && this.busyUntil <= now + this.burstNs) {
      let p = 0
      while (this.queues[p]!.count === 0) p++
      const q = this.queues[p]!
      const len = q.frontLen
      const c = this.counters.queues[p]!
      c.sentFrames++
      c.sentBytes += len
      this.depart(q.buf, q.frontOff, len, now, q.frontTag)
      q.pop()
      this.queued--
    }
    this.release(now)
    this.servicing = false
    this.rearm(now)
  }

  /**
   * Put a frame on the link: its delivery time follows from the link's schedule. A queued frame starts when the
   * link finished the previous one or when it arrived, whichever is later, even if that is in the past: a real-time
   * clock's wake-up can come milliseconds late (a descheduled thread on a loaded machine), and a backlogged link
   * was busy all that time, so the model catches up instead of losing link time. With punctual timers (virtual
   * time) this is the same as starting at `now`.
   */
  private depart(buf: Uint8Array, off: number, len: number, now: number, arrived = now): void {
    const start = this.busyUntil > arrived ? this.busyUntil : arrived
    this.busyUntil = start + len * this.nsPerByte
    let at = this.busyUntil + this.delayNs
    if (this.jitter) at += this.jitter()
    if (at < this.lastDelivery) at = this.lastDelivery
    this.lastDelivery = at
    if (at <= now && this.inFlight.count === 0) this.deliver(buf, off, len)
    else this.inFlight.push(buf, off, len, at)
  }

  private release(now: number): void {
    const f = this.inFlight
    while (f.count > 0 && f.frontTag <= now) {
      this.deliver(f.buf, f.frontOff, f.frontLen)
      f.pop()
    }
  }

  private deliver(buf: Uint8Array, off: number, len: number): void {
    this.counters.deliveredFrames++
    this.counters.deliveredBytes += len
    this.next.transmit(buf, off, len)
  }

  private rearm(now: number): void {
    let wake = Infinity
    if (this.queued > 0) wake = this.busyUntil - this.burstNs
    if (this.inFlight.count > 0 && this.inFlight.frontTag < wake) wake = this.inFlight.frontTag
    if (wake === Infinity) {
      if (this.timer.armed) this.clock.cancel(this.timer)
    } else {
      this.clock.arm(this.timer, wake > now ? wake : now)
    }
  }
}
