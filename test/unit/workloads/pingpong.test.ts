// pingpong over rdma_cm between two in-process VMs: every op completes with verified data, also on a lossy fabric.
import {afterAll, describe, expect, it} from 'vitest'
import {createInProcessLab} from '../../../src/vm/inprocess.js'
import {asWorkload} from '../../../src/vm/loader.js'
import pingpong, {fillPayload, payloadOk} from '../../../src/workloads/pingpong.js'

const w = asWorkload(pingpong, 'pingpong')

describe('pingpong', () => {
  const lab = createInProcessLab()
  const lossy = createInProcessLab({impairments: {loss: 0.05}, seed: 3})
  afterAll(() => {
    lab.stop()
    lossy.stop()
  })

  for (const op of ['send', 'write', 'read', 'atomic'] as const) {
    it(`${op}: perftest latency row from raw samples, data verified on both sides`, async () => {
      const [c, s] = await lab.run(w, {op, size: op === 'atomic' ? 8 : 64, iters: 50, warmup: 5})
      expect(c, JSON.stringify(c)).toMatchObject({ok: true})
      expect(s, JSON.stringify(s)).toMatchObject({ok: true, result: {role: 'server'}})
      const r = (c as {result: any}).result
      expect(r).toMatchObject({op, verified: 55, raw: {op}})
      expect(r.raw.samplesNs).toHaveLength(50)
      expect(r.lat.tMin).toBeGreaterThan(0)
      expect(r.lat.tTypical).toBeGreaterThanOrEqual(r.lat.tMin)
    })

    it(`${op} with 5% frame loss still completes with verified data`, async () => {
      const res = await lossy.run(w, {op, size: op === 'atomic' ? 8 : 3000, iters: 30, warmup: 0})
      for (const r of res) expect(r, JSON.stringify(r)).toMatchObject({ok: true})
      expect(lossy.fabric.stats.lost).toBeGreaterThan(0)
    })
  }

  it('payloads carry a pattern and a tag that tell iterations apart', () => {
    const b = new Uint8Array(10)
    fillPayload(b, 3)
    expect(payloadOk(b, 3)).toBe(true)
    expect(payloadOk(b, 4)).toBe(false)
    b[2]! ^= 1
    expect(payloadOk(b, 3)).toBe(false)
  })
})
