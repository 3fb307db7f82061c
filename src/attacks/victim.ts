// The victim workload that runs through the whole suite: continuous RC traffic with checksums between two victim
// VMs (RDMA WRITE of a fresh pattern, then a SEND carrying sequence number and CRC32 that the receiver verifies),
// and a canary MR with guard bytes on both sides that nobody may change. Checked before and after every scenario.

import {Access, QpState, SendFlags, WrOpcode} from '../rdma-constants.js'
import {mulberry32} from '../rnic/port.js'
import type {Context, Cq, Mr, Pd, Qp, Region} from '../verbs/index.js'
import type {AttackEnv, AttackVm} from './env.js'
import {checksum, qpState, sha256, stateName} from './ops.js'
import type {Check} from './types.js'

const DATA_BYTES = 3000 // three packets at MTU 1024: the victim's WRITEs are multi-packet too
const GUARD_BYTES = 256
export const CANARY_BYTES = 4096

interface Side {
  vm: AttackVm
  ctx: Context
  pd: Pd
  cq: Cq
  qp?: Qp
}

/** What an attacker may learn about the victim (the catalogue's preconditions: keys leak, addresses are known). */
export interface VictimTarget {
  vm: string
  host: string
  canaryAddr: bigint
  canaryRkey: number
  canaryLength: number
  canaryIndex: number // MR handle
  pdn: number // handles of the victim side, for forged-handle attacks (C09)
  cqn: number
  qpn: number
}

export class VictimWorkload {
  private a!: Side
  private b!: Side
  private src!: Region
  private srcMr!: Mr
  private dst!: Region
  private dstMr!: Mr
  private msgTx!: Region
  private msgTxMr!: Mr
  private msgRx!: Region
  private msgRxMr!: Mr
  canary!: Region
  canaryMr!: Mr
  private guardBefore!: Region
  private guardAfter!: Region
  private rng = mulberry32(4242)
  private seq = 0
  private inFlight = false
  private pendingSend = 0
  private pendingRecv = false
  private expectCrc = 0
  verified = 0
  failures: string[] = []
  private hashes = {canary: '', before: '', after: ''}
  private verifiedAtBegin = 0
  private failuresAtBegin = 0
  private eventsAtBegin = 0

  private constructor(private readonly env: AttackEnv, readonly names: [string, string]) {}

  static async start(env: AttackEnv, a = 'blue-1', b = 'blue-2'): Promise<VictimWorkload> {
    const v = new VictimWorkload(env, [a, b])
    await v.setup()
    env.addBackground(() => v.step())
    return v
  }

  private async side(name: string): Promise<Side> {
    const vm = this.env.vm(name)
    const ctx = await vm.open()
    return {vm, ctx, pd: await ctx.allocPd(), cq: await ctx.createCq(256)}
  }

  private async setup(): Promise<void> {
    this.a = await this.side(this.names[0])
    this.b = await this.side(this.names[1])
    const ma = this.a.vm.memory
    const mb = this.b.vm.memory
    this.src = ma.alloc(DATA_BYTES)
    this.srcMr = await this.a.pd.regMr(this.src, Access.LOCAL_WRITE)
    this.msgTx = ma.alloc(64)
    this.msgTxMr = await this.a.pd.regMr(this.msgTx, Access.LOCAL_WRITE)
    this.dst = mb.alloc(DATA_BYTES)
    this.dstMr = await this.b.pd.regMr(this.dst, Access.LOCAL_WRITE | Access.REMOTE_WRITE)
    this.msgRx = mb.alloc(64)
    this.msgRxMr = await this.b.pd.regMr(this.msgRx, Access.LOCAL_WRITE)
    // canary MR with guard bytes right before and after it (not registered): a remote READ/WRITE target
    this.guardBefore = mb.alloc(GUARD_BYTES, 4096)
    this.canary = mb.alloc(CANARY_BYTES, 1)
    this.guardAfter = mb.alloc(GUARD_BYTES, 1)
    for (const r of [this.guardBefore, this.canary, this.guardAfter]) for (let i = 0; i < r.length; i++) r.bytes[i] = (this.rng() * 256) | 0
    this.canaryMr = await this.b.pd.regMr(this.canary, Access.LOCAL_WRITE | Access.REMOTE_WRITE | Access.REMOTE_READ | Access.REMOTE_ATOMIC)
    await this.connect()
    this.snapshot()
  }

  private async connect(): Promise<void> {
    for (const s of [this.a, this.b]) if (s.qp) await s.qp.destroy().catch(() => undefined)
    const [qa, qb] = await this.env.connectRc({vm: this.a.vm, pd: this.a.pd, cq: this.a.cq}, {vm: this.b.vm, pd: this.b.pd, cq: this.b.cq})
    this.a.qp = qa
    this.b.qp = qb
    this.inFlight = false
  }

  target(): VictimTarget {
    return {vm: this.b.vm.name, host: this.b.vm.host, canaryAddr: this.canaryMr.addr, canaryRkey: this.canaryMr.rkey, canaryLength: CANARY_BYTES,
      canaryIndex: this.canaryMr.index, pdn: this.b.pd.pdn, cqn: this.b.cq.cqn, qpn: this.b.qp!.qpn}
  }

  /** QPNs of the victim connection (a scenario must not inject into it: the suite's victim is never sacrificed). */
  qpns(): number[] {
    return [this.a.qp!.qpn, this.b.qp!.qpn]
  }

  private snapshot(): void {
    this.hashes = {canary: sha256(this.canary.bytes), before: sha256(this.guardBefore.bytes), after: sha256(this.guardAfter.bytes)}
  }

  /** Background step: consume completions; post the next round when idle. Returns true when it posted. */
  step(): boolean {
    this.consume()
    if (this.inFlight || this.a.qp?.state !== QpState.RTS) return false
    return this.post()
  }

  private post(): boolean {
    const seq = ++this.seq
    for (let i = 0; i < DATA_BYTES; i++) this.src.bytes[i] = (this.rng() * 256) | 0
    this.expectCrc = checksum(this.src.bytes)
    const dv = new DataView(this.msgTx.bytes.buffer, this.msgTx.bytes.byteOffset, 8)
    dv.setUint32(0, seq)
    dv.setUint32(4, this.expectCrc)
    try {
      this.b.qp!.postRecv({wrId: seq, sgList: [{addr: this.msgRx.addr, length: 64, lkey: this.msgRxMr.lkey}]})
      this.a.qp!.postSend([
        {wrId: seq, opcode: WrOpcode.RDMA_WRITE, sendFlags: SendFlags.SIGNALED, sgList: [{addr: this.src.addr, length: DATA_BYTES, lkey: this.srcMr.lkey}],
          rdma: {remoteAddr: this.dstMr.addr, rkey: this.dstMr.rkey}},
        {wrId: seq, opcode: WrOpcode.SEND, sendFlags: SendFlags.SIGNALED, sgList: [{addr: this.msgTx.addr, length: 8, lkey: this.msgTxMr.lkey}]},
      ])
    } catch (e) {
      this.failures.push(`round ${seq}: post failed: ${(e as Error).message}`)
      return false
    }
    this.inFlight = true
    this.pendingSend = 2
    this.pendingRecv = true
    return true
  }

  private consume(): void {
    if (!this.inFlight) return
    for (const wc of this.a.cq.poll(8)) {
      if (wc.status !== 0) this.failures.push(`round ${this.seq}: sender WC status ${wc.status}`)
      this.pendingSend--
    }
    for (const wc of this.b.cq.poll(8)) {
      if (wc.status !== 0) {
        this.failures.push(`round ${this.seq}: receiver WC status ${wc.status}`)
      } else {
        const dv = new DataView(this.msgRx.bytes.buffer, this.msgRx.bytes.byteOffset, 8)
        const seq = dv.getUint32(0)
        const crc = dv.getUint32(4)
        const got = checksum(this.dst.bytes)
        if (seq !== this.seq || crc !== this.expectCrc || got !== crc) this.failures.push(`round ${this.seq}: checksum mismatch (seq ${seq})`)
        else this.verified++
      }
      this.pendingRecv = false
    }
    if (this.pendingSend <= 0 && !this.pendingRecv) this.inFlight = false
  }

  /** Before a scenario: a baseline that the scenario must not change (re-established if an earlier one broke it). */
  async begin(): Promise<void> {
    await this.env.settle({until: () => (this.consume(), !this.inFlight)})
    const states = [await qpState(this.a.qp!), await qpState(this.b.qp!)]
    if (states.some((s) => s !== 'RTS') || this.inFlight) await this.connect()
    this.snapshot()
    this.verifiedAtBegin = this.verified
    this.failuresAtBegin = this.failures.length
    this.eventsAtBegin = this.env.events().length
  }

  /** After a scenario: NL-std (i) canary and guards, (iii) QPs RTS and a verified round, no failed victim WC. */
  async check(): Promise<Check[]> {
    await this.env.settle({until: () => (this.consume(), !this.inFlight)})
    const out: Check[] = []
    const h = {canary: sha256(this.canary.bytes), before: sha256(this.guardBefore.bytes), after: sha256(this.guardAfter.bytes)}
    out.push({name: 'victim canary hash unchanged', ok: h.canary === this.hashes.canary, detail: `${this.hashes.canary} → ${h.canary}`})
    out.push({name: 'victim guard bytes unchanged', ok: h.before === this.hashes.before && h.after === this.hashes.after})
    const mine = (host: string, qpn: number) => (e: {host: string; qpn?: number}) => e.host === host && e.qpn === qpn
    const errs = this.env.events(this.eventsAtBegin).filter((e) => /ERR|FATAL/.test(e.name) &&
      (mine(this.a.vm.host, this.a.qp!.qpn)(e) || mine(this.b.vm.host, this.b.qp!.qpn)(e)))
    out.push({name: 'no async error event on victim QPs', ok: errs.length === 0, detail: errs.map((e) => `${e.host} QP ${e.qpn} ${e.name}`).join(', ') || undefined})
    const states = [await qpState(this.a.qp!), await qpState(this.b.qp!)]
    out.push({name: 'victim QPs still RTS', ok: states.every((s) => s === 'RTS'), detail: states.join('/')})
    // one more verified round after the attack
    const before = this.verified
    if (!this.inFlight && this.a.qp!.state === QpState.RTS) this.post()
    await this.env.settle({until: () => (this.consume(), !this.inFlight)})
    const fails = this.failures.slice(this.failuresAtBegin)
    out.push({name: 'victim traffic verified (checksums)', ok: this.verified > before && fails.length === 0,
      detail: `${this.verified - this.verifiedAtBegin} rounds verified during the scenario${fails.length ? `; ${fails.join('; ')}` : ''}`})
    return out
  }

  summary(): {verified: number; failures: string[]; qpStates: string[]} {
    return {verified: this.verified, failures: [...this.failures], qpStates: [stateName(this.a.qp!.state), stateName(this.b.qp!.state)]}
  }
}
