// The backend relays control verbs of hyv/masq/freeflow VMs to the RNIC and keeps per-VM ownership: a VM cannot
// name another VM's PD, CQ, QP or MR, cannot take QP1, and registers only its own memory. In freeflow the doorbell
// is relayed through the backend's thread.
import {describe, expect, it} from 'vitest'
import {Backend} from '../../../src/backend/backend.js'
import {QuotaLedger} from '../../../src/backend/quota.js'
import {Errno, QpAttrMask, QpState, QpType} from '../../../src/rdma-constants.js'
import {ipString} from '../../../src/rnic/av.js'
import {attach, testVm} from './attach.js'
import {memoryAudit, tenants} from './fixtures.js'
import {Rnic} from '../../../src/rnic/rnic.js'
import type {Vm} from '../../../src/topology/types.js'
import {openDevice, VerbsError, VmMemory} from '../../../src/verbs/index.js'

const vm = (name: string, mode: Vm['mode']): Vm => testVm(name, {mode})

describe('Backend', () => {
  it('relays control verbs through per-VM handle tables: another VM\'s objects cannot be named', async () => {
    const rnic = new Rnic({name: 'rxe0', gids: ['192.168.0.1'], randomQpn: true})
    const audit = memoryAudit()
    const backend = new Backend({audit})
    const a = attach(backend, rnic, vm('a', 'masq'))
    const b = attach(backend, rnic, vm('b', 'masq'))
    const ctxA = await openDevice(a.channel, {memory: a.mem})
    const ctxB = await openDevice(b.channel, {memory: b.mem})
    const pdA = await ctxA.allocPd()
    const cqA = await ctxA.createCq(8)
    const qpA = await pdA.createQp({type: 'RC', sendCq: cqA, recvCq: cqA, cap: {}})
    const mrA = await pdA.regMr(a.mem.alloc(64), 0)
    // B names A's objects: A's handles are not in B's table, A's QPN is not one of B's QPs
    expect(await b.channel.call('queryQp', qpA.qpn)).toMatchObject({errno: Errno.ENOENT})
    expect(await b.channel.call('destroyQp', qpA.qpn)).toMatchObject({errno: Errno.ENOENT})
    expect(await b.channel.call('modifyQp', qpA.qpn, {qpState: QpState.ERR}, QpAttrMask.STATE)).toMatchObject({errno: Errno.ENOENT})
    expect(await b.channel.call('deregMr', mrA.index)).toMatchObject({errno: Errno.ENOENT})
    expect(await b.channel.call('destroyCq', cqA.cqn)).toMatchObject({errno: Errno.ENOENT})
    expect(await b.channel.call('regMr', {pdn: pdA.pdn, memory: b.mem.sab, offset: 0, length: 64, iova: 0n, access: 0})).toMatchObject({errno: Errno.ENOENT})
    const pdB = await ctxB.allocPd()
    await expect(pdB.createQp({type: 'UD', sendCq: cqA, recvCq: cqA, cap: {}})).rejects.toMatchObject({errno: Errno.ENOENT})
    await expect(pdB.createQp({type: 'UD', sendCq: cqA, recvCq: cqA, cap: {}, gsi: true})).rejects.toMatchObject({errno: Errno.EPERM})
    expect(rnic.qps.has(qpA.qpn)).toBe(true)
    expect(rnic.qps.get(qpA.qpn)!.state).not.toBe(QpState.ERR)
    const st = backend.stats()
    expect(st.a).toMatchObject({pds: 1, cqs: 1, qps: 1, mrs: 1, refused: 0})
    expect(st.b!.refused).toBe(8)
    const handleDenials = audit.query({kind: 'handle', vm: 'b'})
    expect(handleDenials.length).toBe(7)
    expect(handleDenials.every((e) => e.tenant === 't')).toBe(true)
    // a CQ in use by a QP cannot go first (EBUSY); A still owns and can destroy its own objects
    await expect(cqA.destroy()).rejects.toMatchObject({errno: Errno.EBUSY})
    await qpA.destroy()
    expect(backend.stats().a!.qps).toBe(0)
    await expect(qpA.destroy()).rejects.toBeInstanceOf(VerbsError)
    await mrA.dereg()
    await cqA.destroy()
    expect(backend.stats().a).toMatchObject({pds: 1, cqs: 0, qps: 0, mrs: 0})
  })

  it('vBond: a masq VM\'s device has its own address and GID; hyv sees the RNIC\'s', async () => {
    const rnic = new Rnic({name: 'rxe0', gids: ['192.168.0.1', '192.168.0.7']})
    const backend = new Backend()
    const m = await openDevice(attach(backend, rnic, vm('m', 'masq')).channel)
    expect(m.info.gids).toEqual(['::ffff:10.0.0.1'])
    const h = await openDevice(attach(backend, rnic, vm('h', 'hyv')).channel)
    expect(h.info.gids).toEqual(['::ffff:192.168.0.1', '::ffff:192.168.0.7'])
  })

  it('quota exhaustion by one VM leaves the other VMs able to create QPs; refusals are audited', async () => {
    const rnic = new Rnic({name: 'rxe0', gids: ['192.168.0.1']})
    const audit = memoryAudit()
    const quota = new QuotaLedger(tenants, [], audit)
    const backend = new Backend({audit, quota})
    const mk = async (name: string) => {
      const v = {...vm(name, 'masq'), tenant: 'blue'}
      const ctx = await openDevice(attach(backend, rnic, v).channel)
      const pd = await ctx.allocPd()
      const cq = await ctx.createCq(8)
      return {ctx, pd, cq}
    }
    const b1 = await mk('b1')
    const b2 = await mk('b2')
    await b1.pd.createQp({type: 'RC', sendCq: b1.cq, recvCq: b1.cq, cap: {}})
    await b1.pd.createQp({type: 'RC', sendCq: b1.cq, recvCq: b1.cq, cap: {}})
    const err = await b1.pd.createQp({type: 'RC', sendCq: b1.cq, recvCq: b1.cq, cap: {}}).catch((e: VerbsError) => e)
    expect(err).toMatchObject({errno: Errno.EAGAIN})
    expect((err as Error).message).toMatch(/QPs quota of VM "b1" exceeded/)
    await b2.pd.createQp({type: 'RC', sendCq: b2.cq, recvCq: b2.cq, cap: {}}) // b2 still can
    expect(audit.query({kind: 'quota'})).toMatchObject([{tenant: 'blue', vm: 'b1', detail: {resource: 'qps', scope: 'vm'}}])
    expect(quota.usage('b1')!.qps).toBe(2)
    // registered bytes: 4096 per VM
    await expect(b2.pd.regMr(new VmMemory(8192).alloc(8192), 0)).rejects.toMatchObject({errno: Errno.ENOMEM})
  })

  it('refuses raw QPs, controlled Q_Keys and a re-pointed destination QPN, and audits them', async () => {
    const rnic = new Rnic({name: 'rxe0', gids: ['192.168.0.1']})
    const audit = memoryAudit()
    const backend = new Backend({audit, hostGids: ['192.168.0.1'], lookup: async (_vni, vip) => (vip === '10.0.0.2' ? {wireIp: '192.168.0.2'} : null),
      vpc: {members: () => [], routes: async () => {}, qp: async () => {}}})
    const a = attach(backend, rnic, vm('a', 'masq'))
    const ctx = await openDevice(a.channel)
    const pd = await ctx.allocPd()
    const cq = await ctx.createCq(8)
    expect(await a.channel.call('createQp', {pdn: pd.pdn, type: QpType.RAW_PACKET, sendCqn: cq.cqn, recvCqn: cq.cqn,
      cap: {maxSendWr: 1, maxRecvWr: 1, maxSendSge: 1, maxRecvSge: 1, maxInlineData: 0}})).toMatchObject({errno: Errno.EPERM})
    const ud = await pd.createQp({type: 'UD', sendCq: cq, recvCq: cq, cap: {}})
    await expect(ud.modify({qpState: QpState.INIT, pkeyIndex: 0, portNum: 1, qkey: 0x80010000}, QpAttrMask.STATE | QpAttrMask.PKEY_INDEX | QpAttrMask.PORT | QpAttrMask.QKEY))
      .rejects.toMatchObject({errno: Errno.EPERM})
    const qp = await pd.createQp({type: 'RC', sendCq: cq, recvCq: cq, cap: {}})
    await qp.modify({qpState: QpState.INIT, pkeyIndex: 0, portNum: 1, qpAccessFlags: 0}, QpAttrMask.STATE | QpAttrMask.PKEY_INDEX | QpAttrMask.PORT | QpAttrMask.ACCESS_FLAGS)
    const rtr = QpAttrMask.STATE | QpAttrMask.AV | QpAttrMask.PATH_MTU | QpAttrMask.DEST_QPN | QpAttrMask.RQ_PSN | QpAttrMask.MAX_DEST_RD_ATOMIC | QpAttrMask.MIN_RNR_TIMER
    const rtrAttr = (destQpNum: number, dgid: string) => ({qpState: QpState.RTR, pathMtu: ctx.info.maxMtu, destQpNum, rqPsn: 0, maxDestRdAtomic: 1, minRnrTimer: 12, ahAttr: {dgid, sgidIndex: 0}})
    // an address outside the VPC (another tenant's, or nobody's) cannot be named
    await expect(qp.modify(rtrAttr(0x1234, '::ffff:10.0.0.9'), rtr)).rejects.toMatchObject({errno: Errno.EHOSTUNREACH})
    await qp.modify(rtrAttr(0x1234, '::ffff:10.0.0.2'), rtr)
    // RConnrename: the QP context holds the host address of the peer, not its vIP
    expect(ipString(rnic.qps.get(qp.qpn)!.av.dgidIp)).toBe('192.168.0.2')
    // the connection's peer is pinned: another destination QPN is a forgery
    await expect(qp.modify({destQpNum: 0x4321}, QpAttrMask.DEST_QPN)).rejects.toMatchObject({errno: Errno.EPERM})
    expect(rnic.qps.get(qp.qpn)!.destQpn).toBe(0x1234)
    const kinds = audit.query({vm: 'a'}).map((e) => e.kind)
    expect(kinds).toEqual(['raw-qp', 'qkey', 'rule', 'dest-qpn'])
  })

  it('regMr always registers the VM\'s own memory, whatever buffer the VM sends', async () => {
    const rnic = new Rnic({name: 'rxe0', gids: ['192.168.0.1']})
    const backend = new Backend()
    const a = attach(backend, rnic, vm('a', 'hyv'))
    const ctx = await openDevice(a.channel, {memory: a.mem})
    const pd = await ctx.allocPd()
    const other = new SharedArrayBuffer(1 << 16)
    const r = (await a.channel.call('regMr', {pdn: pd.pdn, memory: other, offset: 0, length: 64, iova: 0n, access: 0})) as {mrIndex: number}
    // a write through the MR lands in the VM's memory, not in the buffer the VM named
    rnic.mrs.byIndex(r.mrIndex)!.u8[0] = 0x5a
    expect(a.mem.u8[0]).toBe(0x5a)
    expect(new Uint8Array(other)[0]).toBe(0)
  })

  it('freeflow: the VM rings a shadow doorbell that the backend answers (relay.test.ts: the WQEs and CQEs it moves)', async () => {
    const rnic = new Rnic({name: 'rxe0', gids: ['192.168.0.1']})
    const backend = new Backend()
    const f = attach(backend, rnic, vm('f', 'freeflow'))
    const ctx = await openDevice(f.channel, {memory: f.mem})
    const before = Atomics.load(rnic.doorbell, 0)
    Atomics.add(ctx.doorbell, 0, 1)
    Atomics.notify(ctx.doorbell, 0)
    for (let i = 0; i < 200 && backend.stats().f!.doorbellsRelayed === 0; i++) await new Promise((r) => setTimeout(r, 5))
    expect(backend.stats().f!.doorbellsRelayed).toBeGreaterThan(0)
    expect(Atomics.load(rnic.doorbell, 0)).toBe(before) // not the RNIC's doorbell; nothing to move, so not rung
    backend.detach('f')
  })
})
