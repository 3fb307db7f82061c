// Per-tenant rate budgets as the host agent programs them (src/host/agent.ts onQp): one Rnic.setRateLimit group
// per tenant (limiterKey) holding all its QPs, burst 10 ms at the rate. Two tenants limited 2:1 flood at once.
// Measured on the engine pair in one process in virtual time: in a lab on a loaded 2-core machine the VM and
// RNIC threads, not the limiter, often set the pace, so a lab measurement of the ratio is too noisy to assert.
import {describe, expect, it} from 'vitest'
import {Access, Mtu, SendFlags, WrOpcode} from '../../../src/rdma-constants.js'
import {tenantKey} from '../../../src/fabric/tenant-qos.js'
import {connect, endpoint, makeLab} from '../rnic/helpers.js'

describe('tenant rate budgets in the RNIC', () => {
  it('gold (2 QPs sharing 20 MB/s) and silver (1 QP, 10 MB/s) sending 1 MiB each at once finish 1:2 within 10%', async () => {
    const lab = makeLab()
    const a = await endpoint(lab.nics[0]!, 1 << 22)
    const b = await endpoint(lab.nics[1]!, 1 << 22)
    const src = a.mem.alloc(1 << 20)
    const dst = b.mem.alloc(1 << 20)
    const smr = await a.pd.regMr(src, 0)
    const dmr = await b.pd.regMr(dst, Access.LOCAL_WRITE | Access.REMOTE_WRITE)
    const [g1] = await connect(a, b, {mtu: Mtu[4096]})
    const [g2] = await connect(a, b, {mtu: Mtu[4096]})
    const [s1] = await connect(a, b, {mtu: Mtu[4096]})
    const limit = (tenant: string, qpns: number[], bytesPerSec: number) =>
      lab.nics[0]!.setRateLimit({group: tenantKey(tenant), qpns, bytesPerSec, burstBytes: Math.max(64 * 1024, bytesPerSec * 0.01)})
    expect(limit('gold', [g1.qpn, g2.qpn], 20e6)).toEqual({})
    expect(limit('silver', [s1.qpn], 10e6)).toEqual({})
    const write = (qp: typeof g1, id: number, len: number) => qp.postSend({wrId: id, opcode: WrOpcode.RDMA_WRITE,
      sendFlags: SendFlags.SIGNALED, sgList: [{addr: src.addr, length: len, lkey: smr.lkey}], rdma: {remoteAddr: dst.addr, rkey: dmr.rkey}})
    const done = new Map<bigint, number>()
    for (let i = 0; i < 8; i++) {
      write(g1, 100 + i, 1 << 16)
      write(g2, 200 + i, 1 << 16)
      write(s1, 300 + 2 * i, 1 << 16)
      write(s1, 301 + 2 * i, 1 << 16)
    }
    // step virtual time and note when each tenant's last completion arrives
    for (let guard = 0; done.size < 32 && guard < 100_000; guard++) {
      lab.run({untilUs: lab.clock.t + 1000})
      for (const wc of a.cq.poll(32)) done.set(wc.wrId, lab.clock.t)
    }
    const last = (lo: number, hi: number) => Math.max(...[...done].filter(([id]) => id >= BigInt(lo) && id < BigInt(hi)).map(([, t]) => t))
    const gold = last(100, 300)
    const silver = last(300, 400)
    expect(done.size).toBe(32)
    // payload rate after the initial burst (10 ms at the rate), in bytes per µs = MB/s
    const goldRate = ((1 << 20) - 20e6 * 0.01) / gold
    const silverRate = ((1 << 20) - 10e6 * 0.01) / silver
    expect(goldRate / silverRate).toBeGreaterThan(1.8)
    expect(goldRate / silverRate).toBeLessThan(2.2)
    // each budget holds (frames carry ~1.4% of headers beyond the payload)
    expect(goldRate).toBeLessThan(20)
    expect(goldRate).toBeGreaterThan(20 * 0.9)
    expect(silverRate).toBeLessThan(10)
    expect(silverRate).toBeGreaterThan(10 * 0.9)
  })
})
