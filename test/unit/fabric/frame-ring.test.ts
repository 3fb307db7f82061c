import fc from 'fast-check'
import {describe, expect, it} from 'vitest'
import {FrameRing} from '../../../src/fabric/frame-ring.js'

function frameOf(len: number, fill: number): Uint8Array {
  return new Uint8Array(len).fill(fill & 0xff)
}

describe('FrameRing', () => {
  it('keeps FIFO order and contents across wrap-around (model check)', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.integer({min: 1, max: 300}), fc.constant(0)), {maxLength: 400}), (ops) => {
        const ring = new FrameRing(1000, 64)
        const model: Uint8Array[] = []
        let k = 0
        for (const op of ops) {
          if (op === 0) {
            if (model.length === 0) continue
            const want = model.shift()!
            expect(new Uint8Array(ring.buf.subarray(ring.frontOff, ring.frontOff + ring.frontLen))).toEqual(want)
            ring.pop()
          } else {
            const f = frameOf(op, ++k)
            // the caller's buffer is reused: the ring must have copied it
            const src = new Uint8Array(op + 10)
            src.set(f, 5)
            const ok = ring.push(src, 5, op, k)
            src.fill(0)
            if (ok) model.push(f)
          }
          expect(ring.count).toBe(model.length)
          expect(ring.bytes).toBe(model.reduce((s, f) => s + f.length, 0))
        }
      }),
    )
  })

  it('a fixed ring refuses what does not fit; a ring of limit + maxFrame always takes frames within the limit', () => {
    const ring = new FrameRing(100, 8)
    expect(ring.push(frameOf(60, 1), 0, 60)).toBe(true)
    expect(ring.push(frameOf(60, 2), 0, 60)).toBe(false)
    const limit = 1000
    const maxFrame = 300
    const r2 = new FrameRing(limit + maxFrame, 1024)
    fc.assert(
      fc.property(fc.array(fc.integer({min: 1, max: maxFrame}), {minLength: 1, maxLength: 300}), (lens) => {
        for (const len of lens) {
          while (r2.bytes + len > limit) r2.pop()
          expect(r2.push(frameOf(len, len), 0, len)).toBe(true)
        }
      }),
    )
  })

  it('a growable ring grows, keeps order, tags and contents', () => {
    const ring = new FrameRing(64, 2, true)
    for (let i = 1; i <= 50; i++) expect(ring.push(frameOf(40, i), 0, 40, i * 10)).toBe(true)
    expect(ring.grows).toBeGreaterThan(0)
    for (let i = 1; i <= 50; i++) {
      expect(ring.frontTag).toBe(i * 10)
      expect(ring.buf[ring.frontOff]).toBe(i)
      expect(ring.frontLen).toBe(40)
      ring.pop()
    }
    expect(ring.count).toBe(0)
  })
})
