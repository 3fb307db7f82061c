import fc from 'fast-check'
import {describe, expect, it} from 'vitest'
import {alignedBuffer, copy, Scratch, stage} from '../../../src/rnic/dma.js'

describe('dma copy', () => {
  it('copies exactly the requested bytes between shared and plain buffers at any alignment', () => {
    const sab = new SharedArrayBuffer(8192)
    const shared = Buffer.from(sab, 3, 8000)
    const plain = alignedBuffer(8192)
    fc.assert(fc.property(fc.integer({min: 0, max: 3000}), fc.integer({min: 0, max: 3000}), fc.integer({min: 0, max: 4000}),
      fc.boolean(), fc.integer(), (dOff, sOff, n, toShared, seed) => {
        const [dst, src] = toShared ? [shared, plain] : [plain, shared]
        for (let i = 0; i < src.length; i++) src[i] = (i * 31 + seed) & 255
        dst.fill(0xee)
        copy(dst, dOff, src, sOff, n)
        expect(Buffer.compare(Buffer.from(dst.subarray(dOff, dOff + n)), Buffer.from(src.subarray(sOff, sOff + n)))).toBe(0)
        expect(dst.subarray(0, dOff).every((x) => x === 0xee)).toBe(true)
        expect(dst.subarray(dOff + n).every((x) => x === 0xee)).toBe(true)
      }), {numRuns: 300, seed: 5})
  })

  it('stage() returns an exact-length view with the source alignment, reused per length', () => {
    const s = new Scratch(4096)
    const src = Buffer.from(new SharedArrayBuffer(100), 1, 90)
    src.fill(9)
    const v = stage(s, src, 5, 70)
    expect(v.length).toBe(70)
    expect(v.byteOffset % 4).toBe((src.byteOffset + 5) % 4)
    expect(v.every((x) => x === 9)).toBe(true)
    expect(stage(s, src, 5, 70)).toBe(v)
  })
})
