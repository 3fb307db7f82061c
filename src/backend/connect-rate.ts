// Per-tenant limit on connection setups per second (issue 5 item 5; catalogue C01: brute force needs a
// reconnect per guess, C25: control-verb floods). A token bucket per tenant holds at most one second of
// setups (rate tokens, at least 1) and refills continuously; a setup over the limit is refused with EAGAIN
// and audited. A rate of 0 means unlimited, as a QoS rate of 0 does in the topology.
import {Errno} from '../rdma-constants.js'
import type {AuditSink} from './audit.js'

export type RateResult = {ok: true} | {ok: false; errno: number; code: 'EAGAIN'; retryAfterMs: number; message: string}

interface Bucket {rate: number; capacity: number; tokens: number; last: number}

export interface ConnectRateOptions {
  clock?: () => number // ms, monotonic preferred
  burstSeconds?: number // bucket depth in seconds of rate, default 1
  audit?: AuditSink
}

export class ConnectRateLimiter {
  private readonly buckets = new Map<string, Bucket>()
  private readonly clock: () => number
  private readonly burst: number
  private readonly audit?: AuditSink
  readonly denials = new Map<string, number>()

  constructor(rates: Iterable<{name: string; perTenant: {connectRate: number}}>, opts: ConnectRateOptions = {}) {
    this.clock = opts.clock ?? (() => performance.now())
    this.burst = opts.burstSeconds ?? 1
    this.audit = opts.audit
    for (const t of rates) this.setRate(t.name, t.perTenant.connectRate)
  }

  setRate(tenant: string, perSecond: number): void {
    const capacity = Math.max(1, perSecond * this.burst)
    this.buckets.set(tenant, {rate: perSecond, capacity, tokens: capacity, last: this.clock()})
  }

  /** one connection setup (rdma_connect, or an incoming REQ accepted for a listener) by `vm` of `tenant` */
  tryConnect(tenant: string, vm: string): RateResult {
    const b = this.buckets.get(tenant)
    if (!b || b.rate <= 0) return {ok: true}
    const now = this.clock()
    b.tokens = Math.min(b.capacity, b.tokens + ((now - b.last) * b.rate) / 1000)
    b.last = now
    if (b.tokens >= 1) {
      b.tokens -= 1
      return {ok: true}
    }
    const retryAfterMs = Math.ceil(((1 - b.tokens) * 1000) / b.rate)
    const message = `tenant "${tenant}" is over its connection-setup rate of ${b.rate}/s (retry in ${retryAfterMs} ms)`
    this.denials.set(tenant, (this.denials.get(tenant) ?? 0) + 1)
    this.audit?.record({tenant, vm}, 'connect-rate', {rate: b.rate, retryAfterMs, errno: Errno.EAGAIN, message})
    return {ok: false, errno: Errno.EAGAIN, code: 'EAGAIN', retryAfterMs, message}
  }
}
