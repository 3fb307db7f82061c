// Time in microseconds. The engine never reads a global clock: tests inject a ManualClock so retry and RNR
// timers run in zero wall time.

export interface Clock {
  now(): number
}

export const realClock: Clock = {now: () => performance.now() * 1000}

export class ManualClock implements Clock {
  constructor(public t = 0) {}
  now(): number {
    return this.t
  }
  advance(us: number): void {
    this.t += us
  }
}
