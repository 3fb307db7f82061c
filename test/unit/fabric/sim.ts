// Virtual-time traffic sources standing in for the RNIC's requester: it serves its QPs round robin, and a QP sends
// when its tenant's token bucket allows and its host's uplink queue has room (the RNIC does not post into a full
// port: backpressure). Each QP floods (always has a packet ready).
import {Timer, type VirtualClock} from '../../../src/fabric/clock.js'
import type {Port} from '../../../src/fabric/port.js'
import type {RateLimiterGroup} from '../../../src/fabric/tenant-qos.js'
import {makeFrame} from './frames.js'

export interface FloodQp {
  src: number
  dscp: number
  len: number
  tenant?: string
  sentBytes: number
}

export interface Requester {
  qps: FloodQp[]
  stop(): void
}

export function requester(
  clock: VirtualClock,
  uplink: Port,
  qps: Array<Omit<FloodQp, 'sentBytes'>>,
  o: {limiter?: RateLimiterGroup<string>; retryNs: number},
): Requester {
  const list: FloodQp[] = qps.map((q) => ({...q, sentBytes: 0}))
  const bufs = list.map((q) => makeFrame(q.len, q.dscp, q.src, 0))
  const seqs = list.map(() => 0)
  let rr = 0
  let stopped = false
  const t = new Timer((now) => {
    if (stopped) return
    let soonest = Infinity
    for (let k = 0; k < list.length; k++) {
      const i = (rr + k) % list.length
      const q = list[i]!
      const wait = o.limiter && q.tenant ? o.limiter.mayTransmit(q.tenant, q.len) : 0
      if (wait > 0) {
        soonest = Math.min(soonest, now + wait)
        continue
      }
      const buf = bufs[i]!
      if (!uplink.canAccept(uplink.classify(buf, 0, q.len), q.len)) {
        soonest = Math.min(soonest, now + o.retryNs)
        continue
      }
      if (o.limiter && q.tenant) o.limiter.consume(q.tenant, q.len)
      makeFrame(q.len, q.dscp, q.src, seqs[i]!++, buf)
      uplink.transmit(buf, 0, q.len)
      q.sentBytes += q.len
      rr = (i + 1) % list.length
      return clock.arm(t, now) // next packet at once; the bucket or the queue will say when to wait
    }
    clock.arm(t, soonest)
  })
  clock.arm(t, 0)
  return {qps: list, stop: () => (stopped = true)}
}

/** A constant-rate source (provider traffic): one frame every gapNs, no backpressure. */
export function pacedSource(clock: VirtualClock, uplink: Port, o: {src: number; dscp: number; len: number; gapNs: number}) {
  const buf = new Uint8Array(o.len)
  let seq = 0
  let stopped = false
  const s = {sentBytes: 0, stop: () => (stopped = true)}
  const t = new Timer((now) => {
    if (stopped) return
    makeFrame(o.len, o.dscp, o.src, seq++, buf)
    uplink.transmit(buf, 0, o.len)
    s.sentBytes += o.len
    clock.arm(t, now + o.gapNs)
  })
  clock.arm(t, 0)
  return s
}
