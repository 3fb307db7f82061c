// QoS enforced in the RNIC (DESIGN §1): one token bucket per tenant shared by all of that tenant's QPs (MasQ's
// grouping of the RNIC's per-QP rate limiters), or one per virtual function for sriov (a per-VM limit, like
// `ip link set … vf N max_tx_rate`). The requester asks mayTransmit(key, bytes) before it builds a packet and
// consume(key, bytes) once it sends it; a non-zero answer is the time to wait. And DSCP marking: tenant traffic
// carries its tenant's qos.dscp, provider (infrastructure) traffic the provider DSCP.

import type {Clock} from './clock.js'
import {TokenBucket} from './token-bucket.js'
import {Errno} from '../rdma-constants.js'
import type {Mode, ResolvedPlan} from '../topology/types.js'

/** Default burst: 100 µs at the rate, at least 16 KiB (a few MTU-sized packets). */
export function defaultBurstBytes(rateBps: number): number {
  return Math.max(16 * 1024, Math.ceil((rateBps / 8) * 100e-6))
}

export type SetLimitResult = {ok: true} | {ok: false; errno: number; reason: string}

/** A group of token buckets keyed by tenant (masq) or by VF (sriov). Keys without a limit are unlimited. */
export class RateLimiterGroup<K = string> {
  private readonly buckets = new Map<K, TokenBucket>()

  /** `capacity` = hardware rate limiters available (RnicLimits.rateLimiters). */
  constructor(private readonly clock: Clock, readonly capacity = Infinity) {}

  /** Set or change a key's limit; rateBps 0 removes it (unlimited). ENOSPC when the RNIC has no limiter left. */
  setLimit(key: K, rateBps: number, burstBytes = defaultBurstBytes(rateBps)): SetLimitResult {
    if (!(rateBps >= 0) || !Number.isFinite(rateBps)) return {ok: false, errno: Errno.EINVAL, reason: `rate must be a finite number >= 0, got ${rateBps}`}
    const now = this.clock.now()
    const b = this.buckets.get(key)
    if (rateBps === 0) {
      this.buckets.delete(key)
      return {ok: true}
    }
    if (b) {
      b.set(rateBps, burstBytes, now)
      return {ok: true}
    }
    if (this.buckets.size >= this.capacity) return {ok: false, errno: Errno.ENOSPC, reason: `all ${this.capacity} rate limiters in use`}
    this.buckets.set(key, new TokenBucket(rateBps, burstBytes, now))
    return {ok: true}
  }

  rateOf(key: K): number {
    return this.buckets.get(key)?.rateBps ?? 0
  }

  get size(): number {
    return this.buckets.size
  }

  /** Nanoseconds before `bytes` may be sent for `key` (0 = now). */
  mayTransmit(key: K, bytes: number): number {
    const b = this.buckets.get(key)
    return b === undefined ? 0 : b.waitNs(bytes, this.clock.now())
  }

  consume(key: K, bytes: number): void {
    this.buckets.get(key)?.consume(bytes, this.clock.now())
  }
}

/** Per-tenant limiters from a plan: every tenant with qos.rateBps > 0 gets a bucket, keyed by tenantKey(name). */
export function tenantLimiters(plan: Pick<ResolvedPlan, 'tenants'>, clock: Clock, capacity = Infinity): RateLimiterGroup<string> {
  const g = new RateLimiterGroup<string>(clock, capacity)
  for (const t of plan.tenants) {
    if (t.qos.rateBps > 0) {
      const r = g.setLimit(tenantKey(t.name), t.qos.rateBps)
      if (!r.ok) throw new Error(`tenant ${t.name}: ${r.reason}`)
    }
  }
  return g
}

/**
 * Which budget a VM's QPs draw from, by mode (DESIGN §2 QoS column): masq groups all QPs of a tenant into one
 * budget; sriov limits each VF (one per VM) on its own; freeflow enforces the tenant budget in its software relay
 * (same key, different place); bare and hyv have no QoS.
 */
export type QosScope = 'tenant' | 'vf' | 'none'

export function qosScope(mode: Mode): QosScope {
  switch (mode) {
    case 'masq':
    case 'freeflow':
      return 'tenant'
    case 'sriov':
      return 'vf'
    default:
      return 'none'
  }
}

/** Limiter keys: prefixed so that a VM named like a tenant cannot share its budget. */
export const tenantKey = (tenant: string): string => `tenant:${tenant}`
export const vfKey = (vm: string): string => `vf:${vm}`

/** The limiter key for a VM's traffic, undefined when its mode has no QoS. */
export function limiterKey(vm: {name: string; tenant: string; mode: Mode}): string | undefined {
  const scope = qosScope(vm.mode)
  return scope === 'tenant' ? tenantKey(vm.tenant) : scope === 'vf' ? vfKey(vm.name) : undefined
}

/**
 * The limiters one host's RNIC needs: a bucket per tenant with VMs here in a tenant-scoped mode, and a bucket per
 * sriov VM here (its VF, at its tenant's rate). Keys are those of limiterKey(). ENOSPC beyond `capacity` throws:
 * validation should have refused such a plan.
 */
export function hostLimiters(plan: Pick<ResolvedPlan, 'tenants' | 'vms'>, host: string, clock: Clock, capacity = Infinity): RateLimiterGroup<string> {
  const g = new RateLimiterGroup<string>(clock, capacity)
  const rate = new Map(plan.tenants.map((t) => [t.name, t.qos.rateBps]))
  for (const vm of plan.vms) {
    if (vm.host !== host) continue
    const key = limiterKey(vm)
    const r = rate.get(vm.tenant) ?? 0
    if (key === undefined || r <= 0 || g.rateOf(key) > 0) continue
    const res = g.setLimit(key, r)
    if (!res.ok) throw new Error(`host ${host}: rate limiter for ${key}: ${res.reason}`)
  }
  return g
}

export type TrafficClass = {kind: 'provider'} | {kind: 'tenant'; tenant: string}

/** DSCP for a traffic class: the tenant's qos.dscp, or the provider DSCP for infrastructure traffic. */
export function dscpFor(plan: Pick<ResolvedPlan, 'tenants' | 'provider'>, cls: TrafficClass): number {
  if (cls.kind === 'provider') return plan.provider.dscp
  const t = plan.tenants.find((x) => x.name === cls.tenant)
  return t ? t.qos.dscp : 0
}
