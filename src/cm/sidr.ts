// SIDR (Service ID Resolution, IBTA §12.11): how rdma_cm "connects" a UD id (RDMA_PS_UDP). SIDR_REQ carries the
// service id and cma_hdr; SIDR_REP answers with the QPN and Q_Key of the responder's UD QP, or a status.
// Layouts from ib_cm (include/rdma/ibta_vol1_c12.h): offsets relative to the CM data after the 24-byte MAD header.
// src/wire/cm.ts has no SIDR tables, so this small codec lives beside its only user.

import {rd16, rd24, rd32, rd64, wr16, wr24, wr32, wr64} from '../wire/bytes.js'
import {CM_CLASS_VERSION, MAD_BASE_VERSION, MAD_HEADER_SIZE, MAD_SIZE, MadMethod, MgmtClass, readMadHeader,
  writeMadHeader} from '../wire/mad.js'

export const SidrAttr = {SIDR_REQ: 0x0017, SIDR_REP: 0x0018} as const
/** enum ib_cm_sidr_status */
export const SidrStatus = {SUCCESS: 0, UNSUPPORTED: 1, REJECT: 2, NO_QP: 3, REDIRECT: 4, UNSUPPORTED_VERSION: 5} as const
export const SIDR_REQ_PRIVATE = 216
export const SIDR_REP_PRIVATE = 136
export const SIDR_REP_INFO = 72

export interface SidrReq {
  type: 'SIDR_REQ'
  transactionId: bigint
  requestId: number
  pkey: number
  serviceId: bigint
  privateData: Uint8Array // 216 bytes on the wire
}
export interface SidrRep {
  type: 'SIDR_REP'
  transactionId: bigint
  requestId: number
  status: number
  qpn: number
  serviceId: bigint
  qkey: number
  privateData: Uint8Array // 136 bytes on the wire
}
export type SidrMessage = SidrReq | SidrRep

const D = MAD_HEADER_SIZE

function madFor(tid: bigint, attr: number): Uint8Array {
  const mad = new Uint8Array(MAD_SIZE)
  writeMadHeader(mad, {baseVersion: MAD_BASE_VERSION, mgmtClass: MgmtClass.CM, classVersion: CM_CLASS_VERSION,
    method: MadMethod.SEND, status: 0, classSpecific: 0, transactionId: tid, attributeId: attr, attributeModifier: 0})
  return mad
}

/** Encodes a SIDR message; throws RangeError on oversized private data (a caller bug). */
export function encodeSidr(m: SidrMessage): Uint8Array {
  if (m.type === 'SIDR_REQ') {
    if (m.privateData.length > SIDR_REQ_PRIVATE) throw new RangeError(`SIDR_REQ private data > ${SIDR_REQ_PRIVATE}`)
    const mad = madFor(m.transactionId, SidrAttr.SIDR_REQ)
    wr32(mad, D, m.requestId)
    wr16(mad, D + 4, m.pkey)
    wr64(mad, D + 8, m.serviceId)
    mad.set(m.privateData, D + 16)
    return mad
  }
  if (m.privateData.length > SIDR_REP_PRIVATE) throw new RangeError(`SIDR_REP private data > ${SIDR_REP_PRIVATE}`)
  const mad = madFor(m.transactionId, SidrAttr.SIDR_REP)
  wr32(mad, D, m.requestId)
  mad[D + 4] = m.status
  mad[D + 5] = 0 // additional information length
  wr24(mad, D + 8, m.qpn)
  wr64(mad, D + 12, m.serviceId)
  wr32(mad, D + 20, m.qkey)
  mad.set(m.privateData, D + 24 + SIDR_REP_INFO)
  return mad
}

/** True when the MAD is a CM SIDR message (checked before the generic CM decoder, which does not know them). */
export function isSidr(mad: Uint8Array): boolean {
  if (mad.length < MAD_SIZE || mad[1] !== MgmtClass.CM) return false
  const attr = rd16(mad, 16)
  return attr === SidrAttr.SIDR_REQ || attr === SidrAttr.SIDR_REP
}

/** Decodes a SIDR MAD; null when it is not a well-formed SIDR Send (never throws). */
export function decodeSidr(mad: Uint8Array): SidrMessage | null {
  if (!isSidr(mad)) return null
  const h = readMadHeader(mad)
  if (h.baseVersion !== MAD_BASE_VERSION || h.classVersion !== CM_CLASS_VERSION || h.method !== MadMethod.SEND) return null
  if (h.attributeId === SidrAttr.SIDR_REQ) {
    return {type: 'SIDR_REQ', transactionId: h.transactionId, requestId: rd32(mad, D), pkey: rd16(mad, D + 4),
      serviceId: rd64(mad, D + 8), privateData: mad.slice(D + 16, D + 16 + SIDR_REQ_PRIVATE)}
  }
  return {type: 'SIDR_REP', transactionId: h.transactionId, requestId: rd32(mad, D), status: mad[D + 4]!,
    qpn: rd24(mad, D + 8), serviceId: rd64(mad, D + 12), qkey: rd32(mad, D + 20),
    privateData: mad.slice(D + 24 + SIDR_REP_INFO, D + 24 + SIDR_REP_INFO + SIDR_REP_PRIVATE)}
}
