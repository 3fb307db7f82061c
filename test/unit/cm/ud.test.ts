// rdma_cm for UD ids (RDMA_PS_UDP): SIDR_REQ / SIDR_REP resolve the service to the peer's UD QPN and Q_Key.
import {describe, expect, it} from 'vitest'
import {CmEvent, PortSpace, RDMA_UDP_QKEY, SendFlags, WcOpcode, WcStatus, WrOpcode} from '../../../src/rdma-constants.js'
import {SidrStatus} from '../../../src/cm/sidr.js'
import type {RdmaCm} from '../../../src/cm/rdma-cm.js'
import {ipString, parseGidIp} from '../../../src/rnic/av.js'
import {decodeFrame} from '../../../src/wire/frame.js'
import {PacketView} from '../../../src/wire/packet.js'
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

describe('rdma_cm UD in a VPC', () => {
  it('both ends get the peer\'s vIP; with the RNICs\' VPC context a datagram shows only underlay addresses on the wire', async () => {
    const VNI = 5
    const vips = ['172.16.0.1', '172.16.0.2'] // VM on host 0, VM on host 1
    const where = (vni: number, ip: number): number | undefined => {
      const i = vips.findIndex((v) => parseGidIp(v) === ip)
      return vni === VNI && i >= 0 ? parseGidIp(hostIp(i)) : undefined
    }
    const lab = makeCmLab(2, {}, {
      resolve: (vni, ip) => {
        const w = where(vni, ip)
        return w === undefined ? undefined : {wireIp: w, reachable: true}
      },
      translate: (vni, ip) => where(vni, ip) ?? ip,
    })
    const frames: Array<{src: string; dst: string; destQp: number; dscp: number}> = []
    const pv = new PacketView()
    lab.fabric.tap = (f, o, l) => {
      if (decodeFrame(f, o, l, pv) === 0) frames.push({src: ipString(pv.srcIp), dst: ipString(pv.dstIp), destQp: pv.destQp, dscp: pv.dscp})
    }
    const scm = lab.agents[1]!.vm({vni: VNI, addresses: [vips[1]!]})
    const ccm = lab.agents[0]!.vm({vni: VNI, addresses: [vips[0]!]})
    const se = await ep(lab.nics[1]!)
    const ce = await ep(lab.nics[0]!)
    const lch = scm.createEventChannel()
    const lid = scm.createId(lch, null, PortSpace.UDP)
    lid.bindAddr({ip: vips[1]!, port: PORT})
    lid.listen()
    const ch = ccm.createEventChannel()
    const id = ccm.createId(ch, null, PortSpace.UDP)
    id.resolveAddr(undefined, {ip: vips[1]!, port: PORT})
    expectEvent(await lab.next(ch), CmEvent.ADDR_RESOLVED)
    id.resolveRoute()
    expectEvent(await lab.next(ch), CmEvent.ROUTE_RESOLVED)
    const cqp = await id.createQp(ce.pd, {sendCq: ce.cq, recvCq: ce.cq, cap: CAP})
    await id.connect()
    const req = expectEvent(await lab.next(lch), CmEvent.CONNECT_REQUEST)
    expect(req.param.ud!.ahAttr.dgid).toBe(`::ffff:${vips[0]}`)
    const sqp = await req.id.createQp(se.pd, {sendCq: se.cq, recvCq: se.cq, cap: CAP})
    await req.id.accept({})
    const est = expectEvent(await lab.next(ch), CmEvent.ESTABLISHED)
    expect(est.param.ud!.ahAttr.dgid).toBe(`::ffff:${vips[1]}`)

    // what the backend programs in masq (src/backend/backend.ts programUd): the VNI's table and the tenant DSCP
    for (const nic of lab.nics) expect(nic.setVpcRoutes({vni: VNI, routes: vips.map((v, i) => [v, hostIp(i)] as [string, string])})).toEqual({})
    expect(lab.nics[0]!.setVpcQp({qpn: cqp.qpn, vni: VNI, trafficClass: 26 << 2})).toEqual({})
    expect(lab.nics[1]!.setVpcQp({qpn: sqp.qpn, vni: VNI, trafficClass: 26 << 2})).toEqual({})
    frames.length = 0
    const buf = se.mem.alloc(40 + 64)
    const mr = await se.pd.regMr(buf, RW)
    sqp.postRecv({wrId: 1n, sgList: [{addr: buf.addr, length: buf.length, lkey: mr.lkey}]})
    const src = ce.mem.alloc(64)
    const smr = await ce.pd.regMr(src, 0)
    cqp.postSend({wrId: 2n, opcode: WrOpcode.SEND, sendFlags: SendFlags.SIGNALED, sgList: [{addr: src.addr, length: 64, lkey: smr.lkey}],
      ud: {ah: ce.pd.createAh({...est.param.ud!.ahAttr, trafficClass: 46 << 2}), remoteQpn: est.param.ud!.qpNum, remoteQkey: est.param.ud!.qkey}})
    const wcs: Array<{status: number}> = []
    await lab.pump(() => {
      wcs.push(...se.cq.poll(2))
      return wcs.length > 0
    })
    expect(wcs[0]).toMatchObject({status: WcStatus.SUCCESS})
    expect(frames).toEqual([{src: hostIp(0), dst: hostIp(1), destQp: sqp.qpn, dscp: 26}])
  })
})
