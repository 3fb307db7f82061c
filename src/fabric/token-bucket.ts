// Token bucket in bytes, refilled at rateBps/8 bytes per second up to burstBytes. A packet may go when the bucket
// holds min(len, burst) tokens; sending takes len tokens, possibly into debt, so that packets larger than the burst
// still pass and the long-run rate stays exact (the debt is repaid before the next packet). rate 0 = unlimited.

export class TokenBucket {
  private tokens: number
  private last: number
  private bytesPerNs: number

  constructor(private rateBpsValue: number, private burst: number, nowNs: number) {
    this.bytesPerNs = rateBpsValue / 8e9
    this.tokens = burst
    this.last = nowNs
  }

  get rateBps(): number {
    return this.rateBpsValue
  }

  get burstBytes(): number {
    return this.burst
  }

  /** Change the rate (and burst) in place, keeping the tokens earned so far. */
  set(rateBps: number, burstBytes: number, nowNs: number): void {
    this.refill(nowNs)
    this.rateBpsValue = rateBps
    this.bytesPerNs = rateBps / 8e9
    this.burst = burstBytes
    if (this.tokens > burstBytes) this.tokens = burstBytes
  }

  /** Nanoseconds to wait before `bytes` may be sent (0 = now). */
  waitNs(bytes: number, nowNs: number): number {
    if (this.bytesPerNs <= 0) return 0
    this.refill(nowNs)
    const need = bytes < this.burst ? bytes : this.burst
    if (this.tokens >= need) return 0
    return Math.ceil((need - this.tokens) / this.bytesPerNs)
  }

  consume(bytes: number, nowNs: number): void {
    if (this.bytesPerNs <= 0) return
    this.refill(nowNs)
    this.tokens -= bytes
  }

  private refill(now: number): void {
    if (now > this.last) {
      this.tokens += (now - this.last) * this.bytesPerNs
      if (this.tokens > this.burst) this.tokens = this.burst
      this.last = now
    }
  }
}
