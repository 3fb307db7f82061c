// Per-header encoding against frames built by hand (ByteList), one opcode per extension header.
import {describe, expect, it} from 'vitest'
import {toHex} from '../../../src/wire/bytes.js'
import {DecodeStatus, FrameEncoder, decodeFrame, icrc, ipv4Checksum} from '../../../src/wire/frame.js'
import {Opcode} from '../../../src/wire/opcodes.js'
import {PacketView} from '../../../src/wire/packet.js'
import {ByteList} from './byte-list.js'

function basePacket(opcode: number): PacketView {
  const p = new PacketView()
  p.dstMac.set([0x02, 0, 0, 0, 0, 0xbb])
  p.srcMac.set([0x02, 0, 0, 0, 0, 0xaa])
  p.srcIp = 0xc0a80001
  p.dstIp = 0xc0a80002
  p.dscp = 46
  p.ecn = 1
  p.ttl = 63
  p.ipId = 0xbeef
  p.srcPort = 0xd00d
  p.opcode = opcode
  p.se = 1
  p.migReq = 1
  p.pkey = 0x8001
  p.fecn = 1
  p.becn = 0
  p.destQp = 0xabcdef
  p.ackReq = 1
  p.psn = 0xfffffe
  return p
}

// Eth | IPv4 | UDP | BTH exactly as IBTA / RFC 791 / RFC 768 lay them out; `ext` = headers after BTH + payload + pad.
function expectedFrame(p: PacketView, pad: number, ext: Uint8Array): Uint8Array {
  const udpLen = 8 + 12 + ext.length + 4
  const ip = new ByteList().u8(0x45, (46 << 2) | 1).u16(20 + udpLen).u16(0xbeef).u16(0x4000).u8(63, 17).u16(0)
    .u32(0xc0a80001).u32(0xc0a80002).build()
  const csum = ipv4Checksum(ip, 0)
  ip[10] = csum >>> 8
  ip[11] = csum & 0xff
  const frame = new ByteList().u8(2, 0, 0, 0, 0, 0xbb, 2, 0, 0, 0, 0, 0xaa).u16(0x0800).add(ip)
    .u16(0xd00d).u16(4791).u16(udpLen).u16(0)
    .u8(p.opcode).u8(0x80 | 0x40 | (pad << 4)).u16(0x8001).u8(0x80).u24(0xabcdef).u8(0x80).u24(0xfffffe)
    .add(ext).zeros(4).build()
  const c = icrc(frame, 0, frame.length)
  frame.set([c & 0xff, (c >>> 8) & 0xff, (c >>> 16) & 0xff, c >>> 24], frame.length - 4)
  return frame
}

function roundTrip(p: PacketView, payload: Uint8Array, expected: Uint8Array): void {
  const out = new Uint8Array(512)
  const n = new FrameEncoder().encodeInto(out, 0, p, payload, 0, payload.length)
  expect(toHex(out.subarray(0, n))).toBe(toHex(expected))
  const q = new PacketView()
  expect(decodeFrame(expected, 0, expected.length, q)).toBe(DecodeStatus.OK)
  const {payloadOff: _a, payloadLen: _b, ...fields} = p
  expect(q).toMatchObject({...fields, mask: q.mask})
}

describe('extension headers, byte for byte', () => {
  it('RETH + ImmDt (RDMA WRITE ONLY WITH IMMEDIATE), payload 5 + pad 3', () => {
    const p = basePacket(Opcode.RC_RDMA_WRITE_ONLY_WITH_IMMEDIATE)
    Object.assign(p, {rethVaHi: 0x01234567, rethVaLo: 0x89abcdef, rethRkey: 0xdeadbeef, rethLen: 5, immDt: 0x0badf00d})
    const ext = new ByteList().u32(0x01234567).u32(0x89abcdef).u32(0xdeadbeef).u32(5).u32(0x0badf00d)
      .u8(1, 2, 3, 4, 5).zeros(3).build()
    roundTrip(p, Uint8Array.of(1, 2, 3, 4, 5), expectedFrame(p, 3, ext))
  })
  it('AETH + AtomicAckETH (ATOMIC ACKNOWLEDGE)', () => {
    const p = basePacket(Opcode.RC_ATOMIC_ACKNOWLEDGE)
    Object.assign(p, {aethSyndrome: 0x1f, aethMsn: 0x123456, origHi: 0xffffffff, origLo: 0x00000001})
    const ext = new ByteList().u8(0x1f).u24(0x123456).u32(0xffffffff).u32(1).build()
    roundTrip(p, new Uint8Array(), expectedFrame(p, 0, ext))
  })
  it('AtomicETH (COMPARE SWAP)', () => {
    const p = basePacket(Opcode.RC_COMPARE_SWAP)
    Object.assign(p, {atomicVaHi: 0x7f, atomicVaLo: 0x1008, atomicRkey: 0x100, atomicSwapHi: 0xa1a2a3a4,
      atomicSwapLo: 0xa5a6a7a8, atomicCmpHi: 0xb1b2b3b4, atomicCmpLo: 0xb5b6b7b8})
    const ext = new ByteList().u32(0x7f).u32(0x1008).u32(0x100).u32(0xa1a2a3a4).u32(0xa5a6a7a8).u32(0xb1b2b3b4)
      .u32(0xb5b6b7b8).build()
    roundTrip(p, new Uint8Array(), expectedFrame(p, 0, ext))
  })
  it('DETH + ImmDt (UD SEND ONLY WITH IMMEDIATE), payload 8', () => {
    const p = basePacket(Opcode.UD_SEND_ONLY_WITH_IMMEDIATE)
    Object.assign(p, {dethQkey: 0x80010000, dethSrcQp: 0x000001, immDt: 0x11223344})
    const ext = new ByteList().u32(0x80010000).u8(0).u24(1).u32(0x11223344).u8(8, 7, 6, 5, 4, 3, 2, 1).build()
    roundTrip(p, Uint8Array.of(8, 7, 6, 5, 4, 3, 2, 1), expectedFrame(p, 0, ext))
  })
  it('IETH (SEND LAST WITH INVALIDATE), payload 1 + pad 3', () => {
    const p = basePacket(Opcode.RC_SEND_LAST_WITH_INVALIDATE)
    p.ieth = 0x00c0ffee
    const ext = new ByteList().u32(0x00c0ffee).u8(0x5a).zeros(3).build()
    roundTrip(p, Uint8Array.of(0x5a), expectedFrame(p, 3, ext))
  })
  it('NAK (RC ACKNOWLEDGE, syndrome 0x62)', () => {
    const p = basePacket(Opcode.RC_ACKNOWLEDGE)
    Object.assign(p, {aethSyndrome: 0x62, aethMsn: 4})
    roundTrip(p, new Uint8Array(), expectedFrame(p, 0, new ByteList().u8(0x62).u24(4).build()))
  })
  it('a 4 KiB payload from a SharedArrayBuffer, encoded repeatedly into the same buffer', () => {
    const p = basePacket(Opcode.RC_RDMA_WRITE_MIDDLE)
    const mr = new Uint8Array(new SharedArrayBuffer(16384)).map((_, i) => (i * 31) & 0xff)
    const expected = expectedFrame(p, 0, mr.slice(100, 4196))
    const out = new Uint8Array(8192)
    const enc = new FrameEncoder()
    const q = new PacketView()
    for (let i = 0; i < 3; i++) {
      const n = enc.encodeInto(out, 0, p, mr, 100, 4096)
      expect(toHex(out.subarray(0, n))).toBe(toHex(expected))
      expect(decodeFrame(out, 0, n, q)).toBe(DecodeStatus.OK)
      expect(q.payloadLen).toBe(4096)
    }
  })
})
