// A VM that crashes or exits leaves nothing behind: Backend.destroyAll destroys every object the backend holds for
// it on the RNIC (QPs first), returns its quota, leaves its QPs' rate-limit group and counts what it released.
import {describe, expect, it} from 'vitest'
import {Backend} from '../../../src/backend/backend.js'
import {QuotaLedger} from '../../../src/backend/quota.js'
import {Rnic} from '../../../src/rnic/rnic.js'
import type {Vm} from '../../../src/topology/types.js'
import {openDevice} from '../../../src/verbs/index.js'
import {attach, testVm} from './attach.js'
import {memoryAudit, tenants} from './fixtures.js'

const vm = (name: string, tenant: string): Vm => testVm(name, {tenant, vni: 100})

describe('Backend.destroyAll', () => {
  it('returns the RNIC to its baseline, releases the quota and the rate-limit membership, and counts', async () => {
    const rnic = new Rnic({name: 'rxe0', gids: ['192.168.0.1'], randomQpn: true})
    const quota = new QuotaLedger(tenants, [], memoryAudit())
    const qpEvents: Array<[number, boolean]> = []
    const backend = new Backend({quota, onQp: (_vm, qpn, created) => qpEvents.push([qpn, created])})
    const baseline = rnic.objectCounts()
    const b1 = vm('b1', 'blue')
    const a = attach(backend, rnic, b1)
    const other = attach(backend, rnic, vm('b2', 'blue'))
    const ctx = await openDevice(a.channel, {memory: a.mem})
    const pd = await ctx.allocPd()
    const cq = await ctx.createCq(8)
    const qp1 = await pd.createQp({type: 'RC', sendCq: cq, recvCq: cq, cap: {}})
    const qp2 = await pd.createQp({type: 'RC', sendCq: cq, recvCq: cq, cap: {}})
    await pd.regMr(a.mem.alloc(64), 0)
    // the other VM of the tenant keeps its objects
    const ctx2 = await openDevice(other.channel, {memory: other.mem})
    const pd2 = await ctx2.allocPd()
    expect(rnic.objectCounts()).toEqual({pd: baseline.pd + 2, mr: baseline.mr + 1, cq: baseline.cq + 1, qp: baseline.qp + 2})
    expect(quota.usage('b1')).toMatchObject({qps: 2, cqs: 1, pds: 1, mrs: 1, mrBytes: 64})

    const released = await backend.destroyAll('b1')
    expect(released).toEqual({qp: 2, mr: 1, cq: 1, pd: 1, failed: 0})
    expect(rnic.objectCounts()).toEqual({pd: baseline.pd + 1, mr: baseline.mr, cq: baseline.cq, qp: baseline.qp})
    expect(backend.released).toEqual({vms: 1, objects: 5, failed: 0})
    expect(qpEvents.filter(([, c]) => !c).map(([q]) => q).sort()).toEqual([qp1.qpn, qp2.qpn].sort())
    expect(quota.usage('b1')).toMatchObject({qps: 0, cqs: 0, pds: 0, mrs: 0, mrBytes: 0})
    // its quota is back: a new VM of the tenant could create the per-VM maximum again (blue: 2 QPs per VM)
    expect(quota.charge('b1', 'qps', 2)).toMatchObject({ok: true})
    expect(backend.session('b1')).toBeUndefined()
    expect(await backend.destroyAll('b1')).toBeUndefined() // idempotent
    await pd2.dealloc()
  })
})
