// RoCEv2 frame codec: Ethernet(0x0800) | IPv4 | UDP(4791) | BTH | ext headers | payload | pad | ICRC.
// decodeFrame validates everything (IPv4 checksum and ICRC included) and never throws on wire input;
// FrameEncoder writes into a caller-owned buffer. Neither allocates in the steady state.
import {crc32} from 'node:zlib'
import {HdrBytes, Mask, OPCODES, type OpcodeOffsets} from './opcodes.js'
import {PacketView} from './packet.js'
import {crc32Masked, crc32Update} from './crc.js'
import {copyBytes, rd16, rd24, rd32, rd32le, wr16, wr24, wr32, wr32le} from './bytes.js'

export {ipToU32, u32ToIp, macFromString, macToString, gidToIp, ipToGid} from './addr.js'

export const DecodeStatus = {
  OK: 0, TRUNCATED: 1, NOT_IPV4: 2, BAD_IP_HEADER: 3, BAD_IP_CHECKSUM: 4, NOT_UDP: 5, NOT_ROCE_PORT: 6,
  BAD_UDP_LENGTH: 7, BAD_TVER: 8, BAD_OPCODE: 9, BAD_LENGTH: 10, BAD_PAD: 11, BAD_ICRC: 12,
} as const
export type DecodeStatusCode = (typeof DecodeStatus)[keyof typeof DecodeStatus]
/** Status code → name, for drop counters by reason. */
export const DECODE_STATUS_NAME: string[] = Object.keys(DecodeStatus)

export const ETH_HLEN = 14
export const IPV4_HLEN = 20
export const UDP_HLEN = 8
export const ETHERTYPE_IPV4 = 0x0800
export const IPPROTO_UDP = 17
export const ROCE_V2_PORT = 4791
/** Offset of the BTH from the start of the frame. */
export const BTH_OFFSET = ETH_HLEN + IPV4_HLEN + UDP_HLEN
/** Everything in a frame that is not BTH, extension headers, payload or pad. */
export const FRAME_OVERHEAD = BTH_OFFSET + HdrBytes.ICRC
const IP_FLAG_DF = 0x4000
const IP_FLAG_MF = 0x2000
const IP_FRAG_OFFSET = 0x1fff

/** Bytes on the wire for `opcode` with `payloadLen` bytes of payload (pad to 4 included). */
export function frameLength(opcode: number, payloadLen: number): number {
  const info = OPCODES[opcode]
  if (!info) throw new RangeError(`unknown opcode 0x${opcode.toString(16)}`)
  return FRAME_OVERHEAD + info.length + payloadLen + ((-payloadLen) & 3)
}

// ---- ICRC (IBTA §14.6.4 / rxe_icrc.c) ----
// ICRC = crc32(0xFF×8 ‖ IPv4 hdr{TOS,TTL,csum = 0xFF..} ‖ UDP{csum = 0xFFFF} ‖ BTH{byte 4 = 0xFF} ‖ rest ‖ pad).
// The 8 0xFF bytes stand for the masked LRH; we start from their CRC. Masking is an OR table over the
// IPv4+UDP+BTH bytes, so neither side copies or mutates the frame.
const CRC_FF8 = crc32(new Uint8Array(8).fill(0xff)) | 0
const MAX_HDR = 40 // largest BTH + extension headers (COMPARE_SWAP / FETCH_ADD)
const ICRC_OR_MASK = new Uint8Array(IPV4_HLEN + UDP_HLEN + MAX_HDR)
for (const k of [1, 8, 10, 11, IPV4_HLEN + 6, IPV4_HLEN + 7, IPV4_HLEN + UDP_HLEN + 4]) ICRC_OR_MASK[k] = 0xff
const SMALL_COPY = 128 // below this a byte loop beats making a subarray for TypedArray.set

// ICRC (as int32) of the frame whose IPv4 header starts at `ip`, with `hdrLen` bytes of BTH + extension headers,
// up to `end` (exclusive: where the ICRC goes).
function icrcOf(buf: Uint8Array, ip: number, hdrLen: number, end: number): number {
  const c = crc32Masked(CRC_FF8, buf, ip, ICRC_OR_MASK, IPV4_HLEN + UDP_HLEN + hdrLen)
  const rest = ip + IPV4_HLEN + UDP_HLEN + hdrLen
  return end > rest ? crc32Update(c, buf, rest, end) : c
}

/** ICRC of the complete frame buf[off, off+len) (ICRC bytes at the end excluded from the sum). */
export function icrc(buf: Uint8Array, off: number, len: number): number {
  return icrcOf(buf, off + ETH_HLEN, HdrBytes.BTH, off + len - HdrBytes.ICRC) >>> 0
}

/** RFC 791 header checksum over the 20-byte IPv4 header at `o` (the checksum field counted as is). */
export function ipv4Checksum(b: Uint8Array, o: number): number {
  let sum = 0
  for (let i = 0; i < IPV4_HLEN; i += 2) sum += (b[o + i]! << 8) | b[o + i + 1]!
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16)
  return ~sum & 0xffff
}

// ---- decode ----

/**
 * Decodes the frame at buf[off, off+len) into `out`. Returns a DecodeStatus; never throws and does not
 * allocate (a payload region of NATIVE_CRC_MIN bytes or more makes one cached view for zlib).
 * `out.payloadOff` is absolute in `buf`.
 */
export function decodeFrame(buf: Uint8Array, off: number, len: number, out: PacketView): number {
  if (off < 0 || len < 0 || off + len > buf.length) return DecodeStatus.TRUNCATED
  if (len < ETH_HLEN) return DecodeStatus.TRUNCATED
  if (rd16(buf, off + 12) !== ETHERTYPE_IPV4) return DecodeStatus.NOT_IPV4
  if (len < ETH_HLEN + IPV4_HLEN) return DecodeStatus.TRUNCATED
  const ip = off + ETH_HLEN
  const vihl = buf[ip]!
  if (vihl >>> 4 !== 4) return DecodeStatus.NOT_IPV4
  // No IP options: the ICRC pseudo header is defined on a 20-byte header (rxe_icrc_hdr).
  if ((vihl & 0x0f) !== 5) return DecodeStatus.BAD_IP_HEADER
  const totalLen = rd16(buf, ip + 2)
  const frag = rd16(buf, ip + 6)
  if (totalLen < IPV4_HLEN + UDP_HLEN || (frag & (IP_FLAG_MF | IP_FRAG_OFFSET)) !== 0) return DecodeStatus.BAD_IP_HEADER
  if (ETH_HLEN + totalLen > len) return DecodeStatus.TRUNCATED // trailing bytes (Ethernet padding) are allowed
  if (ipv4Checksum(buf, ip) !== 0) return DecodeStatus.BAD_IP_CHECKSUM
  if (buf[ip + 9] !== IPPROTO_UDP) return DecodeStatus.NOT_UDP
  const udp = ip + IPV4_HLEN
  if (rd16(buf, udp + 2) !== ROCE_V2_PORT) return DecodeStatus.NOT_ROCE_PORT
  const udpLen = rd16(buf, udp + 4)
  if (udpLen !== totalLen - IPV4_HLEN) return DecodeStatus.BAD_UDP_LENGTH
  const paylen = udpLen - UDP_HLEN // BTH .. ICRC, rxe's pkt->paylen
  if (paylen < HdrBytes.BTH + HdrBytes.ICRC) return DecodeStatus.BAD_LENGTH
  const bth = udp + UDP_HLEN
  const b1 = buf[bth + 1]!
  if ((b1 & 0x0f) !== 0) return DecodeStatus.BAD_TVER
  const opcode = buf[bth]!
  const info = OPCODES[opcode]
  if (info === undefined) return DecodeStatus.BAD_OPCODE
  const mask = info.mask
  const pad = (b1 >>> 4) & 3
  // IBA packets are whole 4-byte words; rxe drops paylen < header + pad + ICRC (rxe_recv.c).
  if ((paylen & 3) !== 0 || paylen < info.length + HdrBytes.ICRC) return DecodeStatus.BAD_LENGTH
  const rest = paylen - info.length - HdrBytes.ICRC
  if ((mask & Mask.PAYLOAD) === 0) {
    if (rest !== 0) return DecodeStatus.BAD_LENGTH
    if (pad !== 0) return DecodeStatus.BAD_PAD
  } else if (pad > rest) {
    return DecodeStatus.BAD_PAD
  }
  const end = udp + udpLen

  copyBytes(out.dstMac, 0, buf, off, 6)
  copyBytes(out.srcMac, 0, buf, off + 6, 6)
  const tos = buf[ip + 1]!
  out.dscp = tos >>> 2
  out.ecn = tos & 3
  out.ipId = rd16(buf, ip + 4)
  out.ttl = buf[ip + 8]!
  out.srcIp = rd32(buf, ip + 12)
  out.dstIp = rd32(buf, ip + 16)
  out.srcPort = rd16(buf, udp)
  out.opcode = opcode
  out.mask = mask
  out.se = b1 >>> 7
  out.migReq = (b1 >>> 6) & 1
  out.padCnt = pad
  out.tver = 0
  out.pkey = rd16(buf, bth + 2)
  out.fecn = buf[bth + 4]! >>> 7
  out.becn = (buf[bth + 4]! >>> 6) & 1
  out.destQp = rd24(buf, bth + 5)
  out.ackReq = buf[bth + 8]! >>> 7
  out.psn = rd24(buf, bth + 9)
  readExtHeaders(buf, bth, info.offset, mask, out)
  out.payloadOff = bth + info.length
  out.payloadLen = rest - pad

  const c = icrcOf(buf, ip, info.length, end - HdrBytes.ICRC)
  out.icrc = c >>> 0
  if (c !== (rd32le(buf, end - HdrBytes.ICRC) | 0)) return DecodeStatus.BAD_ICRC
  return DecodeStatus.OK
}

function readExtHeaders(buf: Uint8Array, bth: number, o: OpcodeOffsets, mask: number, out: PacketView): void {
  if (mask & Mask.RETH) {
    const r = bth + o.reth!
    out.rethVaHi = rd32(buf, r)
    out.rethVaLo = rd32(buf, r + 4)
    out.rethRkey = rd32(buf, r + 8)
    out.rethLen = rd32(buf, r + 12)
  }
  if (mask & Mask.AETH) {
    const a = bth + o.aeth!
    out.aethSyndrome = buf[a]!
    out.aethMsn = rd24(buf, a + 1)
  }
  if (mask & Mask.DETH) {
    const d = bth + o.deth!
    out.dethQkey = rd32(buf, d)
    out.dethSrcQp = rd24(buf, d + 5)
  }
  if (mask & Mask.ATMETH) {
    const a = bth + o.atmeth!
    out.atomicVaHi = rd32(buf, a)
    out.atomicVaLo = rd32(buf, a + 4)
    out.atomicRkey = rd32(buf, a + 8)
    out.atomicSwapHi = rd32(buf, a + 12)
    out.atomicSwapLo = rd32(buf, a + 16)
    out.atomicCmpHi = rd32(buf, a + 20)
    out.atomicCmpLo = rd32(buf, a + 24)
  }
  if (mask & Mask.ATMACK) {
    const a = bth + o.atmack!
    out.origHi = rd32(buf, a)
    out.origLo = rd32(buf, a + 4)
  }
  if (mask & Mask.IMMDT) out.immDt = rd32(buf, bth + o.immdt!)
  if (mask & Mask.IETH) out.ieth = rd32(buf, bth + o.ieth!)
}

// ---- encode ----

/** Writes complete frames from a PacketView. Holds no per-frame state: one instance can serve every QP. */
export class FrameEncoder {
  /**
   * Encodes `pkt` with payload bytes payload[payloadOff, payloadOff+payloadLen) into out[off, …) and returns the
   * frame length. Sets pkt.padCnt, pkt.mask and pkt.icrc. An exact payload view (payloadOff 0, payloadLen =
   * payload.length) is copied with TypedArray.set; other ranges under 128 B by a byte loop, longer ones through a
   * subarray (one small allocation). Throws RangeError only on caller bugs (opcode, payload range, space).
   */
  encodeInto(out: Uint8Array, off: number, pkt: PacketView, payload: Uint8Array | null, payloadOff: number,
    payloadLen: number): number {
    const info = OPCODES[pkt.opcode]
    if (info === undefined) throw new RangeError(`unknown opcode 0x${pkt.opcode.toString(16)}`)
    if (payloadLen > 0 && (info.mask & Mask.PAYLOAD) === 0) throw new RangeError(`${info.name} carries no payload`)
    const pad = (-payloadLen) & 3
    const frameLen = FRAME_OVERHEAD + info.length + payloadLen + pad
    if (off < 0 || off + frameLen > out.length) throw new RangeError('frame does not fit the output buffer')
    pkt.padCnt = pad
    pkt.mask = info.mask

    // Ethernet
    copyBytes(out, off, pkt.dstMac, 0, 6)
    copyBytes(out, off + 6, pkt.srcMac, 0, 6)
    wr16(out, off + 12, ETHERTYPE_IPV4)
    // IPv4: DF set, no options (rxe prepare_ipv4_hdr)
    const ip = off + ETH_HLEN
    const udpLen = UDP_HLEN + info.length + payloadLen + pad + HdrBytes.ICRC
    out[ip] = 0x45
    out[ip + 1] = ((pkt.dscp & 0x3f) << 2) | (pkt.ecn & 3)
    wr16(out, ip + 2, IPV4_HLEN + udpLen)
    wr16(out, ip + 4, pkt.ipId)
    wr16(out, ip + 6, IP_FLAG_DF)
    out[ip + 8] = pkt.ttl
    out[ip + 9] = IPPROTO_UDP
    wr16(out, ip + 10, 0)
    wr32(out, ip + 12, pkt.srcIp)
    wr32(out, ip + 16, pkt.dstIp)
    wr16(out, ip + 10, ipv4Checksum(out, ip))
    // UDP: checksum 0 (rxe prepare_udp_hdr)
    const udp = ip + IPV4_HLEN
    wr16(out, udp, pkt.srcPort)
    wr16(out, udp + 2, ROCE_V2_PORT)
    wr16(out, udp + 4, udpLen)
    wr16(out, udp + 6, 0)
    // BTH
    const bth = udp + UDP_HLEN
    out[bth] = pkt.opcode
    out[bth + 1] = ((pkt.se & 1) << 7) | ((pkt.migReq & 1) << 6) | (pad << 4) | (pkt.tver & 0x0f)
    wr16(out, bth + 2, pkt.pkey)
    out[bth + 4] = ((pkt.fecn & 1) << 7) | ((pkt.becn & 1) << 6)
    wr24(out, bth + 5, pkt.destQp)
    out[bth + 8] = (pkt.ackReq & 1) << 7
    wr24(out, bth + 9, pkt.psn)
    writeExtHeaders(out, bth, info.offset, info.mask, pkt)

    // payload + pad
    let p = bth + info.length
    if (payloadLen > 0) {
      if (payload === null || payloadOff < 0 || payloadOff + payloadLen > payload.length) {
        throw new RangeError('payload range outside the payload buffer')
      }
      if (payload.buffer === out.buffer && payload.byteOffset + payloadOff === out.byteOffset + p) {
        // already in place: the caller staged the payload straight into `out` (rnic/tx.ts stageTx)
      } else if (payloadOff === 0 && payloadLen === payload.length) out.set(payload, p)
      else if (payloadLen < SMALL_COPY) copyBytes(out, p, payload, payloadOff, payloadLen)
      else out.set(payload.subarray(payloadOff, payloadOff + payloadLen), p)
      p += payloadLen
    }
    for (let i = 0; i < pad; i++) out[p + i] = 0
    p += pad

    // Summed over the bytes just written: one pass over the payload region of `out` (hot in cache).
    const c = icrcOf(out, ip, info.length, p)
    pkt.icrc = c >>> 0
    wr32le(out, p, c)
    return frameLen
  }
}

function writeExtHeaders(out: Uint8Array, bth: number, o: OpcodeOffsets, mask: number, pkt: PacketView): void {
  if (mask & Mask.RETH) {
    const r = bth + o.reth!
    wr32(out, r, pkt.rethVaHi)
    wr32(out, r + 4, pkt.rethVaLo)
    wr32(out, r + 8, pkt.rethRkey)
    wr32(out, r + 12, pkt.rethLen)
  }
  if (mask & Mask.AETH) {
    const a = bth + o.aeth!
    out[a] = pkt.aethSyndrome
    wr24(out, a + 1, pkt.aethMsn)
  }
  if (mask & Mask.DETH) {
    const d = bth + o.deth!
    wr32(out, d, pkt.dethQkey)
    out[d + 4] = 0
    wr24(out, d + 5, pkt.dethSrcQp)
  }
  if (mask & Mask.ATMETH) {
    const a = bth + o.atmeth!
    wr32(out, a, pkt.atomicVaHi)
    wr32(out, a + 4, pkt.atomicVaLo)
    wr32(out, a + 8, pkt.atomicRkey)
    wr32(out, a + 12, pkt.atomicSwapHi)
    wr32(out, a + 16, pkt.atomicSwapLo)
    wr32(out, a + 20, pkt.atomicCmpHi)
    wr32(out, a + 24, pkt.atomicCmpLo)
  }
  if (mask & Mask.ATMACK) {
    const a = bth + o.atmack!
    wr32(out, a, pkt.origHi)
    wr32(out, a + 4, pkt.origLo)
  }
  if (mask & Mask.IMMDT) wr32(out, bth + o.immdt!, pkt.immDt)
  if (mask & Mask.IETH) wr32(out, bth + o.ieth!, pkt.ieth)
  if (mask & Mask.CNP) for (let i = 0; i < HdrBytes.CNP; i++) out[bth + HdrBytes.BTH + i] = 0
}
