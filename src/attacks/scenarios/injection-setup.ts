// Shared set-up of C10/C12: a sacrificial victim-tenant RC connection blue-1 (host A) → blue-2 (host B) with the
// fixed start PSN of native-verbs applications (ReDMArk V6), and a T2 injector on host C. The suite's own victim
// connection is never the target: an injection that succeeds would be unrecoverable for it.

import {Access} from '../../rdma-constants.js'
import type {Mr, Qp, Region} from '../../verbs/index.js'
import type {AttackEnv} from '../env.js'
import {craftRequest, type CraftedRequest, deltaString, dropDelta} from '../inject.js'
import {oneSided, qpState, sha256} from '../ops.js'
import type {ScenarioContext} from '../types.js'
import {endpoint, type Endpoint} from './common.js'

export interface InjectionTarget {
  peer: Endpoint
  svc: Endpoint
  qa: Qp
  qb: Qp
  target: Region
  targetMr: Mr
  ePsn: number // the responder's expected PSN after the control
  peerIp: string
  svcIp: string
  injectorHost: string
  injectorIp: string
}

export const START_PSN = 0

export async function injectionTarget(env: AttackEnv, ctx: ScenarioContext): Promise<InjectionTarget> {
  const peer = await endpoint(env, 'blue-1')
  const svc = await endpoint(env, 'blue-2')
  const target = svc.vm.memory.alloc(4096, 4096)
  const targetMr = await svc.pd.regMr(target, Access.LOCAL_WRITE | Access.REMOTE_WRITE | Access.REMOTE_READ)
  const [qa, qb] = await env.connectRc({vm: peer.vm, pd: peer.pd, cq: peer.cq}, {vm: svc.vm, pd: svc.pd, cq: svc.cq}, {psnA: START_PSN, psnB: START_PSN})
  peer.buf.bytes.fill(0x11, 0, 64)
  const st = await oneSided(env, qa, peer.cq, 'write', peer.mr, targetMr.addr, targetMr.rkey, 64)
  ctx.control('the legitimate peer\'s WRITE succeeds before the attack', st === 'SUCCESS' && target.bytes[0] === 0x11, st)
  const injectorHost = env.hosts().find((h) => h !== peer.vm.host && h !== svc.vm.host)
  if (!injectorHost) throw new Error('need a third host for the T2 injector')
  return {peer, svc, qa, qb, target, targetMr, ePsn: START_PSN + 1, peerIp: env.hostIp(peer.vm.host), svcIp: env.hostIp(svc.vm.host),
    injectorHost, injectorIp: env.hostIp(injectorHost)}
}

export interface InjectionOutcome {
  placed: boolean // the target MR changed
  drops: Record<string, number>
  responderState: string
  summary: string
}

/** Inject frames from the T2 host, let the fabric settle, and observe the responder side. */
export async function inject(env: AttackEnv, t: InjectionTarget, frames: CraftedRequest[], corrupt = false): Promise<InjectionOutcome> {
  const before = sha256(t.target.bytes)
  const d0 = env.counters(t.svc.vm.host).drops
  for (const f of frames) {
    const buf = craftRequest(f)
    if (corrupt) buf[buf.length - 8] ^= 0x01
    env.injectFrame(t.injectorHost, buf)
  }
  await env.settle()
  const drops = dropDelta(d0, env.counters(t.svc.vm.host).drops)
  const placed = sha256(t.target.bytes) !== before
  const responderState = await qpState(t.qb)
  return {placed, drops, responderState, summary: `${placed ? 'bytes placed' : 'nothing placed'}, ${deltaString(drops)}, responder QP ${responderState}`}
}
