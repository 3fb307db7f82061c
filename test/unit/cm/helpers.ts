// In-process CM lab: RNICs on a LoopbackFabric with a manual clock, one CmAgent per host on the RNIC's GSI path,
// and an async pump that also fires CM timers and lets the (promise-based) verbs calls run.

import {Access, CmEvent} from '../../../src/rdma-constants.js'
import {ManualClock} from '../../../src/rnic/clock.js'
import {type FabricOptions, LoopbackFabric, mulberry32} from '../../../src/rnic/port.js'
import {Rnic} from '../../../src/rnic/rnic.js'
import {CmAgent, type CmAgentOptions, type CmId, type EventChannel, type RdmaCm, type RdmaCmEvent} from '../../../src/cm/index.js'
import {type MadTransport, RnicMadTransport} from '../../../src/cm/transport.js'
import {type Context, type Cq, openDevice, type Pd, VmMemory} from '../../../src/verbs/index.js'

export interface CmLab {
  clock: ManualClock
  fabric: LoopbackFabric
  nics: Rnic[]
  agents: CmAgent[]
  pump(cond: () => boolean, maxUs?: number): Promise<void>
  next(ch: EventChannel, maxUs?: number): Promise<RdmaCmEvent>
}

export function hostIp(i: number): string {
  return `10.0.0.${i + 1}`
}

export function makeCmLab(n = 2, fabricOpts: FabricOptions = {}, agentOpts: Partial<CmAgentOptions> = {},
  transport: (nic: Rnic) => MadTransport = (nic) => new RnicMadTransport(nic)): CmLab {
  const clock = new ManualClock()
  const fabric = new LoopbackFabric({clock, ...fabricOpts})
  const nics: Rnic[] = []
  const agents: CmAgent[] = []
  for (let i = 0; i < n; i++) {
    const nic = new Rnic({name: `rxe${i}`, gids: [hostIp(i)], clock, random: mulberry32(100 + i)})
    fabric.attach(nic)
    nics.push(nic)
    agents.push(new CmAgent({transport: transport(nic), clock, random: mulberry32(200 + i), ...agentOpts}))
  }
  async function pump(cond: () => boolean, maxUs = 600e6): Promise<void> {
    const limit = clock.t + maxUs
    let idle = 0
    for (;;) {
      if (cond()) return
      let work = 0
      for (const nic of nics) work += nic.poll(64)
      work += fabric.deliver()
      for (const a of agents) work += a.engine.poll()
      await new Promise((r) => setImmediate(r))
      if (work > 0) {
        idle = 0
        continue
      }
      if (++idle < 3) continue // let promise continuations (verbs calls) post more work first
      idle = 0
      let d = fabric.nextDeadline()
      for (const nic of nics) d = Math.min(d, nic.nextDeadline())
      for (const a of agents) d = Math.min(d, a.engine.nextDeadline())
      if (d === Infinity || d > limit) {
        if (cond()) return
        throw new Error(`CM lab stalled at t=${clock.t} µs (next deadline ${d})`)
      }
      if (d > clock.t) clock.t = d
    }
  }
  async function next(ch: EventChannel, maxUs?: number): Promise<RdmaCmEvent> {
    await pump(() => ch.pending > 0, maxUs)
    return ch.tryGet()!
  }
  return {clock, fabric, nics, agents, pump, next}
}

export interface Ep {
  mem: VmMemory
  ctx: Context
  pd: Pd
  cq: Cq
}

export async function ep(nic: Rnic): Promise<Ep> {
  const mem = new VmMemory(1 << 20)
  const ctx = await openDevice(nic, {memory: mem})
  const pd = await ctx.allocPd()
  const cq = await ctx.createCq(1024)
  return {mem, ctx, pd, cq}
}

export const CAP = {maxSendWr: 64, maxRecvWr: 64, maxSendSge: 1, maxRecvSge: 1}
export const RW = Access.LOCAL_WRITE | Access.REMOTE_WRITE | Access.REMOTE_READ

/** Listen on `ip:port` and return the listening id and its channel. */
export function listen(cm: RdmaCm, ip: string, port: number): {ch: EventChannel; id: CmId} {
  const ch = cm.createEventChannel()
  const id = cm.createId(ch, 'listener')
  id.bindAddr({ip, port})
  id.listen(16)
  return {ch, id}
}

export function expectEvent(e: RdmaCmEvent, event: number, status = 0): RdmaCmEvent {
  if (e.event !== event || e.status !== status) {
    throw new Error(`expected ${Object.keys(CmEvent)[event]} status ${status}, got ${e.name} status ${e.status}`)
  }
  return e
}

/** Active side up to ROUTE_RESOLVED with a QP in INIT. */
export async function activeId(lab: CmLab, cm: RdmaCm, e: Ep, dst: string, port: number): Promise<{ch: EventChannel; id: CmId}> {
  const ch = cm.createEventChannel()
  const id = cm.createId(ch, 'client')
  id.resolveAddr(undefined, {ip: dst, port})
  cm.ackCmEvent(expectEvent(await lab.next(ch), CmEvent.ADDR_RESOLVED))
  id.resolveRoute()
  cm.ackCmEvent(expectEvent(await lab.next(ch), CmEvent.ROUTE_RESOLVED))
  await id.createQp(e.pd, {sendCq: e.cq, recvCq: e.cq, cap: CAP})
  return {ch, id}
}
