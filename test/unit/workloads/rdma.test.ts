// The rdma_cm helpers every workload uses (src/workloads/rdma.ts): concurrent accepts on one listener, a peer that
// disconnects before the passive side saw ESTABLISHED, and the {addr, rkey} blob.
import {afterAll, describe, expect, it} from 'vitest'
import {CmEvent} from '../../../src/rdma-constants.js'
import {createInProcessLab} from '../../../src/vm/inprocess.js'
import {asWorkload} from '../../../src/vm/loader.js'
import type {WorkloadVm} from '../../../src/workloads/api.js'
import {accept, CmEvents, connect, decodeRemote, disconnect, encodeRemote, listen, peerIp, runKey} from '../../../src/workloads/rdma.js'

describe('rdma_cm helpers', () => {
  const lab = createInProcessLab()
  afterAll(() => lab.stop())

  it('many accepts waiting on one listener at once each get their own connection (one event, one waiter)', async () => {
    const n = 24
    const w = asWorkload(async (vm: WorkloadVm) => {
      const ctx = await vm.openDevice()
      const pd = await ctx.allocPd()
      const cq = await ctx.createCq(4 * n)
      const cap = {maxSendWr: 1, maxRecvWr: 1}
      if (vm.rank === 1) {
        const l = listen(vm, 18700, n)
        await vm.publish(runKey(vm, 'up'), true)
        const conns = await Promise.all(Array.from({length: n}, () => accept(l, {pd, sendCq: cq, recvCq: cq, cap})))
        await Promise.all(conns.map((c) => disconnect(c, false)))
        l.id.destroy()
        return {ids: new Set(conns.map((c) => c.id)).size, qps: new Set(conns.map((c) => c.qp.qpn)).size}
      }
      await vm.waitFor(runKey(vm, 'up'))
      const conns = await Promise.all(Array.from({length: n}, () => connect(vm, {ip: peerIp(vm), port: 18700, pd, sendCq: cq, recvCq: cq, cap})))
      await Promise.all(conns.map((c) => disconnect(c, true)))
      return {ids: new Set(conns.map((c) => c.id)).size, qps: new Set(conns.map((c) => c.qp.qpn)).size}
    }, 'concurrent')
    const [c, s] = await lab.run(w, {}, 60_000)
    expect(c, JSON.stringify(c)).toMatchObject({ok: true, result: {ids: n, qps: n}})
    expect(s, JSON.stringify(s)).toMatchObject({ok: true, result: {ids: n, qps: n}})
  })

  it('CmEvents: two waiters for the same event both get it once it is filed; neither swallows it', async () => {
    const events: Array<{event: number; id: unknown}> = []
    let deliver: ((e: unknown) => void) | undefined
    const cm = {
      getCmEvent: () => new Promise((r) => (deliver = r)),
      ackCmEvent: (e: unknown) => events.push(e as {event: number; id: unknown}),
    }
    const ev = new CmEvents(cm as never, {} as never)
    const id = {}
    const a = ev.next((e) => e.id === id, 'A', 5000)
    const b = ev.next((e) => e.event === CmEvent.DISCONNECTED, 'B', 5000)
    await new Promise((r) => setImmediate(r))
    deliver!({event: CmEvent.ESTABLISHED, id})
    expect((await a).event).toBe(CmEvent.ESTABLISHED)
    await new Promise((r) => setImmediate(r))
    deliver!({event: CmEvent.DISCONNECTED, id: {}})
    expect((await b).event).toBe(CmEvent.DISCONNECTED)
    expect(events.map((e) => e.event)).toEqual([CmEvent.ESTABLISHED, CmEvent.DISCONNECTED]) // each acked once
  })

  it('{addr, rkey} round-trips big-endian through 12 bytes', () => {
    const b = encodeRemote({addr: 0x7f0000001000n, rkey: 0x12345678} as never, 0x40)
    expect([...b]).toEqual([0, 0, 0x7f, 0, 0, 0, 0x10, 0x40, 0x12, 0x34, 0x56, 0x78])
    expect(decodeRemote(b)).toEqual({remoteAddr: 0x7f0000001040n, rkey: 0x12345678})
    expect(() => decodeRemote(new Uint8Array(11))).toThrow(/too short/)
  })
})
