// Common frame fields for everything the engine sends (rxe_net.c prepare_ipv4_hdr / prepare_udp_hdr):
// per-QP UDP source port, DSCP/ECN from the traffic class, TTL from the hop limit, and the fabric's MAC rule
// 02:00:<IPv4 octets>.

import {BTH_OFFSET} from '../wire/frame.js'
import {OPCODES} from '../wire/opcodes.js'
import {PacketView} from '../wire/packet.js'
import {copy, stage} from './dma.js'
import type {Qp} from './qp.js'
import type {Rnic} from './rnic.js'

/** RXE_ROCE_V2_SPORT + (hash_32(qpn, 14) & 0x3fff). hash_32 = (val * GOLDEN_RATIO_32) >> (32 - bits). */
export function udpSrcPort(qpn: number): number {
  return 0xc000 + ((Math.imul(qpn, 0x61c88647) >>> 18) & 0x3fff)
}

/** The fabric's MAC rule: 02:00:<IPv4 octets> (no ARP needed). */
export function setMac(mac: Uint8Array, ip: number): void {
  mac[0] = 0x02
  mac[1] = 0x00
  mac[2] = ip >>> 24
  mac[3] = (ip >>> 16) & 255
  mac[4] = (ip >>> 8) & 255
  mac[5] = ip & 255
}

/** Fill the Ethernet/IP/UDP/BTH fields of nic.txPkt; extension headers are the caller's. */
export function initTx(nic: Rnic, qp: Qp, opcode: number, destQp: number, psn: number, srcIp: number, dstIp: number,
  tclass: number, hop: number): PacketView {
  const p = nic.txPkt
  setMac(p.dstMac, dstIp)
  setMac(p.srcMac, srcIp)
  p.srcIp = srcIp
  p.dstIp = dstIp
  p.dscp = tclass >>> 2
  p.ecn = tclass & 3
  p.ttl = hop
  p.ipId = nic.ipId = (nic.ipId + 1) & 0xffff
  p.srcPort = udpSrcPort(qp.qpn)
  p.opcode = opcode
  p.se = 0
  p.migReq = 0
  p.tver = 0
  p.pkey = 0xffff
  p.fecn = 0
  p.becn = 0
  p.destQp = destQp
  p.ackReq = 0
  p.psn = psn
  return p
}

/**
 * Frames start 2 bytes into their buffer: Ethernet+IPv4+UDP is 42 bytes and every BTH + extension header length
 * is a multiple of 4, so payloads land word-aligned (see dma.ts copy).
 */
export const FRAME_ALIGN_OFF = 2

/** Encode nic.txPkt with `payload` (exact-length view or null) into nic.txBuf and send it. */
export function sendPkt(nic: Rnic, qp: Qp, payload: Uint8Array | null, len: number): void {
  const n = nic.encoder.encodeInto(nic.txBuf, FRAME_ALIGN_OFF, nic.txPkt, payload, 0, len)
  nic.transmit(qp, FRAME_ALIGN_OFF, n)
}

/**
 * Stage `n` bytes of guest memory as the payload of an `opcode` packet: straight into nic.txBuf where the
 * encoder will want them when the source has the payload's alignment mod 4 (the usual case: then the encoder
 * skips its copy), else into the engine scratch (dma.ts stage). One copy out of the SharedArrayBuffer either way.
 */
export function stageTx(nic: Rnic, opcode: number, src: Uint8Array, sOff: number, n: number): Buffer {
  const at = FRAME_ALIGN_OFF + BTH_OFFSET + OPCODES[opcode]!.length
  if (((src.byteOffset + sOff - at) & 3) !== 0 || at + n + 8 > nic.txBuf.length) return stage(nic.scratch, src, sOff, n)
  const v = txView(nic, at, n)
  copy(v, 0, src, sOff, n)
  return v
}

// Exact-length views of txBuf per (offset, length), so the steady state allocates nothing (dma.ts Scratch idea).
function txView(nic: Rnic, at: number, n: number): Buffer {
  const m = nic.txViews
  const k = at * 65536 + n
  let v = m.get(k)
  if (v === undefined) {
    v = nic.txBuf.subarray(at, at + n)
    m.set(k, v)
  }
  return v
}
