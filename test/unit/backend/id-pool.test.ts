import fc from 'fast-check'
import {describe, expect, it} from 'vitest'
import {cryptoRng, mrIndexPool, mrKey, qpnPool, RandomIdPool, seededRng} from '../../../src/backend/id-pool.js'

describe('randomised id pools (ReDMArk M1/M2)', () => {
  it('hands out every id of a small range exactly once, then reports exhaustion', () => {
    const p = new RandomIdPool(10, 19, seededRng(7))
    const got = Array.from({length: 10}, () => p.alloc())
    expect([...got].sort((a, b) => a! - b!)).toEqual([10, 11, 12, 13, 14, 15, 16, 17, 18, 19])
    expect(got).not.toEqual([10, 11, 12, 13, 14, 15, 16, 17, 18, 19])
    expect(p.alloc()).toBeUndefined()
    expect(p.inUse).toBe(10)
  })

  it('QPNs are not sequential: consecutive allocations are far apart', () => {
    const p = qpnPool(seededRng(12345))
    const ids = Array.from({length: 2000}, () => p.alloc()!)
    expect(new Set(ids).size).toBe(2000)
    expect(ids.every((q) => q >= 16 && q <= 0xffffff)).toBe(true)
    const close = ids.slice(1).filter((q, i) => Math.abs(q - ids[i]) <= 256).length
    expect(close).toBeLessThan(20) // sequential allocators (rxe, mlx5, bnxt_re) would give 1999
  })

  it('release and reuse keep ids unique; double and foreign frees are refused (property)', () => {
    fc.assert(fc.property(fc.integer(), fc.array(fc.oneof(fc.constant(-1), fc.nat(40)), {maxLength: 200}), (seed, ops) => {
      const p = new RandomIdPool(100, 131, seededRng(seed))
      const live = new Set<number>()
      for (const op of ops) {
        if (op < 0) {
          const id = p.alloc()
          if (live.size === 32) expect(id).toBeUndefined()
          else {
            expect(id).toBeGreaterThanOrEqual(100)
            expect(id).toBeLessThanOrEqual(131)
            expect(live.has(id!)).toBe(false)
            live.add(id!)
          }
        } else {
          const id = 100 + op
          expect(p.release(id)).toBe(live.delete(id))
        }
        expect(p.inUse).toBe(live.size)
        expect(p.available).toBe(32 - live.size)
      }
    }), {numRuns: 200})
  })

  it('keys are index << 8 with 8 random bits; the crypto generator is uniform enough and unbiased in range', () => {
    const rng = cryptoRng()
    const idx = mrIndexPool(rng).alloc()!
    const k = mrKey(idx, rng)
    expect(k >>> 8).toBe(idx)
    const counts = new Array(4).fill(0)
    for (let i = 0; i < 4000; i++) counts[rng(4)]++
    for (const c of counts) expect(c).toBeGreaterThan(700) // expected 1000; a failure is ~1e-25 likely
    expect(() => new RandomIdPool(5, 4)).toThrow(RangeError)
  })
})
