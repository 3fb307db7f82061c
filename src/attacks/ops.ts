// Small verbs recipes shared by the scenarios and the victim: post one WR and wait for its completion, one-sided
// operations by name, hashes of memory. Everything goes through the public verbs API and env.settle().

import {createHash} from 'node:crypto'
import {QpState, SendFlags, WcStatus, WrOpcode} from '../rdma-constants.js'
import {crc32Update} from '../wire/crc.js'
import type {Cq, Mr, Qp, Region, SendWr, Wc} from '../verbs/index.js'
import {VerbsError} from '../verbs/index.js'
import type {AttackEnv} from './env.js'

const STATUS_NAME = Object.fromEntries(Object.entries(WcStatus).map(([k, v]) => [v, k])) as Record<number, string>
const STATE_NAME = Object.fromEntries(Object.entries(QpState).map(([k, v]) => [v, k])) as Record<number, string>

export const statusName = (s: number): string => STATUS_NAME[s] ?? `status ${s}`
export const stateName = (s: number): string => STATE_NAME[s] ?? `state ${s}`

export function sha256(b: Uint8Array): string {
  return createHash('sha256').update(b).digest('hex').slice(0, 16)
}

export function checksum(b: Uint8Array): number {
  return crc32Update(0xffffffff, b, 0, b.length) >>> 0
}

let nextWrId = 0x5a000000n

/** Post one signaled WR and settle until its completion arrives. Returns the WC, or undefined on time-out. */
export async function postAndWait(env: AttackEnv, qp: Qp, cq: Cq, wr: SendWr): Promise<Wc | undefined> {
  const wrId = nextWrId++
  try {
    qp.postSend({...wr, wrId, sendFlags: (wr.sendFlags ?? 0) | SendFlags.SIGNALED})
  } catch (e) {
    if (e instanceof VerbsError) return {wrId, status: -e.errno} as Wc
    throw e
  }
  let found: Wc | undefined
  const take = () => {
    if (found) return true
    for (const wc of cq.poll(16)) if (wc.wrId === wrId) found = wc
    return found !== undefined
  }
  await env.settle({until: take})
  take()
  return found
}

export type OneSided = 'write' | 'read' | 'cas' | 'faa'

/** One one-sided operation; local is the attacker's own buffer (MR). Returns the status name ('SUCCESS', ...). */
export async function oneSided(env: AttackEnv, qp: Qp, cq: Cq, op: OneSided, local: Mr, remoteAddr: bigint, rkey: number,
  length: number): Promise<string> {
  const sge = length > 0 ? [{addr: local.addr, length, lkey: local.lkey}] : []
  let wr: SendWr
  if (op === 'write') wr = {opcode: WrOpcode.RDMA_WRITE, sgList: sge, rdma: {remoteAddr, rkey}}
  else if (op === 'read') wr = {opcode: WrOpcode.RDMA_READ, sgList: sge, rdma: {remoteAddr, rkey}}
  else {
    wr = {opcode: op === 'cas' ? WrOpcode.ATOMIC_CMP_AND_SWP : WrOpcode.ATOMIC_FETCH_AND_ADD,
      sgList: [{addr: local.addr, length: 8, lkey: local.lkey}], atomic: {remoteAddr, rkey, compareAdd: 0n, swap: 0x4141414141414141n}}
  }
  const wc = await postAndWait(env, qp, cq, wr)
  if (!wc) return 'NO_COMPLETION'
  if (wc.status < 0) return `post_send errno ${-wc.status}`
  return statusName(wc.status)
}

export async function qpState(qp: Qp): Promise<string> {
  try {
    return stateName((await qp.query()).qpState ?? -1)
  } catch (e) {
    return e instanceof VerbsError ? `query errno ${e.errno}` : String(e)
  }
}

/** Fill a region with a recognisable attacker marker. */
export function mark(r: Region, byte = 0xee): void {
  r.bytes.fill(byte)
}

/** errno of a control verb that is expected to fail, or 'OK' when it succeeded (the caller cleans up). */
export async function errnoOf(p: Promise<unknown>): Promise<string> {
  try {
    await p
    return 'OK'
  } catch (e) {
    if (e instanceof VerbsError) return errnoName(e.errno)
    throw e
  }
}

const ERRNO_NAMES: Record<number, string> = {1: 'EPERM', 2: 'ENOENT', 11: 'EAGAIN', 12: 'ENOMEM', 14: 'EFAULT', 16: 'EBUSY', 22: 'EINVAL', 122: 'EDQUOT'}
export const errnoName = (n: number): string => ERRNO_NAMES[n] ?? `errno ${n}`
