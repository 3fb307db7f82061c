// The 24-byte MAD common header (IBTA vol 1 §13.4.2) and the 256-byte MAD that carries CM messages.
import {rd16, rd32, rd64, wr16, wr32, wr64} from './bytes.js'

export const MAD_SIZE = 256
export const MAD_HEADER_SIZE = 24
export const MAD_DATA_SIZE = MAD_SIZE - MAD_HEADER_SIZE // 232
export const MAD_BASE_VERSION = 1
export const MgmtClass = {CM: 0x07} as const
export const CM_CLASS_VERSION = 2
export const MadMethod = {GET: 0x01, SET: 0x02, SEND: 0x03, GET_RESP: 0x81} as const

export interface MadHeader {
  baseVersion: number
  mgmtClass: number
  classVersion: number
  method: number
  status: number
  classSpecific: number
  transactionId: bigint
  attributeId: number
  attributeModifier: number
}

export function readMadHeader(mad: Uint8Array): MadHeader {
  return {
    baseVersion: mad[0]!,
    mgmtClass: mad[1]!,
    classVersion: mad[2]!,
    method: mad[3]!,
    status: rd16(mad, 4),
    classSpecific: rd16(mad, 6),
    transactionId: rd64(mad, 8),
    attributeId: rd16(mad, 16),
    // 18-19 reserved
    attributeModifier: rd32(mad, 20),
  }
}

export function writeMadHeader(mad: Uint8Array, h: MadHeader): void {
  mad[0] = h.baseVersion
  mad[1] = h.mgmtClass
  mad[2] = h.classVersion
  mad[3] = h.method
  wr16(mad, 4, h.status)
  wr16(mad, 6, h.classSpecific)
  wr64(mad, 8, h.transactionId)
  wr16(mad, 16, h.attributeId)
  wr16(mad, 18, 0)
  wr32(mad, 20, h.attributeModifier)
}
