// The RNIC's network port, and LoopbackFabric: several in-process RNICs joined by one switch that routes on the
// destination IPv4 address, with seeded impairments (loss, duplication, reordering, delay) and a frame tap.
// transmit() receives the engine's reused encode buffer, so the fabric copies every frame it queues.

import type {Clock} from './clock.js'
import {realClock} from './clock.js'
import {copy} from './dma.js'
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
  /**
   * Overwrite a queued frame's slot as soon as its receiver returns (default false). A frame is valid only during
   * receive() (rxe frees the skb after rxe_rcv); a receiver that keeps a view into it then reads garbage at once
   * instead of whenever the slot happens to be reused (how the CM once lost REP private data, and with it the
   * peer's rkey, whenever impairments sent frames through the queue).
   */
  poison?: boolean
}

const MAX_FRAME = 4096 + 256
const DST_IP_OFF = 14 + 16

// Frames sit 2 bytes into a slot (an own ArrayBuffer) so their payloads are word-aligned (rnic/tx.ts).
const SLOT_OFF = 2
const POISON = 0xa5

function dstIpOf(f: Uint8Array, off: number): number {
  return ((f[off + DST_IP_OFF]! << 24) | (f[off + DST_IP_OFF + 1]! << 16) | (f[off + DST_IP_OFF + 2]! << 8) |
    f[off + DST_IP_OFF + 3]!) >>> 0
}

const SLOT_BYTES = (MAX_FRAME + 8 + 63) & ~63
const SLAB_SLOTS = 64

class Slot {
  len = 0
  at = 0
  dst: Rnic | undefined
  constructor(readonly buf: Buffer) {}
}

/** Slots come in slabs that share one ArrayBuffer, so copies out of them hit dma.ts's view cache. */
function slab(): Slot[] {
  const ab = new ArrayBuffer(SLOT_BYTES * SLAB_SLOTS)
  return Array.from({length: SLAB_SLOTS}, (_, i) => new Slot(Buffer.from(ab, i * SLOT_BYTES, SLOT_BYTES)))
}

/**
 * Frames waiting for delivery, ordered by delivery time: a ring of slots that grows by doubling and otherwise
 * allocates nothing.
 */
class SlotQueue {
  private ring: Array<Slot | undefined> = new Array(256).fill(undefined)
  private mask = 255
  private head = 0
  private tail = 0

  get length(): number {
    return this.tail - this.head
  }

  peek(): Slot | undefined {
    return this.head < this.tail ? this.ring[this.head & this.mask] : undefined
  }

  shift(): Slot {
    const s = this.ring[this.head & this.mask]!
    this.ring[this.head & this.mask] = undefined
    this.head++
    return s
  }

  /** Insert keeping delivery-time order; equal times keep arrival order. */
  insert(s: Slot): void {
    if (this.tail - this.head === this.ring.length) this.grow()
    let i = this.tail++
    const r = this.ring
    const m = this.mask
    while (i > this.head && r[(i - 1) & m]!.at > s.at) {
      r[i & m] = r[(i - 1) & m]
      i--
    }
    r[i & m] = s
  }

  private grow(): void {
    const n = this.ring.length * 2
    const next: Array<Slot | undefined> = new Array(n).fill(undefined)
    for (let i = this.head; i < this.tail; i++) next[i - this.head] = this.ring[i & this.mask]
    this.tail -= this.head
    this.head = 0
    this.ring = next
    this.mask = n - 1
  }
}

export class LoopbackFabric {
  impairments: Impairments
  readonly clock: Clock
  tap: FrameTap | undefined
  filter: FabricOptions['filter']
  cutThroughOn: boolean
  poison: boolean
  readonly stats = {sent: 0, delivered: 0, lost: 0, duplicated: 0, reordered: 0, filtered: 0, unroutable: 0}
  private readonly random: () => number
  private readonly routes = new Map<number, Rnic>()
  private readonly nics: Rnic[] = []
  // Free slots are reused oldest-first, so a slot's bytes stay intact for as long as possible after delivery
  // (a receiver that keeps a view into a frame past receive() is wrong, but then fails late, not at once).
  private readonly free = new SlotQueue()
  private readonly queue = new SlotQueue()
  private readonly queuedTo = new Map<Rnic, number>()

  constructor(opts: FabricOptions = {}) {
    this.random = mulberry32(opts.seed ?? 1)
    this.impairments = opts.impairments ?? {}
    this.clock = opts.clock ?? realClock
    this.tap = opts.tap
    this.filter = opts.filter
    this.cutThroughOn = opts.cutThrough ?? true
    this.poison = opts.poison ?? false
  }

  /** Connect an RNIC: its GIDs become routes to it and its port transmits into the fabric. */
  attach(nic: Rnic): Port {
    this.nics.push(nic)
    const port: Port = {transmit: (f, o, l) => this.transmit(f, o, l, nic)}
    nic.setPort(port)
    return port
  }

  /**
   * Cut-through: with no impairments, no delay and nothing queued for that receiver, a frame the engine emits
   * goes straight to an idle receiver (not the sender, not one already inside poll/receive), which saves the copy
   * into a slot.
   */
  private cutThrough(frame: Uint8Array, off: number, len: number, from: Rnic | undefined): boolean {
    if (!this.cutThroughOn || frame.length < off + DST_IP_OFF + 4) return false
    const im = this.impairments
    if (im.loss || im.duplicate || im.reorder || im.delayUs) return false
    const dst = this.route(dstIpOf(frame, off))
    // per-destination order: nothing may overtake a frame already queued for the same receiver
    if (!dst || dst === from || dst.busy() || (this.queuedTo.get(dst) ?? 0) > 0) return false
    // only frames the sender's engine emits from inside poll/receive: a frame sent from outside (a CM agent's
    // MAD, a test) is delivered later, so no application callback runs re-entrantly inside its own send call
    if (!from?.busy()) return false
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
    if (this.free.length === 0) for (const x of slab()) this.free.insert(x)
    const s = this.free.shift()
    copy(s.buf, SLOT_OFF, frame, off, len)
    s.len = len
    s.at = at
    s.dst = this.route(dstIpOf(frame, off))
    if (s.dst) this.queuedTo.set(s.dst, (this.queuedTo.get(s.dst) ?? 0) + 1)
    this.queue.insert(s)
  }

  /** Deliver frames whose time has come; returns how many. */
  deliver(max = 1 << 30): number {
    const now = this.clock.now()
    let n = 0
    while (n < max) {
      const head = this.queue.peek()
      if (head === undefined || head.at > now) break
      const s = this.queue.shift()
      n++
      const nic = s.dst
      if (nic) this.queuedTo.set(nic, this.queuedTo.get(nic)! - 1)
      if (nic && nic.hasGid(dstIpOf(s.buf, SLOT_OFF))) {
        this.stats.delivered++
        nic.receive(s.buf, SLOT_OFF, s.len)
        if (this.poison) s.buf.fill(POISON, SLOT_OFF, SLOT_OFF + s.len)
      } else {
        this.stats.unroutable++
      }
      // the slot is reused only after the receiver is done with it
      s.at = 0
      this.free.insert(s)
    }
    return n
  }

  pending(): number {
    return this.queue.length
  }

  nextDeadline(): number {
    return this.queue.peek()?.at ?? Infinity
  }
}
