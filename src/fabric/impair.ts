// Impairments on the path into a port, in the spirit of netem: loss, duplication, reordering and jitter, all drawn
// from one seeded PRNG (prng.ts) so that a run is reproducible: the same seed and the same frame sequence give the
// same decisions. Each kind has its own counter.
//
// Reordering holds one chosen frame back until `reorderGap` later frames have passed it (netem's "gap"), or until
// `reorderHoldNs` has elapsed if traffic stops, so that a held frame is never stranded. Only one frame is held at a
// time; a frame chosen while another is held passes in order.

import {type Clock, Timer} from './clock.js'
import type {FrameSink} from './port.js'
import {Xoshiro128} from './prng.js'
import type {Impairments} from '../topology/types.js'

export interface ImpairOptions {
  loss: number
  duplicate: number
  reorder: number
  seed: number
  /** Frames that overtake a held frame. Default 3. */
  reorderGap?: number
  /** Longest hold when no more frames come. Default 100 µs. */
  reorderHoldNs?: number
  maxFrameBytes?: number
}

export interface ImpairCounters {
  frames: number
  lost: number
  duplicated: number
  reordered: number
  passed: number
}

export class Impairer implements FrameSink {
  readonly counters: ImpairCounters = {frames: 0, lost: 0, duplicated: 0, reordered: 0, passed: 0}
  private readonly rng: Xoshiro128
  private readonly gap: number
  private readonly holdNs: number
  private readonly held: Uint8Array
  private heldLen = 0
  private heldCountdown = 0
  private readonly timer: Timer

  constructor(private readonly o: ImpairOptions, private readonly clock: Clock, private readonly next: FrameSink) {
    this.rng = new Xoshiro128(o.seed)
    this.gap = Math.max(1, o.reorderGap ?? 3)
    this.holdNs = o.reorderHoldNs ?? 100_000
    this.held = Buffer.alloc(o.maxFrameBytes ?? 9216)
    this.timer = new Timer(() => this.releaseHeld())
  }

  /** True when no impairment is configured (callers may skip the stage). */
  static isNoop(i: Pick<Impairments, 'loss' | 'duplicate' | 'reorder'>): boolean {
    return i.loss <= 0 && i.duplicate <= 0 && i.reorder <= 0
  }

  transmit(frame: Uint8Array, off: number, len: number): void {
    const c = this.counters
    c.frames++
    // one draw per configured kind, in a fixed order, so the decision stream depends only on the frame count
    if (this.o.loss > 0 && this.rng.next() < this.o.loss) {
      c.lost++
      return
    }
    const dup = this.o.duplicate > 0 && this.rng.next() < this.o.duplicate
    if (this.o.reorder > 0 && this.rng.next() < this.o.reorder && this.heldLen === 0 && len <= this.held.length) {
      this.held.set(frame.subarray(off, off + len))
      this.heldLen = len
      this.heldCountdown = this.gap
      c.reordered++
      this.clock.arm(this.timer, this.clock.now() + this.holdNs)
      if (dup) {
        // the duplicate goes now, the original later: the receiver sees both, out of order
        c.duplicated++
        this.emit(frame, off, len)
      }
      return
    }
    this.emit(frame, off, len)
    if (dup) {
      c.duplicated++
      this.emit(frame, off, len)
    }
  }

  private emit(frame: Uint8Array, off: number, len: number): void {
    this.counters.passed++
    this.next.transmit(frame, off, len)
    if (this.heldLen > 0 && --this.heldCountdown <= 0) this.releaseHeld()
  }

  private releaseHeld(): void {
    if (this.heldLen === 0) return
    const len = this.heldLen
    this.heldLen = 0
    this.clock.cancel(this.timer)
    this.counters.passed++
    this.next.transmit(this.held, 0, len)
  }
}

/** Uniform jitter in [0, jitterNs) from its own seeded stream (independent of the loss/reorder decisions). */
export function uniformJitter(jitterNs: number, seed: number): (() => number) | undefined {
  if (jitterNs <= 0) return undefined
  const rng = new Xoshiro128((seed ^ 0x5bd1e995) >>> 0)
  return () => rng.next() * jitterNs
}
