// The backend relays control verbs of hyv/masq/freeflow VMs to the RNIC and keeps per-VM ownership: a VM cannot
// name another VM's PD, CQ, QP or MR, cannot take QP1, and registers only its own memory. In freeflow the doorbell
// is relayed through the backend's thread.
import {MessageChannel, type MessagePort} from 'node:worker_threads'
import {afterEach, describe, expect, it} from 'vitest'
import {Backend} from '../../../src/backend/backend.js'
import {Errno} from '../../../src/rdma-constants.js'
import {Rnic} from '../../../src/rnic/rnic.js'
import type {Vm} from '../../../src/topology/types.js'
import {MessagePortChannel, openDevice, serveRnic, VerbsError, VmMemory} from '../../../src/verbs/index.js'

const ports: MessagePort[] = []
afterEach(() => {
  for (const p of ports.splice(0)) p.close()
})

function vm(name: string, mode: Vm['mode']): Vm {
  return {name, index: 0, tenant: 't', vni: 1, host: 'h', mode, vip: '10.0.0.1', deviceIp: '10.0.0.1', wireIp: '192.168.0.1',
    gid: '::ffff:10.0.0.1', mac: '02:00:0a:00:00:01', securityGroups: [], memoryBytes: 1 << 16}
}

function attach(backend: Backend, rnic: Rnic, v: Vm) {
  const toRnic = new MessageChannel()
  const virtio = new MessageChannel()
  ports.push(toRnic.port1, toRnic.port2, virtio.port1, virtio.port2)
  serveRnic(toRnic.port2, rnic)
  const mem = new VmMemory(1 << 16)
  backend.attach(v, virtio.port1, toRnic.port1, mem.sab)
  return {mem, channel: new MessagePortChannel(virtio.port2)}
}

describe('Backend', () => {
  it('relays control verbs and refuses handles the VM does not own', async () => {
    const rnic = new Rnic({name: 'rxe0', gids: ['192.168.0.1']})
    const backend = new Backend()
    const a = attach(backend, rnic, vm('a', 'masq'))
    const b = attach(backend, rnic, vm('b', 'masq'))
    const ctxA = await openDevice(a.channel, {memory: a.mem})
    const ctxB = await openDevice(b.channel, {memory: b.mem})
    const pdA = await ctxA.allocPd()
    const cqA = await ctxA.createCq(8)
    const qpA = await pdA.createQp({type: 'RC', sendCq: cqA, recvCq: cqA, cap: {}})
    const mrA = await pdA.regMr(a.mem.alloc(64), 0)
    // B names A's objects by number
    expect(await b.channel.call('queryQp', qpA.qpn)).toMatchObject({errno: Errno.EINVAL})
    expect(await b.channel.call('destroyQp', qpA.qpn)).toMatchObject({errno: Errno.EINVAL})
    expect(await b.channel.call('deregMr', mrA.index)).toMatchObject({errno: Errno.EINVAL})
    expect(await b.channel.call('destroyCq', cqA.cqn)).toMatchObject({errno: Errno.EINVAL})
    expect(await b.channel.call('regMr', {pdn: pdA.pdn, memory: b.mem.sab, offset: 0, length: 64, iova: 0n, access: 0})).toMatchObject({errno: Errno.EINVAL})
    const pdB = await ctxB.allocPd()
    const cqB = await ctxB.createCq(8)
    expect(await b.channel.call('createQp', {pdn: pdB.pdn, type: 2, sendCqn: cqA.cqn, recvCqn: cqB.cqn, cap: {maxSendWr: 1, maxRecvWr: 1, maxSendSge: 1, maxRecvSge: 1, maxInlineData: 0}}))
      .toMatchObject({errno: Errno.EINVAL})
    await expect(pdB.createQp({type: 'UD', sendCq: cqB, recvCq: cqB, cap: {}, gsi: true})).rejects.toMatchObject({errno: Errno.EPERM})
    expect(rnic.qps.has(qpA.qpn)).toBe(true)
    const st = backend.stats()
    expect(st.a).toMatchObject({pds: 1, cqs: 1, qps: 1, mrs: 1, refused: 0})
    expect(st.b!.refused).toBe(7)
    // A still owns and can destroy its own QP
    await qpA.destroy()
    expect(backend.stats().a!.qps).toBe(0)
    await expect(qpA.destroy()).rejects.toBeInstanceOf(VerbsError)
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

  it('freeflow: the VM rings a shadow doorbell that the backend forwards to the RNIC', async () => {
    const rnic = new Rnic({name: 'rxe0', gids: ['192.168.0.1']})
    const backend = new Backend()
    const f = attach(backend, rnic, vm('f', 'freeflow'))
    const ctx = await openDevice(f.channel, {memory: f.mem})
    expect(ctx.info.doorbell).not.toBe(rnic.doorbellSab)
    const before = Atomics.load(rnic.doorbell, 0)
    Atomics.add(ctx.doorbell, 0, 1)
    Atomics.notify(ctx.doorbell, 0)
    for (let i = 0; i < 200 && Atomics.load(rnic.doorbell, 0) === before; i++) await new Promise((r) => setTimeout(r, 5))
    expect(Atomics.load(rnic.doorbell, 0)).toBeGreaterThan(before)
    expect(backend.stats().f!.doorbellsRelayed).toBeGreaterThan(0)
    backend.detach('f')
  })
})
