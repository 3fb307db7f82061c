// The RNIC worker's engine loop: after activity it keeps polling (setImmediate, so socket I/O still runs between
// passes) for a short spin window, then sleeps on Atomics.waitAsync on the doorbell word plus a timer for the
// engine's next deadline. Wire frames and control commands wake it through kick(). Waking a sleeping thread costs
// ≈ 10 µs here (reference/measured-here.md); the spin window trades one core's idle time for that.
// Adaptive, like NAPI's switch between interrupts and polling: while bulk traffic flows (MTU-sized frames
// arriving, or a pass that sent many packets) the window can stretch to bulkSpinUs, so that neither end of a
// stream sleeps between bursts (a sleeping reader is woken by the writer's sendmsg, and a Unix socket wakes it
// "sync", which pulls it onto the writer's core). It also polls while the wire link holds an ACK.
import {readFileSync} from 'node:fs'
import {performance} from 'node:perf_hooks'
import type {Rnic} from '../rnic/rnic.js'

// Node 20 has Atomics.waitAsync; lib ES2023 does not declare it.
interface AtomicsWaitAsync {
  waitAsync(a: Int32Array, i: number, v: number): {async: false; value: string} | {async: true; value: Promise<string>}
}
export const waitAsync = (Atomics as unknown as AtomicsWaitAsync).waitAsync.bind(Atomics)

export const SPIN_US = 0 // bench:wire (loaded 2 cores): with the ACK hold and the bulk window, a fixed spin after every pass only burns the core the peer side needs
// Off by default: bench:wire bw A/B with the lab prioritised on a loaded machine, 0 vs 200 us: 292 / 244 vs
// 189 / 228 MB/s and 3.2-3.8 vs 4.8-5.0 ms of RNIC-thread CPU per MiB (the spinning thread takes CPU from the
// threads of its own host). MASQ_BULK_SPIN_US=200 to try it on an idle machine.
export const BULK_SPIN_US = 0
const BULK_WORK = 8 // packets sent in one pass that make it a bulk pass
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
  bulkSpinMs = BULK_SPIN_US / 1000
  private lastWork = 0
  private bulkUntil = 0
  private bulkSeen = false
  private scheduled = false
  private waiting = false
  private timer: NodeJS.Timeout | undefined
  private stopped = false

  /**
   * `port`: beginBatch/endBatch around each pass, so that a pass's frames leave in one write per peer;
   * releaseHeld after each pass and before sleeping (WireLink.ackHoldUs): the loop keeps polling while ACKs are
   * held, since that is when the local guest is about to answer.
   * `timers`: the fabric model's (src/fabric/host-fabric.ts), fired on each pass and part of the sleep deadline
   */
  constructor(private readonly rnic: Rnic, spinUs = SPIN_US, private readonly port?: LoopPort,
    private readonly timers?: {poll(): number; nextDeadline(): number}) {
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

  /** Bulk traffic was seen (an MTU-sized frame arrived): poll for bulkSpinUs after it. */
  bulk(): void {
    this.bulkSeen = true
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
      if (this.timers) work += this.timers.poll()
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
    if (this.bulkSeen || work >= BULK_WORK) {
      this.bulkSeen = false
      this.bulkUntil = now + this.bulkSpinMs
    }
    const held = this.port ? this.port.releaseHeld(false) : 0
    if (held > 0 || now - this.lastWork < this.spinMs || now < this.bulkUntil) {
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
    const d = this.timers ? Math.min(this.rnic.nextDeadline(), this.timers.nextDeadline()) : this.rnic.nextDeadline()
    if (d <= this.rnic.clock.now()) return this.kick()
    const ms = d === Infinity ? IDLE_TIMER_MS : Math.max(0, (d - this.rnic.clock.now()) / 1000)
    this.timer = setTimeout(() => this.kick(), Math.min(ms, IDLE_TIMER_MS))
  }
}
