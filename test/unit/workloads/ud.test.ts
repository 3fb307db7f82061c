// ud: datagrams over UD QPs resolved with rdma_cm (RDMA_PS_UDP / SIDR), echoed and checked byte for byte.
import {afterAll, describe, expect, it} from 'vitest'
import {RDMA_UDP_QKEY} from '../../../src/rdma-constants.js'
import {createInProcessLab} from '../../../src/vm/inprocess.js'
import {asWorkload} from '../../../src/vm/loader.js'
import ud from '../../../src/workloads/ud.js'

const w = asWorkload(ud, 'ud')

describe('ud', () => {
  const lab = createInProcessLab()
  const lossy = createInProcessLab({impairments: {loss: 0.05}, seed: 6})
  afterAll(() => {
    lab.stop()
    lossy.stop()
  })

  it('every datagram comes back intact; the Q_Key is RDMA_UDP_QKEY', async () => {
    const [c, s] = await lab.run(w, {count: 50, size: 512})
    expect(c, JSON.stringify(c)).toMatchObject({ok: true, result: {datagrams: 50, verified: 50, qkey: RDMA_UDP_QKEY}})
    expect(lab.fabric.stats.lost).toBe(0) // a late echo may still cause a re-send on a loaded machine
    expect(s, JSON.stringify(s)).toMatchObject({ok: true, result: {role: 'server', echoed: 50}})
  })

  it('with 5% frame loss what arrives is verified, the run completes and reports what was lost', async () => {
    const [c, s] = await lossy.run(w, {count: 60, size: 1024, retryMs: 10})
    expect(c, JSON.stringify(c)).toMatchObject({ok: true, result: {verified: 60}})
    expect(s, JSON.stringify(s)).toMatchObject({ok: true})
    const r = (c as {result: {retransmits: number; sent: number; received: number; lost: number}}).result
    expect(lossy.fabric.stats.lost).toBeGreaterThan(0)
    expect(r.retransmits).toBeGreaterThan(0)
    expect(r.lost).toBeGreaterThan(0)
    expect(r.sent).toBe(60 + r.retransmits)
    expect(r.received).toBe(r.sent - r.lost)
  })
})
