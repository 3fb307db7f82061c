// connrate: short rdma_cm connections between two in-process VMs, each carrying one verified SEND.
import {afterAll, describe, expect, it} from 'vitest'
import {createInProcessLab} from '../../../src/vm/inprocess.js'
import {asWorkload} from '../../../src/vm/loader.js'
import connrate, {percentile} from '../../../src/workloads/connrate.js'

const w = asWorkload(connrate, 'connrate')

describe('connrate', () => {
  const lab = createInProcessLab()
  const lossy = createInProcessLab({impairments: {loss: 0.05}, seed: 4})
  afterAll(() => {
    lab.stop()
    lossy.stop()
  })

  it('reports sane rates and setup percentiles; the server verified every connection', async () => {
    const [c, s] = await lab.run(w, {count: 20})
    expect(c, JSON.stringify(c)).toMatchObject({ok: true})
    expect(s, JSON.stringify(s)).toMatchObject({ok: true, result: {connections: 20, verified: 20}})
    const r = (c as {result: any}).result
    expect(r.raw.conn.samplesNs).toHaveLength(20)
    expect(r.setupsPerSec).toBeGreaterThan(0)
    expect(r.teardownsPerSec).toBeGreaterThan(0)
    expect(r.connectionsPerSec).toBeLessThanOrEqual(r.setupsPerSec)
    expect(r.setupUs.min).toBeGreaterThan(0)
    expect(r.setupUs.min).toBeLessThanOrEqual(r.setupUs.median)
    expect(r.setupUs.median).toBeLessThanOrEqual(r.setupUs.p99)
    expect(r.setupUs.p99).toBeLessThanOrEqual(r.setupUs.max)
    // every connection was torn down on both hosts
    for (const a of lab.agents) expect(a.liveConnections()).toHaveLength(0)
  })

  it('completes with 5% frame loss', async () => {
    const res = await lossy.run(w, {count: 10})
    for (const r of res) expect(r, JSON.stringify(r)).toMatchObject({ok: true, result: {verified: 10}})
    expect(lossy.fabric.stats.lost).toBeGreaterThan(0)
  })

  it('percentile takes the nearest rank', () => {
    expect(percentile([1, 2, 3, 4], 50)).toBe(2)
    expect(percentile([1, 2, 3, 4], 99)).toBe(4)
    expect(percentile([5], 0)).toBe(5)
  })
})
