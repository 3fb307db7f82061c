// IB CM messages (IBTA vol 1 §12.6) in 256-byte MADs: REQ, MRA, REJ, REP, RTU, DREQ, DREP as plain typed objects.
// Each layout is a table of fields (offset, width, bit position) relative to the CM data after the MAD header;
// one generic codec walks the tables. Offsets from IBTA §12.6.5-12.6.11 and ib_cm's cm_msgs.h.
import {writeGid} from './addr.js'
import {rd16, rd24, rd32, rd64, wr16, wr24, wr32, wr64} from './bytes.js'
import {WireError} from './errors.js'
import {
  CM_CLASS_VERSION, MAD_BASE_VERSION, MAD_HEADER_SIZE, MAD_SIZE, MadMethod, MgmtClass, readMadHeader,
  writeMadHeader,
} from './mad.js'

export const CmAttr = {REQ: 0x0010, MRA: 0x0011, REJ: 0x0012, REP: 0x0013, RTU: 0x0014, DREQ: 0x0015, DREP: 0x0016} as const
export type CmType = keyof typeof CmAttr
export const TransportServiceType = {RC: 0, UC: 1, XRC: 3} as const
/** REJ / MRA "message rejected / MRAed" codes. */
export const CmMsgCode = {REQ: 0, REP: 1, OTHER: 2} as const

/** Maximum private data per message (IBTA; librdmacm's limits are these minus the 36-byte cma_hdr for REQ). */
export const CM_PRIVATE_DATA_SIZE = {REQ: 92, MRA: 222, REJ: 148, REP: 196, RTU: 224, DREQ: 220, DREP: 224} as const
export const REJ_ARI_SIZE = 72

export interface CmPath {
  localLid: number // 0xFFFF (permissive) on RoCE
  remoteLid: number
  localGid: Uint8Array // 16 bytes; RoCEv2: ::ffff:a.b.c.d
  remoteGid: Uint8Array
  flowLabel: number // 20 bits
  packetRate: number // 6 bits
  trafficClass: number
  hopLimit: number
  sl: number // 4 bits
  subnetLocal: number // 1 bit
  localAckTimeout: number // 5 bits
}

interface MadFields {
  transactionId: bigint
  /** MAD header fields that CM sends leave 0; kept so that any MAD round-trips. */
  status?: number
  classSpecific?: number
  attributeModifier?: number
  privateData: Uint8Array
}

export interface CmReq extends MadFields {
  type: 'REQ'
  localCommId: number
  serviceId: bigint
  localCaGuid: bigint
  localQkey: number
  localQpn: number
  responderResources: number
  localEecn: number
  initiatorDepth: number
  remoteEecn: number
  remoteCmResponseTimeout: number
  transportServiceType: number
  e2eFlowControl: number
  startingPsn: number
  localCmResponseTimeout: number
  retryCount: number
  pkey: number
  pathMtu: number // ibv_mtu enum (3 = 1024)
  rdcExists: number
  rnrRetryCount: number
  maxCmRetries: number
  srq: number
  extendedTransportType: number
  primaryPath: CmPath
  alternatePath: CmPath // all zero when absent
}
export interface CmMra extends MadFields {
  type: 'MRA'
  localCommId: number
  remoteCommId: number
  messageMraed: number
  serviceTimeout: number
}
export interface CmRej extends MadFields {
  type: 'REJ'
  localCommId: number
  remoteCommId: number
  messageRejected: number
  rejectInfoLength: number
  reason: number
  ari: Uint8Array // 72 bytes
}
export interface CmRep extends MadFields {
  type: 'REP'
  localCommId: number
  remoteCommId: number
  localQkey: number
  localQpn: number
  localEecn: number
  startingPsn: number
  responderResources: number
  initiatorDepth: number
  targetAckDelay: number
  failoverAccepted: number
  e2eFlowControl: number
  rnrRetryCount: number
  srq: number
  localCaGuid: bigint
}
export interface CmRtu extends MadFields {
  type: 'RTU'
  localCommId: number
  remoteCommId: number
}
export interface CmDreq extends MadFields {
  type: 'DREQ'
  localCommId: number
  remoteCommId: number
  remoteQpn: number
}
export interface CmDrep extends MadFields {
  type: 'DREP'
  localCommId: number
  remoteCommId: number
}
export type CmMessage = CmReq | CmMra | CmRej | CmRep | CmRtu | CmDreq | CmDrep

// ---- layout tables ----
// [name, kind, offset, a, b]: u8/u16/u24/u32/u64 = big-endian integer; bits = byte `offset` bits (a+b-1):a;
// bits32 = u32 at `offset`, bits (a+b-1):a; bytes = `a` bytes; path = a CmPath at `offset`.
type Field =
  | readonly [string, 'u8' | 'u16' | 'u24' | 'u32' | 'u64', number]
  | readonly [string, 'bits' | 'bits32', number, number, number]
  | readonly [string, 'bytes', number, number]
  | readonly [string, 'path', number]

const PATH: readonly Field[] = [
  ['localLid', 'u16', 0], ['remoteLid', 'u16', 2], ['localGid', 'bytes', 4, 16], ['remoteGid', 'bytes', 20, 16],
  ['flowLabel', 'bits32', 36, 12, 20], ['packetRate', 'bits32', 36, 0, 6], ['trafficClass', 'u8', 40],
  ['hopLimit', 'u8', 41], ['sl', 'bits', 42, 4, 4], ['subnetLocal', 'bits', 42, 3, 1],
  ['localAckTimeout', 'bits', 43, 3, 5],
]
const COMM: readonly Field[] = [['localCommId', 'u32', 0], ['remoteCommId', 'u32', 4]]

export const CM_LAYOUT: Record<CmType, readonly Field[]> = {
  REQ: [
    ['localCommId', 'u32', 0], ['serviceId', 'u64', 8], ['localCaGuid', 'u64', 16], ['localQkey', 'u32', 28],
    ['localQpn', 'u24', 32], ['responderResources', 'u8', 35], ['localEecn', 'u24', 36], ['initiatorDepth', 'u8', 39],
    ['remoteEecn', 'u24', 40], ['remoteCmResponseTimeout', 'bits', 43, 3, 5],
    ['transportServiceType', 'bits', 43, 1, 2], ['e2eFlowControl', 'bits', 43, 0, 1], ['startingPsn', 'u24', 44],
    ['localCmResponseTimeout', 'bits', 47, 3, 5], ['retryCount', 'bits', 47, 0, 3], ['pkey', 'u16', 48],
    ['pathMtu', 'bits', 50, 4, 4], ['rdcExists', 'bits', 50, 3, 1], ['rnrRetryCount', 'bits', 50, 0, 3],
    ['maxCmRetries', 'bits', 51, 4, 4], ['srq', 'bits', 51, 3, 1], ['extendedTransportType', 'bits', 51, 0, 3],
    ['primaryPath', 'path', 52], ['alternatePath', 'path', 96], ['privateData', 'bytes', 140, 92],
  ],
  MRA: [...COMM, ['messageMraed', 'bits', 8, 6, 2], ['serviceTimeout', 'bits', 9, 3, 5],
    ['privateData', 'bytes', 10, 222]],
  REJ: [...COMM, ['messageRejected', 'bits', 8, 6, 2], ['rejectInfoLength', 'bits', 9, 1, 7], ['reason', 'u16', 10],
    ['ari', 'bytes', 12, REJ_ARI_SIZE], ['privateData', 'bytes', 84, 148]],
  REP: [
    ...COMM, ['localQkey', 'u32', 8], ['localQpn', 'u24', 12], ['localEecn', 'u24', 16], ['startingPsn', 'u24', 20],
    ['responderResources', 'u8', 24], ['initiatorDepth', 'u8', 25], ['targetAckDelay', 'bits', 26, 3, 5],
    ['failoverAccepted', 'bits', 26, 1, 2], ['e2eFlowControl', 'bits', 26, 0, 1], ['rnrRetryCount', 'bits', 27, 5, 3],
    ['srq', 'bits', 27, 4, 1], ['localCaGuid', 'u64', 28], ['privateData', 'bytes', 36, 196],
  ],
  RTU: [...COMM, ['privateData', 'bytes', 8, 224]],
  DREQ: [...COMM, ['remoteQpn', 'u24', 8], ['privateData', 'bytes', 12, 220]],
  DREP: [...COMM, ['privateData', 'bytes', 8, 224]],
}

const TYPE_BY_ATTR = new Map<number, CmType>(Object.entries(CmAttr).map(([t, a]) => [a, t as CmType]))

type Obj = Record<string, unknown>

function readFields(b: Uint8Array, base: number, fields: readonly Field[]): Obj {
  const o: Obj = {}
  for (const f of fields) {
    const at = base + f[2]
    switch (f[1]) {
      case 'u8': o[f[0]] = b[at]; break
      case 'u16': o[f[0]] = rd16(b, at); break
      case 'u24': o[f[0]] = rd24(b, at); break
      case 'u32': o[f[0]] = rd32(b, at); break
      case 'u64': o[f[0]] = rd64(b, at); break
      case 'bits': o[f[0]] = (b[at]! >>> f[3]) & ((1 << f[4]) - 1); break
      case 'bits32': o[f[0]] = (rd32(b, at) >>> f[3]) & ((1 << f[4]) - 1); break
      case 'bytes': o[f[0]] = b.slice(at, at + f[3]); break
      case 'path': o[f[0]] = readFields(b, at, PATH); break
    }
  }
  return o
}

function num(o: Obj, k: string): number {
  const v = o[k]
  return typeof v === 'number' ? v : 0
}

function writeFields(b: Uint8Array, base: number, fields: readonly Field[], o: Obj, type: string): void {
  for (const f of fields) {
    const at = base + f[2]
    switch (f[1]) {
      case 'u8': b[at] = num(o, f[0]); break
      case 'u16': wr16(b, at, num(o, f[0])); break
      case 'u24': wr24(b, at, num(o, f[0])); break
      case 'u32': wr32(b, at, num(o, f[0])); break
      case 'u64': wr64(b, at, typeof o[f[0]] === 'bigint' ? (o[f[0]] as bigint) : 0n); break
      case 'bits': {
        const m = ((1 << f[4]) - 1) << f[3]
        b[at] = (b[at]! & ~m) | ((num(o, f[0]) << f[3]) & m)
        break
      }
      case 'bits32': {
        const m = (((1 << f[4]) - 1) << f[3]) >>> 0
        wr32(b, at, ((rd32(b, at) & ~m) | ((num(o, f[0]) << f[3]) & m)) >>> 0)
        break
      }
      case 'bytes': {
        const v = o[f[0]]
        if (v === undefined) break
        if (!(v instanceof Uint8Array) || v.length > f[3]) {
          throw new RangeError(`CM ${type}.${f[0]}: at most ${f[3]} bytes`)
        }
        b.set(v, at)
        break
      }
      case 'path': {
        const p = o[f[0]]
        if (p !== undefined) writeFields(b, at, PATH, p as Obj, type)
        break
      }
    }
  }
}

/** Encodes a CM message into a fresh 256-byte MAD (Send method, CM class version 2). */
export function encodeCm(msg: CmMessage): Uint8Array {
  const mad = new Uint8Array(MAD_SIZE)
  encodeCmInto(mad, msg)
  return mad
}

/** Encodes into a caller-owned 256-byte buffer (zeroed first). Throws RangeError on oversized private data. */
export function encodeCmInto(mad: Uint8Array, msg: CmMessage): void {
  if (mad.length < MAD_SIZE) throw new RangeError('a MAD needs 256 bytes')
  mad.fill(0, 0, MAD_SIZE)
  writeMadHeader(mad, {
    baseVersion: MAD_BASE_VERSION, mgmtClass: MgmtClass.CM, classVersion: CM_CLASS_VERSION, method: MadMethod.SEND,
    status: msg.status ?? 0, classSpecific: msg.classSpecific ?? 0, transactionId: msg.transactionId,
    attributeId: CmAttr[msg.type], attributeModifier: msg.attributeModifier ?? 0,
  })
  writeFields(mad, MAD_HEADER_SIZE, CM_LAYOUT[msg.type], msg as unknown as Obj, msg.type)
}

/** Decodes a CM MAD; returns a WireError (never throws) on anything that is not a well-formed CM Send. */
export function decodeCm(mad: Uint8Array): CmMessage | WireError {
  if (mad.length < MAD_SIZE) return new WireError('MAD_SHORT', `MAD of ${mad.length} bytes, need ${MAD_SIZE}`)
  const h = readMadHeader(mad)
  if (h.baseVersion !== MAD_BASE_VERSION) return new WireError('MAD_BASE_VERSION', `base version ${h.baseVersion}`)
  if (h.mgmtClass !== MgmtClass.CM) return new WireError('MAD_NOT_CM', `management class 0x${h.mgmtClass.toString(16)}`)
  if (h.classVersion !== CM_CLASS_VERSION) return new WireError('MAD_CLASS_VERSION', `class version ${h.classVersion}`)
  if (h.method !== MadMethod.SEND) return new WireError('MAD_METHOD', `method 0x${h.method.toString(16)}`)
  const type = TYPE_BY_ATTR.get(h.attributeId)
  if (type === undefined) {
    return new WireError('CM_UNKNOWN_ATTRIBUTE', `CM attribute 0x${h.attributeId.toString(16)}`)
  }
  const o = readFields(mad, MAD_HEADER_SIZE, CM_LAYOUT[type])
  if (type === 'REJ' && num(o, 'rejectInfoLength') > REJ_ARI_SIZE) {
    return new WireError('CM_BAD_FIELD', `REJ info length ${num(o, 'rejectInfoLength')} > ${REJ_ARI_SIZE}`)
  }
  const msg: Obj = {type, transactionId: h.transactionId, ...o}
  if (h.status !== 0) msg.status = h.status
  if (h.classSpecific !== 0) msg.classSpecific = h.classSpecific
  if (h.attributeModifier !== 0) msg.attributeModifier = h.attributeModifier
  return msg as unknown as CmMessage
}

/** A zeroed path (what an absent alternate path looks like on the wire). */
export function emptyCmPath(): CmPath {
  return {
    localLid: 0, remoteLid: 0, localGid: new Uint8Array(16), remoteGid: new Uint8Array(16), flowLabel: 0,
    packetRate: 0, trafficClass: 0, hopLimit: 0, sl: 0, subnetLocal: 0, localAckTimeout: 0,
  }
}

/**
 * The path a RoCEv2 CM message carries (ib_cm cm_format_req for RoCE): LIDs 0xFFFF (permissive), GIDs
 * ::ffff:<host IPv4>, hop limit > 1 so the peer treats it as routed; IPs as uint32.
 */
export function roceCmPath(srcIp: number, dstIp: number,
  opts: {hopLimit?: number; trafficClass?: number; localAckTimeout?: number} = {}): CmPath {
  const p = emptyCmPath()
  p.localLid = 0xffff
  p.remoteLid = 0xffff
  writeGid(p.localGid, 0, srcIp)
  writeGid(p.remoteGid, 0, dstIp)
  p.hopLimit = opts.hopLimit ?? 64
  p.trafficClass = opts.trafficClass ?? 0
  p.localAckTimeout = opts.localAckTimeout ?? 18
  return p
}
