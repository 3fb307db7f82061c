// The RNIC's network port, and LoopbackFabric: several in-process RNICs joined by one switch that routes on the
// destination IPv4 address, with seeded impairments (loss, duplication, reordering, delay) and a frame tap.
// transmit() receives the engine's reused encode buffer, so the fabric copies every frame it queues.

import type {Clock} from './clock.js'
import {realClock} from './clock.js'
import type {Rnic} from './rnic.js'

export interface Port {
  transmit(frame: Uint8Array, off: number, len: number): void
}

/** mulberry32: small, fast, seedable; good enough for impairment decisions. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

export interface Impairments {
  loss?: number // probability a frame is dropped
  duplicate?: number // probability a frame is delivered twice
  reorder?: number // probability a frame is held back behind later ones
  reorderDelayUs?: number // how long a reordered frame is held (default 50 us)
  delayUs?: number // one-way delay of every frame
}

export type FrameTap = (frame: Uint8Array, off: number, len: number, timeUs: number) => void

export interface FabricOptions {
  seed?: number
  impairments?: Impairments
  clock?: Clock
  tap?: FrameTap
  /** Test hook: return true to drop this frame (applied before impairments). */
  filter?: (frame: Uint8Array, off: number, len: number) => boolean
  /** Deliver directly to an idle receiver when nothing is queued and no impairment applies (default true). */
  cutThrough?: boolean
}

const MAX_FRAME = 4096 + 256
const DST_IP_OFF = 14 + 16

class Slot {
  readonly buf = Buffer.alloc(MAX_FRAME)
  len = 0
  at = 0
}

export class LoopbackFabric {
  impairments: Impairments
  readonly clock: Clock
  tap: FrameTap | undefined
  filter: FabricOptions['filter']
  cutThroughOn: boolean
  readonly stats = {sent: 0, delivered: 0, lost: 0, duplicated: 0, reordered: 0, filtered: 0, unroutable: 0}
  private readonly random: () => number
  private readonly routes = new Map<number, Rnic>()
  private readonly nics: Rnic[] = []
  private readonly free: Slot[] = []
  private queue: Slot[] = []
  private head = 0

  constructor(opts: FabricOptions = {}) {
    this.random = mulberry32(opts.seed ?? 1)
    this.impairments = opts.impairments ?? {}
    this.clock = opts.clock ?? realClock
    this.tap = opts.tap
    this.filter = opts.filter
    this.cutThroughOn = opts.cutThrough ?? true
  }

  /** Connect an RNIC: its GIDs become routes to it and its port transmits into the fabric. */
  attach(nic: Rnic): Port {
    this.nics.push(nic)
    const port: Port = {transmit: (f, o, l) => this.transmit(f, o, l, nic)}
    nic.setPort(port)
    return port
  }

  /**
   * Cut-through: with no impairments, no delay and nothing queued, a frame goes straight to an idle receiver
   * (not the sender, not one already inside poll/receive), which saves the copy into a slot. Order is kept
   * because anything queued forces the queued path.
   */
  private cutThrough(frame: Uint8Array, off: number, len: number, from: Rnic | undefined): boolean {
    if (!this.cutThroughOn || this.head < this.queue.length || frame.length < off + DST_IP_OFF + 4) return false
    const im = this.impairments
    if (im.loss || im.duplicate || im.reorder || im.delayUs) return false
    const dst = this.route(((frame[off + DST_IP_OFF]! << 24) | (frame[off + DST_IP_OFF + 1]! << 16) |
      (frame[off + DST_IP_OFF + 2]! << 8) | frame[off + DST_IP_OFF + 3]!) >>> 0)
    if (!dst || dst === from || dst.busy()) return false
    this.stats.delivered++
    dst.receive(frame, off, len)
    return true
  }

  private route(ip: number): Rnic | undefined {
    let nic = this.routes.get(ip)
    if (nic && nic.hasGid(ip)) return nic
    nic = this.nics.find((n) => n.hasGid(ip))
    if (nic) this.routes.set(ip, nic)
    return nic
  }

  transmit(frame: Uint8Array, off: number, len: number, from?: Rnic): void {
    const now = this.clock.now()
    this.stats.sent++
    this.tap?.(frame, off, len, now)
    if (this.filter?.(frame, off, len)) {
      this.stats.filtered++
      return
    }
    if (this.cutThrough(frame, off, len, from)) return
    const im = this.impairments
    if (im.loss && this.random() < im.loss) {
      this.stats.lost++
      return
    }
    let at = now + (im.delayUs ?? 0)
    if (im.reorder && this.random() < im.reorder) {
      this.stats.reordered++
      at += im.reorderDelayUs ?? 50
    }
    this.enqueue(frame, off, len, at)
    if (im.duplicate && this.random() < im.duplicate) {
      this.stats.duplicated++
      this.enqueue(frame, off, len, at)
    }
  }

  private enqueue(frame: Uint8Array, off: number, len: number, at: number): void {
    if (len > MAX_FRAME) return
    const s = this.free.pop() ?? new Slot()
    if (Buffer.isBuffer(frame)) frame.copy(s.buf, 0, off, off + len)
    else s.buf.set(frame.subarray(off, off + len), 0)
    s.len = len
    s.at = at
    const q = this.queue
    q.push(s)
    // keep the queue ordered by delivery time (stable: equal times keep send order)
    for (let i = q.length - 1; i > this.head && q[i - 1]!.at > s.at; i--) {
      q[i] = q[i - 1]!
      q[i - 1] = s
    }
  }

  /** Deliver frames whose time has come; returns how many. */
  deliver(max = 1 << 30): number {
    const now = this.clock.now()
    let n = 0
    while (n < max && this.head < this.queue.length) {
      const s = this.queue[this.head]!
      if (s.at > now) break
      this.head++
      n++
      const nic = this.route(s.buf.readUInt32BE(DST_IP_OFF))
      if (nic) {
        this.stats.delivered++
        nic.receive(s.buf, 0, s.len)
      } else {
        this.stats.unroutable++
      }
      // the slot is reused only after the receiver is done with it
      this.free.push(s)
    }
    if (this.head > 256 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head)
      this.head = 0
    }
    return n
  }

  pending(): number {
    return this.queue.length - this.head
  }

  nextDeadline(): number {
    return this.head < this.queue.length ? this.queue[this.head]!.at : Infinity
  }
}
