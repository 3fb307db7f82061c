// One RoCEv2 frame, decoded or to be encoded: Ethernet | IPv4 | UDP | BTH | ext headers | payload | pad | ICRC.
// A PacketView is a reusable, allocation-free record: decodeFrame() fills it, FrameEncoder reads it.
// 64-bit fields (VAs, atomic operands) are split into hi/lo uint32 halves so the hot path creates no BigInt.
// Payload bytes are not copied: payloadOff/payloadLen point into the buffer that was decoded.

export class PacketView {
  // Ethernet
  readonly dstMac = new Uint8Array(6)
  readonly srcMac = new Uint8Array(6)
  // IPv4 (addresses as uint32, network order value: 10.0.0.1 = 0x0a000001)
  srcIp = 0
  dstIp = 0
  dscp = 0
  ecn = 0
  ttl = 64
  ipId = 0
  // UDP (destination is always 4791)
  srcPort = 0xc000
  // BTH
  opcode = 0
  mask = 0 // OPCODES[opcode].mask, set by decodeFrame
  se = 0
  migReq = 0
  padCnt = 0 // set by the encoder from payloadLen; read back by the decoder
  tver = 0
  pkey = 0xffff
  fecn = 0
  becn = 0
  destQp = 0
  ackReq = 0
  psn = 0
  // RETH
  rethVaHi = 0
  rethVaLo = 0
  rethRkey = 0
  rethLen = 0
  // AETH
  aethSyndrome = 0
  aethMsn = 0
  // DETH
  dethQkey = 0
  dethSrcQp = 0
  // AtomicETH
  atomicVaHi = 0
  atomicVaLo = 0
  atomicRkey = 0
  atomicSwapHi = 0
  atomicSwapLo = 0
  atomicCmpHi = 0
  atomicCmpLo = 0
  // AtomicAckETH
  origHi = 0
  origLo = 0
  // ImmDt / IETH
  immDt = 0
  ieth = 0
  // Payload (decode: where it is in the decoded buffer; encode: ignored, the payload is passed separately)
  payloadOff = 0
  payloadLen = 0
  icrc = 0 // as computed (uint32, the value whose little-endian bytes are on the wire)
}
