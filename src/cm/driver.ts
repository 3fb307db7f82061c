// Runs a CmEngine's timers on the event loop (real time): one setTimeout for the earliest deadline, re-armed
// whenever the engine arms a timer. Tests use a ManualClock and call engine.poll() from their pump instead.

import type {CmEngine} from './cm-engine.js'

export class CmTimerDriver {
  private timer: NodeJS.Timeout | undefined
  private at = Infinity
  private stopped = false

  constructor(private readonly engine: CmEngine) {
    engine.onTimer = () => this.rearm()
  }

  start(): void {
    this.stopped = false
    this.rearm()
  }

  stop(): void {
    this.stopped = true
    if (this.timer) clearTimeout(this.timer)
    this.timer = undefined
    this.at = Infinity
  }

  private rearm(): void {
    if (this.stopped) return
    const d = this.engine.nextDeadline()
    if (d === Infinity || (this.timer && d >= this.at)) return
    if (this.timer) clearTimeout(this.timer)
    this.at = d
    // unref'd: an idle CM agent must not keep a process alive
    this.timer = setTimeout(() => this.fire(), Math.max(0, (d - this.engine.clock.now()) / 1000))
    this.timer.unref()
  }

  private fire(): void {
    this.timer = undefined
    this.at = Infinity
    this.engine.poll()
    this.rearm()
  }
}
