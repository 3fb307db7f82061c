// Regression: with impairments.loss set, every frame takes the LoopbackFabric queue (no cut-through) and is handed
// to its receiver from a reused slot. The CM once kept decoded REP/REQ private data as a view into that slot, so the
// {addr, rkey} a peer sent arrived as whatever the slot held next: RDMA WRITE / READ then failed with
// IBV_WC_REM_ACCESS_ERR even when no frame was lost. The fabric's `poison` option makes such a view fail at once.
import {afterAll, describe, expect, it} from 'vitest'
import {LoopbackFabric} from '../../../src/rnic/port.js'
import type {Rnic} from '../../../src/rnic/rnic.js'
import {createInProcessLab} from '../../../src/vm/inprocess.js'
import {asWorkload} from '../../../src/vm/loader.js'
import {REMOTE_ALL_ATOMIC} from '../../../src/workloads/pingpong.js'
import {accept, connect, decodeRemote, disconnect, encodeRemote, listen, pollCq, runKey} from '../../../src/workloads/rdma.js'
import {SendFlags, WrOpcode} from '../../../src/rdma-constants.js'
import type {WorkloadVm} from '../../../src/workloads/api.js'

/** A receiver that keeps a view into the last frame it got, as the CM once did. */
function keeper(ip: number): Rnic & {kept?: Uint8Array} {
  const nic = {
    kept: undefined as Uint8Array | undefined,
    hasGid: (x: number) => x === ip,
    busy: () => false,
    setPort: () => undefined,
    receive(f: Uint8Array, off: number, len: number) {
      nic.kept = f.subarray(off, off + len)
    },
  }
  return nic as unknown as Rnic & {kept?: Uint8Array}
}

function frameTo(ip: number, fill: number): Uint8Array {
  const f = new Uint8Array(64).fill(fill)
  new DataView(f.buffer).setUint32(14 + 16, ip) // IPv4 destination
  return f
}

describe('LoopbackFabric queued delivery', () => {
  it('poison: a frame is overwritten once its receiver returns, so a kept view is caught at once', () => {
    const ip = 0x0a000001
    for (const poison of [false, true]) {
      const fabric = new LoopbackFabric({impairments: {loss: 1e-9}, poison})
      const nic = keeper(ip)
      fabric.attach(nic)
      fabric.transmit(frameTo(ip, 7), 0, 64)
      expect(fabric.deliver()).toBe(1)
      expect(nic.kept![40]).toBe(poison ? 0xa5 : 7)
    }
  })
})

describe('rdma_cm private data over a lossy fabric (queued, poisoned frames)', () => {
  const lab = createInProcessLab({impairments: {loss: 0.05}, seed: 21})
  afterAll(() => lab.stop())

  it('the {addr, rkey} in REQ and REP private data survives, and WRITE and READ with it succeed', async () => {
    const w = asWorkload(async (vm: WorkloadVm) => {
      const ctx = await vm.openDevice()
      const pd = await ctx.allocPd()
      const buf = vm.alloc(8192)
      const mr = await pd.regMr(buf, REMOTE_ALL_ATOMIC)
      const cq = await ctx.createCq(16)
      const mine = encodeRemote(mr, 4096)
      const server = vm.rank === 1
      let c
      if (server) {
        const l = listen(vm, 18600)
        await vm.publish(runKey(vm, 'up'), true)
        c = await accept(l, {pd, sendCq: cq, recvCq: cq, privateData: mine})
        l.id.destroy()
      } else {
        await vm.waitFor(runKey(vm, 'up'))
        c = await connect(vm, {ip: vm.peers[vm.members[1]!]!, port: 18600, pd, sendCq: cq, recvCq: cq, privateData: mine})
      }
      // the event's own bytes, not a copy taken right away: later frames reuse (and poison) the slot it came in
      const seen = c.privateData
      buf.bytes.fill(vm.rank + 1, 4096)
      await vm.publish(runKey(vm, 'filled', vm.rank), true)
      await vm.waitFor(runKey(vm, 'filled', 1 - vm.rank))
      const peer = decodeRemote(seen)
      if (!server) {
        // WRITE our first half into the server's second half, READ it back into our first half
        buf.bytes.fill(9, 0, 4096)
        for (const [opcode, fill] of [[WrOpcode.RDMA_WRITE, 9], [WrOpcode.RDMA_READ, 9]] as const) {
          if (opcode === WrOpcode.RDMA_READ) buf.bytes.fill(0, 0, 4096)
          c.qp.postSend({wrId: opcode, opcode, sendFlags: SendFlags.SIGNALED, sgList: [{addr: mr.addr, length: 4096, lkey: mr.lkey}], rdma: peer})
          await pollCq(cq, 1, `op ${opcode}`)
          if (!buf.bytes.subarray(0, 4096).every((b) => b === fill)) throw new Error(`op ${opcode}: wrong bytes`)
        }
      }
      await vm.publish(runKey(vm, 'done', vm.rank), true)
      await vm.waitFor(runKey(vm, 'done', 1 - vm.rank))
      await disconnect(c, !server)
      return {peer: [...seen.subarray(0, 12)], expected: [...encodeRemote(mr, 4096)]}
    }, 'private-data')
    const [c, s] = await lab.run(w, {}, 60_000)
    expect(c, JSON.stringify(c)).toMatchObject({ok: true})
    expect(s, JSON.stringify(s)).toMatchObject({ok: true})
    // each side saw exactly what the other sent
    const rc = (c as {result: {peer: number[]; expected: number[]}}).result
    const rs = (s as {result: {peer: number[]; expected: number[]}}).result
    expect(rc.peer).toEqual(rs.expected)
    expect(rs.peer).toEqual(rc.expected)
  })
})
