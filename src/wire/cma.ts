// rdma_cm's IP private-data header (cma_hdr, drivers/infiniband/core/cma.c) and the MasQ header that follows it
// in a masq REQ, plus the RDMA IP service id (ps << 16 | port, prefix 0x0000000001).
import {rd16, rd24, wr16, wr24} from './bytes.js'
import {CM_PRIVATE_DATA_SIZE} from './cm.js'
import {WireError} from './errors.js'

export const CMA_HDR_SIZE = 36
export const CMA_VERSION = 0x00
export const MASQ_HDR_SIZE = 8
export const MASQ_MAGIC = [0x4d, 0x51] as const // 'M', 'Q'
export const MASQ_VERSION = 1
/** User private data that fits a REQ: 92 − 36 = 56 (librdmacm), 48 when the MasQ header rides along. */
export const REQ_USER_MAX = CM_PRIVATE_DATA_SIZE.REQ - CMA_HDR_SIZE
export const REQ_USER_MAX_MASQ = REQ_USER_MAX - MASQ_HDR_SIZE

export interface CmaHeader {
  srcPort: number
  srcIp: number // IPv4 as uint32 (masq VPCs are IPv4)
  dstIp: number
}
export interface MasqHeader {
  version: number
  flags: number
  vni: number // 24 bits
}
export interface ReqPrivate {
  cma: CmaHeader
  masq?: MasqHeader
  user: Uint8Array
}

/** RDMA IP service id: RDMA_IB_IP_PS_* | port, e.g. (PortSpace.TCP, 18515) → 0x0000000001064853. */
export function rdmaIpServiceId(ps: number, port: number): bigint {
  return (BigInt(ps & 0xffff) << 16n) | BigInt(port & 0xffff)
}
/** Splits an RDMA IP service id; null when the prefix is not 0x0000000001. */
export function parseRdmaIpServiceId(sid: bigint): {ps: number; port: number} | null {
  if (sid >> 24n !== 1n) return null
  return {ps: Number((sid >> 16n) & 0xffffn), port: Number(sid & 0xffffn)}
}

function writeIp4Slot(b: Uint8Array, off: number, ip: number): void {
  b.fill(0, off, off + 12) // cma_ip_addr.ip4: pad[3] then addr (not v4-mapped)
  b[off + 12] = ip >>> 24
  b[off + 13] = ip >>> 16
  b[off + 14] = ip >>> 8
  b[off + 15] = ip
}
function readIp4Slot(b: Uint8Array, off: number): number {
  return ((b[off + 12]! << 24) | (b[off + 13]! << 16) | (b[off + 14]! << 8) | b[off + 15]!) >>> 0
}

/**
 * REQ private data: cma_hdr ‖ [MasQ header] ‖ user bytes, padded with zeros to the 92-byte REQ field.
 * Throws RangeError when the user data does not fit (caller bug: rdma_connect would fail with EINVAL).
 */
export function encodeReqPrivate(p: ReqPrivate): Uint8Array {
  const max = p.masq ? REQ_USER_MAX_MASQ : REQ_USER_MAX
  if (p.user.length > max) throw new RangeError(`REQ user private data ${p.user.length} > ${max} bytes`)
  const b = new Uint8Array(CM_PRIVATE_DATA_SIZE.REQ)
  b[0] = CMA_VERSION
  b[1] = 4 << 4
  wr16(b, 2, p.cma.srcPort)
  writeIp4Slot(b, 4, p.cma.srcIp)
  writeIp4Slot(b, 20, p.cma.dstIp)
  let at = CMA_HDR_SIZE
  if (p.masq) {
    b[at] = MASQ_MAGIC[0]
    b[at + 1] = MASQ_MAGIC[1]
    b[at + 2] = p.masq.version
    b[at + 3] = p.masq.flags
    wr24(b, at + 4, p.masq.vni)
    b[at + 7] = 0
    at += MASQ_HDR_SIZE
  }
  b.set(p.user, at)
  return b
}

function looksLikeMasq(b: Uint8Array, at: number): boolean {
  return b.length >= at + MASQ_HDR_SIZE && b[at] === MASQ_MAGIC[0] && b[at + 1] === MASQ_MAGIC[1]
}

/**
 * Splits REQ private data. `masq`: true = a MasQ header is required, false = never parse one,
 * undefined = detect ('MQ', version 1, reserved 0). `user` is the rest of the field (trailing zeros included,
 * as rdma_cm hands it to the listener).
 */
export function decodeReqPrivate(b: Uint8Array, opts: {masq?: boolean} = {}): ReqPrivate | WireError {
  if (b.length < CMA_HDR_SIZE) return new WireError('CMA_SHORT', `REQ private data of ${b.length} bytes`)
  if (b[0] !== CMA_VERSION) return new WireError('CMA_VERSION', `cma_hdr version ${b[0]}`)
  if (b[1]! >>> 4 !== 4) return new WireError('CMA_IP_VERSION', `cma_hdr ip_version ${b[1]! >>> 4} (IPv4 only)`)
  const cma: CmaHeader = {srcPort: rd16(b, 2), srcIp: readIp4Slot(b, 4), dstIp: readIp4Slot(b, 20)}
  const at = CMA_HDR_SIZE
  const wellFormed = looksLikeMasq(b, at) && b[at + 2] === MASQ_VERSION && b[at + 7] === 0
  if (opts.masq === true && !wellFormed) {
    return new WireError('MASQ_HEADER', 'REQ private data lacks a valid MasQ header')
  }
  if (opts.masq === false || !wellFormed) return {cma, user: b.slice(at)}
  const masq: MasqHeader = {version: b[at + 2]!, flags: b[at + 3]!, vni: rd24(b, at + 4)}
  return {cma, masq, user: b.slice(at + MASQ_HDR_SIZE)}
}
