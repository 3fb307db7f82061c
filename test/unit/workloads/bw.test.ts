// bw: throughput over several rdma_cm RC connections, every op with verified data, also on a lossy fabric.
import {afterAll, describe, expect, it} from 'vitest'
import {collectMode} from '../../../src/bench/collect.js'
import {toContract} from '../../../src/bench/workload-contract.js'
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

  describe('CQ moderation (perftest --cq-mod)', () => {
    // signaled: every cqMod-th WR of a QP and its last one, so ceil(n / cqMod) CQEs per QP
    const cqesFor = (n: number, cqMod: number, qps: number) => qps * Math.ceil(n / cqMod)

    for (const op of ['send', 'write', 'read', 'atomic'] as const) {
      it(`${op}: one CQE per cqMod WRs of a QP (and the last), data verified, every WR stamped`, async () => {
        const iters = 23
        const lab0 = op === 'send' ? lossy : lab // SENDs under loss too: retries must not break the accounting
        const res = await lab0.run(w, {op, size: op === 'atomic' ? 8 : 512, qps: 2, txDepth: 8, cqMod: 5, iters})
        for (const r of res) expect(r, JSON.stringify(r)).toMatchObject({ok: true})
        const r = (res[0] as {result: any}).result
        expect(r).toMatchObject({op, cqMod: 5, iterations: 2 * iters, verified: 2 * iters, cqes: cqesFor(iters, 5, 2)})
        expect((res[1] as {result: any}).result.verified).toBe(2 * iters)
        const {tposted, tcompleted} = r.raw as {tposted: number[]; tcompleted: number[]}
        expect(tposted).toHaveLength(2 * iters)
        expect(tcompleted).toHaveLength(2 * iters)
        // unsignaled WRs carry the stamp of the completion that retired them: at most one distinct stamp per CQE
        for (let i = 0; i < tposted.length; i++) expect(tcompleted[i]!).toBeGreaterThanOrEqual(tposted[i]!)
        expect(new Set(tcompleted).size).toBeLessThanOrEqual(r.cqes)
        expect(r.raw.cqMod).toBe(5)
      })
    }

    it('cqMod is clamped to the tx depth (perftest), and the default is perftest\'s 100', async () => {
      const [c1] = await lab.run(w, {op: 'write', size: 64, qps: 1, txDepth: 4, cqMod: 100, iters: 10})
      expect((c1 as {result: any}).result).toMatchObject({cqMod: 4, cqes: cqesFor(10, 4, 1), verified: 10})
      const [c2] = await lab.run(w, {op: 'write', size: 64, qps: 1, txDepth: 128, iters: 250})
      expect((c2 as {result: any}).result).toMatchObject({cqMod: 100, cqes: cqesFor(250, 100, 1), verified: 250})
      const [c3] = await lab.run(w, {op: 'write', size: 64, qps: 1, txDepth: 8, cqMod: 1, iters: 12})
      expect((c3 as {result: any}).result).toMatchObject({cqMod: 1, cqes: 12})
    })

    it('warm-up WRs are posted and verified but not stamped', async () => {
      const [c, s] = await lab.run(w, {op: 'send', size: 2, qps: 2, txDepth: 8, cqMod: 4, iters: 10, warmupIters: 6})
      const r = (c as {result: any}).result
      expect(r).toMatchObject({iterations: 20, verified: 32, cqes: cqesFor(16, 4, 2)})
      expect(r.raw.tposted).toHaveLength(20)
      expect((s as {result: any}).result.verified).toBe(32)
    })

    it('duration mode closes each QP with a signaled WR: every posted WR completes and is verified', async () => {
      const [c, s] = await lab.run(w, {op: 'read', size: 256, qps: 2, txDepth: 8, cqMod: 3, durationMs: 60})
      const r = (c as {result: any}).result
      expect(r.verified).toBe(r.iterations)
      expect(r.raw).toMatchObject({iters: r.iterations, cqMod: 3})
      expect((s as {ok: boolean}).ok).toBe(true)
    })

    it('the bench contract carries the cqMod the workload used', async () => {
      const [c] = await lab.run(w, {op: 'write', size: 64, qps: 1, txDepth: 16, cqMod: 100, iters: 40})
      const x = toContract('bw', 'bw', (c as {result: unknown}).result) as {cqMod: number; iterations: number; tposted: number[]}
      expect(x).toMatchObject({contract: 1, cqMod: 16, iterations: 40})
      expect(x.tposted).toHaveLength(40)
      const row = collectMode({bw: [x as never]}).bw[0]!
      expect(row.iterations).toBe(40)
      expect(row.bwPeak).toBeGreaterThan(0)
    })
  })
})
