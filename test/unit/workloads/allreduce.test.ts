// Ring allreduce over N in-process VMs: every rank ends with the element-wise sum; nccl-tests style figures.
import {afterAll, describe, expect, it} from 'vitest'
import {createInProcessLab} from '../../../src/vm/inprocess.js'
import {asWorkload} from '../../../src/vm/loader.js'
import allreduce, {inputOf} from '../../../src/workloads/allreduce.js'

const w = asWorkload(allreduce, 'allreduce')
const labs: Array<{stop(): void}> = []
afterAll(() => labs.forEach((l) => l.stop()))

describe('allreduce', () => {
  for (const n of [2, 3, 4]) {
    it(`${n} VMs: every rank holds the element-wise sum; busbw = algbw × 2(n-1)/n`, async () => {
      const lab = createInProcessLab({vms: n})
      labs.push(lab)
      const res = await lab.run(w, {count: 1000, iters: 3, warmup: 1})
      for (const r of res) expect(r, JSON.stringify(r)).toMatchObject({ok: true})
      const out = res.map((r) => (r as {result: any}).result)
      expect(out.map((o) => o.rank)).toEqual([...Array(n).keys()])
      for (const o of out) {
        expect(o).toMatchObject({ranks: n, verified: true, iters: 3})
        expect(o.count).toBeGreaterThanOrEqual(1000)
        expect(o.algbwGBs).toBeGreaterThan(0)
        expect(o.busbwGBs).toBeCloseTo((o.algbwGBs * 2 * (n - 1)) / n, 9)
      }
    })
  }

  it('3 VMs with 5% frame loss still produce the exact sum', async () => {
    const lab = createInProcessLab({vms: 3, impairments: {loss: 0.05}, seed: 9})
    labs.push(lab)
    const res = await lab.run(w, {count: 3000, iters: 2, warmup: 0})
    for (const r of res) expect(r, JSON.stringify(r)).toMatchObject({ok: true, result: {verified: true}})
    expect(lab.fabric.stats.lost).toBeGreaterThan(0)
  })

  it('inputs are small integers (exact in float32 when summed)', () => {
    for (let j = 0; j < 500; j++) expect(Number.isInteger(inputOf(3, j)) && inputOf(3, j) < 1024).toBe(true)
  })
})
