import {describe, expect, it} from 'vitest'
import {QUOTA_KINDS, QuotaLedger} from '../../../src/backend/quota.js'
import {Errno} from '../../../src/rdma-constants.js'
import {memoryAudit, tenants, vms} from './fixtures.js'

describe('quotas', () => {
  it('one VM exhausting its quota leaves other VMs able to allocate (C23)', () => {
    const audit = memoryAudit()
    const q = new QuotaLedger(tenants, vms, audit)
    expect(q.charge('b1', 'qps')).toEqual({ok: true})
    expect(q.charge('b1', 'qps')).toEqual({ok: true})
    const denied = q.charge('b1', 'qps')
    expect(denied).toEqual({
      ok: false, errno: Errno.EAGAIN, code: 'EAGAIN', kind: 'qps', scope: 'vm', limit: 2, used: 2,
      message: 'QPs quota of VM "b1" exceeded: 2 in use + 1 > limit 2 per vm',
    })
    expect(q.charge('b2', 'qps')).toEqual({ok: true}) // another VM of the same tenant
    expect(q.charge('r1', 'qps')).toEqual({ok: true}) // another tenant
    expect(q.denials.qps).toBe(1)
    expect(audit.query({kind: 'quota'})).toMatchObject([{tenant: 'blue', vm: 'b1', detail: {resource: 'qps', scope: 'vm', limit: 2, errno: 11}}])
  })

  it('the tenant quota caps the sum of its VMs', () => {
    const q = new QuotaLedger(tenants, vms)
    expect(q.charge('b1', 'qps', 2).ok).toBe(true)
    expect(q.charge('b2', 'qps').ok).toBe(true)
    expect(q.charge('b3', 'qps')).toMatchObject({ok: false, code: 'EAGAIN', scope: 'tenant', limit: 3, used: 3})
    expect(q.usage('b3')?.qps).toBe(0) // nothing partially charged
    expect(q.tenantUsage('blue')?.qps).toBe(3)
    q.release('b1', 'qps')
    expect(q.charge('b3', 'qps').ok).toBe(true)
  })

  it('registered bytes are refused with ENOMEM (RLIMIT_MEMLOCK in ib_umem_get), counts with EAGAIN (rdma cgroup)', () => {
    const q = new QuotaLedger(tenants, vms)
    expect(q.charge('b1', 'mrBytes', 4096).ok).toBe(true)
    expect(q.charge('b1', 'mrBytes', 1)).toMatchObject({ok: false, errno: Errno.ENOMEM, code: 'ENOMEM', message: 'registered bytes quota of VM "b1" exceeded: 4096 in use + 1 > limit 4096 per vm'})
    expect(q.charge('b2', 'mrBytes', 2000)).toMatchObject({ok: false, scope: 'tenant', limit: 6000})
    for (const kind of QUOTA_KINDS.filter((k) => k !== 'mrBytes')) {
      const lim = tenants[0].perVm[kind]
      expect(q.charge('b3', kind, lim).ok).toBe(true)
      expect(q.charge('b3', kind)).toMatchObject({ok: false, errno: Errno.EAGAIN, kind})
    }
    expect(q.denials).toEqual({qps: 1, mrs: 1, cqs: 1, pds: 1, mrBytes: 2, cmIds: 1})
  })

  it('releaseAll returns a crashed VM to baseline and frees the tenant share', () => {
    const q = new QuotaLedger(tenants, vms)
    q.charge('b1', 'qps', 2)
    q.charge('b1', 'mrs', 3)
    q.charge('b1', 'mrBytes', 100)
    q.charge('b2', 'qps')
    expect(q.releaseAll('b1')).toEqual({qps: 2, mrs: 3, cqs: 0, pds: 0, mrBytes: 100, cmIds: 0})
    expect(q.usage('b1')).toEqual({qps: 0, mrs: 0, cqs: 0, pds: 0, mrBytes: 0, cmIds: 0})
    expect(q.tenantUsage('blue')).toMatchObject({qps: 1, mrs: 0, mrBytes: 0})
    expect(q.charge('b3', 'qps', 2).ok).toBe(true)
    expect(q.releaseErrors).toBe(0)
  })

  it('bad input is an error value: unknown VM, negative or fractional counts; over-release is clamped and counted', () => {
    const q = new QuotaLedger(tenants, vms)
    expect(q.charge('ghost', 'qps')).toMatchObject({ok: false, errno: Errno.ENOENT})
    expect(q.charge('b1', 'qps', -1)).toMatchObject({ok: false, errno: Errno.EINVAL})
    expect(q.charge('b1', 'qps', 0.5)).toMatchObject({ok: false, errno: Errno.EINVAL})
    q.charge('b1', 'cqs')
    q.release('b1', 'cqs', 5)
    expect(q.usage('b1')?.cqs).toBe(0)
    expect(q.tenantUsage('blue')?.cqs).toBe(0)
    expect(q.releaseErrors).toBe(1)
    expect(q.addVm({name: 'b1', tenant: 'blue'})).toBe(false)
    expect(q.addVm({name: 'x', tenant: 'green'})).toBe(false)
    expect(q.removeVm('b1')).toMatchObject({cqs: 0})
    expect(q.charge('b1', 'qps')).toMatchObject({errno: Errno.ENOENT})
  })
})
