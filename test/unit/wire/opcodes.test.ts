import {describe, expect, it} from 'vitest'
import {Mask, OPCODES, Opcode, opcodeName, qpTypeOfOpcode} from '../../../src/wire/opcodes.js'

// Header lengths (BTH + extension headers) from rxe_opcode.c, written out by hand.
const EXPECTED_LENGTH: Record<string, number> = {
  RC_SEND_FIRST: 12, RC_SEND_MIDDLE: 12, RC_SEND_LAST: 12, RC_SEND_LAST_WITH_IMMEDIATE: 16, RC_SEND_ONLY: 12,
  RC_SEND_ONLY_WITH_IMMEDIATE: 16, RC_RDMA_WRITE_FIRST: 28, RC_RDMA_WRITE_MIDDLE: 12, RC_RDMA_WRITE_LAST: 12,
  RC_RDMA_WRITE_LAST_WITH_IMMEDIATE: 16, RC_RDMA_WRITE_ONLY: 28, RC_RDMA_WRITE_ONLY_WITH_IMMEDIATE: 32,
  RC_RDMA_READ_REQUEST: 28, RC_RDMA_READ_RESPONSE_FIRST: 16, RC_RDMA_READ_RESPONSE_MIDDLE: 12,
  RC_RDMA_READ_RESPONSE_LAST: 16, RC_RDMA_READ_RESPONSE_ONLY: 16, RC_ACKNOWLEDGE: 16, RC_ATOMIC_ACKNOWLEDGE: 24,
  RC_COMPARE_SWAP: 40, RC_FETCH_ADD: 40, RC_SEND_LAST_WITH_INVALIDATE: 16, RC_SEND_ONLY_WITH_INVALIDATE: 16,
  UD_SEND_ONLY: 20, UD_SEND_ONLY_WITH_IMMEDIATE: 24, CNP: 28,
}

describe('opcode table', () => {
  it.each(Object.entries(EXPECTED_LENGTH))('%s has header length %i', (name, len) => {
    const info = OPCODES[Opcode[name as keyof typeof Opcode]]!
    expect(info.name).toBe(`IB_OPCODE_${name}`)
    expect(info.length).toBe(len)
    expect(info.offset.payload).toBe(len)
  })

  it('places extension headers in IBTA order', () => {
    expect(OPCODES[Opcode.RC_RDMA_WRITE_ONLY_WITH_IMMEDIATE]!.offset).toEqual({reth: 12, immdt: 28, payload: 32})
    expect(OPCODES[Opcode.RC_ATOMIC_ACKNOWLEDGE]!.offset).toEqual({aeth: 12, atmack: 16, payload: 24})
    expect(OPCODES[Opcode.UD_SEND_ONLY_WITH_IMMEDIATE]!.offset).toEqual({deth: 12, immdt: 20, payload: 24})
    expect(OPCODES[Opcode.RC_COMPARE_SWAP]!.offset).toEqual({atmeth: 12, payload: 40})
  })

  it('UC mirrors RC send/write at +0x20 and has no read/atomic/ack', () => {
    for (let op = 0; op <= 0x0b; op++) {
      expect(OPCODES[op + 0x20]!.mask).toBe(OPCODES[op]!.mask)
      expect(OPCODES[op + 0x20]!.length).toBe(OPCODES[op]!.length)
    }
    for (let op = 0x2c; op < 0x40; op++) expect(OPCODES[op]).toBeUndefined()
  })

  it('class bits follow rxe', () => {
    expect(OPCODES[Opcode.RC_SEND_ONLY]!.mask & (Mask.RWR | Mask.COMP | Mask.START | Mask.END)).toBe(
      Mask.RWR | Mask.COMP | Mask.START | Mask.END)
    expect(OPCODES[Opcode.RC_RDMA_WRITE_LAST_WITH_IMMEDIATE]!.mask & Mask.RWR).toBeTruthy()
    expect(OPCODES[Opcode.RC_RDMA_WRITE_LAST]!.mask & Mask.COMP).toBe(0)
    expect(OPCODES[Opcode.RC_ACKNOWLEDGE]!.mask & Mask.ACK).toBeTruthy()
    expect(OPCODES[Opcode.RC_FETCH_ADD]!.mask & Mask.ATOMIC).toBeTruthy()
    expect(OPCODES[Opcode.RC_RDMA_READ_REQUEST]!.mask & Mask.PAYLOAD).toBe(0)
    expect(OPCODES.filter(Boolean)).toHaveLength(Object.keys(Opcode).length)
  })

  it('names transport classes and opcodes', () => {
    expect(qpTypeOfOpcode(0x04)).toBe('RC')
    expect(qpTypeOfOpcode(0x24)).toBe('UC')
    expect(qpTypeOfOpcode(0x64)).toBe('UD')
    expect(qpTypeOfOpcode(0x81)).toBe('CNP')
    expect(opcodeName(0x11)).toBe('RC_ACKNOWLEDGE')
    expect(opcodeName(0x15)).toBe('0x15')
  })
})
