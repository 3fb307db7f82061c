import {describe, expect, it} from 'vitest'
import {TokenBucket} from '../../../src/fabric/token-bucket.js'

/** Greedy sender: sends `len`-byte packets as soon as the bucket allows, for `durNs`; returns bytes sent. */
function greedy(b: TokenBucket, len: number, durNs: number): number {
  let t = 0
  let sent = 0
  while (t < durNs) {
    const w = b.waitNs(len, t)
    if (w > 0) {
      t += w
      continue
    }
    b.consume(len, t)
    sent += len
  }
  return sent
}

describe('TokenBucket', () => {
  for (const [rate, len] of [[1e9, 1000], [10e9, 4096], [40e9, 64], [1e6, 1500]] as const) {
    it(`a greedy sender gets ${rate / 1e9} Gbps with ${len}-byte packets (within burst + 1 packet)`, () => {
      const burst = 16 * 1024
      const dur = 1e9 * Math.min(1, 1e9 / rate)
      const sent = greedy(new TokenBucket(rate, burst, 0), len, dur)
      const ideal = (rate / 8e9) * dur
      expect(sent).toBeGreaterThanOrEqual(ideal - len)
      expect(sent).toBeLessThanOrEqual(ideal + burst + len)
    })
  }

  it('lets a packet larger than the burst pass and repays the debt before the next', () => {
    const b = new TokenBucket(8e9, 1000, 0) // 1 byte per ns
    expect(b.waitNs(5000, 0)).toBe(0)
    b.consume(5000, 0) // tokens -4000
    expect(b.waitNs(100, 0)).toBe(4100)
    expect(b.waitNs(100, 4100)).toBe(0)
  })

  it('rate 0 is unlimited', () => {
    const b = new TokenBucket(0, 0, 0)
    for (let i = 0; i < 10; i++) b.consume(1e9, 0)
    expect(b.waitNs(1e9, 0)).toBe(0)
  })

  it('changing the rate keeps earned tokens and caps them at the new burst', () => {
    const b = new TokenBucket(8e9, 10_000, 0)
    b.consume(10_000, 0)
    b.set(16e9, 500, 100) // 100 tokens earned at 1 B/ns
    expect(b.waitNs(500, 100)).toBe(200) // 400 missing at 2 B/ns
    expect(b.rateBps).toBe(16e9)
    expect(b.burstBytes).toBe(500)
  })
})
