// Seeded PRNG for the fabric's impairments: xoshiro128** (Blackman & Vigna, 2018), seeded through splitmix32 so
// that any 32-bit seed (0 included) gives a well-mixed state. Same seed, same sequence, on every run and platform.

export class Xoshiro128 {
  private s0 = 0
  private s1 = 0
  private s2 = 0
  private s3 = 0

  constructor(seed: number) {
    let x = seed >>> 0
    const next = (): number => {
      // splitmix32
      x = (x + 0x9e3779b9) >>> 0
      let z = x
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0
      return (z ^ (z >>> 16)) >>> 0
    }
    this.s0 = next()
    this.s1 = next()
    this.s2 = next()
    this.s3 = next()
  }

  /** A generator with an exact internal state (for the reference test vector). */
  static fromState(a: number, b: number, c: number, d: number): Xoshiro128 {
    const r = new Xoshiro128(0)
    r.s0 = a >>> 0
    r.s1 = b >>> 0
    r.s2 = c >>> 0
    r.s3 = d >>> 0
    return r
  }

  /** Next 32-bit unsigned integer. */
  nextU32(): number {
    const s1 = this.s1
    const result = Math.imul(rotl(Math.imul(s1, 5), 7), 9) >>> 0
    const t = s1 << 9
    this.s2 ^= this.s0
    this.s3 ^= this.s1
    this.s1 ^= this.s2
    this.s0 ^= this.s3
    this.s2 ^= t
    this.s3 = rotl(this.s3, 11)
    return result
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.nextU32() / 4294967296
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k))
}
