// Non-sequential QPNs and MR keys (issue 5 item 5; ReDMArk M1/M2, catalogue C01, C10-C12): every NIC ReDMArk
// tested hands out predictable numbers, and one MasQ backend allocates for all tenants of a host, so a
// tenant could guess its neighbours'. The pool draws each number uniformly from what is free (a sparse
// Fisher-Yates shuffle: O(1) per draw, memory only for numbers drawn or given back).
import {randomBytes} from 'node:crypto'

/** uniform integer in [0, n) */
export type Rng = (n: number) => number

/** crypto-strength, buffered, rejection-sampled (no modulo bias) */
export function cryptoRng(): Rng {
  let buf = randomBytes(4096)
  let off = 0
  const u32 = (): number => {
    if (off + 4 > buf.length) {
      buf = randomBytes(4096)
      off = 0
    }
    const v = buf.readUInt32LE(off)
    off += 4
    return v
  }
  return (n: number) => {
    const limit = 0x100000000 - (0x100000000 % n)
    for (;;) {
      const v = u32()
      if (v < limit) return v % n
    }
  }
}

/** deterministic generator for tests and reproducible labs (xorshift32) */
export function seededRng(seed: number): Rng {
  let x = seed >>> 0 || 0x9e3779b9
  return (n: number) => {
    x ^= x << 13
    x >>>= 0
    x ^= x >>> 17
    x ^= x << 5
    x >>>= 0
    return Math.floor((x / 0x100000000) * n)
  }
}

export class RandomIdPool {
  private free: number // positions [0, free) hold the free ids
  private readonly moved = new Map<number, number>() // position -> id where it is not min + position
  private readonly used = new Set<number>()

  constructor(readonly min: number, readonly max: number, private readonly rng: Rng = cryptoRng()) {
    if (!Number.isSafeInteger(min) || !Number.isSafeInteger(max) || max < min) throw new RangeError(`bad id range ${min}..${max}`)
    this.free = max - min + 1
  }

  private at(pos: number): number {
    return this.moved.get(pos) ?? this.min + pos
  }

  /** a free id chosen uniformly, or undefined when the pool is exhausted */
  alloc(): number | undefined {
    if (this.free === 0) return undefined
    const pos = this.rng(this.free)
    const id = this.at(pos)
    const last = this.free - 1
    if (pos !== last) this.moved.set(pos, this.at(last))
    this.moved.delete(last)
    this.free--
    this.used.add(id)
    return id
  }

  /** give an id back; false if it was not allocated (double free or foreign number) */
  release(id: number): boolean {
    if (!this.used.delete(id)) return false
    if (id !== this.min + this.free) this.moved.set(this.free, id)
    this.free++
    return true
  }

  has(id: number): boolean {
    return this.used.has(id)
  }

  get inUse(): number {
    return this.used.size
  }

  get available(): number {
    return this.free
  }
}

/** QPNs: 24 bits; below 16 are rxe's reserved indexes (QP0, QP1 and friends, RXE_MIN_QP_INDEX) */
export const qpnPool = (rng?: Rng): RandomIdPool => new RandomIdPool(16, 0xffffff, rng)

/** MR indexes for keys `index << 8 | key` (docs/decisions.md); index 0 is never used */
export const mrIndexPool = (rng?: Rng): RandomIdPool => new RandomIdPool(1, 0xffffff, rng)

/** lkey/rkey from an index: the low 8 bits are random too (rxe's get_random_bytes, ibv_inc_rkey's tag) */
export const mrKey = (index: number, rng: Rng): number => ((index << 8) | rng(256)) >>> 0
