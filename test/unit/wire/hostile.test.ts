// Hostile input: decoders return a status / WireError for anything, never throw (seeded, bounded fast-check runs).
import fc from 'fast-check'
import {describe, expect, it} from 'vitest'
import {decodeCm, encodeCm} from '../../../src/wire/cm.js'
import {WireError} from '../../../src/wire/errors.js'
import {DECODE_STATUS_NAME, DecodeStatus, decodeFrame, ipv4Checksum} from '../../../src/wire/frame.js'
import {madOfFrame} from '../../../src/wire/gsi.js'
import {PacketView} from '../../../src/wire/packet.js'
import {readPcap} from '../../../src/wire/pcap.js'
import {readVector} from './vectors.js'

const FRAMES = readPcap(readVector('roce-sample-22.pcap')).records.map(r => r.data)
const MADS = FRAMES.map(f => {
  const p = new PacketView()
  decodeFrame(f, 0, f.length, p)
  return madOfFrame(f, p)
}).filter((m): m is Uint8Array => m !== null)
const RUNS = {seed: 0x5eed, numRuns: 1500}
const STATUS_COUNT = DECODE_STATUS_NAME.length

const mutation = fc.record({
  frame: fc.integer({min: 0, max: FRAMES.length - 1}),
  flips: fc.array(fc.record({at: fc.nat(), value: fc.integer({min: 0, max: 255})}), {maxLength: 4}),
  cut: fc.option(fc.nat(), {nil: undefined}),
})

function applyMutation(m: {frame: number; flips: Array<{at: number; value: number}>; cut?: number}): Uint8Array {
  const f = FRAMES[m.frame]!.slice()
  for (const {at, value} of m.flips) f[at % f.length] = value
  return m.cut === undefined ? f : f.subarray(0, m.cut % (f.length + 1))
}

describe('decodeFrame on hostile input', () => {
  const pkt = new PacketView()
  it('random bytes: never throws, returns a known status', () => {
    fc.assert(fc.property(fc.uint8Array({maxLength: 400}), fc.nat(8), (bytes, off) => {
      const s = decodeFrame(bytes, Math.min(off, bytes.length), Math.max(0, bytes.length - off), pkt)
      expect(Number.isInteger(s) && s >= 0 && s < STATUS_COUNT).toBe(true)
    }), RUNS)
  })

  it('mutated sample frames: never throws; an unmutated frame decodes OK', () => {
    fc.assert(fc.property(mutation, m => {
      const f = applyMutation(m)
      const s = decodeFrame(f, 0, f.length, pkt)
      expect(s >= 0 && s < STATUS_COUNT).toBe(true)
      if (m.flips.length === 0 && m.cut === undefined) expect(s).toBe(DecodeStatus.OK)
    }), RUNS)
  })

  it('out-of-range offsets and lengths are TRUNCATED', () => {
    const f = FRAMES[3]!
    expect(decodeFrame(f, -1, 10, pkt)).toBe(DecodeStatus.TRUNCATED)
    expect(decodeFrame(f, 0, f.length + 1, pkt)).toBe(DecodeStatus.TRUNCATED)
    expect(decodeFrame(f, 5, f.length, pkt)).toBe(DecodeStatus.TRUNCATED)
  })

  // One crafted frame per status: every code is reachable.
  const SEND = FRAMES[3]! // RC SEND ONLY, 13 bytes + pad 3
  const ACK = FRAMES[4]! // RC ACKNOWLEDGE
  const IP = 14
  const BTH = 42
  function edit(base: Uint8Array, fn: (f: Uint8Array) => void, fixIpChecksum = true): Uint8Array {
    const f = base.slice()
    fn(f)
    if (fixIpChecksum) {
      f[IP + 10] = 0
      f[IP + 11] = 0
      const c = ipv4Checksum(f, IP)
      f[IP + 10] = c >>> 8
      f[IP + 11] = c & 0xff
    }
    return f
  }
  const CASES: Array<[keyof typeof DecodeStatus, Uint8Array]> = [
    ['OK', SEND],
    ['TRUNCATED', SEND.subarray(0, 40)],
    ['NOT_IPV4', edit(SEND, f => { f[12] = 0x86; f[13] = 0xdd })],
    ['BAD_IP_HEADER', edit(SEND, f => { f[IP] = 0x46 })],
    ['BAD_IP_CHECKSUM', edit(SEND, f => { f[IP + 8] = 1 }, false)],
    ['NOT_UDP', edit(SEND, f => { f[IP + 9] = 6 })],
    ['NOT_ROCE_PORT', edit(SEND, f => { f[IP + 23] = 0xb8 })],
    ['BAD_UDP_LENGTH', edit(SEND, f => { f[IP + 25] += 4 })],
    ['BAD_TVER', edit(SEND, f => { f[BTH + 1]! |= 1 })],
    ['BAD_OPCODE', edit(SEND, f => { f[BTH] = 0x15 })],
    ['BAD_LENGTH', edit(SEND, f => { f[BTH] = 0x11; f[BTH + 1] = 0 })],
    ['BAD_PAD', edit(ACK, f => { f[BTH + 1] = 0x10 })],
    ['BAD_ICRC', edit(SEND, f => { f[BTH + 12] ^= 1 })],
  ]
  it.each(CASES)('%s is reachable', (name, frame) => {
    expect(DECODE_STATUS_NAME[decodeFrame(frame, 0, frame.length, pkt)]).toBe(name)
  })
  it('the crafted cases cover every status code', () => {
    expect(new Set(CASES.map(c => DecodeStatus[c[0]])).size).toBe(STATUS_COUNT)
  })
})

describe('decodeCm on hostile input', () => {
  function check(mad: Uint8Array): void {
    const msg = decodeCm(mad)
    if (msg instanceof WireError) {
      expect(typeof msg.reason).toBe('string')
      return
    }
    // Whatever decodes must re-encode, and decode again to the same message.
    expect(decodeCm(encodeCm(msg))).toEqual(msg)
  }
  it('random bytes', () => {
    fc.assert(fc.property(fc.uint8Array({minLength: 0, maxLength: 300}), check), RUNS)
  })
  it('random CM payloads behind a valid header', () => {
    const attrs = [0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17]
    fc.assert(fc.property(fc.constantFrom(...attrs), fc.uint8Array({minLength: 232, maxLength: 232}), (attr, body) => {
      const mad = new Uint8Array(256)
      mad.set([1, 7, 2, 3])
      mad[17] = attr
      mad.set(body, 24)
      check(mad)
    }), RUNS)
  })
  it('mutated sample MADs', () => {
    fc.assert(fc.property(fc.integer({min: 0, max: MADS.length - 1}),
      fc.array(fc.record({at: fc.nat(255), value: fc.integer({min: 0, max: 255})}), {maxLength: 6}), (i, flips) => {
        const mad = MADS[i]!.slice()
        for (const {at, value} of flips) mad[at] = value
        check(mad)
      }), RUNS)
  })
})
