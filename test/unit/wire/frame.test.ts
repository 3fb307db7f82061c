import {describe, expect, it} from 'vitest'
import {
  DECODE_STATUS_NAME, DecodeStatus, FrameEncoder, decodeFrame, frameLength, icrc, ipToU32, macFromString,
} from '../../../src/wire/frame.js'
import {fromHex, toHex} from '../../../src/wire/bytes.js'
import {Opcode} from '../../../src/wire/opcodes.js'
import {PacketView} from '../../../src/wire/packet.js'
import {readPcap} from '../../../src/wire/pcap.js'
import {readVector} from './vectors.js'

// rdma-emulation.md §2.4: RC SEND ONLY "hello world!!", pad 3, ICRC a6 64 64 1c.
const SEND_ONLY_HEX = `020000000002 020000000001 0800
  4500003c 01034000 401125ac 0a000001 0a000002
  c12312b7 00280000
  0430ffff 00000012 80000100
  68656c6c6f20776f726c64212100 0000
  a664641c`
// §2.5: ConnectX-4 Lx CNP (scapy roce.uts), ICRC 82 fd 00 2a.
const CNP_HEX = `e41d2dab2bc2 7cfe90643b32 0800
  45c2003c 718c4000 40119161 0a001101 0a001201
  000012b7 00280000
  8100ffff 40000118 00000000
  00000000000000000000000000000000
  82fd002a`

describe('ICRC', () => {
  it('matches the ConnectX-4 Lx CNP vector', () => {
    const f = fromHex(CNP_HEX)
    expect(icrc(f, 0, f.length)).toBe(0x2a00fd82)
  })
  it('matches the §2.4 SEND ONLY example', () => {
    const f = fromHex(SEND_ONLY_HEX)
    expect(icrc(f, 0, f.length)).toBe(0x1c6464a6)
  })
})

describe('decodeFrame / FrameEncoder on the reference frames', () => {
  it('decodes the §2.4 frame field by field and re-encodes it', () => {
    const f = fromHex(SEND_ONLY_HEX)
    const p = new PacketView()
    expect(decodeFrame(f, 0, f.length, p)).toBe(DecodeStatus.OK)
    expect(p).toMatchObject({
      srcIp: 0x0a000001, dstIp: 0x0a000002, ttl: 64, dscp: 0, ecn: 0, ipId: 0x0103, srcPort: 0xc123,
      opcode: 0x04, padCnt: 3, pkey: 0xffff, destQp: 0x12, ackReq: 1, psn: 0x100, payloadOff: 54, payloadLen: 13,
      icrc: 0x1c6464a6,
    })
    expect(Buffer.from(f.subarray(p.payloadOff, p.payloadOff + p.payloadLen)).toString()).toBe('hello world!!')
    const out = new Uint8Array(100)
    const n = new FrameEncoder().encodeInto(out, 0, p, new TextEncoder().encode('hello world!!'), 0, 13)
    expect(toHex(out.subarray(0, n))).toBe(toHex(f))
  })

  it('decodes the CNP vector (DSCP/ECN, BECN) and re-encodes it', () => {
    const f = fromHex(CNP_HEX)
    const p = new PacketView()
    expect(decodeFrame(f, 0, f.length, p)).toBe(DecodeStatus.OK)
    expect(p).toMatchObject({opcode: Opcode.CNP, dscp: 48, ecn: 2, becn: 1, fecn: 0, destQp: 0x118, srcPort: 0})
    const out = new Uint8Array(100)
    expect(toHex(out.subarray(0, new FrameEncoder().encodeInto(out, 0, p, null, 0, 0)))).toBe(toHex(f))
  })
})

// Expected values read with tshark 4.0.17 from roce-sample-22.pcap (an independent decoder).
const SAMPLE: Array<[number, Partial<PacketView>]> = [
  [1, {opcode: 0x64, destQp: 1, psn: 0, dethQkey: 0x80010000, dethSrcQp: 1, payloadLen: 256}],
  [4, {opcode: 0x04, destQp: 0x12, psn: 256, ackReq: 1, payloadLen: 13, padCnt: 3}],
  [5, {opcode: 0x11, destQp: 0x11, psn: 256, aethSyndrome: 31, aethMsn: 1}],
  [6, {opcode: 0x06, destQp: 0x12, psn: 257, ackReq: 0, rethVaHi: 0x7f00, rethVaLo: 0x1000, rethRkey: 0x1234,
    rethLen: 2500, payloadLen: 1024}],
  [7, {opcode: 0x07, psn: 258, payloadLen: 1024}],
  [8, {opcode: 0x08, psn: 259, ackReq: 1, payloadLen: 452}],
  [10, {opcode: 0x0c, psn: 260, rethVaHi: 0x7f00, rethVaLo: 0x1000, rethRkey: 0x1234, rethLen: 8, payloadLen: 0}],
  [11, {opcode: 0x10, psn: 260, aethSyndrome: 31, aethMsn: 3, payloadLen: 8}],
  [12, {opcode: 0x13, psn: 261, atomicVaHi: 0x7f00, atomicVaLo: 0x1000, atomicRkey: 0x1234, atomicSwapHi: 0,
    atomicSwapLo: 5, atomicCmpHi: 0, atomicCmpLo: 0}],
  [13, {opcode: 0x12, psn: 261, aethSyndrome: 31, aethMsn: 4, origHi: 0, origLo: 0}],
  [14, {opcode: 0x0a, psn: 262, rethRkey: 0x00dead00, rethLen: 4, payloadLen: 4}],
  [15, {opcode: 0x11, psn: 262, aethSyndrome: 0x62, aethMsn: 4}],
  [16, {opcode: 0x11, psn: 263, aethSyndrome: 0x60, aethMsn: 4}],
  [17, {opcode: 0x11, psn: 263, aethSyndrome: 46, aethMsn: 4}],
  [18, {opcode: 0x05, psn: 263, ackReq: 1, immDt: 0xcafebabe, payloadLen: 3, padCnt: 1}],
  [19, {opcode: 0x64, destQp: 0x14, psn: 0, dethQkey: 0x11111111, dethSrcQp: 0x13, payloadLen: 11}],
]

describe('roce-sample-22.pcap', () => {
  const pcap = readPcap(readVector('roce-sample-22.pcap'))
  const enc = new FrameEncoder()
  const out = new Uint8Array(2048)

  it('has 22 Ethernet records', () => {
    expect(pcap.linktype).toBe(1)
    expect(pcap.records).toHaveLength(22)
  })

  it.each(pcap.records.map((r, i) => [i + 1, r.data] as const))('frame %i decodes and re-encodes byte-identically',
    (_n, data) => {
      const p = new PacketView()
      expect(DECODE_STATUS_NAME[decodeFrame(data, 0, data.length, p)]).toBe('OK')
      expect(p.srcIp === ipToU32('10.0.0.1') || p.srcIp === ipToU32('10.0.0.2')).toBe(true)
      const n = enc.encodeInto(out, 0, p, data.subarray(p.payloadOff, p.payloadOff + p.payloadLen), 0, p.payloadLen)
      expect(n).toBe(frameLength(p.opcode, p.payloadLen))
      expect(toHex(out.subarray(0, n))).toBe(toHex(data))
    })

  it.each(SAMPLE)('frame %i fields equal what tshark reads', (n, fields) => {
    const data = pcap.records[n - 1]!.data
    const p = new PacketView()
    expect(decodeFrame(data, 0, data.length, p)).toBe(DecodeStatus.OK)
    expect(p).toMatchObject(fields)
  })

  it('decodes a frame at an offset inside a larger buffer and reuses one PacketView', () => {
    const p = new PacketView()
    for (const r of pcap.records) {
      const big = new Uint8Array(r.data.length + 37)
      big.set(r.data, 17)
      expect(decodeFrame(big, 17, r.data.length, p)).toBe(DecodeStatus.OK)
      const n = enc.encodeInto(out, 5, p, big, p.payloadOff, p.payloadLen)
      expect(toHex(out.subarray(5, 5 + n))).toBe(toHex(r.data))
    }
  })
})

describe('FrameEncoder', () => {
  it('reads the payload from a SharedArrayBuffer view', () => {
    const sab = new Uint8Array(new SharedArrayBuffer(64))
    sab.set([1, 2, 3, 4, 5], 10)
    const p = new PacketView()
    p.dstMac.set(macFromString('02:00:00:00:00:02'))
    p.opcode = Opcode.RC_SEND_ONLY
    const out = new Uint8Array(128)
    const n = new FrameEncoder().encodeInto(out, 0, p, sab, 10, 5)
    const q = new PacketView()
    expect(decodeFrame(out, 0, n, q)).toBe(DecodeStatus.OK)
    expect(Array.from(out.subarray(q.payloadOff, q.payloadOff + q.payloadLen))).toEqual([1, 2, 3, 4, 5])
    expect(q.padCnt).toBe(3)
  })
  it('rejects caller bugs with RangeError', () => {
    const p = new PacketView()
    p.opcode = 0x15
    expect(() => new FrameEncoder().encodeInto(new Uint8Array(100), 0, p, null, 0, 0)).toThrow(RangeError)
    p.opcode = Opcode.RC_ACKNOWLEDGE
    expect(() => new FrameEncoder().encodeInto(new Uint8Array(100), 0, p, new Uint8Array(4), 0, 4)).toThrow(RangeError)
    expect(() => new FrameEncoder().encodeInto(new Uint8Array(40), 0, p, null, 0, 0)).toThrow(RangeError)
  })
})
