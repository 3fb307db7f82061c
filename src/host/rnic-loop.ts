// The RNIC worker's engine loop: after activity it keeps polling (setImmediate, so socket I/O still runs between
// passes) for a short spin window, then sleeps on Atomics.waitAsync on the doorbell word plus a timer for the
// engine's next deadline. Wire frames and control commands wake it through kick(). Waking a sleeping thread costs
// ≈ 10 µs here (reference/measured-here.md); the spin window trades one core's idle time for that.
import {readFileSync} from 'node:fs'
import {performance} from 'node:perf_hooks'
import type {Rnic} from '../rnic/rnic.js'

// Node 20 has Atomics.waitAsync; lib ES2023 does not declare it.
interface AtomicsWaitAsync {
  waitAsync(a: Int32Array, i: number, v: number): {async: false; value: string} | {async: true; value: Promise<string>}
}
const waitAsync = (Atomics as unknown as AtomicsWaitAsync).waitAsync.bind(Atomics)

export const SPIN_US = 20 // bench:wire sweeps (0/10/20/50/200 us, CPU per MiB and per round trip): best on 2 loaded cores
const IDLE_TIMER_MS = 1000 // a ref'd timer while asleep: a pending waitAsync alone does not keep a thread alive

/** CPU time of the calling thread in ms (Linux /proc; NaN elsewhere): what the RNIC thread itself costs. */
export function threadCpuMs(): number {
  try {
    const st = readFileSync('/proc/thread-self/stat', 'utf8')
    const f = st.slice(st.lastIndexOf(')') + 2).split(' ')
    return (Number(f[11]) + Number(f[12])) * 10 // utime + stime in USER_HZ ticks
  } catch {
    return Number.NaN
  }
}

export interface LoopPort {
  beginBatch(): void
  endBatch(): void
  releaseHeld(force: boolean): number
}

export class RnicLoop {
  spinMs: number
  passes = 0
  sleeps = 0
  private lastWork = 0
  private scheduled = false
  private waiting = false
  private timer: NodeJS.Timeout | undefined
  private stopped = false

  /**
   * `port`: beginBatch/endBatch around each pass, so that a pass's frames leave in one write per peer;
   * releaseHeld after each pass and before sleeping (WireLink.ackHoldUs): the loop keeps polling while ACKs are
   * held, since that is when the local guest is about to answer.
   */
  constructor(private readonly rnic: Rnic, spinUs = SPIN_US, private readonly port?: LoopPort) {
    this.spinMs = spinUs / 1000
  }

  start(): void {
    this.lastWork = performance.now()
    this.kick()
  }

  stop(): void {
    this.stopped = true
    clearTimeout(this.timer)
  }

  /** Something happened (frame, command, doorbell): run a pass soon. */
  kick(): void {
    if (this.scheduled || this.stopped) return
    this.scheduled = true
    this.lastWork = performance.now()
    setImmediate(this.run)
  }

  private readonly run = (): void => {
    this.scheduled = false
    if (this.stopped) return
    this.passes++
    let work = 0
    this.port?.beginBatch()
    try {
      for (let i = 0; i < 8; i++) {
        const w = this.rnic.poll(64)
        work += w
        if (w === 0) break
      }
    } finally {
      this.port?.endBatch()
    }
    const now = performance.now()
    if (work > 0) this.lastWork = now
    const held = this.port ? this.port.releaseHeld(false) : 0
    if (held > 0 || now - this.lastWork < this.spinMs) {
      this.scheduled = true
      setImmediate(this.run)
      return
    }
    this.sleep()
  }

  private sleep(): void {
    this.port?.releaseHeld(true)
    this.sleeps++
    const db = this.rnic.doorbell
    if (!this.waiting) {
      const r = waitAsync(db, 0, Atomics.load(db, 0))
      if (!r.async) return this.kick()
      this.waiting = true
      void r.value.then(() => {
        this.waiting = false
        this.kick()
      })
    }
    clearTimeout(this.timer)
    // a doorbell rung between the last poll and arming the wait is seen here (nextDeadline = now)
    const d = this.rnic.nextDeadline()
    if (d <= this.rnic.clock.now()) return this.kick()
    const ms = d === Infinity ? IDLE_TIMER_MS : Math.max(0, (d - this.rnic.clock.now()) / 1000)
    this.timer = setTimeout(() => this.kick(), Math.min(ms, IDLE_TIMER_MS))
  }
}
