// ud: datagrams over UD QPs resolved with rdma_cm (RDMA_PS_UDP / SIDR), echoed and checked byte for byte.
import {afterAll, describe, expect, it} from 'vitest'
import {RDMA_UDP_QKEY} from '../../../src/rdma-constants.js'
import {createInProcessLab} from '../../../src/vm/inprocess.js'
import {asWorkload} from '../../../src/vm/loader.js'
import ud from '../../../src/workloads/ud.js'

const w = asWorkload(ud, 'ud')

describe('ud', () => {
  const lab = createInProcessLab()
  const lossy = createInProcessLab({loss: 0.05, seed: 6})
  afterAll(() => {
    lab.stop()
    lossy.stop()
  })

  it('every datagram comes back intact; the Q_Key is RDMA_UDP_QKEY', async () => {
    const [c, s] = await lab.run(w, {count: 50, size: 512})
    expect(c, JSON.stringify(c)).toMatchObject({ok: true, result: {datagrams: 50, verified: 50, qkey: RDMA_UDP_QKEY, retransmits: 0}})
    expect(s, JSON.stringify(s)).toMatchObject({ok: true, result: {role: 'server', echoed: 50}})
  })

  it('with 5% frame loss lost datagrams are re-sent and all 60 are verified', async () => {
    const [c, s] = await lossy.run(w, {count: 60, size: 1024, retryMs: 10})
    expect(c, JSON.stringify(c)).toMatchObject({ok: true, result: {verified: 60}})
    expect(s).toMatchObject({ok: true})
    expect((c as {result: {retransmits: number}}).result.retransmits).toBeGreaterThan(0)
  })
})
