// Driving RNICs: runUntilIdle() pumps in-process RNICs and a LoopbackFabric to quiescence (tests, benchmarks);
// with a ManualClock it jumps time to the next deadline, so retry and RNR timers cost no wall time.
// RnicDriver runs the same loop on the event loop (setImmediate while busy, a timer for the next deadline,
// Atomics.waitAsync on each doorbell).

import type {Clock} from './clock.js'
import {ManualClock, realClock} from './clock.js'
/** Where received frames come from: the LoopbackFabric here, a socket-backed port in the host process. */
export interface FrameSource {
  deliver(max?: number): number
  nextDeadline(): number
}
import type {Rnic} from './rnic.js'

export interface RunOptions {
  clock?: ManualClock // advance virtual time when idle
  untilUs?: number // stop once virtual time passes this
  maxRounds?: number
  budget?: number
  /** stop as soon as this returns true (checked after each round) */
  until?: () => boolean
}

/** Pump until nothing is left to do (or a limit is reached). Returns the number of rounds. */
export function runUntilIdle(nics: Rnic[], fabric: FrameSource, opts: RunOptions = {}): number {
  const maxRounds = opts.maxRounds ?? 10_000_000
  const budget = opts.budget ?? 64
  // with a virtual clock, stop after 10 virtual minutes by default (an infinite rnr_retry would spin forever)
  const untilUs = opts.untilUs ?? (opts.clock ? opts.clock.t + 600e6 : Infinity)
  let rounds = 0
  while (rounds < maxRounds) {
    rounds++
    let work = 0
    for (const n of nics) work += n.poll(budget)
    work += fabric.deliver()
    if (opts.until?.()) break
    if (work > 0) continue
    const c = opts.clock
    if (!c) break
    let d = fabric.nextDeadline()
    for (const n of nics) d = Math.min(d, n.nextDeadline())
    if (d === Infinity) break
    if (d > untilUs) break
    if (d > c.t) c.t = d
  }
  return rounds
}

// Node 20 has Atomics.waitAsync; lib ES2023 does not declare it.
interface AtomicsWaitAsync {
  waitAsync(a: Int32Array, i: number, v: number): {async: false; value: string} | {async: true; value: Promise<string>}
}

/** Event-loop driver for in-process RNICs on real time. */
export class RnicDriver {
  private scheduled = false
  private timer: NodeJS.Timeout | undefined
  private stopped = false
  private readonly waiting = new Set<Rnic>()

  constructor(private readonly nics: Rnic[], private readonly fabric: FrameSource, private readonly clock: Clock = realClock) {}

  start(): void {
    this.stopped = false
    for (const n of this.nics) this.watch(n)
    this.kick()
  }

  stop(): void {
    this.stopped = true
    if (this.timer) clearTimeout(this.timer)
    this.timer = undefined
  }

  /** Schedule a pass (coalesced). */
  kick(): void {
    if (this.scheduled || this.stopped) return
    this.scheduled = true
    setImmediate(() => this.run())
  }

  private watch(n: Rnic): void {
    if (this.waiting.has(n) || this.stopped) return
    const v = Atomics.load(n.doorbell, 0)
    const r = (Atomics as unknown as AtomicsWaitAsync).waitAsync(n.doorbell, 0, v)
    if (!r.async) {
      this.kick()
      return
    }
    this.waiting.add(n)
    void r.value.then(() => {
      this.waiting.delete(n)
      this.kick()
      this.watch(n)
    })
  }

  private run(): void {
    this.scheduled = false
    if (this.stopped) return
    let work = 0
    for (let i = 0; i < 16; i++) {
      let w = 0
      for (const n of this.nics) w += n.poll(64)
      w += this.fabric.deliver()
      work += w
      if (w === 0) break
    }
    if (work > 0) return this.kick()
    let d = this.fabric.nextDeadline()
    for (const n of this.nics) d = Math.min(d, n.nextDeadline())
    if (this.timer) clearTimeout(this.timer)
    this.timer = undefined
    // a ref'd timer keeps the process alive while the doorbell waits are pending
    const ms = d === Infinity ? 1000 : Math.max(0, (d - this.clock.now()) / 1000)
    this.timer = setTimeout(() => this.kick(), ms)
  }
}
