// Defaults of the topology model (also written into schema/topology.schema.json as `default`s for editors
// and docs; a unit test keeps both in sync).
import type {Mode, Quota, RnicLimits} from './types.js'
import {parseSize} from './units.js'

export const DEFAULTS = {
  mode: 'masq' as Mode,
  mtu: 4096,
  linkRate: '100Gbps',
  delay: '1us',
  buffer: '4MiB',
  providerDscp: 48, // CS6, network control
  tenantDscp: 26, // AF31
  tenantRate: 0, // unlimited
  seed: 1,
  rnic: {maxQp: 4096, maxMr: 16384, maxCq: 4096, maxPd: 1024, qpcCache: 512, rateLimiters: 128} satisfies RnicLimits,
  perVm: {qps: 256, mrs: 1024, cqs: 256, pds: 64, mrBytes: 1024 ** 3, cmIds: 256},
  perTenantFactor: 4,
  connectRate: 1000,
  vmMemory: 64 * 1024 ** 2,
} as const

export const COUNT_KEYS = ['qps', 'mrs', 'cqs', 'pds', 'mrBytes', 'cmIds'] as const
/** which RNIC limit bounds which quota */
export const QUOTA_TO_RNIC = {qps: 'maxQp', mrs: 'maxMr', cqs: 'maxCq', pds: 'maxPd'} as const

const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isInteger(v) && v >= 0 ? v : undefined)
const rec = (v: unknown): Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {}

/** Effective quotas of a tenant (raw, possibly invalid input tolerated: bad values fall back to defaults). */
export function effectiveQuotas(tenant: unknown): {perVm: Quota; perTenant: Quota} {
  const q = rec(rec(tenant).quotas)
  const vm = rec(q.perVm)
  const tn = rec(q.perTenant)
  const connectRate = num(tn.connectRate) ?? DEFAULTS.connectRate
  const perVm: Quota = {
    qps: num(vm.qps) ?? DEFAULTS.perVm.qps,
    mrs: num(vm.mrs) ?? DEFAULTS.perVm.mrs,
    cqs: num(vm.cqs) ?? DEFAULTS.perVm.cqs,
    pds: num(vm.pds) ?? DEFAULTS.perVm.pds,
    mrBytes: parseSize(vm.mrBytes) ?? DEFAULTS.perVm.mrBytes,
    cmIds: num(vm.cmIds) ?? DEFAULTS.perVm.cmIds,
    connectRate, // no separate per-VM limit: a VM may use its tenant's whole budget
  }
  const f = DEFAULTS.perTenantFactor
  const perTenant: Quota = {
    qps: num(tn.qps) ?? perVm.qps * f,
    mrs: num(tn.mrs) ?? perVm.mrs * f,
    cqs: num(tn.cqs) ?? perVm.cqs * f,
    pds: num(tn.pds) ?? perVm.pds * f,
    mrBytes: parseSize(tn.mrBytes) ?? perVm.mrBytes * f,
    cmIds: num(tn.cmIds) ?? perVm.cmIds * f,
    connectRate,
  }
  return {perVm, perTenant}
}

export function effectiveRnic(host: unknown): RnicLimits {
  const r = rec(rec(host).rnic)
  const d = DEFAULTS.rnic
  return {
    maxQp: num(r.maxQp) ?? d.maxQp, maxMr: num(r.maxMr) ?? d.maxMr, maxCq: num(r.maxCq) ?? d.maxCq,
    maxPd: num(r.maxPd) ?? d.maxPd, qpcCache: num(r.qpcCache) ?? d.qpcCache, rateLimiters: num(r.rateLimiters) ?? d.rateLimiters,
  }
}

/** sriov/hyv/bare have no security rules (DESIGN §2) */
export const modeHasRules = (m: Mode): boolean => m === 'masq' || m === 'freeflow'
/** only masq/freeflow have VPC addressing; sriov/hyv put the VM's ip on the underlay */
export const modeHasVpc = modeHasRules
