// The RoCEv2 opcode table as data (rxe_opcode.c / rxe_opcode.h, IBTA vol 1 §9.2.1 table 35).
// One lookup per packet (`OPCODES[op].mask`); every later decision tests mask bits, never the opcode number.

// Header / class bits, numbered as in rxe_opcode.h (enum rxe_hdr_type order, then classes).
export const Mask = {
  LRH: 1 << 0,
  GRH: 1 << 1,
  BTH: 1 << 2,
  RETH: 1 << 3,
  AETH: 1 << 4,
  ATMETH: 1 << 5,
  ATMACK: 1 << 6,
  IETH: 1 << 7,
  RDETH: 1 << 8,
  DETH: 1 << 9,
  IMMDT: 1 << 10,
  PAYLOAD: 1 << 11,
  REQ: 1 << 12,
  ACK: 1 << 13,
  SEND: 1 << 14,
  WRITE: 1 << 15,
  READ: 1 << 16,
  ATOMIC: 1 << 17,
  RWR: 1 << 18, // consumes a receive WQE
  COMP: 1 << 19, // completes a receive WQE
  START: 1 << 20,
  MIDDLE: 1 << 21,
  END: 1 << 22,
  CNP: 1 << 23, // masq: RoCEv2 congestion notification packet (not in rxe's table)
  LOOPBACK: 1 << 25,
} as const

export const READ_OR_ATOMIC = Mask.READ | Mask.ATOMIC
export const WRITE_OR_SEND = Mask.WRITE | Mask.SEND
export const READ_OR_WRITE = Mask.READ | Mask.WRITE

// Header sizes in bytes (rxe_hdr.h RXE_*_BYTES).
export const HdrBytes = {
  BTH: 12, RETH: 16, AETH: 4, ATMETH: 28, ATMACK: 8, IETH: 4, RDETH: 4, DETH: 8, IMMDT: 4, CNP: 16, ICRC: 4,
} as const

export const Opcode = {
  RC_SEND_FIRST: 0x00,
  RC_SEND_MIDDLE: 0x01,
  RC_SEND_LAST: 0x02,
  RC_SEND_LAST_WITH_IMMEDIATE: 0x03,
  RC_SEND_ONLY: 0x04,
  RC_SEND_ONLY_WITH_IMMEDIATE: 0x05,
  RC_RDMA_WRITE_FIRST: 0x06,
  RC_RDMA_WRITE_MIDDLE: 0x07,
  RC_RDMA_WRITE_LAST: 0x08,
  RC_RDMA_WRITE_LAST_WITH_IMMEDIATE: 0x09,
  RC_RDMA_WRITE_ONLY: 0x0a,
  RC_RDMA_WRITE_ONLY_WITH_IMMEDIATE: 0x0b,
  RC_RDMA_READ_REQUEST: 0x0c,
  RC_RDMA_READ_RESPONSE_FIRST: 0x0d,
  RC_RDMA_READ_RESPONSE_MIDDLE: 0x0e,
  RC_RDMA_READ_RESPONSE_LAST: 0x0f,
  RC_RDMA_READ_RESPONSE_ONLY: 0x10,
  RC_ACKNOWLEDGE: 0x11,
  RC_ATOMIC_ACKNOWLEDGE: 0x12,
  RC_COMPARE_SWAP: 0x13,
  RC_FETCH_ADD: 0x14,
  RC_SEND_LAST_WITH_INVALIDATE: 0x16,
  RC_SEND_ONLY_WITH_INVALIDATE: 0x17,
  UC_SEND_FIRST: 0x20,
  UC_SEND_MIDDLE: 0x21,
  UC_SEND_LAST: 0x22,
  UC_SEND_LAST_WITH_IMMEDIATE: 0x23,
  UC_SEND_ONLY: 0x24,
  UC_SEND_ONLY_WITH_IMMEDIATE: 0x25,
  UC_RDMA_WRITE_FIRST: 0x26,
  UC_RDMA_WRITE_MIDDLE: 0x27,
  UC_RDMA_WRITE_LAST: 0x28,
  UC_RDMA_WRITE_LAST_WITH_IMMEDIATE: 0x29,
  UC_RDMA_WRITE_ONLY: 0x2a,
  UC_RDMA_WRITE_ONLY_WITH_IMMEDIATE: 0x2b,
  UD_SEND_ONLY: 0x64,
  UD_SEND_ONLY_WITH_IMMEDIATE: 0x65,
  CNP: 0x81,
} as const
export type OpcodeName = keyof typeof Opcode

export interface OpcodeOffsets {
  reth?: number
  aeth?: number
  atmeth?: number
  atmack?: number
  deth?: number
  immdt?: number
  ieth?: number
  payload: number
}

export interface OpcodeInfo {
  name: string // rxe's name, e.g. 'IB_OPCODE_RC_SEND_ONLY'
  mask: number
  length: number // BTH + extension headers, bytes
  offset: OpcodeOffsets // from the start of the BTH
}

// Extension headers in wire order after the BTH (IBTA §9.2: RDETH, DETH, RETH, AtomicETH, AETH, AtomicAckETH, ImmDt, IETH).
const WIRE_ORDER = [
  ['deth', Mask.DETH, HdrBytes.DETH],
  ['reth', Mask.RETH, HdrBytes.RETH],
  ['atmeth', Mask.ATMETH, HdrBytes.ATMETH],
  ['aeth', Mask.AETH, HdrBytes.AETH],
  ['atmack', Mask.ATMACK, HdrBytes.ATMACK],
  ['immdt', Mask.IMMDT, HdrBytes.IMMDT],
  ['ieth', Mask.IETH, HdrBytes.IETH],
] as const

function info(name: OpcodeName, mask: number): OpcodeInfo {
  const offset: OpcodeOffsets = {payload: 0}
  let at = HdrBytes.BTH
  for (const [key, bit, bytes] of WIRE_ORDER) {
    if (mask & bit) {
      offset[key] = at
      at += bytes
    }
  }
  if (mask & Mask.CNP) at += HdrBytes.CNP
  offset.payload = at
  return {name: `IB_OPCODE_${name}`, mask: mask | Mask.BTH, length: at, offset}
}

const {PAYLOAD, REQ, ACK, SEND, WRITE, READ, ATOMIC, RWR, COMP, START, MIDDLE, END} = Mask
const {RETH, AETH, ATMETH, ATMACK, IETH, DETH, IMMDT} = Mask

// Masks per operation (rxe_opcode.c); UC shares the RC send/write rows.
const SEND_WRITE_ROWS: Array<[string, number]> = [
  ['SEND_FIRST', PAYLOAD | REQ | RWR | SEND | START],
  ['SEND_MIDDLE', PAYLOAD | REQ | SEND | MIDDLE],
  ['SEND_LAST', PAYLOAD | REQ | COMP | SEND | END],
  ['SEND_LAST_WITH_IMMEDIATE', IMMDT | PAYLOAD | REQ | COMP | SEND | END],
  ['SEND_ONLY', PAYLOAD | REQ | COMP | RWR | SEND | START | END],
  ['SEND_ONLY_WITH_IMMEDIATE', IMMDT | PAYLOAD | REQ | COMP | RWR | SEND | START | END],
  ['RDMA_WRITE_FIRST', RETH | PAYLOAD | REQ | WRITE | START],
  ['RDMA_WRITE_MIDDLE', PAYLOAD | REQ | WRITE | MIDDLE],
  ['RDMA_WRITE_LAST', PAYLOAD | REQ | WRITE | END],
  ['RDMA_WRITE_LAST_WITH_IMMEDIATE', IMMDT | PAYLOAD | REQ | WRITE | COMP | RWR | END],
  ['RDMA_WRITE_ONLY', RETH | PAYLOAD | REQ | WRITE | START | END],
  ['RDMA_WRITE_ONLY_WITH_IMMEDIATE', RETH | IMMDT | PAYLOAD | REQ | WRITE | COMP | RWR | START | END],
]

const RC_ONLY_ROWS: Array<[string, number]> = [
  ['RDMA_READ_REQUEST', RETH | REQ | READ | START | END],
  ['RDMA_READ_RESPONSE_FIRST', AETH | PAYLOAD | ACK | START],
  ['RDMA_READ_RESPONSE_MIDDLE', PAYLOAD | ACK | MIDDLE],
  ['RDMA_READ_RESPONSE_LAST', AETH | PAYLOAD | ACK | END],
  ['RDMA_READ_RESPONSE_ONLY', AETH | PAYLOAD | ACK | START | END],
  ['ACKNOWLEDGE', AETH | ACK | START | END],
  ['ATOMIC_ACKNOWLEDGE', AETH | ATMACK | ACK | START | END],
  ['COMPARE_SWAP', ATMETH | REQ | ATOMIC | START | END],
  ['FETCH_ADD', ATMETH | REQ | ATOMIC | START | END],
  ['SEND_LAST_WITH_INVALIDATE', IETH | PAYLOAD | REQ | COMP | SEND | END],
  ['SEND_ONLY_WITH_INVALIDATE', IETH | PAYLOAD | REQ | COMP | RWR | SEND | START | END],
]

function buildTable(): Array<OpcodeInfo | undefined> {
  const table: Array<OpcodeInfo | undefined> = new Array(256).fill(undefined)
  const rows: Array<[string, number]> = [
    ...SEND_WRITE_ROWS.map(([n, m]): [string, number] => [`RC_${n}`, m]),
    ...RC_ONLY_ROWS.map(([n, m]): [string, number] => [`RC_${n}`, m]),
    ...SEND_WRITE_ROWS.map(([n, m]): [string, number] => [`UC_${n}`, m]),
    ['UD_SEND_ONLY', DETH | PAYLOAD | REQ | COMP | RWR | SEND | START | END],
    ['UD_SEND_ONLY_WITH_IMMEDIATE', DETH | IMMDT | PAYLOAD | REQ | COMP | RWR | SEND | START | END],
    ['CNP', Mask.CNP],
  ]
  for (const [name, mask] of rows) table[Opcode[name as OpcodeName]] = info(name as OpcodeName, mask)
  return table
}

/** Indexed by wire opcode; undefined = not supported (dropped as BAD_OPCODE). */
export const OPCODES: ReadonlyArray<OpcodeInfo | undefined> = buildTable()

/** Transport class of an opcode (BTH opcode bits 7:5, IBTA §9.2.1). */
export type TransportClass = 'RC' | 'UC' | 'RD' | 'UD' | 'CNP' | 'OTHER'
const CLASS_BY_TOP_BITS: readonly TransportClass[] = ['RC', 'UC', 'RD', 'UD', 'CNP', 'OTHER', 'OTHER', 'OTHER']
export function qpTypeOfOpcode(op: number): TransportClass {
  return CLASS_BY_TOP_BITS[(op >>> 5) & 7]!
}

/** Short display name without the IB_OPCODE_ prefix, e.g. 'RC_SEND_ONLY'. */
export function opcodeName(op: number): string {
  const i = OPCODES[op]
  return i ? i.name.slice('IB_OPCODE_'.length) : `0x${op.toString(16).padStart(2, '0')}`
}

// AETH syndrome (IBTA §9.3.5 table 43): bits 6:5 type, 4:0 credit / RNR timer / NAK code.
export const AethType = {ACK: 0x00, RNR_NAK: 0x20, NAK: 0x60} as const
export const AethSyndrome = {
  ACK_UNLIMITED: 0x1f, // rxe AETH_ACK_UNLIMITED
  RNR_NAK: 0x20, // | timer code
  NAK_PSN_SEQ_ERROR: 0x60,
  NAK_INVALID_REQUEST: 0x61,
  NAK_REMOTE_ACCESS_ERROR: 0x62,
  NAK_REMOTE_OPERATIONAL_ERROR: 0x63,
  NAK_INVALID_RD_REQUEST: 0x64,
} as const
export const AETH_TYPE_MASK = 0x60
export const BTH_PSN_MASK = 0x00ffffff
export const BTH_QPN_MASK = 0x00ffffff
