// An HDR-style histogram (after Gil Tene's HdrHistogram): log-linear buckets that keep `significantDigits`
// decimal digits of every value, integers from 1 to `highestTrackableValue` (ns here). Count, min, max, mean
// and stdev are exact (Welford); percentiles are exact to within one bucket, i.e. relative error
// below 10^-significantDigits.

export interface HistogramOptions {
  /** 1..5; default 3 (0.1% resolution). */
  significantDigits?: number
  /** Default 2^42 ns (about 73 minutes). Larger values are clamped and counted in `clamped`. */
  highestTrackableValue?: number
}

export interface CdfPoint {
  /** Highest value of the bucket. */
  value: number
  /** Fraction of samples <= value, in (0, 1]. */
  fraction: number
}

export interface HistogramSnapshot {
  significantDigits: number
  highestTrackableValue: number
  /** [countsIndex, count] pairs of the non-empty buckets. */
  counts: Array<[number, number]>
  count: number
  min: number
  max: number
  mean: number
  m2: number
  clamped: number
}

export class Histogram {
  readonly significantDigits: number
  readonly highestTrackableValue: number
  private readonly subBucketHalfCountMagnitude: number
  private readonly subBucketHalfCount: number
  private readonly subBucketCount: number
  private readonly counts: Float64Array
  private total = 0
  private minValue = Number.POSITIVE_INFINITY
  private maxValue = Number.NEGATIVE_INFINITY
  private meanValue = 0
  private m2 = 0
  /** Values above highestTrackableValue, recorded as that value. */
  clamped = 0

  constructor(opts: HistogramOptions = {}) {
    const d = opts.significantDigits ?? 3
    if (!Number.isInteger(d) || d < 1 || d > 5) throw new RangeError('significantDigits must be 1..5')
    const highest = opts.highestTrackableValue ?? 2 ** 42
    if (!(highest >= 2) || highest > Number.MAX_SAFE_INTEGER) throw new RangeError('highestTrackableValue out of range')
    this.significantDigits = d
    this.highestTrackableValue = highest
    // Enough sub-buckets that one bucket step is below 10^-d of the value (HdrHistogram's sizing).
    const subBucketCountMagnitude = Math.ceil(Math.log2(2 * 10 ** d))
    this.subBucketHalfCountMagnitude = subBucketCountMagnitude - 1
    this.subBucketCount = 2 ** subBucketCountMagnitude
    this.subBucketHalfCount = this.subBucketCount / 2
    let bucketsNeeded = 1
    let smallestUntrackable = this.subBucketCount
    while (smallestUntrackable <= highest) { smallestUntrackable *= 2; bucketsNeeded++ }
    this.counts = new Float64Array((bucketsNeeded + 1) * this.subBucketHalfCount)
  }

  /** Record `count` occurrences of value v (rounded to an integer, at least 0). */
  record(v: number, count = 1): void {
    if (!Number.isFinite(v) || count <= 0) return
    let x = Math.max(0, Math.round(v))
    if (x > this.highestTrackableValue) { x = this.highestTrackableValue; this.clamped += count }
    this.counts[this.countsIndex(x)]! += count
    // Welford, weighted by count; min/max/mean see the value as given.
    const n = this.total + count
    const delta = v - this.meanValue
    this.meanValue += (delta * count) / n
    this.m2 += delta * (v - this.meanValue) * count
    this.total = n
    if (v < this.minValue) this.minValue = v
    if (v > this.maxValue) this.maxValue = v
  }

  get count(): number { return this.total }
  get min(): number { return this.total ? this.minValue : Number.NaN }
  get max(): number { return this.total ? this.maxValue : Number.NaN }
  get mean(): number { return this.total ? this.meanValue : Number.NaN }
  /** Population standard deviation. */
  get stdev(): number { return this.total ? Math.sqrt(this.m2 / this.total) : Number.NaN }

  /** Value at percentile p (0..100): the highest value equivalent to the sample of rank ceil(p% of count). */
  percentile(p: number): number {
    if (this.total === 0) return Number.NaN
    const q = Math.min(Math.max(p, 0), 100)
    if (q === 0) return this.minValue
    if (q === 100) return this.maxValue
    const rank = Math.max(1, Math.ceil((q / 100) * this.total - 1e-9))
    let seen = 0
    for (let i = 0; i < this.counts.length; i++) {
      seen += this.counts[i]!
      // Never report beyond the true extremes.
      if (seen >= rank) return Math.min(Math.max(this.highestEquivalent(this.valueAt(i)), this.minValue), this.maxValue)
    }
    return this.maxValue
  }

  /** Add another histogram's samples (same significant digits; counts re-bucketed if ranges differ). */
  merge(other: Histogram): this {
    if (other.total === 0) return this
    if (other.significantDigits !== this.significantDigits) throw new RangeError('cannot merge histograms of different precision')
    for (let i = 0; i < other.counts.length; i++) {
      const c = other.counts[i]!
      if (c === 0) continue
      let v = other.valueAt(i)
      if (v > this.highestTrackableValue) { v = this.highestTrackableValue; this.clamped += c }
      this.counts[this.countsIndex(v)]! += c
    }
    // Chan et al.'s parallel combination of (count, mean, M2).
    const n = this.total + other.total
    const delta = other.meanValue - this.meanValue
    this.m2 += other.m2 + (delta * delta * this.total * other.total) / n
    this.meanValue += (delta * other.total) / n
    this.total = n
    this.clamped += other.clamped
    this.minValue = Math.min(this.minValue, other.minValue)
    this.maxValue = Math.max(this.maxValue, other.maxValue)
    return this
  }

  /** One point per non-empty bucket: (bucket's highest value, cumulative fraction). */
  cdf(): CdfPoint[] {
    const out: CdfPoint[] = []
    let seen = 0
    for (let i = 0; i < this.counts.length; i++) {
      const c = this.counts[i]!
      if (c === 0) continue
      seen += c
      out.push({value: Math.min(this.highestEquivalent(this.valueAt(i)), this.maxValue), fraction: seen / this.total})
    }
    return out
  }

  /** True when a and b fall into the same bucket. */
  equivalent(a: number, b: number): boolean {
    return this.countsIndex(Math.round(a)) === this.countsIndex(Math.round(b))
  }

  /** Width of the bucket that holds v. */
  bucketWidth(v: number): number {
    return 2 ** this.bucketIndex(Math.max(0, Math.round(v)))
  }

  toJSON(): HistogramSnapshot {
    const counts: Array<[number, number]> = []
    this.counts.forEach((c, i) => { if (c) counts.push([i, c]) })
    return {
      significantDigits: this.significantDigits, highestTrackableValue: this.highestTrackableValue, counts,
      count: this.total, min: this.min, max: this.max, mean: this.meanValue, m2: this.m2, clamped: this.clamped,
    }
  }

  static fromJSON(s: HistogramSnapshot): Histogram {
    const h = new Histogram({significantDigits: s.significantDigits, highestTrackableValue: s.highestTrackableValue})
    for (const [i, c] of s.counts) if (i >= 0 && i < h.counts.length && c > 0) h.counts[i] = c
    h.total = s.count
    h.minValue = s.count ? s.min : Number.POSITIVE_INFINITY
    h.maxValue = s.count ? s.max : Number.NEGATIVE_INFINITY
    h.meanValue = s.mean
    h.m2 = s.m2
    h.clamped = s.clamped
    return h
  }

  private bucketIndex(v: number): number {
    // floor(log2(v | subBucketMask)) - subBucketHalfCountMagnitude, for values up to 2^53.
    return Math.max(floorLog2(v), this.subBucketHalfCountMagnitude) - this.subBucketHalfCountMagnitude
  }

  private countsIndex(v: number): number {
    const bucket = this.bucketIndex(v)
    const sub = Math.floor(v / 2 ** bucket)
    return (bucket + 1) * this.subBucketHalfCount + (sub - this.subBucketHalfCount)
  }

  /** Lowest value of counts slot i. */
  private valueAt(i: number): number {
    let bucket = Math.floor(i / this.subBucketHalfCount) - 1
    let sub = (i % this.subBucketHalfCount) + this.subBucketHalfCount
    if (bucket < 0) { sub -= this.subBucketHalfCount; bucket = 0 }
    return sub * 2 ** bucket
  }

  private highestEquivalent(lowest: number): number {
    return lowest + 2 ** this.bucketIndex(lowest) - 1
  }
}

/** floor(log2(v)) for integers 1..2^53 without floating-point log error; 0 for v < 1. */
function floorLog2(v: number): number {
  if (v < 1) return 0
  const hi = Math.floor(v / 2 ** 32)
  return hi > 0 ? 63 - Math.clz32(hi) : 31 - Math.clz32(v >>> 0)
}
