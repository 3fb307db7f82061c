// bw: throughput over several rdma_cm RC connections, every op with verified data, also on a lossy fabric.
import {afterAll, describe, expect, it} from 'vitest'
import {collectMode} from '../../../src/bench/collect.js'
import {createInProcessLab} from '../../../src/vm/inprocess.js'
import {asWorkload} from '../../../src/vm/loader.js'
import bw from '../../../src/workloads/bw.js'

const w = asWorkload(bw, 'bw')

describe('bw', () => {
  const lab = createInProcessLab()
  const lossy = createInProcessLab({impairments: {loss: 0.05}, seed: 5})
  afterAll(() => {
    lab.stop()
    lossy.stop()
  })

  for (const op of ['send', 'write', 'read', 'atomic'] as const) {
    it(`${op}: 2 QPs, tx depth 8, stamps per WR that collect.ts turns into a perftest row`, async () => {
      const [c, s] = await lab.run(w, {op, size: op === 'atomic' ? 8 : 4096, qps: 2, txDepth: 8, iters: 40})
      expect(c, JSON.stringify(c)).toMatchObject({ok: true})
      expect(s, JSON.stringify(s)).toMatchObject({ok: true, result: {role: 'server', verified: 80}})
      const r = (c as {result: any}).result
      expect(r).toMatchObject({op, qps: 2, iterations: 80, verified: 80})
      expect(r.mbPerSec).toBeGreaterThan(0)
      const mode = collectMode({bw: [r.raw]})
      expect(mode.bw[0]).toMatchObject({op})
    })

    it(`${op} with 5% frame loss completes with verified data`, async () => {
      const lostBefore = lossy.fabric.stats.lost
      const res = await lossy.run(w, {op, size: op === 'atomic' ? 8 : 3000, qps: 2, txDepth: 4, iters: 20})
      for (const r of res) expect(r, JSON.stringify(r)).toMatchObject({ok: true})
      expect((res[0] as {result: {verified: number}}).result.verified).toBe(40)
      expect(lossy.fabric.stats.lost).toBeGreaterThan(lostBefore)
    })
  }

  it('send of 2 bytes (perftest -a starts there): the final count travels in the immediate, not in a 2-byte slot', async () => {
    const [c, s] = await lab.run(w, {op: 'send', size: 2, qps: 1, txDepth: 8, iters: 30})
    expect(c, JSON.stringify(c)).toMatchObject({ok: true, result: {iterations: 30, verified: 30}})
    expect(s, JSON.stringify(s)).toMatchObject({ok: true, result: {role: 'server', verified: 30}})
  })

  it('send with tx depth 1 (large messages): each posted receive has its own buffer, a late check sees intact data', async () => {
    const [c, s] = await lab.run(w, {op: 'send', size: 3000, qps: 1, txDepth: 1, iters: 40})
    expect(c, JSON.stringify(c)).toMatchObject({ok: true, result: {iterations: 40}})
    expect(s, JSON.stringify(s)).toMatchObject({ok: true, result: {role: 'server', verified: 40}})
  })

  it('duration mode (-D) reports iterations and elapsed time', async () => {
    const [c] = await lab.run(w, {op: 'write', size: 1024, durationMs: 100, txDepth: 4})
    const r = (c as {result: any}).result
    expect(r.raw.iters).toBe(r.iterations)
    expect(r.raw.elapsedNs).toBeGreaterThanOrEqual(100e6)
  })
})
