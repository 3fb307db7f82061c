// Per-VM and per-tenant resource accounting (DESIGN §1 resource control; catalogue C23, C24).
// Like the rdma cgroup (kernel/cgroup/rdma.c rdmacg_try_charge) a charge walks from the VM to its tenant,
// and a level over its max refuses the whole charge with -EAGAIN, nothing partially charged. Registered
// bytes are the host's pinned memory, which the kernel bounds with RLIMIT_MEMLOCK in ib_umem_get: over it,
// -ENOMEM. The tenant cap is exact for the VMs this ledger sees (one ledger per controller, or per backend
// for the VMs of one host).
import {COUNT_KEYS} from '../topology/defaults.js'
import {Errno} from '../rdma-constants.js'
import type {Quota, Tenant} from '../topology/types.js'
import type {AuditSink} from './audit.js'

export type QuotaKind = (typeof COUNT_KEYS)[number] // qps, mrs, cqs, pds, mrBytes, cmIds
export const QUOTA_KINDS: readonly QuotaKind[] = COUNT_KEYS

const ERRNO_OF: Record<QuotaKind, 'EAGAIN' | 'ENOMEM'> = {
  qps: 'EAGAIN', mrs: 'EAGAIN', cqs: 'EAGAIN', pds: 'EAGAIN', cmIds: 'EAGAIN', mrBytes: 'ENOMEM',
}

const NOUN: Record<QuotaKind, string> = {qps: 'QPs', mrs: 'MRs', cqs: 'CQs', pds: 'PDs', mrBytes: 'registered bytes', cmIds: 'CM ids'}

export type ChargeResult =
  | {ok: true}
  | {ok: false; errno: number; code: 'EAGAIN' | 'ENOMEM' | 'EINVAL' | 'ENOENT'; kind: QuotaKind; scope?: 'vm' | 'tenant'; limit?: number; used?: number; message: string}

type Usage = Record<QuotaKind, number>
const zero = (): Usage => ({qps: 0, mrs: 0, cqs: 0, pds: 0, mrBytes: 0, cmIds: 0})

export interface QuotaVm {name: string; tenant: string}

export class QuotaLedger {
  private readonly limits = new Map<string, {perVm: Quota; perTenant: Quota}>()
  private readonly vmTenant = new Map<string, string>()
  private readonly vmUse = new Map<string, Usage>()
  private readonly tenantUse = new Map<string, Usage>()
  readonly denials: Usage = zero()
  releaseErrors = 0 // releases of more than was charged (a backend bug, clamped)

  constructor(tenants: readonly Tenant[], vms: readonly QuotaVm[] = [], private readonly audit?: AuditSink) {
    for (const t of tenants) {
      this.limits.set(t.name, {perVm: t.perVm, perTenant: t.perTenant})
      this.tenantUse.set(t.name, zero())
    }
    for (const v of vms) this.addVm(v)
  }

  addVm(vm: QuotaVm): boolean {
    if (!this.limits.has(vm.tenant) || this.vmTenant.has(vm.name)) return false
    this.vmTenant.set(vm.name, vm.tenant)
    this.vmUse.set(vm.name, zero())
    return true
  }

  charge(vm: string, kind: QuotaKind, n = 1): ChargeResult {
    const tenant = this.vmTenant.get(vm)
    if (tenant === undefined) return {ok: false, errno: Errno.ENOENT, code: 'ENOENT', kind, message: `no VM "${vm}" in the quota ledger`}
    if (!Number.isSafeInteger(n) || n < 0) return {ok: false, errno: Errno.EINVAL, code: 'EINVAL', kind, message: `cannot charge ${n} ${NOUN[kind]}`}
    const lim = this.limits.get(tenant)!
    const mine = this.vmUse.get(vm)!
    const all = this.tenantUse.get(tenant)!
    const over = mine[kind] + n > lim.perVm[kind] ? 'vm' : all[kind] + n > lim.perTenant[kind] ? 'tenant' : undefined
    if (over) {
      const limit = over === 'vm' ? lim.perVm[kind] : lim.perTenant[kind]
      const used = over === 'vm' ? mine[kind] : all[kind]
      const who = over === 'vm' ? `VM "${vm}"` : `tenant "${tenant}"`
      const message = `${NOUN[kind]} quota of ${who} exceeded: ${used} in use + ${n} > limit ${limit} per ${over}`
      const code = ERRNO_OF[kind]
      this.denials[kind]++
      this.audit?.record({tenant, vm}, 'quota', {resource: kind, scope: over, limit, used, requested: n, errno: Errno[code], message})
      return {ok: false, errno: Errno[code], code, kind, scope: over, limit, used, message}
    }
    mine[kind] += n
    all[kind] += n
    return {ok: true}
  }

  release(vm: string, kind: QuotaKind, n = 1): void {
    const mine = this.vmUse.get(vm)
    if (!mine || !Number.isSafeInteger(n) || n < 0) return
    const all = this.tenantUse.get(this.vmTenant.get(vm)!)!
    const take = Math.min(n, mine[kind])
    if (take < n) this.releaseErrors++
    mine[kind] -= take
    all[kind] -= take
  }

  /** VM crash or teardown: everything it held goes back; returns what was released */
  releaseAll(vm: string): Usage {
    const mine = this.vmUse.get(vm)
    if (!mine) return zero()
    const released = {...mine}
    for (const k of QUOTA_KINDS) this.release(vm, k, mine[k])
    return released
  }

  /** releaseAll and forget the VM (it left the lab) */
  removeVm(vm: string): Usage {
    const released = this.releaseAll(vm)
    this.vmTenant.delete(vm)
    this.vmUse.delete(vm)
    return released
  }

  usage(vm: string): Usage | undefined {
    const u = this.vmUse.get(vm)
    return u ? {...u} : undefined
  }

  tenantUsage(tenant: string): Usage | undefined {
    const u = this.tenantUse.get(tenant)
    return u ? {...u} : undefined
  }
}
