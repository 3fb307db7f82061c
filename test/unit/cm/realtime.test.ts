// rdma_cm on the real event loop, the way a VM worker uses it: RnicDriver pumps the RNICs and the fabric,
// CmTimerDriver runs the CM timers, and the application just awaits getCmEvent(). No manual pump, no clock jumps.
import {afterEach, describe, expect, it} from 'vitest'
import {CmEvent, SendFlags, WcStatus, WrOpcode} from '../../../src/rdma-constants.js'
import {LoopbackFabric, mulberry32} from '../../../src/rnic/port.js'
import {RnicDriver} from '../../../src/rnic/pump.js'
import {Rnic} from '../../../src/rnic/rnic.js'
import {CmAgent, type RdmaCmEvent} from '../../../src/cm/index.js'
import {CmTimerDriver} from '../../../src/cm/driver.js'
import {RnicMadTransport} from '../../../src/cm/transport.js'
import type {Cq, Wc} from '../../../src/verbs/index.js'
import {CAP, ep, hostIp, RW} from './helpers.js'

const stops: Array<() => void> = []
afterEach(() => {
  while (stops.length) stops.pop()!()
})

function realLab(loss = 0): {nics: Rnic[]; agents: CmAgent[]} {
  const fabric = new LoopbackFabric({seed: 11, impairments: {loss}})
  const nics = [0, 1].map((i) => new Rnic({name: `rxe${i}`, gids: [hostIp(i)], random: mulberry32(i + 1)}))
  nics.forEach((n) => fabric.attach(n))
  const driver = new RnicDriver(nics, fabric)
  driver.start()
  stops.push(() => driver.stop())
  // short CM timers so that lost MADs are re-sent within milliseconds
  const agents = nics.map((n, i) => new CmAgent({transport: new RnicMadTransport(n), clock: n.clock,
    random: mulberry32(50 + i), timeouts: {cmResponseTimeout: 14, packetLifeTime: 8, maxCmRetries: 15, timewaitUs: 5000},
    localAckTimeout: 12}))
  for (const a of agents) {
    const d = new CmTimerDriver(a.engine)
    d.start()
    stops.push(() => d.stop())
  }
  return {nics, agents}
}

async function pollUntil(cq: Cq, n: number): Promise<Wc[]> {
  const out: Wc[] = []
  while (out.length < n) {
    out.push(...cq.poll(n - out.length))
    if (out.length < n) await new Promise((r) => setTimeout(r, 1))
  }
  return out
}

function expectEv(e: RdmaCmEvent, event: number, status = 0): RdmaCmEvent {
  expect({name: e.name, status: e.status}).toEqual({name: Object.keys(CmEvent)[event], status})
  return e
}

describe('rdma_cm on the event loop (real time)', () => {
  for (const loss of [0, 0.05]) {
    it(`connect, SEND with verified data, disconnect${loss ? ' with 5% frame loss' : ''}`, async () => {
      const {nics, agents} = realLab(loss)
      const scm = agents[1]!.vm({addresses: [hostIp(1)]})
      const ccm = agents[0]!.vm({addresses: [hostIp(0)]})
      const se = await ep(nics[1]!)
      const ce = await ep(nics[0]!)
      const lch = scm.createEventChannel()
      const lid = scm.createId(lch)
      lid.bindAddr({ip: hostIp(1), port: 9999})
      lid.listen()

      const cch = ccm.createEventChannel()
      const id = ccm.createId(cch)
      id.resolveAddr(undefined, {ip: hostIp(1), port: 9999})
      ccm.ackCmEvent(expectEv(await ccm.getCmEvent(cch), CmEvent.ADDR_RESOLVED))
      id.resolveRoute()
      ccm.ackCmEvent(expectEv(await ccm.getCmEvent(cch), CmEvent.ROUTE_RESOLVED))
      await id.createQp(ce.pd, {sendCq: ce.cq, recvCq: ce.cq, cap: CAP})
      await id.connect()

      const req = expectEv(await scm.getCmEvent(lch), CmEvent.CONNECT_REQUEST)
      const sid = req.id
      scm.ackCmEvent(req)
      await sid.createQp(se.pd, {sendCq: se.cq, recvCq: se.cq, cap: CAP})
      const dst = se.mem.alloc(4096)
      const dmr = await se.pd.regMr(dst, RW)
      sid.qp!.postRecv({wrId: 1n, sgList: [{addr: dst.addr, length: 4096, lkey: dmr.lkey}]})
      await sid.accept()
      expectEv(await ccm.getCmEvent(cch), CmEvent.ESTABLISHED)
      expectEv(await scm.getCmEvent(lch), CmEvent.ESTABLISHED)

      const src = ce.mem.alloc(4096)
      const r = mulberry32(9)
      for (let i = 0; i < 4096; i++) src.bytes[i] = (r() * 256) | 0
      const smr = await ce.pd.regMr(src, 0)
      id.qp!.postSend({wrId: 2n, opcode: WrOpcode.SEND, sendFlags: SendFlags.SIGNALED, sgList: [{addr: src.addr, length: 4096, lkey: smr.lkey}]})
      expect((await pollUntil(ce.cq, 1))[0]!.status).toBe(WcStatus.SUCCESS)
      expect((await pollUntil(se.cq, 1))[0]!.status).toBe(WcStatus.SUCCESS)
      expect(Buffer.from(dst.bytes).equals(Buffer.from(src.bytes))).toBe(true)

      await sid.disconnect()
      expectEv(await ccm.getCmEvent(cch), CmEvent.DISCONNECTED)
      expectEv(await scm.getCmEvent(lch), CmEvent.DISCONNECTED)
      expectEv(await ccm.getCmEvent(cch), CmEvent.TIMEWAIT_EXIT)
      expectEv(await scm.getCmEvent(lch), CmEvent.TIMEWAIT_EXIT)
      id.destroy()
      sid.destroy()
      lid.destroy()
    })
  }

  it('a dead peer ends in UNREACHABLE (-ETIMEDOUT), not a hang', async () => {
    const {nics, agents} = realLab(1)
    const ccm = agents[0]!.vm({addresses: [hostIp(0)]})
    const ce = await ep(nics[0]!)
    const cch = ccm.createEventChannel()
    const id = ccm.createId(cch)
    id.resolveAddr(undefined, {ip: hostIp(1), port: 9999})
    expectEv(await ccm.getCmEvent(cch), CmEvent.ADDR_RESOLVED)
    id.resolveRoute()
    expectEv(await ccm.getCmEvent(cch), CmEvent.ROUTE_RESOLVED)
    await id.createQp(ce.pd, {sendCq: ce.cq, recvCq: ce.cq, cap: CAP})
    await id.connect()
    expectEv(await ccm.getCmEvent(cch), CmEvent.UNREACHABLE, -110)
  })
})
