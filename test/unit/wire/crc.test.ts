import fc from 'fast-check'
import {describe, expect, it} from 'vitest'
import {crc32} from 'node:zlib'
import {CRC_IMPL, crc32Masked, crc32Update, NATIVE_CRC_MIN} from '../../../src/wire/crc.js'

describe('crc32Update', () => {
  it('equals zlib.crc32 for any split of any input, below and above the native threshold', () => {
    fc.assert(fc.property(fc.uint8Array({maxLength: 3 * NATIVE_CRC_MIN}), fc.nat(), (data, at) => {
      const cut = data.length === 0 ? 0 : at % (data.length + 1)
      const c = crc32Update(crc32Update(0, data, 0, cut), data, cut, data.length)
      expect(c >>> 0).toBe(crc32(data))
    }), {seed: 7, numRuns: 300})
  })
  it('uses the PCLMUL crc32 of @node-rs/crc32 on linux-x64 (a silent fall-back to zlib would halve its speed)', () => {
    if (process.platform === 'linux' && process.arch === 'x64' && process.env.MASQ_CRC !== 'zlib') expect(CRC_IMPL).toBe('node-rs')
    else expect(['node-rs', 'zlib']).toContain(CRC_IMPL)
  })
  it('equals zlib.crc32 over 4 KiB frames at any offset and chained from any value', () => {
    fc.assert(fc.property(fc.uint8Array({minLength: 4200, maxLength: 4200}), fc.nat(100), fc.nat(0xffffffff), (data, at, init) => {
      expect(crc32Update(init, data, at, at + 4096) >>> 0).toBe(crc32(data.subarray(at, at + 4096), init))
    }), {seed: 11, numRuns: 50})
  })
  it('knows the check value of "123456789" (0xCBF43926)', () => {
    expect(crc32Update(0, new TextEncoder().encode('123456789'), 0, 9) >>> 0).toBe(0xcbf43926)
  })
})

describe('crc32Masked', () => {
  it('sums bytes OR-ed with the mask', () => {
    const data = Uint8Array.of(1, 2, 3, 4, 5)
    const mask = Uint8Array.of(0, 0xff, 0, 0xff, 0)
    expect(crc32Masked(0, data, 0, mask, 5) >>> 0).toBe(crc32(Uint8Array.of(1, 0xff, 3, 0xff, 5)))
    expect(crc32Masked(0, Uint8Array.of(9, ...data), 1, mask, 5) >>> 0).toBe(crc32(Uint8Array.of(1, 0xff, 3, 0xff, 5)))
  })
  it('equals zlib.crc32 of the OR-ed bytes for any length and mask (8-byte path and tail)', () => {
    fc.assert(fc.property(fc.uint8Array({maxLength: 80}), fc.array(fc.boolean(), {minLength: 80, maxLength: 80}),
      fc.nat(0xffffffff), (data, bits, seed) => {
        const mask = Uint8Array.from(bits, b => (b ? 0xff : 0))
        const ored = data.map((v, k) => v | mask[k]!)
        expect(crc32Masked(seed, data, 0, mask, data.length) >>> 0).toBe(crc32(ored, seed))
      }), {seed: 9, numRuns: 300})
  })
})
