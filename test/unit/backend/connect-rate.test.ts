import {describe, expect, it} from 'vitest'
import {ConnectRateLimiter} from '../../../src/backend/connect-rate.js'
import {Errno} from '../../../src/rdma-constants.js'
import {memoryAudit, tenants} from './fixtures.js'

// blue: 5 setups/s; red: 0 (unlimited)
function limiter() {
  let now = 0
  const audit = memoryAudit()
  const l = new ConnectRateLimiter(tenants, {clock: () => now, audit})
  return {l, audit, advance: (ms: number) => { now += ms }}
}

const burst = (l: ConnectRateLimiter, tenant: string, n: number) =>
  Array.from({length: n}, () => l.tryConnect(tenant, 'v').ok).filter(Boolean).length

describe('per-tenant connection-setup rate', () => {
  it('admits one second of burst, then refuses with EAGAIN and audits', () => {
    const {l, audit} = limiter()
    expect(burst(l, 'blue', 5)).toBe(5)
    const r = l.tryConnect('blue', 'b1')
    expect(r).toEqual({
      ok: false, errno: Errno.EAGAIN, code: 'EAGAIN', retryAfterMs: 200,
      message: 'tenant "blue" is over its connection-setup rate of 5/s (retry in 200 ms)',
    })
    expect(l.denials.get('blue')).toBe(1)
    expect(audit.query({kind: 'connect-rate'})).toMatchObject([{tenant: 'blue', vm: 'b1', detail: {rate: 5, errno: Errno.EAGAIN}}])
  })

  it('refills at the rate: over 10 simulated seconds at most burst + 5/s are admitted', () => {
    const {l, advance} = limiter()
    let admitted = 0
    for (let t = 0; t < 10_000; t += 10) {
      admitted += burst(l, 'blue', 3) // offered 300/s
      advance(10)
    }
    expect(admitted).toBeGreaterThanOrEqual(50)
    expect(admitted).toBeLessThanOrEqual(55)
  })

  it('a refill never exceeds the bucket depth', () => {
    const {l, advance} = limiter()
    advance(60_000)
    expect(burst(l, 'blue', 100)).toBe(5)
    advance(200)
    expect(burst(l, 'blue', 100)).toBe(1)
  })

  it('tenants are independent; rate 0 and unknown tenants are unlimited', () => {
    const {l} = limiter()
    expect(burst(l, 'blue', 50)).toBe(5)
    expect(burst(l, 'red', 1000)).toBe(1000)
    expect(burst(l, 'green', 10)).toBe(10)
    l.setRate('red', 2)
    expect(burst(l, 'red', 10)).toBe(2)
  })

  it('a fractional rate still admits one setup and then waits a whole period', () => {
    const {l, advance} = limiter()
    l.setRate('blue', 0.5)
    expect(burst(l, 'blue', 3)).toBe(1)
    expect(l.tryConnect('blue', 'b')).toMatchObject({retryAfterMs: 2000})
    advance(1999)
    expect(burst(l, 'blue', 1)).toBe(0)
    advance(1)
    expect(burst(l, 'blue', 1)).toBe(1)
  })
})
