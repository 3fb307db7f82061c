// Injectable clock + timer queue for the fabric model. Time is a number of nanoseconds (a double: exact to the
// nanosecond for ~104 days). Timers are reusable handles kept in one deadline-ordered binary heap, so arming a
// timer allocates nothing and a port keeps at most one pending wake-up however many frames it holds.

export class Timer {
  /** Heap slot, -1 when not armed (owned by the clock). */
  slot = -1
  deadline = 0
  /** Arming order, to break deadline ties first-armed-first (runs are deterministic). */
  order = 0
  constructor(readonly fire: (nowNs: number) => void) {}
  get armed(): boolean {
    return this.slot >= 0
  }
}

export interface Clock {
  now(): number
  /** Arm (or re-arm) `timer` to fire at `atNs`; re-arming moves the one pending wake-up. */
  arm(timer: Timer, atNs: number): void
  cancel(timer: Timer): void
}

/** Deadline-ordered heap of timers; equal deadlines fire in the order they were (last) armed. */
export class TimerHeap {
  private heap: Timer[] = []
  private armed = 0

  get size(): number {
    return this.heap.length
  }

  peekDeadline(): number {
    return this.heap.length > 0 ? this.heap[0]!.deadline : Infinity
  }

  push(t: Timer, at: number): void {
    t.order = this.armed++
    if (t.slot >= 0) {
      const earlier = at < t.deadline
      t.deadline = at
      if (earlier) this.up(t.slot)
      else this.down(t.slot)
      return
    }
    t.deadline = at
    t.slot = this.heap.length
    this.heap.push(t)
    this.up(t.slot)
  }

  remove(t: Timer): void {
    const i = t.slot
    if (i < 0) return
    const last = this.heap.pop()!
    t.slot = -1
    if (i < this.heap.length) {
      this.heap[i] = last
      last.slot = i
      this.down(i)
      this.up(last.slot)
    }
  }

  /** Pop the earliest timer if it is due at `now`. */
  popDue(now: number): Timer | undefined {
    const h = this.heap
    if (h.length === 0 || h[0]!.deadline > now) return undefined
    const t = h[0]!
    this.remove(t)
    return t
  }

  private up(i: number): void {
    const h = this.heap
    const t = h[i]!
    while (i > 0) {
      const p = (i - 1) >> 1
      const pt = h[p]!
      if (before(pt, t)) break
      h[i] = pt
      pt.slot = i
      i = p
    }
    h[i] = t
    t.slot = i
  }

  private down(i: number): void {
    const h = this.heap
    const n = h.length
    const t = h[i]!
    for (;;) {
      let c = 2 * i + 1
      if (c >= n) break
      if (c + 1 < n && before(h[c + 1]!, h[c]!)) c++
      const ct = h[c]!
      if (before(t, ct)) break
      h[i] = ct
      ct.slot = i
      i = c
    }
    h[i] = t
    t.slot = i
  }
}

function before(a: Timer, b: Timer): boolean {
  return a.deadline < b.deadline || (a.deadline === b.deadline && a.order < b.order)
}

/** Virtual time for tests and simulations: time moves only when the test says so. */
export class VirtualClock implements Clock {
  private t: number
  private readonly heap = new TimerHeap()

  constructor(startNs = 0) {
    this.t = startNs
  }

  now(): number {
    return this.t
  }

  arm(timer: Timer, atNs: number): void {
    this.heap.push(timer, atNs < this.t ? this.t : atNs)
  }

  cancel(timer: Timer): void {
    this.heap.remove(timer)
  }

  get pending(): number {
    return this.heap.size
  }

  /** Fire every timer due up to `untilNs` in deadline order, then leave the clock at `untilNs`. */
  runUntil(untilNs: number): void {
    for (;;) {
      const next = this.heap.peekDeadline()
      if (next > untilNs) break
      if (next > this.t) this.t = next
      this.heap.popDue(this.t)!.fire(this.t)
    }
    if (untilNs > this.t) this.t = untilNs
  }

  advance(ns: number): void {
    this.runUntil(this.t + ns)
  }

  /** Run until no timer is pending (or `limitNs` is reached, against timers that re-arm forever). */
  runUntilIdle(limitNs = Infinity): void {
    while (this.heap.size > 0 && this.heap.peekDeadline() <= limitNs) this.runUntil(this.heap.peekDeadline())
  }
}

/**
 * Real time for the RNIC worker. Timers due within `spinWindowNs` are drained by a setImmediate loop (sub-millisecond
 * pacing without one setTimeout per frame: setTimeout's resolution is 1 ms); later ones by a single setTimeout.
 */
export class RealClock implements Clock {
  private readonly heap = new TimerHeap()
  private immediate: NodeJS.Immediate | undefined
  private timeout: NodeJS.Timeout | undefined
  private timeoutAt = Infinity
  private readonly origin = performance.now()
  private readonly drainBound = (): void => this.drain()

  constructor(private readonly spinWindowNs = 1_000_000) {}

  now(): number {
    return (performance.now() - this.origin) * 1e6
  }

  arm(timer: Timer, atNs: number): void {
    this.heap.push(timer, atNs)
    this.schedule()
  }

  cancel(timer: Timer): void {
    this.heap.remove(timer)
  }

  /** Stop draining (pending timers stay armed but will not fire until the next arm). */
  close(): void {
    if (this.immediate) clearImmediate(this.immediate)
    if (this.timeout) clearTimeout(this.timeout)
    this.immediate = undefined
    this.timeout = undefined
    this.timeoutAt = Infinity
  }

  private drain(): void {
    this.immediate = undefined
    this.timeout = undefined
    this.timeoutAt = Infinity
    const now = this.now()
    let t: Timer | undefined
    while ((t = this.heap.popDue(now)) !== undefined) t.fire(now)
    this.schedule()
  }

  private schedule(): void {
    if (this.immediate || this.heap.size === 0) return
    const next = this.heap.peekDeadline()
    const wait = next - this.now()
    if (wait <= this.spinWindowNs) {
      if (this.timeout) {
        clearTimeout(this.timeout)
        this.timeout = undefined
        this.timeoutAt = Infinity
      }
      this.immediate = setImmediate(this.drainBound)
      return
    }
    // Wake up early by the spin window, then spin to the deadline.
    const at = next - this.spinWindowNs
    if (this.timeout && at >= this.timeoutAt) return
    if (this.timeout) clearTimeout(this.timeout)
    this.timeoutAt = at
    this.timeout = setTimeout(this.drainBound, Math.max(0, Math.floor((wait - this.spinWindowNs) / 1e6)))
  }
}

/**
 * Real time with no scheduler of its own: the owner's loop (the RNIC worker's RnicLoop) fires due timers on each
 * pass (`runDue`) and sleeps no longer than `nextDeadline()`. Same time base as src/rnic/clock.ts's realClock
 * (performance.now()), in ns: so the fabric's deadlines and the engine's merge into one sleep.
 */
export class PolledClock implements Clock {
  private readonly heap = new TimerHeap()

  now(): number {
    return performance.now() * 1e6
  }

  arm(timer: Timer, atNs: number): void {
    this.heap.push(timer, atNs)
  }

  cancel(timer: Timer): void {
    this.heap.remove(timer)
  }

  /** Earliest armed deadline in ns (Infinity when nothing is armed). */
  nextDeadline(): number {
    return this.heap.peekDeadline()
  }

  /** Fire every timer due now; returns how many fired. */
  runDue(): number {
    const now = this.now()
    let n = 0
    let t: Timer | undefined
    // a timer re-armed for `now` by its own callback fires again in this call: bounded against a runaway re-arm
    while (n < 4096 && (t = this.heap.popDue(now)) !== undefined) {
      t.fire(now)
      n++
    }
    return n
  }
}
