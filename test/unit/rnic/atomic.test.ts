// test_atomic: CAS and FAA values, 64-bit carry, replay of a lost atomic ACK without re-execution.

import {describe, expect, it} from 'vitest'
import {Access, SendFlags, WcOpcode, WcStatus, WrOpcode} from '../../../src/rdma-constants.js'
import {decodeFrame} from '../../../src/wire/frame.js'
import {Opcode} from '../../../src/wire/opcodes.js'
import {PacketView} from '../../../src/wire/packet.js'
import {connect, endpoint, makeLab} from './helpers.js'

const S = SendFlags.SIGNALED

async function setup() {
  const lab = makeLab()
  const a = await endpoint(lab.nics[0]!)
  const b = await endpoint(lab.nics[1]!)
  const [qa, qb] = await connect(a, b, {timeout: 8})
  const res = a.mem.alloc(64)
  const rmr = await a.pd.regMr(res, Access.LOCAL_WRITE)
  const target = b.mem.alloc(64)
  const tmr = await b.pd.regMr(target, Access.LOCAL_WRITE | Access.REMOTE_ATOMIC)
  const tv = new DataView(target.bytes.buffer, target.bytes.byteOffset, 64)
  const rv = new DataView(res.bytes.buffer, res.bytes.byteOffset, 64)
  return {lab, a, b, qa, qb, res, rmr, target, tmr, tv, rv}
}

describe('atomics', () => {
  it('FETCH_ADD returns the original value and adds with 64-bit carry', async () => {
    const {lab, a, qa, res, rmr, target, tmr, tv, rv} = await setup()
    tv.setBigUint64(0, 0x00000001ffffffffn, true)
    qa.postSend({wrId: 1n, opcode: WrOpcode.ATOMIC_FETCH_AND_ADD, sendFlags: S, sgList: [{addr: res.addr, length: 8, lkey: rmr.lkey}],
      atomic: {remoteAddr: target.addr, compareAdd: 1n, rkey: tmr.rkey}})
    lab.run()
    expect(a.cq.poll(1)).toMatchObject([{wrId: 1n, status: WcStatus.SUCCESS, opcode: WcOpcode.FETCH_ADD, byteLen: 8}])
    expect(rv.getBigUint64(0, true)).toBe(0x00000001ffffffffn)
    expect(tv.getBigUint64(0, true)).toBe(0x0000000200000000n)
  })

  it('COMPARE_SWAP swaps only on a match and always returns the original', async () => {
    const {lab, a, qa, res, rmr, target, tmr, tv, rv} = await setup()
    tv.setBigUint64(8, 0x1122334455667788n, true)
    const cas = (wrId: bigint, compareAdd: bigint, swap: bigint) => qa.postSend({wrId, opcode: WrOpcode.ATOMIC_CMP_AND_SWP, sendFlags: S,
      sgList: [{addr: res.addr + 8n * wrId, length: 8, lkey: rmr.lkey}], atomic: {remoteAddr: target.addr + 8n, compareAdd, swap, rkey: tmr.rkey}})
    cas(1n, 0x42n, 0x99n) // mismatch
    cas(2n, 0x1122334455667788n, 0xcafef00dn) // match
    lab.run()
    expect(a.cq.poll(4).map((w) => [w.wrId, w.status, w.opcode])).toEqual([[1n, 0, WcOpcode.COMP_SWAP], [2n, 0, WcOpcode.COMP_SWAP]])
    expect(rv.getBigUint64(8, true)).toBe(0x1122334455667788n)
    expect(rv.getBigUint64(16, true)).toBe(0x1122334455667788n)
    expect(tv.getBigUint64(8, true)).toBe(0xcafef00dn)
  })

  it('a lost ATOMIC ACKNOWLEDGE is replayed from the responder resource, not executed twice', async () => {
    const {lab, a, qa, res, rmr, target, tmr, tv, rv} = await setup()
    let dropped = 0
    const pv = new PacketView()
    lab.fabric.filter = (f, o, l) => {
      if (dropped === 0 && decodeFrame(f, o, l, pv) === 0 && pv.opcode === Opcode.RC_ATOMIC_ACKNOWLEDGE) return ++dropped > 0
      return false
    }
    tv.setBigUint64(0, 10n, true)
    qa.postSend({wrId: 1n, opcode: WrOpcode.ATOMIC_FETCH_AND_ADD, sendFlags: S, sgList: [{addr: res.addr, length: 8, lkey: rmr.lkey}],
      atomic: {remoteAddr: target.addr, compareAdd: 5n, rkey: tmr.rkey}})
    lab.run()
    expect(dropped).toBe(1)
    expect(a.cq.poll(1)).toMatchObject([{wrId: 1n, status: WcStatus.SUCCESS}])
    expect(rv.getBigUint64(0, true)).toBe(10n)
    expect(tv.getBigUint64(0, true)).toBe(15n)
    expect(lab.nics[1]!.counters().port.DUP_REQ).toBe(1)
  })

  it('max_rd_atomic limits outstanding atomics; all still complete in order', async () => {
    const lab = makeLab()
    const a = await endpoint(lab.nics[0]!)
    const b = await endpoint(lab.nics[1]!)
    const [qa] = await connect(a, b, {maxRd: 1})
    const res = a.mem.alloc(8 * 8)
    const rmr = await a.pd.regMr(res, Access.LOCAL_WRITE)
    const target = b.mem.alloc(8)
    const tmr = await b.pd.regMr(target, Access.LOCAL_WRITE | Access.REMOTE_ATOMIC)
    for (let i = 0; i < 8; i++) {
      qa.postSend({wrId: BigInt(i), opcode: WrOpcode.ATOMIC_FETCH_AND_ADD, sendFlags: S,
        sgList: [{addr: res.addr + BigInt(8 * i), length: 8, lkey: rmr.lkey}], atomic: {remoteAddr: target.addr, compareAdd: 1n, rkey: tmr.rkey}})
    }
    let maxOutstanding = 0
    const pv = new PacketView()
    let out = 0
    lab.fabric.tap = (f, o, l) => {
      if (decodeFrame(f, o, l, pv) !== 0) return
      if (pv.opcode === Opcode.RC_FETCH_ADD) maxOutstanding = Math.max(maxOutstanding, ++out)
      if (pv.opcode === Opcode.RC_ATOMIC_ACKNOWLEDGE) out--
    }
    lab.run()
    expect(a.cq.poll(16).map((w) => w.wrId)).toEqual([0n, 1n, 2n, 3n, 4n, 5n, 6n, 7n])
    expect(maxOutstanding).toBe(1)
    const rv = new DataView(res.bytes.buffer, res.bytes.byteOffset, 64)
    expect(Array.from({length: 8}, (_, i) => rv.getBigUint64(8 * i, true))).toEqual([0n, 1n, 2n, 3n, 4n, 5n, 6n, 7n])
  })
})
