// The IB CM state machine on its own: two engines joined by a hand-driven MAD queue and a manual clock.
import fc from 'fast-check'
import {describe, expect, it} from 'vitest'
import {RejReason} from '../../../src/rdma-constants.js'
import {ManualClock} from '../../../src/rnic/clock.js'
import {mulberry32} from '../../../src/rnic/port.js'
import {type CmConn, type CmConnEvent, CmEngine, type ReqArgs} from '../../../src/cm/cm-engine.js'
import {ibTimeoutUs} from '../../../src/cm/timeouts.js'
import type {MadReceive, MadTransport} from '../../../src/cm/transport.js'
import {type CmMessage, decodeCm, encodeCm} from '../../../src/wire/cm.js'

interface Wire {
  from: number
  to: number
  mad: Uint8Array
  msg: CmMessage
}

class Net {
  readonly clock = new ManualClock()
  readonly queue: Wire[] = []
  readonly log: Wire[] = []
  private readonly handlers = new Map<number, MadReceive>()

  transport(ip: number): MadTransport {
    return {
      send: (to, mad, opts) => {
        const w = {from: opts.srcIp, to, mad: mad.slice(), msg: decodeCm(mad) as CmMessage}
        this.queue.push(w)
        this.log.push(w)
      },
      onMad: (h) => this.handlers.set(ip, h),
    }
  }

  /** Deliver queued MADs (optionally dropping those `drop` selects); returns how many were delivered. */
  deliver(drop: (w: Wire) => boolean = () => false): number {
    let n = 0
    while (this.queue.length) {
      const w = this.queue.shift()!
      if (drop(w)) continue
      n++
      this.handlers.get(w.to)?.(w.mad, {srcIp: w.from, dstIp: w.to, srcQp: 1, pkey: 0xffff})
    }
    return n
  }

  inject(to: number, from: number, mad: Uint8Array): void {
    this.handlers.get(to)?.(mad, {srcIp: from, dstIp: to, srcQp: 1, pkey: 0xffff})
  }

  types(): string[] {
    return this.log.map((w) => w.msg.type)
  }
}

const A = 0x0a000001
const B = 0x0a000002
const T = {cmResponseTimeout: 10, packetLifeTime: 4, maxCmRetries: 3, mraServiceTimeout: 14, timewaitUs: 1000}

function pair(onReq?: (conn: CmConn, eng: CmEngine) => void): {net: Net; a: CmEngine; b: CmEngine; reqs: CmConn[]} {
  const net = new Net()
  const reqs: CmConn[] = []
  const a = new CmEngine(net.transport(A), {clock: net.clock, random: mulberry32(1), timeouts: T})
  const b: CmEngine = new CmEngine(net.transport(B), {clock: net.clock, random: mulberry32(2), timeouts: T,
    onReq: (conn) => {
      reqs.push(conn)
      onReq?.(conn, b)
    }})
  return {net, a, b, reqs}
}

function req(events: CmConnEvent[], over: Partial<ReqArgs> = {}): ReqArgs {
  return {localIp: A, remoteIp: B, serviceId: 0x1064853n, localQpn: 0x11, startingPsn: 0x123456, responderResources: 1,
    initiatorDepth: 1, retryCount: 7, rnrRetryCount: 7, pathMtu: 5, privateData: new Uint8Array(92),
    handler: (_c, e) => events.push(e), ...over}
}

const rep = {localQpn: 0x22, startingPsn: 0x654321, responderResources: 1, initiatorDepth: 1, rnrRetryCount: 7}
const retryUs = 2 * ibTimeoutUs(T.packetLifeTime) + ibTimeoutUs(T.cmResponseTimeout)

/** Establish a connection: returns the active and passive conns. */
function establish(): {net: Net; a: CmEngine; b: CmEngine; ca: CmConn; cb: CmConn; ea: CmConnEvent[]; eb: CmConnEvent[]} {
  const eb: CmConnEvent[] = []
  const p = pair((conn) => {
    conn.handler = (_c, e) => eb.push(e)
  })
  const ea: CmConnEvent[] = []
  const ca = p.a.sendReq(req(ea))
  p.net.deliver()
  const cb = p.reqs[0]!
  p.b.sendRep(cb, rep)
  p.net.deliver()
  expect(ea.map((e) => e.type)).toEqual(['REP_RECEIVED'])
  p.a.sendRtu(ca)
  p.net.deliver()
  expect(eb.map((e) => e.type)).toEqual(['RTU_RECEIVED'])
  return {...p, ca, cb, ea, eb}
}

describe('CM engine', () => {
  it('REQ / REP / RTU share the REQ transaction id; comm ids are random, non-zero and cross-referenced', () => {
    const {net, ca, cb} = establish()
    expect(net.types()).toEqual(['REQ', 'REP', 'RTU'])
    const tids = new Set(net.log.map((w) => w.msg.transactionId))
    expect(tids.size).toBe(1)
    expect(ca.localCommId).not.toBe(0)
    expect(cb.localCommId).not.toBe(0)
    expect(ca.remoteCommId).toBe(cb.localCommId)
    expect(cb.remoteCommId).toBe(ca.localCommId)
    expect([ca.state, cb.state]).toEqual(['ESTABLISHED', 'ESTABLISHED'])
    expect(cb.remoteQpn).toBe(0x11)
    expect(ca.remoteQpn).toBe(0x22)
  })

  it('re-sends the REQ every response timeout, max CM retries times, then REQ_ERROR', () => {
    const {net, a} = pair()
    const ev: CmConnEvent[] = []
    a.sendReq(req(ev))
    const times: number[] = []
    for (let i = 0; i < 10 && ev.length === 0; i++) {
      net.queue.length = 0
      net.clock.t = a.nextDeadline()
      a.poll()
      times.push(net.clock.t)
    }
    expect(net.types()).toEqual(['REQ', 'REQ', 'REQ', 'REQ'])
    expect(times.slice(0, 3)).toEqual([1, 2, 3].map((k) => k * retryUs))
    expect(ev).toEqual([{type: 'REQ_ERROR'}])
    expect(a.connections).toBe(0)
  })

  it('an MRA stretches the wait to the service timeout instead of re-sending the REQ', () => {
    const {net, a} = pair((conn, eng) => eng.sendMra(conn))
    const ev: CmConnEvent[] = []
    const conn = a.sendReq(req(ev))
    net.deliver()
    expect(net.types()).toEqual(['REQ', 'MRA'])
    expect(conn.state).toBe('MRA_REQ_RCVD')
    expect(a.nextDeadline()).toBeCloseTo(ibTimeoutUs(T.mraServiceTimeout) + 2 * ibTimeoutUs(T.packetLifeTime), 6)
    expect(a.nextDeadline()).toBeGreaterThan(retryUs)
  })

  it('duplicate REQ: dropped in REQ_RCVD, answered with the MRA in MRA_REQ_SENT, never a second connection', () => {
    const {net, a, b, reqs} = pair()
    a.sendReq(req([]))
    const reqMad = net.queue[0]!.mad
    net.deliver()
    net.inject(B, A, reqMad)
    expect(reqs.length).toBe(1)
    expect(b.stats.drops['duplicate_req']).toBe(1)
    b.sendMra(reqs[0]!)
    net.inject(B, A, reqMad)
    expect(reqs.length).toBe(1)
    expect(b.connections).toBe(1)
    expect(net.types()).toEqual(['REQ', 'MRA', 'MRA'])
  })

  it('a rejected REQ that arrives again gets the same REJ; a REQ in TIMEWAIT gets REJ STALE_CONN', () => {
    const {net, a, b, reqs} = pair((conn, eng) => eng.sendRej(conn, RejReason.CONSUMER_DEFINED, {privateData: Uint8Array.of(9)}))
    const ev: CmConnEvent[] = []
    a.sendReq(req(ev))
    const reqMad = net.queue[0]!.mad
    net.deliver()
    expect(ev.map((e) => e.type)).toEqual(['REJ_RECEIVED'])
    net.inject(B, A, reqMad)
    net.queue.length = 0
    expect(reqs.length).toBe(1)
    const rejs = net.log.filter((w) => w.msg.type === 'REJ')
    expect(rejs.length).toBe(2)
    expect(Buffer.from(rejs[1]!.mad).equals(Buffer.from(rejs[0]!.mad))).toBe(true)
    // after the linger the REQ would be new again
    net.clock.t += T.timewaitUs
    b.poll()
    expect(b.connections).toBe(0)

    const e = establish()
    const reqMad2 = e.net.log[0]!.mad
    e.a.sendDreq(e.ca)
    e.net.deliver()
    expect(e.cb.state).toBe('TIMEWAIT')
    e.net.inject(B, A, reqMad2)
    const stale = e.net.queue.map((w) => w.msg).find((m) => m.type === 'REJ')
    expect(stale).toMatchObject({type: 'REJ', reason: RejReason.STALE_CONN})
  })

  it('duplicate REP after ESTABLISHED re-sends the RTU (the first RTU was lost)', () => {
    const eb: CmConnEvent[] = []
    const {net, a, b, reqs} = pair((conn) => {
      conn.handler = (_c, e) => eb.push(e)
    })
    const ca = a.sendReq(req([]))
    net.deliver()
    b.sendRep(reqs[0]!, rep)
    net.deliver()
    a.sendRtu(ca)
    net.deliver((w) => w.msg.type === 'RTU') // lost
    net.clock.t = b.nextDeadline()
    b.poll() // REP again
    net.deliver()
    expect(net.types()).toEqual(['REQ', 'REP', 'RTU', 'REP', 'RTU'])
    expect(eb.map((e) => e.type)).toEqual(['RTU_RECEIVED'])
    expect(reqs[0]!.state).toBe('ESTABLISHED')
  })

  it('DREQ / DREP then TIMEWAIT_EXIT on both sides; the DREP answers with the DREQ transaction id', () => {
    const {net, a, b, ca, cb, ea, eb} = establish()
    a.sendDreq(ca)
    net.deliver()
    expect(net.types().slice(3)).toEqual(['DREQ', 'DREP'])
    expect(net.log[4]!.msg.transactionId).toBe(net.log[3]!.msg.transactionId)
    expect(net.log[3]!.msg).toMatchObject({type: 'DREQ', remoteQpn: 0x22})
    expect([ca.state, cb.state]).toEqual(['TIMEWAIT', 'TIMEWAIT'])
    net.clock.t += T.timewaitUs
    a.poll()
    b.poll()
    expect(ea.map((e) => e.type)).toEqual(['REP_RECEIVED', 'DREP_RECEIVED', 'TIMEWAIT_EXIT'])
    expect(eb.map((e) => e.type)).toEqual(['RTU_RECEIVED', 'DREQ_RECEIVED', 'TIMEWAIT_EXIT'])
    expect([a.connections, b.connections]).toEqual([0, 0])
  })

  it('a DREQ that is never answered ends in DREQ_ERROR after the retries, then TIMEWAIT_EXIT', () => {
    const {net, a, ca, ea} = establish()
    a.sendDreq(ca)
    for (let i = 0; i < 20 && a.connections > 0; i++) {
      net.queue.length = 0
      net.clock.t = a.nextDeadline()
      a.poll()
    }
    expect(net.types().filter((t) => t === 'DREQ').length).toBe(1 + T.maxCmRetries)
    expect(ea.map((e) => e.type)).toEqual(['REP_RECEIVED', 'DREQ_ERROR', 'TIMEWAIT_EXIT'])
  })

  it('a DREQ for an unknown connection is answered with a DREP (cm_issue_drep)', () => {
    const {net, b} = pair()
    net.inject(B, A, encodeCm({type: 'DREQ', transactionId: 77n, localCommId: 5, remoteCommId: 6, remoteQpn: 9,
      privateData: new Uint8Array(0)}))
    expect(net.queue.map((w) => w.msg)).toMatchObject([{type: 'DREP', transactionId: 77n, localCommId: 6, remoteCommId: 5}])
    expect(b.stats.drops['unknown_comm_id']).toBe(1)
  })

  it('messages from the wrong host or with the wrong comm ids are counted drops', () => {
    const {net, a, ca} = establish()
    const rtu = encodeCm({type: 'RTU', transactionId: 1n, localCommId: ca.remoteCommId, remoteCommId: ca.localCommId,
      privateData: new Uint8Array(0)})
    net.inject(A, 0x0a000009, rtu)
    expect(a.stats.drops['unknown_comm_id']).toBe(1)
    const dreq = encodeCm({type: 'DREQ', transactionId: 1n, localCommId: 12345, remoteCommId: ca.localCommId,
      remoteQpn: 0, privateData: new Uint8Array(0)})
    net.inject(A, B, dreq)
    expect(a.stats.drops['comm_id_mismatch']).toBe(1)
    expect(ca.state).toBe('ESTABLISHED')
  })

  it('hostile MADs never throw; each is a counted drop or an ignored message', () => {
    const {net, a} = pair()
    fc.assert(fc.property(fc.uint8Array({minLength: 0, maxLength: 300}), fc.boolean(), (bytes, cmHeader) => {
      const mad = Uint8Array.from(bytes)
      if (cmHeader && mad.length >= 24) {
        mad[0] = 1
        mad[1] = 7
        mad[2] = 2
        mad[3] = 3
        mad[17] = 0x10 + (mad[17]! % 7)
      }
      expect(() => net.inject(A, B, mad)).not.toThrow()
    }), {numRuns: 300, seed: 42})
    const drops = Object.values(a.stats.drops).reduce((x, y) => x + y, 0)
    expect(drops).toBeGreaterThan(0)
  })
})
