// The VM-side provider: a libibverbs-like API (pyverbs/libibverbs names in camelCase). Control verbs go through a
// ControlChannel and are async; data verbs (postSend, postRecv, poll) touch only the shared rings and the
// doorbell, never a message.

import {Errno, QpAttrMask, QpState, QpType, SendFlags, WrOpcode} from '../rdma-constants.js'
import type {AhAttr} from '../rnic/av.js'
import {parseGidIp} from '../rnic/av.js'
import type {QpAttr, QpCap} from '../rnic/qp.js'
import * as Q from '../rnic/queue.js'
import {isRnicError, type RnicError} from '../rnic/errors.js'
import type {Rnic} from '../rnic/rnic.js'
import {type CommandName, type ControlChannel, InProcessChannel, type RnicCommands} from './channel.js'
import {hi32, lo32, type Region, type U64, type VmMemory} from './memory.js'

export class VerbsError extends Error {
  constructor(readonly errno: number, message: string) {
    super(message)
    this.name = 'VerbsError'
  }
}

async function call<K extends CommandName>(ch: ControlChannel, cmd: K, ...args: Parameters<RnicCommands[K]>): Promise<Exclude<ReturnType<RnicCommands[K]>, RnicError>> {
  const r = await ch.call(cmd, ...args)
  if (isRnicError(r)) throw new VerbsError(r.errno, `${cmd}: ${r.message}`)
  return r as Exclude<ReturnType<RnicCommands[K]>, RnicError>
}

const einval = (m: string) => new VerbsError(Errno.EINVAL, m)

export interface Sge {
  addr: U64
  length: number
  lkey: number
}

export interface SendWr {
  wrId?: U64
  opcode?: number // WrOpcode, default SEND
  sendFlags?: number
  sgList?: Sge[]
  immData?: number // host-order value of the 32-bit wire field
  invalidateRkey?: number
  rdma?: {remoteAddr: U64; rkey: number}
  atomic?: {remoteAddr: U64; compareAdd: U64; swap?: U64; rkey: number}
  ud?: {ah: Ah; remoteQpn: number; remoteQkey: number}
}

export interface RecvWr {
  wrId?: U64
  sgList?: Sge[]
}

/** struct ibv_wc */
export interface Wc {
  wrId: bigint
  status: number
  opcode: number
  vendorErr: number
  byteLen: number
  immData: number
  qpNum: number
  srcQp: number
  wcFlags: number
  pkeyIndex: number
  slid: number
  sl: number
  dlidPathBits: number
}

/** Open the device behind an Rnic (in process) or a channel; `memory` is the VM memory inline sends read from. */
export async function openDevice(target: Rnic | ControlChannel, opts: {memory?: VmMemory} = {}): Promise<Context> {
  // duck-typed so that a VM worker can use this module without loading the engine
  const ch = typeof (target as ControlChannel).call === 'function' ? (target as ControlChannel) : new InProcessChannel(target as Rnic)
  const info = await call(ch, 'deviceInfo')
  return new Context(ch, info, opts.memory)
}

export class Context {
  readonly doorbell: Int32Array
  /** The words waitMemory sleeps on (DMA_EPOCH, DMA_WAITERS): the RNIC's own, also when the doorbell is a relay's. */
  readonly dma: Int32Array

  constructor(readonly channel: ControlChannel, readonly info: ReturnType<Rnic['deviceInfo']>, readonly memory?: VmMemory) {
    this.doorbell = new Int32Array(info.doorbell)
    const dma = (info as {dma?: SharedArrayBuffer}).dma
    this.dma = dma ? new Int32Array(dma) : this.doorbell
  }

  /**
   * Block the calling thread until bytes[index] === value, as a guest polling its memory for a peer's RDMA WRITE
   * (perftest write_lat) does; false after timeoutMs. Spins for spinUs, then sleeps on the RNIC's DMA epoch
   * (queue.ts DMA_EPOCH, bumped by the responder after each WRITE it places) so that the spinning guest does not
   * take the core its RNIC thread needs. Uses Atomics.wait: only for a thread that does not run the engine itself.
   */
  waitMemory(bytes: Uint8Array, index: number, value: number, spinUs = 20, timeoutMs = 20_000): boolean {
    return Q.waitDmaByte(this.dma, bytes, index, value, spinUs, timeoutMs)
  }

  /** The VM bytes an SGE names (inline sends), or undefined when outside this VM's memory. */
  sgeBytes(g: Sge): Uint8Array | undefined {
    const m = this.memory
    if (!m) return undefined
    const off = Number(BigInt(g.addr) - m.base)
    if (!Number.isInteger(off) || off < 0 || off + g.length > m.size) return undefined
    return m.u8.subarray(off, off + g.length)
  }

  get name(): string {
    return this.info.name
  }

  queryGid(index: number): string {
    const g = this.info.gids[index]
    if (g === undefined || g === null) throw einval(`no GID at index ${index}`)
    return g
  }

  async allocPd(): Promise<Pd> {
    const r = await call(this.channel, 'allocPd')
    return new Pd(this, r.pdn)
  }

  async createCq(depth: number): Promise<Cq> {
    const r = await call(this.channel, 'createCq', {depth})
    return new Cq(this, r.cqn, r.ring)
  }
}

export interface QpInit {type: 'RC' | 'UC' | 'UD'; sendCq: Cq; recvCq: Cq; cap: Partial<QpCap>; sqSigAll?: boolean; gsi?: boolean}
export type CreateQpArgs = Parameters<Rnic['createQp']>[0]
export type CreateQpResult = Exclude<ReturnType<Rnic['createQp']>, RnicError>

export class Pd {
  constructor(readonly ctx: Context, readonly pdn: number) {}

  async regMr(region: Region, access: number, opts: {iova?: bigint} = {}): Promise<Mr> {
    const iova = opts.iova ?? region.addr
    const r = await call(this.ctx.channel, 'regMr', {pdn: this.pdn, memory: region.mem.sab, offset: region.offset, length: region.length, iova, access})
    return new Mr(this, r.mrIndex, r.lkey, r.rkey, region, iova)
  }

  /** `gsi: true` asks for QP1; the RNIC (and a MasQ backend) refuse it with EPERM: QP1 is the CM agent's. */
  async createQp(init: QpInit): Promise<Qp> {
    const args = this.createQpArgs(init)
    const r = await call(this.ctx.channel, 'createQp', args)
    return new Qp(this, r.qpn, args.type, r.sq, r.rq, r.cap)
  }

  /** The create_qp command for `init` (checked here, as createQp does), for a caller that sends it another way. */
  createQpArgs(init: QpInit): CreateQpArgs {
    const type = QpType[init.type]
    if (type === undefined) throw einval(`bad QP type ${init.type}`)
    const cap: QpCap = {
      maxSendWr: init.cap.maxSendWr ?? 64, maxRecvWr: init.cap.maxRecvWr ?? 64, maxSendSge: init.cap.maxSendSge ?? 1,
      maxRecvSge: init.cap.maxRecvSge ?? 1, maxInlineData: init.cap.maxInlineData ?? 0,
    }
    return {pdn: this.pdn, type, sendCqn: init.sendCq.cqn, recvCqn: init.recvCq.cqn, cap, sqSigAll: init.sqSigAll, gsi: init.gsi}
  }

  /**
   * The QP handle for a create_qp that went another way (createQpArgs carried in the rdma_cm request to the
   * backend, src/cm/remote.ts): the channel records it as if it had made the call (ControlChannel.adopt).
   */
  adoptQp(args: CreateQpArgs, r: CreateQpResult): Qp {
    this.ctx.channel.adopt?.('qp', r.qpn)
    return new Qp(this, r.qpn, args.type, r.sq, r.rq, r.cap)
  }

  /** Address handle: kept by the provider and written into each UD WQE. */
  createAh(attr: AhAttr): Ah {
    const ip = parseGidIp(attr.dgid)
    if (ip === undefined) throw einval(`bad dgid ${attr.dgid}`)
    return new Ah(ip, attr.trafficClass ?? 0, attr.hopLimit ?? 64)
  }

  async dealloc(): Promise<void> {
    await call(this.ctx.channel, 'deallocPd', this.pdn)
  }
}

export class Ah {
  constructor(readonly dgidIp: number, readonly trafficClass: number, readonly hopLimit: number) {}
}

export class Mr {
  constructor(readonly pd: Pd, readonly index: number, readonly lkey: number, readonly rkey: number, readonly region: Region,
    readonly iova: bigint) {}

  get addr(): bigint {
    return this.iova
  }
  get length(): number {
    return this.region.length
  }

  async dereg(): Promise<void> {
    await call(this.pd.ctx.channel, 'deregMr', this.index)
  }
}

export class Cq {
  readonly ring: Q.Ring

  constructor(readonly ctx: Context, readonly cqn: number, sab: SharedArrayBuffer) {
    this.ring = new Q.Ring(sab)
  }

  /** ibv_poll_cq: up to n completions, oldest first. */
  poll(n = 1): Wc[] {
    const out: Wc[] = []
    const r = this.ring
    let cons = r.consumer()
    const prod = r.producer()
    const u = r.u32
    while (out.length < n && cons !== prod) {
      const s = r.slot(cons)
      out.push({
        wrId: (BigInt(u[s + Q.CQE_WRID_HI]!) << 32n) | BigInt(u[s + Q.CQE_WRID_LO]!),
        status: u[s + Q.CQE_STATUS]!, opcode: u[s + Q.CQE_OPCODE]!, vendorErr: u[s + Q.CQE_VENDOR_ERR]!,
        byteLen: u[s + Q.CQE_BYTE_LEN]!, immData: u[s + Q.CQE_IMM]!, qpNum: u[s + Q.CQE_QP_NUM]!,
        srcQp: u[s + Q.CQE_SRC_QP]!, wcFlags: u[s + Q.CQE_WC_FLAGS]!, pkeyIndex: u[s + Q.CQE_PKEY_INDEX]!,
        slid: u[s + Q.CQE_SLID]!, sl: u[s + Q.CQE_SL]!, dlidPathBits: u[s + Q.CQE_DLID_PATH_BITS]!,
      })
      cons = (cons + 1) >>> 0
    }
    r.release(cons)
    return out
  }

  /**
   * Allocation-free poll for hot loops: consumes up to n completions and returns how many; the status of any
   * failed one is reported through `onError` (wr_id low 32 bits, status).
   */
  pollCount(n: number, onError?: (wrIdLo: number, status: number) => void): number {
    const r = this.ring
    let cons = r.consumer()
    const prod = r.producer()
    let k = 0
    while (k < n && cons !== prod) {
      const s = r.slot(cons)
      const st = r.u32[s + Q.CQE_STATUS]!
      if (st !== 0) onError?.(r.u32[s + Q.CQE_WRID_LO]!, st)
      cons = (cons + 1) >>> 0
      k++
    }
    r.release(cons)
    return k
  }

  /**
   * Wait until a completion is available (the ibv_req_notify_cq + completion-channel pattern): arms the ring's
   * notify flag, then waits on the producer index without spinning. Resolves true when completions are ready,
   * false on timeout. The promise does not keep the event loop alive by itself.
   */
  async wait(timeoutMs?: number): Promise<boolean> {
    const r = this.ring
    const prod = r.producer()
    if (prod !== r.consumer()) return true
    Atomics.store(r.i32, Q.RING_FLAGS, 1)
    // re-check after arming: a completion posted in between would otherwise be missed
    if (r.producer() !== prod) return true
    const w = (Atomics as unknown as {waitAsync(a: Int32Array, i: number, v: number, t?: number): {async: boolean; value: Promise<string> | string}})
      .waitAsync(r.i32, Q.RING_PRODUCER, prod | 0, timeoutMs)
    const res = w.async ? await (w.value as Promise<string>) : (w.value as string)
    Atomics.store(r.i32, Q.RING_FLAGS, 0)
    return res !== 'timed-out' || r.producer() !== r.consumer()
  }

  async destroy(): Promise<void> {
    await call(this.ctx.channel, 'destroyCq', this.cqn)
  }
}

const NO_SGE: Sge[] = []
const RC_OPS = new Set<number>([WrOpcode.RDMA_WRITE, WrOpcode.RDMA_WRITE_WITH_IMM, WrOpcode.SEND, WrOpcode.SEND_WITH_IMM,
  WrOpcode.RDMA_READ, WrOpcode.ATOMIC_CMP_AND_SWP, WrOpcode.ATOMIC_FETCH_AND_ADD, WrOpcode.SEND_WITH_INV])
const UC_OPS = new Set<number>([WrOpcode.RDMA_WRITE, WrOpcode.RDMA_WRITE_WITH_IMM, WrOpcode.SEND, WrOpcode.SEND_WITH_IMM])
const UD_OPS = new Set<number>([WrOpcode.SEND, WrOpcode.SEND_WITH_IMM])

export class Qp {
  readonly sq: Q.Ring
  readonly rq: Q.Ring
  state: number = QpState.RESET // as last set through this handle; the RNIC may have moved it to ERR since

  constructor(readonly pd: Pd, readonly qpn: number, readonly type: number, sq: SharedArrayBuffer, rq: SharedArrayBuffer,
    readonly cap: QpCap) {
    this.sq = new Q.Ring(sq)
    this.rq = new Q.Ring(rq)
  }

  async modify(attr: QpAttr, mask: number): Promise<void> {
    await call(this.pd.ctx.channel, 'modifyQp', this.qpn, attr, mask)
    if (mask & QpAttrMask.STATE) this.state = attr.qpState!
  }

  async query(): Promise<QpAttr> {
    const r = await call(this.pd.ctx.channel, 'queryQp', this.qpn)
    this.state = r.attr.qpState!
    return r.attr
  }

  async destroy(): Promise<void> {
    await call(this.pd.ctx.channel, 'destroyQp', this.qpn)
  }

  /** ibv_post_send: validates like rxe_post_send (EINVAL / ENOMEM), writes the WQEs, rings the doorbell once. */
  postSend(wr: SendWr | SendWr[]): void {
    if (this.state < QpState.RTS) throw einval('post_send: QP is not in RTS')
    const r = this.sq
    let prod = r.producer()
    const room = Math.min(r.size, this.cap.maxSendWr) - ((prod - r.consumer()) >>> 0)
    const n = Array.isArray(wr) ? wr.length : 1
    if (n > room) throw new VerbsError(Errno.ENOMEM, 'post_send: send queue full')
    // WQEs are written before the producer index moves, so a rejected WR leaves nothing half-posted
    for (let i = 0; i < n; i++) {
      this.writeSendWqe(r.slot(prod), Array.isArray(wr) ? wr[i]! : wr)
      prod = (prod + 1) >>> 0
    }
    r.publish(prod)
    Q.ringDoorbell(this.pd.ctx.doorbell)
  }

  private writeSendWqe(s: number, w: SendWr): void {
    const opcode = w.opcode ?? WrOpcode.SEND
    const ops = this.type === QpType.RC ? RC_OPS : this.type === QpType.UC ? UC_OPS : UD_OPS
    if (!ops.has(opcode)) throw einval(`post_send: opcode ${opcode} not supported on this QP type`)
    const flags = w.sendFlags ?? 0
    const sg = w.sgList ?? NO_SGE
    const u = this.sq.u32
    const inline = (flags & SendFlags.INLINE) !== 0
    if (!inline && sg.length > this.cap.maxSendSge) throw einval('post_send: too many SGEs')
    if (opcode === WrOpcode.ATOMIC_CMP_AND_SWP || opcode === WrOpcode.ATOMIC_FETCH_AND_ADD) {
      if (!w.atomic) throw einval('post_send: atomic WR without atomic fields')
      if (sg.length !== 1 || sg[0]!.length !== 8) throw einval('post_send: atomic needs one 8-byte SGE')
      if (lo32(w.atomic.remoteAddr) & 7) throw einval('post_send: atomic remote address not 8-byte aligned')
    }
    if (this.type === QpType.UD && !w.ud) throw einval('post_send: UD WR without ud fields')
    u[s + Q.SQ_WRID_HI] = hi32(w.wrId ?? 0)
    u[s + Q.SQ_WRID_LO] = lo32(w.wrId ?? 0)
    u[s + Q.SQ_OPCODE] = opcode
    u[s + Q.SQ_FLAGS] = flags
    u[s + Q.SQ_IMM] = (opcode === WrOpcode.SEND_WITH_INV ? w.invalidateRkey ?? 0 : w.immData ?? 0) >>> 0
    const ra = w.rdma ?? w.atomic
    u[s + Q.SQ_RADDR_HI] = ra ? hi32(ra.remoteAddr) : 0
    u[s + Q.SQ_RADDR_LO] = ra ? lo32(ra.remoteAddr) : 0
    u[s + Q.SQ_RKEY] = ra ? ra.rkey >>> 0 : 0
    u[s + Q.SQ_CMP_HI] = w.atomic ? hi32(w.atomic.compareAdd) : 0
    u[s + Q.SQ_CMP_LO] = w.atomic ? lo32(w.atomic.compareAdd) : 0
    u[s + Q.SQ_SWAP_HI] = w.atomic ? hi32(w.atomic.swap ?? 0) : 0
    u[s + Q.SQ_SWAP_LO] = w.atomic ? lo32(w.atomic.swap ?? 0) : 0
    if (w.ud) {
      u[s + Q.SQ_UD_QPN] = w.ud.remoteQpn
      u[s + Q.SQ_UD_QKEY] = w.ud.remoteQkey >>> 0
      u[s + Q.SQ_AH_IP] = w.ud.ah.dgidIp
      u[s + Q.SQ_AH_TCLASS] = w.ud.ah.trafficClass
      u[s + Q.SQ_AH_HOP] = w.ud.ah.hopLimit
    }
    if (inline) {
      // copy the bytes now: the caller may reuse its buffer as soon as post_send returns
      let n = 0
      for (const g of sg) n += g.length
      if (n > this.cap.maxInlineData) throw einval('post_send: inline data above max_inline_data')
      const base = (s + Q.SQ_SGE + Q.SGE_WORDS * this.cap.maxSendSge) * 4
      let at = 0
      for (const g of sg) {
        const src = this.pd.ctx.sgeBytes(g)
        if (!src) throw einval('post_send: inline SGE outside any known region')
        this.sq.u8.set(src, base + at)
        at += g.length
      }
      u[s + Q.SQ_INLINE_LEN] = n
      u[s + Q.SQ_NUM_SGE] = 0
      return
    }
    u[s + Q.SQ_NUM_SGE] = sg.length
    for (let i = 0; i < sg.length; i++) {
      const g = s + Q.SQ_SGE + i * Q.SGE_WORDS
      const e = sg[i]!
      u[g] = hi32(e.addr)
      u[g + 1] = lo32(e.addr)
      u[g + 2] = e.length >>> 0
      u[g + 3] = e.lkey >>> 0
    }
  }

  /** ibv_post_recv. */
  postRecv(wr: RecvWr | RecvWr[]): void {
    if (this.state === QpState.RESET) throw einval('post_recv: QP is in RESET')
    const r = this.rq
    let prod = r.producer()
    const room = Math.min(r.size, this.cap.maxRecvWr) - ((prod - r.consumer()) >>> 0)
    const n = Array.isArray(wr) ? wr.length : 1
    if (n > room) throw new VerbsError(Errno.ENOMEM, 'post_recv: receive queue full')
    const u = r.u32
    for (let k = 0; k < n; k++) {
      const w = Array.isArray(wr) ? wr[k]! : wr
      const sg = w.sgList ?? NO_SGE
      if (sg.length > this.cap.maxRecvSge) throw einval('post_recv: too many SGEs')
      const s = r.slot(prod)
      u[s + Q.RQ_WRID_HI] = hi32(w.wrId ?? 0)
      u[s + Q.RQ_WRID_LO] = lo32(w.wrId ?? 0)
      u[s + Q.RQ_NUM_SGE] = sg.length
      for (let i = 0; i < sg.length; i++) {
        const g = s + Q.RQ_SGE + i * Q.SGE_WORDS
        u[g] = hi32(sg[i]!.addr)
        u[g + 1] = lo32(sg[i]!.addr)
        u[g + 2] = sg[i]!.length >>> 0
        u[g + 3] = sg[i]!.lkey >>> 0
      }
      prod = (prod + 1) >>> 0
    }
    r.publish(prod)
    Q.ringDoorbell(this.pd.ctx.doorbell)
  }
}
