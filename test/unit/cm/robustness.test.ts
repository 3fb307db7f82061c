// rdma_cm under load and impairment: many concurrent connections, frame loss and duplication (MAD retries,
// duplicate handling), a dead peer (UNREACHABLE in bounded virtual time) and MasQ tenants with overlapping vIPs.
import {describe, expect, it} from 'vitest'
import {CmEvent, RejReason, SendFlags, WcStatus, WrOpcode} from '../../../src/rdma-constants.js'
import {parseGidIp} from '../../../src/rnic/av.js'
import {mulberry32} from '../../../src/rnic/port.js'
import type {CmId, EventChannel, RdmaCmEvent} from '../../../src/cm/rdma-cm.js'
import {decodeReqPrivate} from '../../../src/wire/cma.js'
import {decodeCm} from '../../../src/wire/cm.js'
import {decodeFrame} from '../../../src/wire/frame.js'
import {PacketView} from '../../../src/wire/packet.js'
import {activeId, CAP, type CmLab, ep, type Ep, expectEvent, hostIp, listen, makeCmLab, RW} from './helpers.js'

const PORT = 7471

/** Drain events of several channels until `want` events of `kind` were seen; fails on any other event. */
async function collect(lab: CmLab, chs: EventChannel[], kind: number, want: number, onEvent?: (e: RdmaCmEvent) => Promise<void>): Promise<RdmaCmEvent[]> {
  const got: RdmaCmEvent[] = []
  while (got.length < want) {
    await lab.pump(() => chs.some((c) => c.pending > 0))
    for (const c of chs) {
      for (let e = c.tryGet(); e; e = c.tryGet()) {
        if (e.event !== kind) throw new Error(`unexpected ${e.name} status ${e.status} while waiting for ${kind}`)
        got.push(e)
        await onEvent?.(e)
      }
    }
  }
  return got
}

/** n clients on host 0 connect to one listener on host 1; the server accepts every request. */
async function manyConnections(lab: CmLab, n: number): Promise<{clients: Array<{id: CmId; ch: EventChannel}>; servers: CmId[]; ce: Ep; se: Ep; lch: EventChannel}> {
  const scm = lab.agents[1]!.vm({addresses: [hostIp(1)]})
  const ccm = lab.agents[0]!.vm({addresses: [hostIp(0)]})
  const se = await ep(lab.nics[1]!)
  const ce = await ep(lab.nics[0]!)
  const l = listen(scm, hostIp(1), PORT)
  const clients: Array<{id: CmId; ch: EventChannel}> = []
  for (let i = 0; i < n; i++) clients.push(await activeId(lab, ccm, ce, hostIp(1), PORT))
  for (const c of clients) await c.id.connect({responderResources: 1, initiatorDepth: 1})
  // the listener's channel carries each child's CONNECT_REQUEST and later its ESTABLISHED
  const servers: CmId[] = []
  let serverUp = 0
  const clientUp = new Set<CmId>()
  while (serverUp < n || clientUp.size < n) {
    await lab.pump(() => l.ch.pending > 0 || clients.some((c) => c.ch.pending > 0))
    for (let e = l.ch.tryGet(); e; e = l.ch.tryGet()) {
      if (e.event === CmEvent.CONNECT_REQUEST) {
        await e.id.createQp(se.pd, {sendCq: se.cq, recvCq: se.cq, cap: CAP})
        await e.id.accept()
        servers.push(e.id)
      } else {
        expectEvent(e, CmEvent.ESTABLISHED)
        serverUp++
      }
    }
    for (const c of clients) {
      for (let e = c.ch.tryGet(); e; e = c.ch.tryGet()) clientUp.add(expectEvent(e, CmEvent.ESTABLISHED).id)
    }
  }
  return {clients, servers, ce, se, lch: l.ch}
}

async function sendVerified(lab: CmLab, ce: Ep, se: Ep, a: CmId, b: CmId, seed: number): Promise<void> {
  const src = ce.mem.alloc(2048)
  const r = mulberry32(seed)
  for (let i = 0; i < src.length; i++) src.bytes[i] = (r() * 256) | 0
  const dst = se.mem.alloc(2048)
  const smr = await ce.pd.regMr(src, 0)
  const dmr = await se.pd.regMr(dst, RW)
  b.qp!.postRecv({wrId: BigInt(seed), sgList: [{addr: dst.addr, length: 2048, lkey: dmr.lkey}]})
  a.qp!.postSend({wrId: BigInt(seed), opcode: WrOpcode.SEND, sendFlags: SendFlags.SIGNALED, sgList: [{addr: src.addr, length: 2048, lkey: smr.lkey}]})
  a.qp!.postSend({wrId: BigInt(seed + 1), opcode: WrOpcode.RDMA_WRITE, sendFlags: SendFlags.SIGNALED, rdma: {remoteAddr: dmr.addr, rkey: dmr.rkey},
    sgList: [{addr: src.addr, length: 1024, lkey: smr.lkey}]})
  const wcs: Array<{status: number; qpNum: number}> = []
  await lab.pump(() => {
    wcs.push(...ce.cq.poll(8), ...se.cq.poll(8))
    return wcs.length >= 3
  })
  expect(wcs.every((w) => w.status === WcStatus.SUCCESS)).toBe(true)
  expect(Buffer.from(dst.bytes).equals(Buffer.from(src.bytes))).toBe(true)
}

describe('rdma_cm at scale and under impairment', () => {
  it('100 concurrent connections between two hosts all reach ESTABLISHED, with distinct comm ids and QPs', async () => {
    const lab = makeCmLab()
    const {clients, servers} = await manyConnections(lab, 100)
    expect(servers.length).toBe(100)
    expect(new Set(clients.map((c) => c.id.conn!.localCommId)).size).toBe(100)
    expect(new Set(servers.map((s) => s.conn!.remoteQpn)).size).toBe(100)
    expect(lab.agents[0]!.engine.connections).toBe(100)
    expect(lab.agents[1]!.engine.connections).toBe(100)
    expect(clients.every((c) => c.id.conn!.state === 'ESTABLISHED')).toBe(true)
  }, 60_000)

  it('5% frame loss: connections still establish (MAD retries), data verifies, disconnects complete', async () => {
    const lab = makeCmLab(2, {seed: 7, impairments: {loss: 0.05}})
    const {clients, servers, ce, se} = await manyConnections(lab, 12)
    const byQpn = new Map(servers.map((s) => [s.conn!.remoteQpn, s]))
    for (let i = 0; i < clients.length; i++) {
      const c = clients[i]!.id
      await sendVerified(lab, ce, se, c, byQpn.get(c.qpNum!)!, 100 + 2 * i)
    }
    for (const c of clients) await c.id.disconnect()
    const disc = await collect(lab, clients.map((c) => c.ch), CmEvent.DISCONNECTED, 12)
    // a lost DREP ends in DREQ_ERROR (-ETIMEDOUT) only after all retries: with 5% loss every DREQ gets through
    expect(disc.every((e) => e.status === 0)).toBe(true)
    expect(lab.fabric.stats.lost).toBeGreaterThan(0)
    expect(lab.agents[0]!.engine.stats.retransmits + lab.agents[1]!.engine.stats.retransmits).toBeGreaterThan(0)
  }, 60_000)

  it('every frame duplicated: one CONNECT_REQUEST per connection, duplicates answered, data verifies', async () => {
    const lab = makeCmLab(2, {seed: 3, impairments: {duplicate: 1}})
    const {clients, servers, ce, se} = await manyConnections(lab, 3)
    expect(servers.length).toBe(3)
    expect(lab.agents[1]!.engine.connections).toBe(3)
    expect(lab.agents[1]!.engine.stats.drops['duplicate_req']).toBeGreaterThanOrEqual(3)
    await sendVerified(lab, ce, se, clients[0]!.id, servers.find((s) => s.conn!.remoteQpn === clients[0]!.id.qpNum)!, 5)
  })

  it('dead peer (100% loss) → UNREACHABLE with -ETIMEDOUT after max CM retries, in bounded virtual time', async () => {
    const lab = makeCmLab(2, {impairments: {loss: 1}})
    const ccm = lab.agents[0]!.vm({addresses: [hostIp(0)]})
    const c = await activeId(lab, ccm, await ep(lab.nics[0]!), hostIp(1), PORT)
    const t0 = lab.clock.t
    await c.id.connect()
    const e = await lab.next(c.ch, 60e6)
    expectEvent(e, CmEvent.UNREACHABLE, -110)
    const eng = lab.agents[0]!.engine
    expect(eng.stats.sent['REQ']).toBe(1 + eng.timeouts.maxCmRetries)
    expect(lab.clock.t - t0).toBeLessThan(10e6)
    expect(eng.connections).toBe(0)
  })

  it('peer dies after REP: the passive side reports UNREACHABLE when its REP is never answered', async () => {
    const lab = makeCmLab()
    const scm = lab.agents[1]!.vm({addresses: [hostIp(1)]})
    const ccm = lab.agents[0]!.vm({addresses: [hostIp(0)]})
    const se = await ep(lab.nics[1]!)
    const l = listen(scm, hostIp(1), PORT)
    const c = await activeId(lab, ccm, await ep(lab.nics[0]!), hostIp(1), PORT)
    await c.id.connect()
    const req = expectEvent(await lab.next(l.ch), CmEvent.CONNECT_REQUEST)
    await req.id.createQp(se.pd, {sendCq: se.cq, recvCq: se.cq, cap: CAP})
    lab.fabric.impairments = {loss: 1}
    await req.id.accept()
    expectEvent(await lab.next(l.ch, 60e6), CmEvent.UNREACHABLE, -110)
  })
})

describe('MasQ tenants', () => {
  it('overlapping vIPs in two VNIs reach their own listener; the REQ carries the MasQ header', async () => {
    // host 1 runs two VMs with the same vIP 192.168.0.2 in VNI 100 and VNI 200; host 0 a VM 192.168.0.1 in each
    const where = (vni: number, ip: number): number | undefined => {
      const s = `${vni}/${ip}`
      const map: Record<string, string> = {
        [`100/${parseGidIp('192.168.0.2')}`]: hostIp(1), [`200/${parseGidIp('192.168.0.2')}`]: hostIp(1),
        [`100/${parseGidIp('192.168.0.1')}`]: hostIp(0), [`200/${parseGidIp('192.168.0.1')}`]: hostIp(0),
      }
      return map[s] ? parseGidIp(map[s]!) : undefined
    }
    const reqs: Uint8Array[] = []
    const lab = makeCmLab(2, {}, {
      resolve: (vni, ip) => {
        const w = where(vni, ip)
        return w === undefined ? undefined : {wireIp: w, reachable: true}
      },
      translate: (vni, ip) => where(vni, ip) ?? ip,
      policy: {onIncomingReq: (ctx) => {
        reqs.push(Uint8Array.of(ctx.vni))
        return {allow: true}
      }},
    })
    const chans: Record<number, EventChannel> = {}
    for (const vni of [100, 200]) {
      const cm = lab.agents[1]!.vm({vni, addresses: ['192.168.0.2']})
      chans[vni] = listen(cm, '192.168.0.2', PORT).ch
    }
    const seenVni: number[] = []
    const pv = new PacketView()
    lab.fabric.tap = (f, o, l) => {
      if (decodeFrame(f, o, l, pv) !== 0 || pv.destQp !== 1) return
      const m = decodeCm(f.subarray(pv.payloadOff, pv.payloadOff + 256))
      if (m instanceof Error || m.type !== 'REQ') return
      const priv = decodeReqPrivate(m.privateData)
      if (!(priv instanceof Error) && priv.masq) seenVni.push(priv.masq.vni)
    }
    for (const vni of [200, 100]) {
      const cm = lab.agents[0]!.vm({vni, addresses: ['192.168.0.1']})
      const c = await activeId(lab, cm, await ep(lab.nics[0]!), '192.168.0.2', PORT)
      await c.id.connect({privateData: Uint8Array.of(vni & 0xff)})
      const e = expectEvent(await lab.next(chans[vni]!), CmEvent.CONNECT_REQUEST)
      expect(e.param.conn.privateData.length).toBe(48)
      expect(e.param.conn.privateData[0]).toBe(vni & 0xff)
      expect(e.id.peerAddr!.ip).toBe('192.168.0.1')
      expect(chans[vni === 100 ? 200 : 100]!.pending).toBe(0)
    }
    expect(seenVni).toEqual([200, 100])
    expect(reqs.map((r) => r[0])).toEqual([200 & 0xff, 100 & 0xff])
  })

  it('a REQ from a VNI without a listener is rejected with 8 even when another tenant listens on that vIP', async () => {
    const lab = makeCmLab()
    const scm = lab.agents[1]!.vm({vni: 100, addresses: [hostIp(1)]})
    listen(scm, hostIp(1), PORT)
    const ccm = lab.agents[0]!.vm({vni: 101, addresses: [hostIp(0)]})
    const c = await activeId(lab, ccm, await ep(lab.nics[0]!), hostIp(1), PORT)
    await c.id.connect()
    expectEvent(await lab.next(c.ch), CmEvent.REJECTED, RejReason.INVALID_SERVICE_ID)
  })
})
