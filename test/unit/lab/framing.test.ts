import {describe, expect, it} from 'vitest'
import fc from 'fast-check'
import {FRAME_ALIGN, FrameParser, InPlaceReader, padRecord} from '../../../src/lab/framing.js'

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

describe('InPlaceReader (the wire link receive side)', () => {
  const record = (body: Buffer): Buffer => {
    const r = Buffer.alloc(padRecord(body.length))
    r.writeUInt32BE(body.length)
    body.copy(r, 4)
    return r
  }
  // what a socket with `onread` does: copy up to next().length bytes of the stream into next()
  const feed = (r: InPlaceReader, stream: Buffer, cuts: number[]) => {
    let pos = 0
    for (let i = 0; pos < stream.length; i++) {
      const into = r.next()
      const n = Math.min(cuts[i % cuts.length]!, into.length, stream.length - pos)
      stream.copy(into, 0, pos, pos + n)
      r.push(n)
      pos += n
    }
  }

  it('delivers padded records in place, every frame at 2 mod 4, however the reads are cut', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({maxLength: 700}), {maxLength: 40}),
        fc.array(fc.integer({min: 1, max: 3000}), {minLength: 1, maxLength: 20}),
        (bodies, cuts) => {
          const got: string[] = []
          const misaligned: number[] = []
          const r = new InPlaceReader(4096, (b, o, l) => {
            if (((b.byteOffset + o) & 3) !== FRAME_ALIGN) misaligned.push(o)
            got.push(b.toString('hex', o, o + l))
          }, 1024)
          feed(r, Buffer.concat(bodies.map((b) => record(Buffer.from(b)))), cuts)
          expect(got).toEqual(bodies.map((b) => Buffer.from(b).toString('hex')))
          expect(misaligned).toEqual([])
        },
      ),
    )
  })

  it('counts an oversize length, skips its record and goes on', () => {
    const big = Buffer.alloc(padRecord(5000))
    big.writeUInt32BE(5000)
    const over: number[] = []
    const got: string[] = []
    const r = new InPlaceReader(4096, (b, o, l) => got.push(b.toString('hex', o, o + l)), 1024, (l) => over.push(l))
    feed(r, Buffer.concat([record(Buffer.from('aa', 'hex')), big, record(Buffer.from('bbcc', 'hex'))]), [700])
    expect(over).toEqual([5000])
    expect(got).toEqual(['aa', 'bbcc'])
  })
})
