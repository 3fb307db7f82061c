// rdma_cm for UD ids (RDMA_PS_UDP): SIDR_REQ / SIDR_REP resolve the service to the peer's UD QPN and Q_Key.
import {describe, expect, it} from 'vitest'
import {CmEvent, PortSpace, RDMA_UDP_QKEY, SendFlags, WcOpcode, WcStatus, WrOpcode} from '../../../src/rdma-constants.js'
import {SidrStatus} from '../../../src/cm/sidr.js'
import type {RdmaCm} from '../../../src/cm/rdma-cm.js'
import {CAP, type CmLab, ep, type Ep, expectEvent, hostIp, makeCmLab, RW} from './helpers.js'

const PORT = 5000

async function udClient(lab: CmLab, cm: RdmaCm, e: Ep, port = PORT) {
  const ch = cm.createEventChannel()
  const id = cm.createId(ch, null, PortSpace.UDP)
  id.resolveAddr(undefined, {ip: hostIp(1), port})
  expectEvent(await lab.next(ch), CmEvent.ADDR_RESOLVED)
  id.resolveRoute()
  expectEvent(await lab.next(ch), CmEvent.ROUTE_RESOLVED)
  await id.createQp(e.pd, {sendCq: e.cq, recvCq: e.cq, cap: CAP})
  return {ch, id}
}

describe('rdma_cm UD (SIDR)', () => {
  it('resolves the listener\'s UD QP and Q_Key; a datagram to it arrives intact', async () => {
    const lab = makeCmLab()
    const scm = lab.agents[1]!.vm({addresses: [hostIp(1)]})
    const ccm = lab.agents[0]!.vm({addresses: [hostIp(0)]})
    const se = await ep(lab.nics[1]!)
    const ce = await ep(lab.nics[0]!)
    const lch = scm.createEventChannel()
    const lid = scm.createId(lch, null, PortSpace.UDP)
    lid.bindAddr({ip: hostIp(1), port: PORT})
    lid.listen()
    const c = await udClient(lab, ccm, ce)
    await c.id.connect({privateData: Uint8Array.of(4, 5, 6)})
    const req = expectEvent(await lab.next(lch), CmEvent.CONNECT_REQUEST)
    expect([...req.param.ud!.privateData.subarray(0, 4)]).toEqual([4, 5, 6, 0])
    const sqp = await req.id.createQp(se.pd, {sendCq: se.cq, recvCq: se.cq, cap: CAP})
    await req.id.accept({privateData: Uint8Array.of(9)})
    const est = expectEvent(await lab.next(c.ch), CmEvent.ESTABLISHED)
    expect(est.param.ud).toMatchObject({qpNum: sqp.qpn, qkey: RDMA_UDP_QKEY, ahAttr: {dgid: `::ffff:${hostIp(1)}`}})
    expect(est.param.ud!.privateData[0]).toBe(9)
    expect(lab.agents[0]!.engine.stats.sent).toMatchObject({SIDR_REQ: 1})
    expect(lab.agents[1]!.engine.stats.sent).toMatchObject({SIDR_REP: 1})

    // a UD datagram with the resolved address (40-byte GRH space first, as for any UD receive)
    const buf = se.mem.alloc(40 + 256)
    const mr = await se.pd.regMr(buf, RW)
    sqp.postRecv({wrId: 1n, sgList: [{addr: buf.addr, length: buf.length, lkey: mr.lkey}]})
    const src = ce.mem.alloc(256)
    src.bytes.set(new TextEncoder().encode('datagram over SIDR'))
    const smr = await ce.pd.regMr(src, 0)
    const ah = ce.pd.createAh(est.param.ud!.ahAttr)
    c.id.qp!.postSend({wrId: 2n, opcode: WrOpcode.SEND, sendFlags: SendFlags.SIGNALED, sgList: [{addr: src.addr, length: 256, lkey: smr.lkey}],
      ud: {ah, remoteQpn: est.param.ud!.qpNum, remoteQkey: est.param.ud!.qkey}})
    const wcs: Array<{status: number; opcode: number}> = []
    await lab.pump(() => {
      wcs.push(...se.cq.poll(2))
      return wcs.length > 0
    })
    expect(wcs[0]).toMatchObject({status: WcStatus.SUCCESS, opcode: WcOpcode.RECV})
    expect(Buffer.from(buf.bytes.subarray(40, 40 + 256)).equals(Buffer.from(src.bytes))).toBe(true)
  })

  it('nobody listening → UNREACHABLE with SIDR status UNSUPPORTED; an app reject → UNREACHABLE with REJECT', async () => {
    const lab = makeCmLab()
    const ccm = lab.agents[0]!.vm({addresses: [hostIp(0)]})
    const ce = await ep(lab.nics[0]!)
    const c = await udClient(lab, ccm, ce, 6000)
    await c.id.connect()
    expectEvent(await lab.next(c.ch), CmEvent.UNREACHABLE, SidrStatus.UNSUPPORTED)

    const scm = lab.agents[1]!.vm({addresses: [hostIp(1)]})
    const lch = scm.createEventChannel()
    const lid = scm.createId(lch, null, PortSpace.UDP)
    lid.bindAddr({ip: hostIp(1), port: PORT})
    lid.listen()
    const c2 = await udClient(lab, ccm, ce)
    await c2.id.connect()
    expectEvent(await lab.next(lch), CmEvent.CONNECT_REQUEST).id.reject(Uint8Array.of(1))
    expectEvent(await lab.next(c2.ch), CmEvent.UNREACHABLE, SidrStatus.REJECT)
  })

  it('lost SIDR MADs are re-sent; a dead peer ends in UNREACHABLE -ETIMEDOUT', async () => {
    const lab = makeCmLab(2, {seed: 5, impairments: {loss: 1}})
    const ccm = lab.agents[0]!.vm({addresses: [hostIp(0)]})
    const c = await udClient(lab, ccm, await ep(lab.nics[0]!))
    await c.id.connect()
    expectEvent(await lab.next(c.ch, 60e6), CmEvent.UNREACHABLE, -110)
    expect(lab.agents[0]!.engine.stats.sent['SIDR_REQ']).toBe(1 + lab.agents[0]!.engine.timeouts.maxCmRetries)
  })
})
