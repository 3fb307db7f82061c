// QoS enforced in the RNIC (DESIGN §1): one token bucket per tenant shared by all of that tenant's QPs (MasQ's
// grouping of the RNIC's per-QP rate limiters), or one per virtual function for sriov (a per-VM limit, like
// `ip link set … vf N max_tx_rate`). The requester asks mayTransmit(key, bytes) before it builds a packet and
// consume(key, bytes) once it sends it; a non-zero answer is the time to wait. And DSCP marking: tenant traffic
// carries its tenant's qos.dscp, provider (infrastructure) traffic the provider DSCP.

import type {Clock} from './clock.js'
import {TokenBucket} from './token-bucket.js'
import {Errno} from '../rdma-constants.js'
import type {ResolvedPlan} from '../topology/types.js'

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

/** Per-tenant limiters from a plan: every tenant with qos.rateBps > 0 gets a bucket, keyed by tenant name. */
export function tenantLimiters(plan: Pick<ResolvedPlan, 'tenants'>, clock: Clock, capacity = Infinity): RateLimiterGroup<string> {
  const g = new RateLimiterGroup<string>(clock, capacity)
  for (const t of plan.tenants) {
    if (t.qos.rateBps > 0) {
      const r = g.setLimit(t.name, t.qos.rateBps)
      if (!r.ok) throw new Error(`tenant ${t.name}: ${r.reason}`)
    }
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
