// Building blocks of the scenarios: an endpoint (device, PD, CQ, a registered buffer) in a VM, a connection, and
// probe recording for one-sided operations whose correct outcome is a remote error.

import {Access} from '../../rdma-constants.js'
import type {Context, Cq, Mr, Pd, Qp, Region} from '../../verbs/index.js'
import type {AttackEnv, AttackVm} from '../env.js'
import {oneSided, type OneSided, qpState} from '../ops.js'
import type {ScenarioContext} from '../types.js'

export const LOCAL = Access.LOCAL_WRITE
export const ALL_REMOTE = Access.LOCAL_WRITE | Access.REMOTE_WRITE | Access.REMOTE_READ | Access.REMOTE_ATOMIC

export interface Endpoint {
  vm: AttackVm
  ctx: Context
  pd: Pd
  cq: Cq
  buf: Region
  mr: Mr // local-write buffer for the endpoint's own WQEs
}

export async function endpoint(env: AttackEnv, vmName: string, bufBytes = 16384): Promise<Endpoint> {
  const vm = env.vm(vmName)
  const ctx = await vm.open()
  const pd = await ctx.allocPd()
  const cq = await ctx.createCq(256)
  const buf = vm.memory.alloc(bufBytes, 4096)
  const mr = await pd.regMr(buf, LOCAL)
  return {vm, ctx, pd, cq, buf, mr}
}

/** A second PD in the same VM and context (its own objects). */
export async function otherPd(ep: Endpoint): Promise<Endpoint> {
  const pd = await ep.ctx.allocPd()
  const buf = ep.vm.memory.alloc(4096, 4096)
  return {...ep, pd, buf, mr: await pd.regMr(buf, LOCAL)}
}

export function connect(env: AttackEnv, a: Endpoint, b: Endpoint, accessB?: number): Promise<[Qp, Qp]> {
  return env.connectRc({vm: a.vm, pd: a.pd, cq: a.cq}, {vm: b.vm, pd: b.pd, cq: b.cq, access: accessB})
}

export interface AttemptSpec {
  name: string
  op: OneSided
  remoteAddr: bigint
  rkey: number
  length: number
  expect: string // status name that means "denied"
}

/**
 * One remote-access attempt over the attacker's own connection (qa → responder qb): records a probe that is ok
 * when the WC status is the expected denial, and checks that the attacker QP went to ERR (RC class C).
 */
export async function attempt(env: AttackEnv, ctx: ScenarioContext, atk: Endpoint, qa: Qp, qb: Qp, a: AttemptSpec): Promise<string> {
  const observed = await oneSided(env, qa, atk.cq, a.op, atk.mr, a.remoteAddr, a.rkey, a.length)
  const st = await qpState(qa)
  const peer = await qpState(qb)
  ctx.probe({name: a.name, want: 'denied', expected: `${a.expect}, attacker QP ERR`, observed: `${observed}, attacker QP ${st}, responder QP ${peer}`,
    ok: observed === a.expect && st === 'ERR'})
  return observed
}

/** Reconnect per guess (ReDMArk A3): every miss costs the attacker its QP and the responder's. */
export async function withFreshConnection<T>(env: AttackEnv, a: Endpoint, b: Endpoint, fn: (qa: Qp, qb: Qp) => Promise<T>, accessB?: number): Promise<T> {
  const [qa, qb] = await connect(env, a, b, accessB)
  try {
    return await fn(qa, qb)
  } finally {
    await qa.destroy()
    await qb.destroy()
  }
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i])
}
