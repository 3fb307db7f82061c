// DSCP in the frames the fabric carries: Ethernet (14 bytes, EtherType at 12) | IPv4 (TOS at byte 1 of the IP
// header = byte 15 of the frame; DSCP = TOS >> 2, RFC 2474). Reading never throws: a frame that is not IPv4 or is
// too short is classified as DSCP 0 (best effort), like a switch that trusts DSCP only on IP packets.

export const ETH_HLEN = 14
const ETHERTYPE_IPV4 = 0x0800
const TOS_OFF = ETH_HLEN + 1
const IP_CSUM_OFF = ETH_HLEN + 10

/** DSCP of an Ethernet frame, 0 when the frame carries no IPv4 header. */
export function frameDscp(frame: Uint8Array, off: number, len: number): number {
  if (len < ETH_HLEN + 20) return 0
  if (((frame[off + 12]! << 8) | frame[off + 13]!) !== ETHERTYPE_IPV4) return 0
  return frame[off + TOS_OFF]! >> 2
}

/**
 * Rewrite the DSCP (keeping the two ECN bits) and patch the IPv4 header checksum incrementally (RFC 1624). The RoCEv2 ICRC masks the TOS byte and the IP checksum (IBA A17.8.3), so it stays valid.
 * Returns false (frame untouched) when the frame carries no IPv4 header.
 */
export function markDscp(frame: Uint8Array, off: number, len: number, dscp: number): boolean {
  if (len < ETH_HLEN + 20) return false
  if (((frame[off + 12]! << 8) | frame[off + 13]!) !== ETHERTYPE_IPV4) return false
  const oldWord = (frame[off + ETH_HLEN]! << 8) | frame[off + TOS_OFF]! // version/IHL + TOS, one 16-bit word
  const tos = ((dscp & 0x3f) << 2) | (frame[off + TOS_OFF]! & 0x03)
  frame[off + TOS_OFF] = tos
  patchChecksum(frame, off, oldWord, (frame[off + ETH_HLEN]! << 8) | tos)
  return true
}

/** RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m') for one changed 16-bit word of the IPv4 header. */
function patchChecksum(frame: Uint8Array, off: number, oldWord: number, newWord: number): void {
  const hc = (frame[off + IP_CSUM_OFF]! << 8) | frame[off + IP_CSUM_OFF + 1]!
  let sum = (~hc & 0xffff) + (~oldWord & 0xffff) + newWord
  sum = (sum & 0xffff) + (sum >>> 16)
  sum = (sum & 0xffff) + (sum >>> 16)
  const csum = ~sum & 0xffff
  frame[off + IP_CSUM_OFF] = csum >>> 8
  frame[off + IP_CSUM_OFF + 1] = csum & 0xff
}

/** ECN codepoints (RFC 3168): the low two bits of TOS. */
export const Ecn = {NOT_ECT: 0, ECT1: 1, ECT0: 2, CE: 3} as const

/**
 * Mark Congestion Experienced on an ECN-capable IPv4 frame (ECT(0) or ECT(1) -> CE, RFC 3168 §5), patching the
 * header checksum. Returns false when the frame is not IPv4, not ECN-capable, or already CE.
 */
export function markCe(frame: Uint8Array, off: number, len: number): boolean {
  if (len < ETH_HLEN + 20) return false
  if (((frame[off + 12]! << 8) | frame[off + 13]!) !== ETHERTYPE_IPV4) return false
  const tos = frame[off + TOS_OFF]!
  const ecn = tos & 0x03
  if (ecn === Ecn.NOT_ECT || ecn === Ecn.CE) return false
  const oldWord = (frame[off + ETH_HLEN]! << 8) | tos
  const newWord = oldWord | Ecn.CE
  frame[off + TOS_OFF] = tos | Ecn.CE
  patchChecksum(frame, off, oldWord, newWord)
  return true
}

/** Full IPv4 header checksum (RFC 791), for tests and for frames built from scratch. */
export function ipv4HeaderChecksum(frame: Uint8Array, off: number): number {
  const ihl = (frame[off + ETH_HLEN]! & 0x0f) * 4
  let sum = 0
  for (let i = 0; i < ihl; i += 2) {
    if (i === 10) continue
    sum += (frame[off + ETH_HLEN + i]! << 8) | frame[off + ETH_HLEN + i + 1]!
  }
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16)
  return ~sum & 0xffff
}
