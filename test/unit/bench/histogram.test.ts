import fc from 'fast-check'
import {describe, expect, it} from 'vitest'
import {Histogram} from '../../../src/bench/histogram.js'

/** Exact value at percentile p of sorted data: the sample of rank ceil(p% of n). */
function exactPercentile(sorted: number[], p: number): number {
  if (p <= 0) return sorted[0]!
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length - 1e-9))
  return sorted[Math.min(rank, sorted.length) - 1]!
}

function lcg(seed: number): () => number {
  let s = seed >>> 0
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32)
}

describe('Histogram', () => {
  it('is exact below 2 x 10^digits and within 10^-digits relative above', () => {
    for (const d of [1, 2, 3, 4]) {
      const h = new Histogram({significantDigits: d})
      const rnd = lcg(d)
      const values: number[] = []
      for (let i = 0; i < 20_000; i++) {
        // log-uniform 1 ns .. 10 s
        const v = Math.round(Math.exp(rnd() * Math.log(1e10)))
        values.push(v)
        h.record(v)
      }
      values.sort((a, b) => a - b)
      for (const p of [0, 1, 10, 25, 50, 75, 90, 99, 99.9, 99.99, 100]) {
        const exact = exactPercentile(values, p)
        const got = h.percentile(p)
        expect(got).toBeGreaterThanOrEqual(exact)
        expect(got - exact).toBeLessThanOrEqual(Math.max(exact * 10 ** -d, 0))
        expect(h.equivalent(got, exact)).toBe(true)
      }
      expect(h.count).toBe(values.length)
      expect(h.min).toBe(values[0])
      expect(h.max).toBe(values.at(-1))
    }
  })
  it('mean and stdev are exact', () => {
    const h = new Histogram()
    const xs = [12_000, 13_500, 11_200, 40_000, 12_900, 12_100]
    for (const x of xs) h.record(x)
    const mean = xs.reduce((a, b) => a + b, 0) / xs.length
    const sd = Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / xs.length)
    expect(h.mean).toBeCloseTo(mean, 9)
    expect(h.stdev).toBeCloseTo(sd, 6)
  })
  it('small integers are recorded exactly', () => {
    const h = new Histogram({significantDigits: 2})
    for (let v = 0; v < 200; v++) h.record(v)
    expect(h.percentile(50)).toBe(99)
    expect(h.percentile(100)).toBe(199)
    expect(h.bucketWidth(100)).toBe(1)
  })
  it('property: percentiles bound the exact ones within one bucket, for any data', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({min: 0, max: 2 ** 40}), {minLength: 1, maxLength: 300}), fc.double({min: 0, max: 100, noNaN: true}), (xs, p) => {
        const h = new Histogram({significantDigits: 3})
        for (const x of xs) h.record(x)
        const sorted = [...xs].sort((a, b) => a - b)
        const exact = exactPercentile(sorted, p)
        const got = h.percentile(p)
        return got >= exact && got - exact <= Math.max(exact / 1000, 0) + 1e-9
      }),
      {numRuns: 200},
    )
  })
  it('merge equals recording everything in one histogram', () => {
    const a = new Histogram()
    const b = new Histogram()
    const all = new Histogram()
    const rnd = lcg(7)
    for (let i = 0; i < 5000; i++) {
      const v = Math.round(1000 + rnd() * 1e6)
      ;(i % 3 ? a : b).record(v)
      all.record(v)
    }
    a.merge(b)
    expect(a.count).toBe(all.count)
    for (const p of [1, 50, 99, 99.9]) expect(a.percentile(p)).toBe(all.percentile(p))
    expect(a.mean).toBeCloseTo(all.mean, 6)
    expect(a.stdev).toBeCloseTo(all.stdev, 4)
    expect(a.min).toBe(all.min)
    expect(a.max).toBe(all.max)
    expect(() => a.merge(new Histogram({significantDigits: 2}).merge(new Histogram({significantDigits: 2})))).not.toThrow()
    const other = new Histogram({significantDigits: 2})
    other.record(5)
    expect(() => a.merge(other)).toThrow(RangeError)
  })
  it('CDF is monotone, ends at 1 and at the max', () => {
    const h = new Histogram()
    for (const v of [5, 5, 10, 1000, 123_456, 7]) h.record(v)
    const cdf = h.cdf()
    expect(cdf.at(-1)).toEqual({value: 123_456, fraction: 1})
    expect(cdf[0]).toEqual({value: 5, fraction: 2 / 6})
    for (let i = 1; i < cdf.length; i++) {
      expect(cdf[i]!.value).toBeGreaterThan(cdf[i - 1]!.value)
      expect(cdf[i]!.fraction).toBeGreaterThan(cdf[i - 1]!.fraction)
    }
  })
  it('clamps values above the trackable range and counts them', () => {
    const h = new Histogram({highestTrackableValue: 1_000_000})
    h.record(5_000_000)
    h.record(10)
    expect(h.clamped).toBe(1)
    expect(h.max).toBe(5_000_000)
    expect(h.percentile(100)).toBe(5_000_000)
    expect(h.percentile(99)).toBeLessThanOrEqual(5_000_000)
    h.record(Number.NaN)
    expect(h.count).toBe(2)
  })
  it('empty histogram and JSON round trip', () => {
    const h = new Histogram()
    expect(h.percentile(50)).toBeNaN()
    expect(h.mean).toBeNaN()
    for (let i = 1; i <= 1000; i++) h.record(i * 37)
    const back = Histogram.fromJSON(JSON.parse(JSON.stringify(h)))
    for (const p of [0, 50, 99, 100]) expect(back.percentile(p)).toBe(h.percentile(p))
    expect(back.stdev).toBe(h.stdev)
  })
  it('rejects bad precision', () => {
    expect(() => new Histogram({significantDigits: 0})).toThrow(RangeError)
    expect(() => new Histogram({significantDigits: 6})).toThrow(RangeError)
  })
})
