// Shared fixtures for the RNIC tests: two (or more) in-process RNICs on a LoopbackFabric with a manual clock,
// endpoints with VM memory, and RC/UC/UD connection set-up the way rdma_cm would do it.

import {Access, Mtu, QpAttrMask as M, QpState} from '../../../src/rdma-constants.js'
import {ManualClock} from '../../../src/rnic/clock.js'
import {type FabricOptions, LoopbackFabric, mulberry32} from '../../../src/rnic/port.js'
import {type RunOptions, runUntilIdle} from '../../../src/rnic/pump.js'
import {type AsyncEventRecord, Rnic, type RnicOptions} from '../../../src/rnic/rnic.js'
import {type Cq, type Context, openDevice, type Pd, type Qp, VmMemory} from '../../../src/verbs/index.js'

export interface Lab {
  clock: ManualClock
  fabric: LoopbackFabric
  nics: Rnic[]
  events: AsyncEventRecord[]
  run(o?: RunOptions): number
}

export function makeLab(n = 2, fabricOpts: FabricOptions = {}, nicOpts: Partial<RnicOptions> = {}): Lab {
  const clock = new ManualClock()
  const fabric = new LoopbackFabric({clock, ...fabricOpts})
  const events: AsyncEventRecord[] = []
  const nics: Rnic[] = []
  for (let i = 0; i < n; i++) {
    const nic = new Rnic({name: `rxe${i}`, gids: [`10.0.0.${i + 1}`], clock, random: mulberry32(100 + i),
      onAsyncEvent: (e) => events.push(e), ...nicOpts})
    fabric.attach(nic)
    nics.push(nic)
  }
  return {clock, fabric, nics, events, run: (o = {}) => runUntilIdle(nics, fabric, {clock, ...o})}
}

export interface Endpoint {
  nic: Rnic
  mem: VmMemory
  ctx: Context
  pd: Pd
  cq: Cq
  ip: string
}

export async function endpoint(nic: Rnic, memSize = 1 << 20, cqDepth = 1024): Promise<Endpoint> {
  const mem = new VmMemory(memSize)
  const ctx = await openDevice(nic, {memory: mem})
  const pd = await ctx.allocPd()
  const cq = await ctx.createCq(cqDepth)
  return {nic, mem, ctx, pd, cq, ip: ctx.queryGid(0).replace('::ffff:', '')}
}

export interface ConnOpts {
  type?: 'RC' | 'UC'
  accessA?: number
  accessB?: number
  mtu?: number // ibv_mtu enum
  sqPsnA?: number
  sqPsnB?: number
  timeout?: number
  retryCnt?: number
  rnrRetry?: number
  minRnrTimer?: number
  maxRd?: number
  trafficClass?: number
  hopLimit?: number
  cap?: {maxSendWr?: number; maxRecvWr?: number; maxSendSge?: number; maxRecvSge?: number; maxInlineData?: number}
}

export const ALL_REMOTE = Access.LOCAL_WRITE | Access.REMOTE_WRITE | Access.REMOTE_READ | Access.REMOTE_ATOMIC

async function toRts(qp: Qp, self: Endpoint, peer: Endpoint, peerQpn: number, o: ConnOpts, access: number, rqPsn: number,
  sqPsn: number): Promise<void> {
  const rc = (o.type ?? 'RC') === 'RC'
  await qp.modify({qpState: QpState.INIT, pkeyIndex: 0, portNum: 1, qpAccessFlags: access}, M.STATE | M.PKEY_INDEX | M.PORT | M.ACCESS_FLAGS)
  await qp.modify({
    qpState: QpState.RTR, pathMtu: o.mtu ?? Mtu[1024], destQpNum: peerQpn, rqPsn, maxDestRdAtomic: o.maxRd ?? 16,
    minRnrTimer: o.minRnrTimer ?? 12,
    ahAttr: {dgid: peer.ip, sgidIndex: 0, trafficClass: o.trafficClass, hopLimit: o.hopLimit},
  }, M.STATE | M.AV | M.PATH_MTU | M.DEST_QPN | M.RQ_PSN | (rc ? M.MAX_DEST_RD_ATOMIC | M.MIN_RNR_TIMER : 0))
  await qp.modify({qpState: QpState.RTS, sqPsn, timeout: o.timeout ?? 14, retryCnt: o.retryCnt ?? 7, rnrRetry: o.rnrRetry ?? 7, maxRdAtomic: o.maxRd ?? 16},
    M.STATE | M.SQ_PSN | (rc ? M.TIMEOUT | M.RETRY_CNT | M.RNR_RETRY | M.MAX_QP_RD_ATOMIC : 0))
  void self
}

export async function connect(a: Endpoint, b: Endpoint, o: ConnOpts = {}): Promise<[Qp, Qp]> {
  const type = o.type ?? 'RC'
  const cap = {maxSendWr: 256, maxRecvWr: 256, maxSendSge: 4, maxRecvSge: 4, maxInlineData: 64, ...o.cap}
  const qa = await a.pd.createQp({type, sendCq: a.cq, recvCq: a.cq, cap})
  const qb = await b.pd.createQp({type, sendCq: b.cq, recvCq: b.cq, cap})
  const psnA = o.sqPsnA ?? 0x100
  const psnB = o.sqPsnB ?? 0x200
  await toRts(qa, a, b, qb.qpn, o, o.accessA ?? ALL_REMOTE, psnB, psnA)
  await toRts(qb, b, a, qa.qpn, o, o.accessB ?? ALL_REMOTE, psnA, psnB)
  return [qa, qb]
}

export function fill(bytes: Uint8Array, seed: number): void {
  const r = mulberry32(seed)
  for (let i = 0; i < bytes.length; i++) bytes[i] = (r() * 256) | 0
}
