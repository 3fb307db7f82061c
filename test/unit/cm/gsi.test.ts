// The RNIC's GSI path: MADs to QP1 reach the registered handler; a wrong Q_Key is a counted drop.
import {describe, expect, it} from 'vitest'
import {Errno, GSI_QKEY, QpType} from '../../../src/rdma-constants.js'
import {ManualClock} from '../../../src/rnic/clock.js'
import {GsiDrop, type MadSource} from '../../../src/rnic/gsi.js'
import {LoopbackFabric} from '../../../src/rnic/port.js'
import {isRnicError, Rnic} from '../../../src/rnic/rnic.js'
import {decodeFrame, icrc} from '../../../src/wire/frame.js'
import {PacketView} from '../../../src/wire/packet.js'
import {Opcode} from '../../../src/wire/opcodes.js'

function pair(): {a: Rnic; b: Rnic; fabric: LoopbackFabric; frames: Uint8Array[]} {
  const clock = new ManualClock()
  const frames: Uint8Array[] = []
  const fabric = new LoopbackFabric({clock, tap: (f, o, l) => frames.push(f.slice(o, o + l))})
  const a = new Rnic({name: 'a', gids: ['10.0.0.1'], clock})
  const b = new Rnic({name: 'b', gids: ['10.0.0.2'], clock})
  fabric.attach(a)
  fabric.attach(b)
  return {a, b, fabric, frames}
}

describe('GSI (QP1) path', () => {
  it('delivers a MAD as UD SEND ONLY from QP1 to QP1 with the GSI Q_Key', () => {
    const {a, b, fabric, frames} = pair()
    const got: Array<{mad: Uint8Array; from: MadSource}> = []
    b.gsi.onMad = (mad, from) => got.push({mad: new Uint8Array(mad), from})
    const mad = new Uint8Array(256).map((_, i) => i)
    a.sendMad(0x0a000001, 0x0a000002, 46, mad)
    fabric.deliver()
    expect(got).toHaveLength(1)
    expect(got[0]!.mad).toEqual(mad)
    expect(got[0]!.from).toEqual({srcIp: 0x0a000001, dstIp: 0x0a000002, srcQp: 1, pkey: 0xffff})
    const pv = new PacketView()
    expect(decodeFrame(frames[0]!, 0, frames[0]!.length, pv)).toBe(0)
    expect([pv.opcode, pv.destQp, pv.dethQkey, pv.dethSrcQp, pv.dscp]).toEqual([Opcode.UD_SEND_ONLY, 1, GSI_QKEY, 1, 46])
  })

  it('drops a MAD with a wrong Q_Key and counts it', () => {
    const {a, b, fabric} = pair()
    let n = 0
    b.gsi.onMad = () => n++
    // capture a real GSI frame, then patch its DETH Q_Key and recompute the ICRC
    const frames: Uint8Array[] = []
    fabric.tap = (f, o, l) => frames.push(f.slice(o, o + l))
    fabric.filter = () => true
    a.sendMad(0x0a000001, 0x0a000002, 0, new Uint8Array(256))
    const f = Buffer.from(frames[0]!)
    const deth = 14 + 20 + 8 + 12
    f.writeUInt32BE(0x1234, deth)
    f.writeUInt32LE(icrc(f, 0, f.length), f.length - 4)
    b.receive(f, 0, f.length)
    expect(n).toBe(0)
    expect(b.drops.get(GsiDrop.QKEY)).toBe(1)
  })

  it('an answer to a MAD never reaches the sender inside its own sendMad (queued, delivered on the next pass)', () => {
    const {a, b, fabric} = pair()
    let sending = false
    const atA: boolean[] = []
    a.gsi.onMad = () => atA.push(sending)
    // b answers at once, from inside its handler (the CM's DREQ → DREP)
    b.gsi.onMad = (_mad, from) => b.sendMad(from.dstIp, from.srcIp, 0, new Uint8Array(256))
    sending = true
    a.sendMad(0x0a000001, 0x0a000002, 0, new Uint8Array(256))
    sending = false
    expect(atA).toEqual([])
    fabric.deliver()
    expect(atA).toEqual([false])
  })

  it('QP1 is the GSI path: createQp({gsi: true}) is refused with EPERM, the MAD agent keeps QP1', () => {
    const {a} = pair()
    const pd = a.allocPd()
    const cq = a.createCq({depth: 4})
    if (isRnicError(pd) || isRnicError(cq)) throw new Error('setup')
    const cap = {maxSendWr: 2, maxRecvWr: 2, maxSendSge: 1, maxRecvSge: 1, maxInlineData: 0}
    expect(a.createQp({pdn: pd.pdn, type: QpType.UD, sendCqn: cq.cqn, recvCqn: cq.cqn, cap, gsi: true})).toMatchObject({errno: Errno.EPERM})
    expect(() => a.sendMad(0x0a000001, 0x0a000002, 0, new Uint8Array(256))).not.toThrow()
  })
})
