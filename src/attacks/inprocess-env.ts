// InProcessEnv: hosts are Rnic instances on one LoopbackFabric with a manual clock (timers cost no wall time);
// VMs are VmMemory regions with their own device contexts and PDs on their host's RNIC. The only policy that
// exists here is the RNIC's own checks: no backend, no audit log, no CM (lab mode comes with the MasQ backend).

import {Access, Mtu, QpAttrMask as M, QpState} from '../rdma-constants.js'
import {ManualClock} from '../rnic/clock.js'
import {LoopbackFabric, mulberry32} from '../rnic/port.js'
import {runUntilIdle} from '../rnic/pump.js'
import {isRnicError, Rnic, type RnicUnsafe} from '../rnic/rnic.js'
import {type CommandName, type ControlChannel, InProcessChannel, type RnicCommands} from '../verbs/channel.js'
import {type Context, openDevice, type Qp, VmMemory} from '../verbs/index.js'
import type {AttackEnv, AttackVm, Capability, ConnectOptions, HostCounters, HostEvent, ObjectCounts, RcEnd, SettleOptions, VmInfo} from './env.js'

export interface InProcessOptions {
  seed?: number
  unsafe?: RnicUnsafe
  /** hosts with their underlay address; default hostA/B/C = 10.0.0.1-3 (hostC has no VMs: the T2 host) */
  hosts?: Array<{name: string; ip: string}>
  vms?: Array<{name: string; tenant: string; host: string}>
  memBytes?: number
  /** MR table size per RNIC: small, so an index is recycled within a bounded number of registrations (C05) */
  maxMr?: number
  /** TEST ONLY: claim capabilities this env does not have, to show what a scenario reports without them */
  pretend?: Capability[]
}

export const DEFAULT_HOSTS = [{name: 'hostA', ip: '10.0.0.1'}, {name: 'hostB', ip: '10.0.0.2'}, {name: 'hostC', ip: '10.0.0.3'}]
// blue is the victim tenant, red the attacker, green a bystander
export const DEFAULT_VMS = [
  {name: 'blue-1', tenant: 'blue', host: 'hostA'}, {name: 'blue-2', tenant: 'blue', host: 'hostB'},
  {name: 'red-1', tenant: 'red', host: 'hostA'}, {name: 'red-2', tenant: 'red', host: 'hostB'},
  {name: 'green-1', tenant: 'green', host: 'hostB'},
]

type Created = {kind: 'pd' | 'mr' | 'cq' | 'qp'; id: number}

/** A control channel that remembers what it created, so a scope can release it like a process exit would. */
class TrackingChannel implements ControlChannel {
  readonly created: Created[] = []
  private readonly inner: InProcessChannel

  constructor(readonly rnic: Rnic, readonly scope: number) {
    this.inner = new InProcessChannel(rnic)
  }

  async call<K extends CommandName>(cmd: K, ...args: Parameters<RnicCommands[K]>): Promise<ReturnType<RnicCommands[K]>> {
    const r = await this.inner.call(cmd, ...args)
    if (isRnicError(r)) return r
    const res = r as Record<string, number>
    const drop = (kind: Created['kind'], id: unknown) => {
      const i = this.created.findIndex((c) => c.kind === kind && c.id === id)
      if (i >= 0) this.created.splice(i, 1)
    }
    switch (cmd) {
      case 'allocPd': this.created.push({kind: 'pd', id: res.pdn!}); break
      case 'regMr': this.created.push({kind: 'mr', id: res.mrIndex!}); break
      case 'createCq': this.created.push({kind: 'cq', id: res.cqn!}); break
      case 'createQp': this.created.push({kind: 'qp', id: res.qpn!}); break
      case 'deallocPd': drop('pd', args[0]); break
      case 'deregMr': drop('mr', args[0]); break
      case 'destroyCq': drop('cq', args[0]); break
      case 'destroyQp': drop('qp', args[0]); break
    }
    return r
  }

  /** Release in dependency order: QPs, MRs, CQs, PDs (what uverbs does when a process exits). */
  release(): void {
    const order: Created['kind'][] = ['qp', 'mr', 'cq', 'pd']
    for (const kind of order) {
      for (const c of this.created.filter((x) => x.kind === kind)) {
        if (kind === 'qp') this.rnic.destroyQp(c.id)
        else if (kind === 'mr') this.rnic.deregMr(c.id)
        else if (kind === 'cq') this.rnic.destroyCq(c.id)
        else this.rnic.deallocPd(c.id)
      }
    }
    this.created.length = 0
  }
}

class InProcessVm implements AttackVm {
  readonly memory: VmMemory
  constructor(readonly info: VmInfo, private readonly env: InProcessEnv, readonly rnic: Rnic, memBytes: number) {
    this.memory = new VmMemory(memBytes)
  }
  get name() { return this.info.name }
  get tenant() { return this.info.tenant }
  get host() { return this.info.host }
  get ip() { return this.info.ip }

  open(): Promise<Context> {
    const ch = new TrackingChannel(this.rnic, this.env.currentScope)
    this.env.channels.push(ch)
    return openDevice(ch, {memory: this.memory})
  }
}

export class InProcessEnv implements AttackEnv {
  readonly kind = 'in-process' as const
  readonly description = 'in-process (RNIC checks only)'
  readonly capabilities: ReadonlySet<Capability>
  readonly clock = new ManualClock()
  readonly fabric: LoopbackFabric
  readonly nics = new Map<string, Rnic>()
  readonly audit = undefined
  readonly channels: TrackingChannel[] = []
  currentScope = 0
  private nextScope = 1
  private readonly hostIps = new Map<string, string>()
  private readonly vmMap = new Map<string, InProcessVm>()
  private readonly background: Array<() => boolean> = []
  private readonly eventLog: HostEvent[] = []

  constructor(opts: InProcessOptions = {}) {
    const seed = opts.seed ?? 1
    this.rng = mulberry32(seed ^ 0x5eed) // start PSNs, as rdma_cm randomises them
    const caps: Capability[] = ['rnic-checks', 'frame-injection', 'on-path']
    if (opts.unsafe && Object.values(opts.unsafe).some(Boolean)) caps.push('unsafe')
    caps.push(...(opts.pretend ?? []))
    this.capabilities = new Set(caps)
    this.fabric = new LoopbackFabric({clock: this.clock, seed})
    const hosts = opts.hosts ?? DEFAULT_HOSTS
    hosts.forEach((h, i) => {
      const nic = new Rnic({name: `rxe_${h.name}`, gids: [h.ip], clock: this.clock, random: mulberry32(seed * 101 + i),
        limits: {maxMr: opts.maxMr ?? 4096}, unsafe: opts.unsafe,
        onAsyncEvent: (e) => void this.eventLog.push({host: h.name, name: e.name, qpn: e.qpn, seq: this.eventLog.length + 1})})
      this.fabric.attach(nic)
      this.nics.set(h.name, nic)
      this.hostIps.set(h.name, h.ip)
    })
    for (const v of opts.vms ?? DEFAULT_VMS) {
      const nic = this.nics.get(v.host)
      if (!nic) throw new Error(`VM ${v.name}: no host ${v.host}`)
      this.vmMap.set(v.name, new InProcessVm({...v, ip: this.hostIps.get(v.host)!}, this, nic, opts.memBytes ?? 4 << 20))
    }
  }

  hosts(): string[] {
    return [...this.nics.keys()]
  }
  vms(): VmInfo[] {
    return [...this.vmMap.values()].map((v) => ({...v.info}))
  }
  vm(name: string): AttackVm {
    const v = this.vmMap.get(name)
    if (!v) throw new Error(`no VM ${name}`)
    return v
  }
  hostIp(host: string): string {
    const ip = this.hostIps.get(host)
    if (!ip) throw new Error(`no host ${host}`)
    return ip
  }
  private nic(host: string): Rnic {
    const n = this.nics.get(host)
    if (!n) throw new Error(`no host ${host}`)
    return n
  }

  async connectRc(a: RcEnd, b: RcEnd, opts: ConnectOptions = {}): Promise<[Qp, Qp]> {
    const cap = {maxSendWr: 64, maxRecvWr: 64, maxSendSge: 2, maxRecvSge: 2}
    const qa = await a.pd.createQp({type: 'RC', sendCq: a.cq, recvCq: a.cq, cap})
    const qb = await b.pd.createQp({type: 'RC', sendCq: b.cq, recvCq: b.cq, cap})
    const psnA = opts.psnA ?? Math.floor(this.rand() * 0xffffff)
    const psnB = opts.psnB ?? Math.floor(this.rand() * 0xffffff)
    const mtu = (Mtu as Record<number, number>)[opts.mtu ?? 1024] ?? Mtu[1024]
    const all = Access.LOCAL_WRITE | Access.REMOTE_WRITE | Access.REMOTE_READ | Access.REMOTE_ATOMIC
    const up = async (qp: Qp, access: number, peer: AttackVm, peerQpn: number, rqPsn: number, sqPsn: number) => {
      await qp.modify({qpState: QpState.INIT, pkeyIndex: 0, portNum: 1, qpAccessFlags: access}, M.STATE | M.PKEY_INDEX | M.PORT | M.ACCESS_FLAGS)
      await qp.modify({qpState: QpState.RTR, pathMtu: mtu, destQpNum: peerQpn, rqPsn, maxDestRdAtomic: 16, minRnrTimer: 12,
        ahAttr: {dgid: peer.ip, sgidIndex: 0}}, M.STATE | M.AV | M.PATH_MTU | M.DEST_QPN | M.RQ_PSN | M.MAX_DEST_RD_ATOMIC | M.MIN_RNR_TIMER)
      // retry_cnt 6 / rnr_retry 6: finite, so a peer that vanished ends in RETRY_EXC_ERR instead of spinning
      await qp.modify({qpState: QpState.RTS, sqPsn, timeout: 14, retryCnt: 6, rnrRetry: 6, maxRdAtomic: 16},
        M.STATE | M.SQ_PSN | M.TIMEOUT | M.RETRY_CNT | M.RNR_RETRY | M.MAX_QP_RD_ATOMIC)
    }
    await up(qa, a.access ?? all, b.vm, qb.qpn, psnB, psnA)
    await up(qb, b.access ?? all, a.vm, qa.qpn, psnA, psnB)
    return [qa, qb]
  }

  private readonly rng: () => number
  private rand(): number {
    return this.rng()
  }

  async settle(opts: SettleOptions = {}): Promise<void> {
    const nics = [...this.nics.values()]
    let posts = 0
    const until = () => {
      // background work interleaves with the attack, bounded so that the pump can go idle
      if (posts < 2) for (const b of this.background) if (b()) posts++
      return opts.until?.() ?? false
    }
    until()
    runUntilIdle(nics, this.fabric, {clock: this.clock, until, untilUs: this.clock.t + (opts.maxUs ?? 2e6), maxRounds: 1_000_000})
  }

  counters(host: string): HostCounters {
    return this.nic(host).counters()
  }
  events(since = 0): HostEvent[] {
    return this.eventLog.slice(since)
  }
  objects(host: string): ObjectCounts {
    return this.nic(host).objectCounts()
  }

  injectFrame(host: string, frame: Uint8Array): void {
    this.fabric.transmit(frame, 0, frame.length, this.nic(host))
  }

  setOnPath(hook: ((frame: Uint8Array) => void) | undefined): void {
    // the tap runs before delivery on the sender's frame buffer, so an in-place rewrite is what the receiver gets
    this.fabric.tap = hook ? (f, o, l) => hook(f.subarray(o, o + l)) : undefined
  }

  beginScope(): number {
    this.currentScope = this.nextScope++
    return this.currentScope
  }

  async endScope(scope: number): Promise<void> {
    for (const ch of this.channels) if (ch.scope >= scope) ch.release()
    for (let i = this.channels.length - 1; i >= 0; i--) if (this.channels[i]!.scope >= scope) this.channels.splice(i, 1)
    this.currentScope = 0
  }

  addBackground(step: () => boolean): void {
    this.background.push(step)
  }

  async close(): Promise<void> {
    this.background.length = 0
    for (const ch of this.channels) ch.release()
    this.channels.length = 0
  }
}
