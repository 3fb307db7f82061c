// rdma_cm over real CM MADs between in-process hosts: connect / accept / data / disconnect, rejects, policy.
import {describe, expect, it} from 'vitest'
import {CmEvent, QpState, RejReason, SendFlags, WcOpcode, WcStatus, WrOpcode} from '../../../src/rdma-constants.js'
import {decodeFrame} from '../../../src/wire/frame.js'
import {PacketView} from '../../../src/wire/packet.js'
import {decodeCm} from '../../../src/wire/cm.js'
import {MAD_SIZE} from '../../../src/wire/mad.js'
import {mulberry32} from '../../../src/rnic/port.js'
import {serviceIdOf, type CmId, type EventChannel, type RdmaCm} from '../../../src/cm/rdma-cm.js'
import {activeId, CAP, type CmLab, ep, type Ep, expectEvent, hostIp, listen, makeCmLab, RW} from './helpers.js'

const PORT = 18515

/** CM message types seen on the fabric (tap), in order. */
function tapCm(lab: CmLab): string[] {
  const seen: string[] = []
  const pv = new PacketView()
  const prev = lab.fabric.tap
  lab.fabric.tap = (f, o, l, t) => {
    prev?.(f, o, l, t)
    if (decodeFrame(f, o, l, pv) !== 0 || pv.destQp !== 1) return
    const m = decodeCm(f.subarray(pv.payloadOff, pv.payloadOff + MAD_SIZE))
    if (!(m instanceof Error)) seen.push(m.type)
  }
  return seen
}

interface Conn {
  client: {ch: EventChannel; id: CmId; e: Ep; cm: RdmaCm}
  server: {ch: EventChannel; id: CmId; e: Ep; cm: RdmaCm; listener: CmId}
}

async function establish(lab: CmLab, opts: {pdata?: Uint8Array; repData?: Uint8Array} = {}): Promise<Conn> {
  const scm = lab.agents[1]!.vm({addresses: [hostIp(1)]})
  const ccm = lab.agents[0]!.vm({addresses: [hostIp(0)]})
  const se = await ep(lab.nics[1]!)
  const ce = await ep(lab.nics[0]!)
  const l = listen(scm, hostIp(1), PORT)
  const c = await activeId(lab, ccm, ce, hostIp(1), PORT)
  await c.id.connect({privateData: opts.pdata, responderResources: 4, initiatorDepth: 4, retryCount: 7, rnrRetryCount: 7})
  const req = expectEvent(await lab.next(l.ch), CmEvent.CONNECT_REQUEST)
  expect(req.listenId).toBe(l.id)
  const sid = req.id
  await sid.createQp(se.pd, {sendCq: se.cq, recvCq: se.cq, cap: CAP})
  await sid.accept({responderResources: 4, initiatorDepth: 4, privateData: opts.repData})
  const est = expectEvent(await lab.next(c.ch), CmEvent.ESTABLISHED)
  expect(est.param.conn.qpNum).toBe(sid.qpNum)
  expectEvent(await lab.next(l.ch), CmEvent.ESTABLISHED)
  return {client: {...c, e: ce, cm: ccm}, server: {ch: l.ch, id: sid, e: se, cm: scm, listener: l.id}}
}

async function verifyData(lab: CmLab, k: Conn, seed = 1): Promise<void> {
  const {client: c, server: s} = k
  const src = c.e.mem.alloc(3000)
  const rnd = mulberry32(seed)
  for (let i = 0; i < src.length; i++) src.bytes[i] = (rnd() * 256) | 0
  const dst = s.e.mem.alloc(3000)
  const wdst = s.e.mem.alloc(3000)
  const smr = await c.e.pd.regMr(src, 0)
  const dmr = await s.e.pd.regMr(dst, RW)
  const wmr = await s.e.pd.regMr(wdst, RW)
  const sqp = s.id.qp!
  const cqp = c.id.qp!
  sqp.postRecv({wrId: 1n, sgList: [{addr: dst.addr, length: dst.length, lkey: dmr.lkey}]})
  cqp.postSend({wrId: 2n, opcode: WrOpcode.SEND, sendFlags: SendFlags.SIGNALED, sgList: [{addr: src.addr, length: 3000, lkey: smr.lkey}]})
  cqp.postSend({wrId: 3n, opcode: WrOpcode.RDMA_WRITE, sendFlags: SendFlags.SIGNALED, rdma: {remoteAddr: wmr.addr, rkey: wmr.rkey},
    sgList: [{addr: src.addr, length: 3000, lkey: smr.lkey}]})
  const cwc: unknown[] = []
  const swc: unknown[] = []
  await lab.pump(() => {
    cwc.push(...c.e.cq.poll(4))
    swc.push(...s.e.cq.poll(4))
    return cwc.length >= 2 && swc.length >= 1
  })
  expect(cwc).toMatchObject([{wrId: 2n, status: WcStatus.SUCCESS, opcode: WcOpcode.SEND}, {wrId: 3n, status: WcStatus.SUCCESS, opcode: WcOpcode.RDMA_WRITE}])
  expect(swc).toMatchObject([{wrId: 1n, status: WcStatus.SUCCESS, opcode: WcOpcode.RECV, byteLen: 3000}])
  expect(Buffer.from(dst.bytes).equals(Buffer.from(src.bytes))).toBe(true)
  expect(Buffer.from(wdst.bytes).equals(Buffer.from(src.bytes))).toBe(true)
}

describe('rdma_cm connect / accept / disconnect', () => {
  it('establishes with REQ, MRA, REP, RTU, carries private data both ways and moves data (SEND, RDMA WRITE)', async () => {
    const lab = makeCmLab()
    const seen = tapCm(lab)
    const pdata = new TextEncoder().encode('hello from the client')
    const k = await establish(lab, {pdata, repData: new TextEncoder().encode('welcome')})
    expect(seen).toEqual(['REQ', 'MRA', 'REP', 'RTU'])
    expect((await k.client.id.qp!.query()).qpState).toBe(QpState.RTS)
    expect((await k.server.id.qp!.query()).qpState).toBe(QpState.RTS)
    await verifyData(lab, k)
  })

  it('CONNECT_REQUEST hands over the user private data only (cma_hdr stripped) and the swapped rd/atomic depths', async () => {
    const lab = makeCmLab()
    const scm = lab.agents[1]!.vm({addresses: [hostIp(1)]})
    const ccm = lab.agents[0]!.vm({addresses: [hostIp(0)]})
    const ce = await ep(lab.nics[0]!)
    const l = listen(scm, hostIp(1), PORT)
    const c = await activeId(lab, ccm, ce, hostIp(1), PORT)
    await c.id.connect({privateData: Uint8Array.of(1, 2, 3), responderResources: 2, initiatorDepth: 5, rnrRetryCount: 6})
    const req = expectEvent(await lab.next(l.ch), CmEvent.CONNECT_REQUEST)
    expect(req.param.conn.privateData.length).toBe(56)
    expect([...req.param.conn.privateData.subarray(0, 4)]).toEqual([1, 2, 3, 0])
    expect(req.param.conn).toMatchObject({responderResources: 5, initiatorDepth: 2, rnrRetryCount: 6, qpNum: c.id.qpNum})
    expect(req.id.peerAddr).toEqual({ip: hostIp(0), port: c.id.localAddr!.port})
    expect(req.id.localAddr).toEqual({ip: hostIp(1), port: PORT})
    expect(serviceIdOf(0x0106, 18515)).toBe(0x0000000001064853n)
  })

  it('private data survives queued delivery (the fabric slot is reused once the MAD was handled)', async () => {
    const lab = makeCmLab(2, {cutThrough: false})
    const scm = lab.agents[1]!.vm({addresses: [hostIp(1)]})
    const ccm = lab.agents[0]!.vm({addresses: [hostIp(0)]})
    const l = listen(scm, hostIp(1), PORT)
    const c = await activeId(lab, ccm, await ep(lab.nics[0]!), hostIp(1), PORT)
    await c.id.connect({privateData: Uint8Array.of(1, 2, 3)})
    const req = expectEvent(await lab.next(l.ch), CmEvent.CONNECT_REQUEST)
    // later frames reuse the slot the REQ arrived in
    const d = await activeId(lab, ccm, await ep(lab.nics[0]!), hostIp(1), PORT)
    await d.id.connect({privateData: Uint8Array.of(9, 9, 9)})
    expectEvent(await lab.next(l.ch), CmEvent.CONNECT_REQUEST)
    expect([...req.param.conn.privateData.subarray(0, 4)]).toEqual([1, 2, 3, 0])
  })

  for (const who of ['client', 'server'] as const) {
    it(`disconnect from the ${who}: DISCONNECTED on both sides, DREQ/DREP on the wire, then TIMEWAIT_EXIT`, async () => {
      const lab = makeCmLab()
      const k = await establish(lab)
      const seen = tapCm(lab)
      const a = k[who]
      const b = k[who === 'client' ? 'server' : 'client']
      await a.id.disconnect()
      expectEvent(await lab.next(b.ch), CmEvent.DISCONNECTED)
      expectEvent(await lab.next(a.ch), CmEvent.DISCONNECTED)
      expect(seen).toEqual(['DREQ', 'DREP'])
      expect((await a.id.qp!.query()).qpState).toBe(QpState.ERR)
      expect((await b.id.qp!.query()).qpState).toBe(QpState.ERR)
      await b.id.disconnect() // after the peer's DREQ: nothing more to do (no second DREQ)
      expectEvent(await lab.next(a.ch), CmEvent.TIMEWAIT_EXIT)
      expectEvent(await lab.next(b.ch), CmEvent.TIMEWAIT_EXIT)
      expect(seen).toEqual(['DREQ', 'DREP'])
      expect(lab.agents[0]!.engine.connections).toBe(0)
      expect(lab.agents[1]!.engine.connections).toBe(0)
    })
  }
})

describe('rdma_cm rejects', () => {
  it('nothing listening → REJECTED with INVALID_SERVICE_ID (8)', async () => {
    const lab = makeCmLab()
    const ccm = lab.agents[0]!.vm({addresses: [hostIp(0)]})
    const ce = await ep(lab.nics[0]!)
    const c = await activeId(lab, ccm, ce, hostIp(1), 4000)
    await c.id.connect()
    const e = expectEvent(await lab.next(c.ch), CmEvent.REJECTED, RejReason.INVALID_SERVICE_ID)
    expect(e.id).toBe(c.id)
    expect((await c.id.qp!.query()).qpState).toBe(QpState.ERR)
  })

  it('application reject → REJECTED with CONSUMER_DEFINED (28) and its private data', async () => {
    const lab = makeCmLab()
    const seen = tapCm(lab)
    const scm = lab.agents[1]!.vm({addresses: [hostIp(1)]})
    const ccm = lab.agents[0]!.vm({addresses: [hostIp(0)]})
    const ce = await ep(lab.nics[0]!)
    const l = listen(scm, hostIp(1), PORT)
    const c = await activeId(lab, ccm, ce, hostIp(1), PORT)
    await c.id.connect()
    const req = expectEvent(await lab.next(l.ch), CmEvent.CONNECT_REQUEST)
    req.id.reject(new TextEncoder().encode('go away'))
    const e = expectEvent(await lab.next(c.ch), CmEvent.REJECTED, RejReason.CONSUMER_DEFINED)
    expect(new TextDecoder().decode(e.param.conn.privateData.subarray(0, 7))).toBe('go away')
    expect(e.param.conn.privateData.length).toBe(148)
    expect(seen).toEqual(['REQ', 'MRA', 'REJ'])
  })

  it('ingress policy deny → REJ 12 on the wire, REJECTED 12 at the client, no CONNECT_REQUEST', async () => {
    const lab = makeCmLab(2, {}, {policy: {onIncomingReq: (ctx) => ctx.srcIp === hostIp(0) ? {allow: false, reason: 12} : {allow: true}}})
    const seen = tapCm(lab)
    const scm = lab.agents[1]!.vm({addresses: [hostIp(1)]})
    const ccm = lab.agents[0]!.vm({addresses: [hostIp(0)]})
    const ce = await ep(lab.nics[0]!)
    const l = listen(scm, hostIp(1), PORT)
    const c = await activeId(lab, ccm, ce, hostIp(1), PORT)
    await c.id.connect()
    expectEvent(await lab.next(c.ch), CmEvent.REJECTED, RejReason.PRIMARY_REMOTE_GID_REJECTED)
    expect(seen).toEqual(['REQ', 'REJ'])
    expect(l.ch.pending).toBe(0)
  })

  it('egress policy deny → REJECTED 12 and no REQ frame on the fabric', async () => {
    const ctxs: unknown[] = []
    const lab = makeCmLab(2, {}, {policy: {onOutgoingReq: async (ctx) => {
      ctxs.push(ctx)
      return {allow: false, reason: RejReason.PRIMARY_REMOTE_GID_REJECTED}
    }}})
    let frames = 0
    lab.fabric.tap = () => frames++
    const scm = lab.agents[1]!.vm({addresses: [hostIp(1)]})
    const ccm = lab.agents[0]!.vm({addresses: [hostIp(0)]})
    const ce = await ep(lab.nics[0]!)
    listen(scm, hostIp(1), PORT)
    const c = await activeId(lab, ccm, ce, hostIp(1), PORT)
    await c.id.connect()
    expectEvent(await lab.next(c.ch), CmEvent.REJECTED, RejReason.PRIMARY_REMOTE_GID_REJECTED)
    expect(frames).toBe(0)
    expect(ctxs).toMatchObject([{vni: 0, dstIp: hostIp(1), dstPort: PORT, srcIp: hostIp(0), ps: 0x0106}])
  })

  it('resolveAddr to an unreachable address → ADDR_ERROR', async () => {
    const lab = makeCmLab(2, {}, {resolve: () => undefined})
    const ccm = lab.agents[0]!.vm({addresses: [hostIp(0)]})
    const ch = ccm.createEventChannel()
    const id = ccm.createId(ch)
    id.resolveAddr(undefined, {ip: '10.9.9.9', port: 1})
    const e = await lab.next(ch)
    expect(e.event).toBe(CmEvent.ADDR_ERROR)
    expect(e.status).toBeLessThan(0)
  })

  it('binding a port twice → EADDRINUSE; a listener on 0.0.0.0 takes REQs for any local address', async () => {
    const lab = makeCmLab()
    const scm = lab.agents[1]!.vm({addresses: [hostIp(1)]})
    listen(scm, '0.0.0.0', PORT)
    const ch = scm.createEventChannel()
    expect(() => scm.createId(ch).bindAddr({ip: hostIp(1), port: PORT})).toThrow(/in use/)
    const ccm = lab.agents[0]!.vm({addresses: [hostIp(0)]})
    const c = await activeId(lab, ccm, await ep(lab.nics[0]!), hostIp(1), PORT)
    await c.id.connect()
    await lab.pump(() => lab.agents[1]!.engine.stats.sent['MRA'] === 1)
  })
})

describe('rdma_cm edge cases', () => {
  it('simultaneous disconnect from both sides: exactly one DISCONNECTED each, then TIMEWAIT_EXIT', async () => {
    const lab = makeCmLab()
    const k = await establish(lab)
    await Promise.all([k.client.id.disconnect(), k.server.id.disconnect()])
    expectEvent(await lab.next(k.client.ch), CmEvent.DISCONNECTED)
    expectEvent(await lab.next(k.server.ch), CmEvent.DISCONNECTED)
    expectEvent(await lab.next(k.client.ch), CmEvent.TIMEWAIT_EXIT)
    expectEvent(await lab.next(k.server.ch), CmEvent.TIMEWAIT_EXIT)
    await lab.pump(() => lab.agents.every((a) => a.engine.connections === 0))
    expect(k.client.ch.pending + k.server.ch.pending).toBe(0)
  })

  it('destroying a connected id sends a DREQ: the peer sees DISCONNECTED', async () => {
    const lab = makeCmLab()
    const k = await establish(lab)
    const seen = tapCm(lab)
    k.server.id.destroy()
    expectEvent(await lab.next(k.client.ch), CmEvent.DISCONNECTED)
    await lab.pump(() => seen.length >= 2)
    expect(seen).toEqual(['DREQ', 'DREP'])
    expect(k.server.ch.pending).toBe(0) // a destroyed id gets no more events
  })

  it('a REP the active side cannot use (its QP is gone) → CONNECT_ERROR there, REJECTED 28 at the passive side', async () => {
    const lab = makeCmLab()
    const scm = lab.agents[1]!.vm({addresses: [hostIp(1)]})
    const ccm = lab.agents[0]!.vm({addresses: [hostIp(0)]})
    const se = await ep(lab.nics[1]!)
    const l = listen(scm, hostIp(1), PORT)
    const c = await activeId(lab, ccm, await ep(lab.nics[0]!), hostIp(1), PORT)
    await c.id.connect()
    const req = expectEvent(await lab.next(l.ch), CmEvent.CONNECT_REQUEST)
    await c.id.qp!.destroy()
    await req.id.createQp(se.pd, {sendCq: se.cq, recvCq: se.cq, cap: CAP})
    await req.id.accept()
    const e = await lab.next(c.ch)
    expect(e.event).toBe(CmEvent.CONNECT_ERROR)
    expect(e.status).toBe(-22)
    expectEvent(await lab.next(l.ch), CmEvent.REJECTED, RejReason.CONSUMER_DEFINED)
  })

  it('refuses what librdmacm refuses: oversized private data, connect before route, accept without a request', async () => {
    const lab = makeCmLab()
    const ccm = lab.agents[0]!.vm({addresses: [hostIp(0)]})
    const mcm = lab.agents[0]!.vm({vni: 5, addresses: [hostIp(0)]})
    const e = await ep(lab.nics[0]!)
    const c = await activeId(lab, ccm, e, hostIp(1), PORT)
    await expect(c.id.connect({privateData: new Uint8Array(57)})).rejects.toMatchObject({errno: 22})
    const m = await activeId(lab, mcm, e, hostIp(1), PORT)
    await expect(m.id.connect({privateData: new Uint8Array(49)})).rejects.toMatchObject({errno: 22})
    const ch = ccm.createEventChannel()
    const id = ccm.createId(ch)
    await expect(id.connect()).rejects.toMatchObject({errno: 22})
    await expect(c.id.accept()).rejects.toMatchObject({errno: 22})
    expect(() => id.bindAddr({ip: '10.7.7.7', port: 1})).toThrow(/not local/)
  })

  it('a throwing hook never crashes the agent: ingress policy error → REJ 28, resolver error → ADDR_ERROR', async () => {
    const lab = makeCmLab(2, {}, {policy: {onIncomingReq: () => {
      throw new Error('controller unreachable')
    }}})
    const scm = lab.agents[1]!.vm({addresses: [hostIp(1)]})
    const ccm = lab.agents[0]!.vm({addresses: [hostIp(0)]})
    listen(scm, hostIp(1), PORT)
    const c = await activeId(lab, ccm, await ep(lab.nics[0]!), hostIp(1), PORT)
    await c.id.connect()
    expectEvent(await lab.next(c.ch), CmEvent.REJECTED, RejReason.CONSUMER_DEFINED)
    expect(lab.agents[1]!.errors.count).toBe(1)

    const lab2 = makeCmLab(2, {}, {resolve: () => {
      throw new Error('no route')
    }})
    const cm2 = lab2.agents[0]!.vm({addresses: [hostIp(0)]})
    const ch = cm2.createEventChannel()
    const id = cm2.createId(ch)
    id.resolveAddr(undefined, {ip: hostIp(1), port: PORT})
    expect((await lab2.next(ch)).event).toBe(CmEvent.ADDR_ERROR)
    expect(lab2.agents[0]!.errors.count).toBe(1)
  })

  it('resolveAddr with a resolver that never answers → ADDR_ERROR -ETIMEDOUT after timeoutMs', async () => {
    const lab = makeCmLab(2, {}, {resolve: () => new Promise(() => undefined)})
    const cm = lab.agents[0]!.vm({addresses: [hostIp(0)]})
    const ch = cm.createEventChannel()
    const id = cm.createId(ch)
    const t0 = lab.clock.t
    id.resolveAddr(undefined, {ip: hostIp(1), port: PORT}, 500)
    expectEvent(await lab.next(ch), CmEvent.ADDR_ERROR, -110)
    expect(lab.clock.t - t0).toBe(500_000)
  })

  it('a full backlog forgets REQs without a REJ; retransmitted REQs get through once the server fetches', async () => {
    const lab = makeCmLab()
    const scm = lab.agents[1]!.vm({addresses: [hostIp(1)]})
    const ccm = lab.agents[0]!.vm({addresses: [hostIp(0)]})
    const ce = await ep(lab.nics[0]!)
    const se = await ep(lab.nics[1]!)
    const lch = scm.createEventChannel()
    const lid = scm.createId(lch)
    lid.bindAddr({ip: hostIp(1), port: PORT})
    lid.listen(2)
    const clients = []
    for (let i = 0; i < 5; i++) clients.push(await activeId(lab, ccm, ce, hostIp(1), PORT))
    for (const c of clients) await c.id.connect()
    await lab.pump(() => lid.backlogUsed === 2 && lab.agents[1]!.backlogDrops >= 3)
    expect(lab.agents[1]!.engine.stats.sent['REJ']).toBeUndefined()
    let up = 0
    while (up < 5) {
      const e = await lab.next(lch)
      if (e.event === CmEvent.CONNECT_REQUEST) {
        await e.id.createQp(se.pd, {sendCq: se.cq, recvCq: se.cq, cap: CAP})
        await e.id.accept()
      } else {
        expectEvent(e, CmEvent.ESTABLISHED)
        up++
      }
    }
    for (const c of clients) expectEvent(await lab.next(c.ch), CmEvent.ESTABLISHED)
  })

  it('connection tracking: live connections are listed on both hosts; a reset disconnects both ends and flushes', async () => {
    const lab = makeCmLab()
    const k = await establish(lab)
    const [a, b] = [lab.agents[0]!.liveConnections(), lab.agents[1]!.liveConnections()]
    expect(a).toHaveLength(1)
    expect(b).toHaveLength(1)
    expect(a[0]!.tuple).toMatchObject({srcIp: hostIp(0), dstIp: hostIp(1), dstPort: PORT, vni: 0})
    expect(b[0]).toMatchObject({passive: true, tuple: {srcIp: hostIp(0), dstIp: hostIp(1), dstPort: PORT}})
    const buf = k.server.e.mem.alloc(64)
    const mr = await k.server.e.pd.regMr(buf, RW)
    k.server.id.qp!.postRecv({wrId: 77n, sgList: [{addr: buf.addr, length: 64, lkey: mr.lkey}]})
    // a rule change on the passive host no longer allows 10.0.0.1
    expect(await lab.agents[1]!.reset((t) => t.srcIp === hostIp(0))).toBe(1)
    expectEvent(await lab.next(k.client.ch), CmEvent.DISCONNECTED)
    expectEvent(await lab.next(k.server.ch), CmEvent.DISCONNECTED)
    const wcs: Array<{wrId: bigint; status: number}> = []
    await lab.pump(() => {
      wcs.push(...k.server.e.cq.poll(4))
      return wcs.length > 0
    })
    expect(wcs[0]).toMatchObject({wrId: 77n, status: WcStatus.WR_FLUSH_ERR})
    expect((await k.client.id.qp!.query()).qpState).toBe(QpState.ERR)
    expect(lab.agents[0]!.liveConnections()).toHaveLength(0)
    expect(lab.agents[1]!.liveConnections()).toHaveLength(0)
  })

  it('the active side gives up before the accept (destroy in REQ_SENT): REJ TIMEOUT reaches the pending request', async () => {
    const lab = makeCmLab()
    const seen = tapCm(lab)
    const scm = lab.agents[1]!.vm({addresses: [hostIp(1)]})
    const ccm = lab.agents[0]!.vm({addresses: [hostIp(0)]})
    const l = listen(scm, hostIp(1), PORT)
    const c = await activeId(lab, ccm, await ep(lab.nics[0]!), hostIp(1), PORT)
    await c.id.connect()
    const req = expectEvent(await lab.next(l.ch), CmEvent.CONNECT_REQUEST)
    c.id.destroy()
    const e = expectEvent(await lab.next(l.ch), CmEvent.REJECTED, RejReason.TIMEOUT)
    expect(e.id).toBe(req.id)
    expect(seen).toEqual(['REQ', 'MRA', 'REJ'])
    await expect(req.id.accept()).rejects.toMatchObject({errno: 22})
  })
})
