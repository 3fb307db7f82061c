// RConnrename for UD (src/rnic/vpc.ts): a masq UD QP's WQEs name vIPs; the RNIC sends to the host underlay address
// of its VPC table with the tenant's DSCP, and refuses a vIP outside the VPC (counted, LOC_QP_OP_ERR, QP to ERR).

import {describe, expect, it} from 'vitest'
import {Access, QpAttrMask as M, QpState, SendFlags, WcStatus} from '../../../src/rdma-constants.js'
import {ipString} from '../../../src/rnic/av.js'
import {isRnicError} from '../../../src/rnic/rnic.js'
import {decodeFrame} from '../../../src/wire/frame.js'
import {PacketView} from '../../../src/wire/packet.js'
import {type Endpoint, endpoint, makeLab} from './helpers.js'

const QKEY = 0x1234

async function udQp(ep: Endpoint) {
  const qp = await ep.pd.createQp({type: 'UD', sendCq: ep.cq, recvCq: ep.cq, cap: {maxSendWr: 16, maxRecvWr: 16, maxSendSge: 1, maxRecvSge: 1}})
  await qp.modify({qpState: QpState.INIT, pkeyIndex: 0, portNum: 1, qkey: QKEY}, M.STATE | M.PKEY_INDEX | M.PORT | M.QKEY)
  await qp.modify({qpState: QpState.RTR}, M.STATE)
  await qp.modify({qpState: QpState.RTS, sqPsn: 0}, M.STATE | M.SQ_PSN)
  return qp
}

async function setup() {
  const lab = makeLab()
  const frames: Array<{src: string; dst: string; dscp: number}> = []
  const pv = new PacketView()
  lab.fabric.tap = (f, o, l) => {
    if (decodeFrame(f, o, l, pv) === 0) frames.push({src: ipString(pv.srcIp), dst: ipString(pv.dstIp), dscp: pv.dscp})
  }
  const a = await endpoint(lab.nics[0]!)
  const b = await endpoint(lab.nics[1]!)
  const qa = await udQp(a)
  const qb = await udQp(b)
  const nic = lab.nics[0]!
  expect(nic.setVpcRoutes({vni: 7, routes: [['192.168.1.5', '10.0.0.2']]})).toEqual({})
  expect(nic.setVpcQp({qpn: qa.qpn, vni: 7, trafficClass: 10 << 2})).toEqual({})
  const dst = b.mem.alloc(256)
  const dmr = await b.pd.regMr(dst, Access.LOCAL_WRITE)
  qb.postRecv({wrId: 5n, sgList: [{addr: dst.addr, length: 256, lkey: dmr.lkey}]})
  return {lab, frames, a, b, qa, qb, nic}
}

describe('UD in a VPC (RConnrename per WQE)', () => {
  it('a WQE addressed to a vIP leaves with the host underlay address and the tenant DSCP, whatever the AH asked', async () => {
    const {lab, frames, a, b, qa, qb} = await setup()
    const ah = a.pd.createAh({dgid: '::ffff:192.168.1.5', trafficClass: 46 << 2}) // the provider's class
    qa.postSend({wrId: 1n, sendFlags: SendFlags.SIGNALED, ud: {ah, remoteQpn: qb.qpn, remoteQkey: QKEY}})
    lab.run()
    expect(a.cq.poll(1)).toMatchObject([{wrId: 1n, status: WcStatus.SUCCESS}])
    expect(b.cq.poll(1)).toMatchObject([{wrId: 5n, status: WcStatus.SUCCESS, srcQp: qa.qpn}])
    expect(frames).toEqual([{src: '10.0.0.1', dst: '10.0.0.2', dscp: 10}])
  })

  it('a vIP outside the VPC is never sent: counted, LOC_QP_OP_ERR, later WQEs flushed (rxe: unroutable UD send)', async () => {
    const {lab, frames, a, qa, qb, nic} = await setup()
    const other = a.pd.createAh({dgid: '::ffff:192.168.1.9'})
    const underlay = a.pd.createAh({dgid: '10.0.0.2'}) // a host address is not a vIP of this VPC either
    qa.postSend({wrId: 1n, sendFlags: SendFlags.SIGNALED, ud: {ah: other, remoteQpn: qb.qpn, remoteQkey: QKEY}})
    qa.postSend({wrId: 2n, sendFlags: SendFlags.SIGNALED, ud: {ah: underlay, remoteQpn: qb.qpn, remoteQkey: QKEY}})
    lab.run()
    expect(a.cq.poll(2)).toMatchObject([{wrId: 1n, status: WcStatus.LOC_QP_OP_ERR}, {wrId: 2n, status: WcStatus.WR_FLUSH_ERR}])
    expect(frames).toEqual([])
    expect(nic.counters().drops).toMatchObject({vpc_unreachable: 1})
    expect((await qa.query()).qpState).toBe(QpState.ERR)
  })

  it('a replaced table is seen by the QPs of that VNI (registry change); malformed routes and non-UD QPs are refused', async () => {
    const {lab, frames, a, qa, qb, nic} = await setup()
    expect(nic.setVpcRoutes({vni: 7, routes: [['192.168.1.5', '10.0.0.3']]})).toEqual({})
    qa.postSend({wrId: 1n, sendFlags: SendFlags.SIGNALED, ud: {ah: a.pd.createAh({dgid: '::ffff:192.168.1.5'}), remoteQpn: qb.qpn, remoteQkey: QKEY}})
    lab.run()
    expect(frames[0]).toMatchObject({dst: '10.0.0.3'})
    expect(isRnicError(nic.setVpcRoutes({vni: 7, routes: [['nope', '10.0.0.2']]}))).toBe(true)
    expect(nic.vpcTables.toJSON()).toEqual({7: {'192.168.1.5': '10.0.0.3'}})
    const rc = await a.pd.createQp({type: 'RC', sendCq: a.cq, recvCq: a.cq, cap: {}})
    expect(isRnicError(nic.setVpcQp({qpn: rc.qpn, vni: 7, trafficClass: 0}))).toBe(true)
  })
})
