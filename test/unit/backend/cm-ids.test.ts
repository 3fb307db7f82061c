// The cmIds quota: the host CM agent charges one per rdma_create_id through Backend.chargeCmId; beyond the VM's
// (or the tenant's) limit the call fails with EAGAIN, counted and audited like the other quotas.
import {describe, expect, it} from 'vitest'
import {Backend} from '../../../src/backend/backend.js'
import {QuotaLedger} from '../../../src/backend/quota.js'
import {Errno} from '../../../src/rdma-constants.js'
import {memoryAudit, tenants} from './fixtures.js'

describe('cmIds quota', () => {
  it('refuses the id past the per-VM limit with EAGAIN, audits it, and frees on release; unknown VMs are not limited', () => {
    const audit = memoryAudit()
    const quota = new QuotaLedger(tenants, [{name: 'b1', tenant: 'blue'}, {name: 'b2', tenant: 'blue'}], audit)
    const backend = new Backend({quota, audit})
    // blue: 2 CM ids per VM
    expect(backend.chargeCmId('b1')).toBeUndefined()
    expect(backend.chargeCmId('b1')).toBeUndefined()
    const denied = backend.chargeCmId('b1')
    expect(denied).toMatchObject({errno: Errno.EAGAIN})
    expect(denied!.message).toMatch(/CM ids quota of VM "b1" exceeded/)
    expect(quota.denials.cmIds).toBe(1)
    expect(audit.query({kind: 'quota', vm: 'b1'}).map((e) => e.detail.resource)).toEqual(['cmIds'])
    // another VM of the tenant is not affected
    expect(backend.chargeCmId('b2')).toBeUndefined()
    backend.releaseCmIds('b1')
    expect(backend.chargeCmId('b1')).toBeUndefined()
    expect(quota.usage('b1')!.cmIds).toBe(2)
    backend.releaseCmIds('b1', 2)
    expect(quota.usage('b1')!.cmIds).toBe(0)
    // a VM without a backend (sriov, bare) is not in the ledger: not limited here
    for (let i = 0; i < 5; i++) expect(backend.chargeCmId('sriov-vm')).toBeUndefined()
    expect(quota.releaseErrors).toBe(0)
  })
})
