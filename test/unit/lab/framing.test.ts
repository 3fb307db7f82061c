import {describe, expect, it} from 'vitest'
import fc from 'fast-check'
import {FrameParser} from '../../../src/lab/framing.js'

function frame(body: Buffer): Buffer {
  const h = Buffer.alloc(4)
  h.writeUInt32BE(body.length)
  return Buffer.concat([h, body])
}

function collect(max = 1024) {
  const got: string[] = []
  const oversize: number[] = []
  const p = new FrameParser((b, o, l) => got.push(b.toString('hex', o, o + l)), max, (l) => oversize.push(l), 8)
  return {p, got, oversize}
}

describe('FrameParser', () => {
  it('delivers frames however the stream is split', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({maxLength: 300}), {maxLength: 20}),
        fc.array(fc.integer({min: 1, max: 50}), {minLength: 1, maxLength: 30}),
        (bodies, cuts) => {
          const stream = Buffer.concat(bodies.map((b) => frame(Buffer.from(b))))
          const {p, got} = collect()
          let pos = 0
          let i = 0
          while (pos < stream.length) {
            const n = cuts[i++ % cuts.length]
            p.push(stream.subarray(pos, pos + n))
            pos += n
          }
          expect(got).toEqual(bodies.map((b) => Buffer.from(b).toString('hex')))
          expect(p.pending).toBe(0)
        },
      ),
    )
  })

  it('skips an oversize frame and resyncs on the next one, split or not', () => {
    const big = Buffer.alloc(3000, 7)
    const stream = Buffer.concat([frame(Buffer.from('aa', 'hex')), frame(big), frame(Buffer.from('bbcc', 'hex'))])
    for (const step of [1, 3, 7, 100, stream.length]) {
      const {p, got, oversize} = collect(1024)
      for (let i = 0; i < stream.length; i += step) p.push(stream.subarray(i, i + step))
      expect(got).toEqual(['aa', 'bbcc'])
      expect(oversize).toEqual([3000])
      expect(p.stats.oversize).toBe(1)
    }
  })

  it('never throws on hostile bytes', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({maxLength: 64}), {maxLength: 40}), (chunks) => {
        const {p} = collect(256)
        for (const c of chunks) p.push(Buffer.from(c))
        expect(p.pending).toBeLessThanOrEqual(260)
      }),
    )
  })
})
