// The in-process harness: VM contexts, addresses and ranks, the rendezvous, and isolation between runs.
import {afterAll, describe, expect, it} from 'vitest'
import {createInProcessLab, Rendezvous, runInProcess} from '../../../src/vm/inprocess.js'
import {asWorkload} from '../../../src/vm/loader.js'
import type {WorkloadVm} from '../../../src/workloads/api.js'

describe('createInProcessLab', () => {
  const lab = createInProcessLab({vms: ['a', 'b', 'c']})
  afterAll(() => lab.stop())

  it('gives each VM its address, its peers, its rank and rdma_cm', () => {
    expect(lab.vms.map((v) => [v.vm.name, v.ip, v.rank, v.role])).toEqual([['a', '10.0.0.1', 0, 'single'], ['b', '10.0.0.2', 1, 'single'], ['c', '10.0.0.3', 2, 'single']])
    expect(lab.vms[1]!.peers).toEqual({a: '10.0.0.1', c: '10.0.0.3'})
    expect(lab.vms[0]!.members).toEqual(['a', 'b', 'c'])
    expect(lab.vms[0]!.cm).toBeDefined()
  })

  it('runs get fresh run ids and memory; a failing VM does not stop the others', async () => {
    const w = asWorkload(async (vm: WorkloadVm) => {
      if (vm.rank === 2) throw new Error('c fails')
      const buf = vm.alloc(16)
      return {runId: vm.runId, offset: buf.offset}
    }, 'w')
    const r1 = await lab.run(w)
    const r2 = await lab.run(w)
    expect(r1.map((r) => r.ok)).toEqual([true, true, false])
    const id = (r: (typeof r1)[number]) => (r.ok ? (r.result as {runId: string}).runId : '')
    expect(id(r1[0]!)).not.toBe(id(r2[0]!))
    expect(r2[0]).toMatchObject({ok: true, result: {offset: 0}})
  })
})

describe('Rendezvous', () => {
  it('delivers a value published before or after the wait, and times out otherwise', async () => {
    const r = new Rendezvous()
    r.publish('early', 1)
    expect(await r.waitFor('early')).toBe(1)
    const late = r.waitFor('late')
    r.publish('late', {x: 2})
    expect(await late).toEqual({x: 2})
    await expect(r.waitFor('never', 20)).rejects.toThrow(/timed out after 20 ms waiting for never/)
  })
})

describe('runInProcess', () => {
  it('runs a built-in by name and a module by path on fresh VMs', async () => {
    const byName = await runInProcess('connrate', {params: {count: 3}})
    expect(byName.map((r) => r.ok)).toEqual([true, true])
    const fixture = new URL('./fixtures/plain.mjs', import.meta.url).pathname
    const byPath = await runInProcess(fixture, {vms: 3, params: {n: 2}})
    expect(byPath).toHaveLength(3)
    expect(byPath[2]).toMatchObject({ok: true, result: {name: 'vm2', n: 2}})
  })
})
