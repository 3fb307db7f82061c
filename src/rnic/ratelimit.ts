// Per-QP rate limiters grouped into shared token buckets: MasQ enforces a tenant's bandwidth by putting all of
// its QPs in one group. The requester asks before each packet; a refused packet arms a deadline instead of
// spinning.

export class RateGroup {
  tokens: number
  last: number
  readonly qpns = new Set<number>()

  constructor(readonly name: string, public rate: number /* bytes per microsecond */, public burst: number, now: number) {
    this.tokens = burst
    this.last = now
  }

  /** Take `bytes` now (returns 0) or say how many microseconds until they are available. */
  take(bytes: number, now: number): number {
    const t = this.tokens + (now - this.last) * this.rate
    this.tokens = t < this.burst ? t : this.burst
    this.last = now
    // a hundredth of a byte of slack: waking exactly at the computed deadline must not fall short by rounding
    if (this.tokens + 0.01 >= bytes) {
      this.tokens -= bytes
      return 0
    }
    return (bytes - this.tokens) / this.rate
  }
}
