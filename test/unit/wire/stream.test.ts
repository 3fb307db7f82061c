import fc from 'fast-check'
import {describe, expect, it} from 'vitest'
import {toHex} from '../../../src/wire/bytes.js'
import {FrameReassembler, writeLengthPrefix} from '../../../src/wire/stream.js'

function stream(frames: Uint8Array[]): Uint8Array {
  const total = frames.reduce((n, f) => n + 2 + f.length, 0)
  const out = new Uint8Array(total)
  let at = 0
  for (const f of frames) {
    writeLengthPrefix(out, at, f.length)
    out.set(f, at + 2)
    at += 2 + f.length
  }
  return out
}

function collect(r: FrameReassembler, chunks: Uint8Array[]): string[] {
  const got: string[] = []
  for (const c of chunks) r.push(c, (b, off, len) => got.push(toHex(b.subarray(off, off + len))))
  return got
}

const FRAMES = [Uint8Array.of(1, 2, 3), new Uint8Array(0), new Uint8Array(300).map((_, i) => i), Uint8Array.of(9)]
const WIRE = stream(FRAMES)
const HEX = FRAMES.map(toHex)

describe('FrameReassembler', () => {
  it('delivers frames from one chunk', () => {
    expect(collect(new FrameReassembler(), [WIRE])).toEqual(HEX)
  })

  it('handles every single split point, including inside the length prefix', () => {
    for (let cut = 0; cut <= WIRE.length; cut++) {
      const r = new FrameReassembler(4)
      expect(collect(r, [WIRE.subarray(0, cut), WIRE.subarray(cut)])).toEqual(HEX)
      expect(r.pending).toBe(0)
    }
  })

  it('handles one byte at a time and random chunkings (seeded)', () => {
    expect(collect(new FrameReassembler(2), Array.from(WIRE, b => Uint8Array.of(b)))).toEqual(HEX)
    fc.assert(fc.property(fc.array(fc.nat(WIRE.length), {maxLength: 8}), cuts => {
      const points = [0, ...cuts.sort((a, b) => a - b), WIRE.length]
      const chunks = points.slice(1).map((p, i) => WIRE.subarray(points[i], p))
      const r = new FrameReassembler(8)
      expect(collect(r, chunks)).toEqual(HEX)
      expect(r.pending).toBe(0)
    }), {seed: 11, numRuns: 300})
  })

  it('keeps the remainder and reuses its buffer across many frames', () => {
    const r = new FrameReassembler(64)
    let delivered = 0
    for (let i = 0; i < 100; i++) {
      delivered += r.push(WIRE.subarray(0, 150), () => {})
      delivered += r.push(WIRE.subarray(150), () => {})
    }
    expect(delivered).toBe(400)
    expect(r.pending).toBe(0)
  })

  it('refuses to prefix a frame over 65535 bytes', () => {
    expect(() => writeLengthPrefix(new Uint8Array(2), 0, 65536)).toThrow(RangeError)
  })
})

describe('FrameReassembler on hostile input', () => {
  it('any bytes in any chunking: never throws, frames tile the stream exactly', () => {
    fc.assert(fc.property(fc.uint8Array({maxLength: 600}), fc.array(fc.nat(600), {maxLength: 6}), (bytes, cuts) => {
      const points = [0, ...cuts.map(c => c % (bytes.length + 1)).sort((a, b) => a - b), bytes.length]
      const r = new FrameReassembler(4)
      let consumed = 0
      for (let i = 1; i < points.length; i++) {
        r.push(bytes.subarray(points[i - 1], points[i]), (_b, _off, len) => { consumed += 2 + len })
      }
      expect(consumed + r.pending).toBe(bytes.length)
    }), {seed: 13, numRuns: 300})
  })
})
