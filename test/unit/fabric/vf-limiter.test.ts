// sriov per-VF rate limit: every QP created through a VF's command port joins the VF's rate-limit group.
import {describe, expect, it} from 'vitest'
import {vfRnic} from '../../../src/fabric/vf-limiter.js'
import {Rnic} from '../../../src/rnic/rnic.js'

describe('vfRnic', () => {
  it('puts the VF\'s QPs into one group at the VF rate, leaves other QPs alone, and removes the group with the last QP', () => {
    const rnic = new Rnic({name: 'rxe0', gids: ['192.168.0.1']})
    const vf = vfRnic(rnic, {group: 'vf:s1', bytesPerSec: 1e6, burstBytes: 65536})
    const pd = vf.allocPd() as {pdn: number}
    const cq = vf.createCq({depth: 8}) as {cqn: number}
    const args = {pdn: pd.pdn, type: 2, sendCqn: cq.cqn, recvCqn: cq.cqn, cap: {maxSendWr: 4, maxRecvWr: 4, maxSendSge: 1, maxRecvSge: 1, maxInlineData: 0}}
    const a = vf.createQp(args as never) as {qpn: number}
    expect(a.qpn, JSON.stringify(a)).toBeGreaterThan(0)
    const b = vf.createQp(args as never) as {qpn: number}
    const other = rnic.createQp(args as never) as {qpn: number} // the same RNIC, not through the VF
    const ga = rnic.qps.get(a.qpn)!.rate
    expect(ga?.name).toBe('vf:s1')
    expect(rnic.qps.get(b.qpn)!.rate).toBe(ga)
    expect(ga!.rate).toBe(1) // bytes per µs
    expect(rnic.qps.get(other.qpn)!.rate).toBeUndefined()
    expect(vf.destroyQp(a.qpn)).toEqual({})
    expect(rnic.qps.get(b.qpn)!.rate?.qpns).toEqual(new Set([b.qpn]))
    expect(vf.destroyQp(b.qpn)).toEqual({})
    expect(rnic.qps.get(other.qpn)!.rate).toBeUndefined()
    // every other command reaches the real RNIC unchanged
    expect(vf.objectCounts()).toEqual(rnic.objectCounts())
  })
})
