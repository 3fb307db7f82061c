// The MasQ backend's control path (DESIGN §1 "hybrid virtualization"): every control verb of a hyv/masq/freeflow
// VM arrives here over its virtio channel, is checked against what that VM owns, and is executed on the RNIC
// worker over the VM's command port. The backend owns every PD, CQ, QP and MR through per-VM handle tables
// (handles.ts), so a VM can never name another VM's objects (they share one RNIC); it charges quotas (quota.ts),
// refuses raw QPs, controlled Q_Keys and re-pointed destinations (verbs-guard.ts), audits every denial, gives
// masq/freeflow devices their own address (vBond) and renames virtual GIDs to host GIDs (RConnrename). In freeflow mode the data verbs are relayed too
// (relay.ts): the VM gets shadow rings and a shadow doorbell, and this thread moves every WQE and CQE between them
// and the RNIC's (FreeFlow's software relay).
import type {MessagePort} from 'node:worker_threads'
import {Errno, QpAttrMask as M, QpType} from '../rdma-constants.js'
import {isRnicError, type RnicError} from '../rnic/errors.js'
import {MessagePortChannel, type CommandName} from '../verbs/channel.js'
import type {QpAttr} from '../rnic/qp.js'
import type {Vm} from '../topology/types.js'
import type {AuditContext, AuditSink} from './audit.js'
import {Handles} from './handles.js'
import {DataRelay} from './relay.js'
import type {QuotaKind, QuotaLedger} from './quota.js'
import {parseGid, VerbsGuard} from './verbs-guard.js'

/** Per VM: control verbs served and refused; in freeflow, the data verbs relayed (relay.ts). */
export interface BackendVmStats {commands: number; refused: number; doorbellsRelayed: number; wqesRelayed: number; cqesRelayed: number}

/** Where a (VNI, vIP) lives on the fabric: the controller's answer, cached by the host agent. */
export type VipLookup = (vni: number, vip: string) => Promise<{wireIp: string} | null>

export interface BackendOptions {
  audit?: AuditSink
  quota?: QuotaLedger
  /** The RNIC's GID table (host underlay first), to find the sgid index of a VM's wire address. */
  hostGids?: string[]
  /** RConnrename's lookup; without it a masq VM's address vectors are refused (no controller to ask). */
  lookup?: VipLookup
  /** A tenant QP was created or destroyed: the host puts it into its tenant's rate-limit group in the RNIC. */
  onQp?: (vm: Vm, qpn: number, created: boolean) => void
  /** The DSCP a VM's traffic is marked with (its tenant's, never the provider's): forced into every AV it sets. */
  dscpOf?: (vm: Vm) => number
  /**
   * Does the VM with (VNI, vIP) own QPN `qpn`? Asked when a tenant names a destination QPN itself (no rdma_cm):
   * MasQ checks at RTR that the destination is a QP of that vIP in the same VPC (catalogue C11).
   */
  peerOwns?: (vni: number, vip: string, qpn: number) => Promise<boolean>
  /** UD in masq/freeflow: where the backend programs a UD QP's VPC context into the RNIC (trusted path). */
  vpc?: VpcProgrammer
}

/**
 * RConnrename for UD: a UD WQE names its destination per send, so the RNIC renames each one (src/rnic/vpc.ts)
 * from a per-VNI table of vIP -> host underlay address that the backend builds from its cached controller lookups.
 */
export interface VpcProgrammer {
  /** every vIP of a VPC (the registry's VMs of that VNI) */
  members(vni: number): string[]
  /** replace the RNIC's table of a VNI (Rnic.setVpcRoutes) */
  routes(vni: number, routes: Array<[string, string]>): Promise<void>
  /** put a UD QP into its VPC with the tenant's traffic class (Rnic.setVpcQp) */
  qp(qpn: number, vni: number, trafficClass: number): Promise<void>
}

/** The peer a QP was connected to (its first RTR, or the CM): later modifies may not re-point it (C11, C21). */
interface Peer {peerQpn: number; peerGid: string}

/**
 * TEST ONLY (attack-test's weakened-build proof, catalogue C09): NODE_ENV=test and MASQ_UNSAFE_TEST containing
 * skip-qp-owner-check let a VM name any QPN of the RNIC. Ignored in every other run.
 */
const UNSAFE_SKIP_QP_OWNER = process.env.NODE_ENV === 'test' && (process.env.MASQ_UNSAFE_TEST ?? '').split(',').map((x) => x.trim()).includes('skip-qp-owner-check')

/** Modes with VPC features: vBond addressing and RConnrename (DESIGN §2); hyv has the backend hop only. */
const vpcMode = (vm: Vm): boolean => vm.mode === 'masq' || vm.mode === 'freeflow'

class VmSession {
  private readonly counts = {commands: 0, refused: 0}
  readonly rnic: MessagePortChannel
  private relay: DataRelay | undefined
  /** QPN (visible to the tenant like ibv_qp.qp_num) -> handle in this VM's table */
  private readonly qpHandle = new Map<number, number>()
  private readonly mrBytes = new Map<number, number>() // MR handle -> registered bytes (released at dereg)
  readonly peers = new Map<number, Peer>() // QPN -> tracked peer
  closed = false

  constructor(readonly vm: Vm, private readonly virtio: MessagePort, rnicPort: MessagePort, private readonly memory: SharedArrayBuffer,
    private readonly relayData: boolean, private readonly handles: Handles, private readonly guard: VerbsGuard,
    private readonly opts: BackendOptions, private readonly vpcTables: VpcRouteTables) {
    this.rnic = new MessagePortChannel(rnicPort)
    handles.addVm(vm.name, vm.tenant)
    virtio.on('message', (m: {id?: unknown; cmd?: unknown; args?: unknown}) => {
      if (typeof m?.id !== 'number') return
      void this.handle(String(m.cmd) as CommandName, Array.isArray(m.args) ? m.args : []).then((result) => virtio.postMessage({id: m.id, result}))
    })
  }

  private get who(): AuditContext {
    return {tenant: this.vm.tenant, vm: this.vm.name}
  }

  get stats(): BackendVmStats {
    const r = this.relay?.stats
    return {...this.counts, doorbellsRelayed: r?.doorbellsRelayed ?? 0, wqesRelayed: r?.wqesRelayed ?? 0, cqesRelayed: r?.cqesRelayed ?? 0}
  }

  private refuse(errno: number, message: string): RnicError {
    this.counts.refused++
    return {errno, message}
  }

  private fromHandle(r: {ok: false; errno: number; message: string} | {ok: true}): RnicError | undefined {
    return r.ok ? undefined : this.refuse(r.errno, r.message)
  }

  /** A QPN this VM owns -> its handle; a foreign or unknown QPN is refused and audited like a foreign handle. */
  private qp(qpn: unknown, cmd: string): {handle: number} | RnicError {
    const h = typeof qpn === 'number' ? this.qpHandle.get(qpn) : undefined
    if (h !== undefined) return {handle: h}
    if (UNSAFE_SKIP_QP_OWNER && typeof qpn === 'number') return {handle: -1} // weakened build (tests only): any QPN passes
    this.opts.audit?.record(this.who, 'handle', {op: cmd, kind: 'qp', qpn: String(qpn), errno: Errno.ENOENT, message: `QP ${String(qpn)} is not one of ${this.vm.name}'s QPs`})
    return this.refuse(Errno.ENOENT, `${cmd}: QP ${String(qpn)} is not one of this VM's QPs`)
  }

  private charge(kind: QuotaKind, n = 1): RnicError | undefined {
    const r = this.opts.quota?.charge(this.vm.name, kind, n)
    return !r || r.ok ? undefined : this.refuse(r.errno, r.message)
  }

  private release(kind: QuotaKind, n = 1): void {
    this.opts.quota?.release(this.vm.name, kind, n)
  }

  async handle(cmd: CommandName, args: any[]): Promise<unknown> {
    this.counts.commands++
    try {
      return await this.execute(cmd, args)
    } catch (err) {
      // a malformed argument object from a tenant must not take the backend down
      return this.refuse(Errno.EINVAL, `bad arguments for ${cmd}: ${(err as Error).message}`)
    }
  }

  private call(cmd: CommandName, ...args: unknown[]): Promise<any> {
    return (this.rnic.call as (c: CommandName, ...a: unknown[]) => Promise<unknown>)(cmd, ...args)
  }

  /** Check, translate handles, execute on the RNIC, record ownership and charges. */
  private async execute(cmd: CommandName, args: any[]): Promise<unknown> {
    const H = this.handles
    const vm = this.vm.name
    const a = args[0]
    switch (cmd) {
      case 'deviceInfo': {
        const r = await this.call('deviceInfo')
        if (isRnicError(r)) return r
        // vBond: a masq VM's device has the VM's own address and the GID derived from it, never the host's
        const info = vpcMode(this.vm) ? {...r, gids: [this.vm.gid]} : r
        // freeflow: the VM rings the relay's doorbell; a one-sided WRITE still lands in its memory directly (FreeFlow
        // shares the data buffers), so it sleeps on the RNIC's own DMA epoch
        return this.relayData ? {...info, doorbell: this.startRelay(r.doorbell).shadowDoorbell.buffer, dma: r.doorbell} : info
      }
      case 'allocPd': {
        const denied = this.charge('pds')
        if (denied) return denied
        const r = await this.call('allocPd')
        if (isRnicError(r)) return this.release('pds'), r
        const c = H.create(vm, 'pd', r.pdn)
        return c.ok ? {pdn: c.handle} : c
      }
      case 'deallocPd': {
        const l = H.lookup(vm, a, 'pd')
        if (!l.ok) return this.fromHandle(l)
        const r = await this.call('deallocPd', l.ref)
        if (isRnicError(r)) return r
        const d = H.destroy(vm, a, 'pd')
        if (!d.ok) return this.fromHandle(d)
        this.release('pds')
        return r
      }
      case 'createCq': {
        const denied = this.charge('cqs')
        if (denied) return denied
        const r = await this.call('createCq', a)
        if (isRnicError(r)) return this.release('cqs'), r
        const c = H.create(vm, 'cq', r.cqn)
        if (!c.ok) return c
        const relay = this.relayData ? await this.ensureRelay() : undefined
        return relay ? {...r, cqn: c.handle, ring: relay.addCq(c.handle, r.ring)} : {...r, cqn: c.handle}
      }
      case 'destroyCq': {
        const l = H.lookup(vm, a, 'cq')
        if (!l.ok) return this.fromHandle(l)
        const d = H.destroy(vm, a, 'cq') // EBUSY while a QP uses it, before the RNIC is asked
        if (!d.ok) return this.fromHandle(d)
        const r = await this.call('destroyCq', l.ref)
        if (isRnicError(r)) {
          H.create(vm, 'cq', l.ref) // keep it: the RNIC still has it
          return r
        }
        this.release('cqs')
        this.relay?.removeCq(a)
        return r
      }
      case 'regMr': {
        const pd = H.lookup(vm, a?.pdn, 'pd')
        if (!pd.ok) return this.fromHandle(pd)
        const bytes = Number(a?.length)
        const denied = this.charge('mrs') ?? (Number.isSafeInteger(bytes) && bytes >= 0 ? this.charge('mrBytes', bytes) : undefined)
        if (denied) {
          if (denied.errno === Errno.ENOMEM) this.release('mrs')
          return denied
        }
        // A VM registers its own memory only: the backend names the buffer, whatever the VM sent.
        const r = await this.call('regMr', {...a, pdn: pd.ref, memory: this.memory})
        if (isRnicError(r)) {
          this.release('mrs')
          this.release('mrBytes', bytes)
          return r
        }
        const c = H.create(vm, 'mr', r.mrIndex, [{handle: a.pdn, kind: 'pd'}])
        if (!c.ok) return c
        this.mrBytes.set(c.handle, bytes)
        return {...r, mrIndex: c.handle}
      }
      case 'deregMr': {
        const l = H.lookup(vm, a, 'mr')
        if (!l.ok) return this.fromHandle(l)
        const r = await this.call('deregMr', l.ref)
        if (isRnicError(r)) return r
        H.destroy(vm, a, 'mr')
        this.release('mrs')
        this.release('mrBytes', this.mrBytes.get(a) ?? 0)
        this.mrBytes.delete(a)
        return r
      }
      case 'createQp': {
        if (a?.gsi) return this.refuse(Errno.EPERM, 'createQp: QP1 belongs to the host CM agent')
        const t = this.guard.checkQpType(this.who, a?.type)
        if (!t.ok) return this.refuse(t.errno, t.message)
        const pd = H.lookup(vm, a?.pdn, 'pd')
        if (!pd.ok) return this.fromHandle(pd)
        const scq = H.lookup(vm, a?.sendCqn, 'cq')
        if (!scq.ok) return this.fromHandle(scq)
        const rcq = H.lookup(vm, a?.recvCqn, 'cq')
        if (!rcq.ok) return this.fromHandle(rcq)
        const denied = this.charge('qps')
        if (denied) return denied
        // the RNIC hands out QPNs from its randomised pool (ReDMArk M1): a tenant cannot predict another's QPN
        const r = await this.call('createQp', {...a, pdn: pd.ref, sendCqn: scq.ref, recvCqn: rcq.ref})
        if (isRnicError(r)) return this.release('qps'), r
        const parents = [{handle: a.pdn, kind: 'pd' as const}, {handle: a.sendCqn, kind: 'cq' as const}]
        if (a.recvCqn !== a.sendCqn) parents.push({handle: a.recvCqn, kind: 'cq' as const})
        const c = H.create(vm, 'qp', r.qpn, parents)
        if (!c.ok) return c
        this.qpHandle.set(r.qpn, c.handle)
        this.opts.onQp?.(this.vm, r.qpn, true)
        if (a.type === QpType.UD && vpcMode(this.vm)) {
          const err = await this.programUd(r.qpn)
          if (err) return (await this.execute('destroyQp', [r.qpn]), err)
        }
        const relay = this.relayData ? await this.ensureRelay() : undefined
        return relay ? {...r, ...relay.addQp(r.qpn, r.sq, r.rq, Boolean(a.sqSigAll))} : r
      }
      case 'destroyQp': {
        const q = this.qp(a, cmd)
        if (isRnicError(q)) return q
        const r = await this.call('destroyQp', a)
        if (isRnicError(r)) return r
        H.destroy(vm, q.handle, 'qp')
        this.qpHandle.delete(a)
        this.peers.delete(a)
        this.relay?.removeQp(a)
        this.release('qps')
        this.opts.onQp?.(this.vm, a, false)
        return r
      }
      case 'queryQp': {
        const q = this.qp(a, cmd)
        return isRnicError(q) ? q : this.call('queryQp', a)
      }
      case 'modifyQp': {
        const q = this.qp(a, cmd)
        if (isRnicError(q)) return q
        const mask = Number(args[2])
        const attr = await this.checkModify(a, args[1] ?? {}, mask)
        if (isRnicError(attr)) return attr
        const r = await this.call('modifyQp', a, attr, mask)
        if (!isRnicError(r) && (mask & M.STATE)) this.relay?.modified(a, Number(args[1]?.qpState))
        // the first destination the RNIC accepted is the connection's peer from now on
        if (!isRnicError(r) && !this.peers.has(a) && (mask & M.DEST_QPN) && (mask & M.AV)) {
          this.peers.set(a, {peerQpn: args[1].destQpNum, peerGid: String(args[1].ahAttr?.dgid)})
        }
        return r
      }
      default:
        return this.refuse(Errno.EINVAL, `unknown command ${String(cmd)}`)
    }
  }

  /**
   * modify_qp as the MasQ backend runs it: controlled Q_Keys refused (C14); a destination (QPN, GID) may be set
   * once, by the first modify that names one (the connection's setup: the CM, or the tenant's RTR), and never
   * re-pointed (C11, C21); in masq/freeflow the virtual GID is renamed to host GIDs (RConnrename).
   */
  private async checkModify(qpn: number, attr: QpAttr, mask: number): Promise<QpAttr | RnicError> {
    if (mask & M.ALT_PATH) { // APM paths are not renamed or admitted: a tenant may not set one (C21)
      const r = this.guard.checkModifyQp(this.who, undefined, {}, M.ALT_PATH)
      if (!r.ok) return this.refuse(r.errno, r.message)
    }
    if (mask & M.QKEY) {
      const r = this.guard.checkQkey(this.who, attr.qkey)
      if (!r.ok) return this.refuse(r.errno, r.message)
    }
    const names = mask & (M.DEST_QPN | M.AV)
    if (!names) return attr
    const peer = this.peers.get(qpn)
    const dgid = mask & M.AV ? attr.ahAttr?.dgid : undefined
    if (peer) {
      if (mask & M.DEST_QPN) {
        const r = this.guard.checkDestQpn(this.who, peer, attr.destQpNum)
        if (!r.ok) return this.refuse(r.errno, r.message)
      }
      if (mask & M.AV) {
        const r = this.guard.checkDgid(this.who, peer, dgid)
        if (!r.ok) return this.refuse(r.errno, r.message)
      }
    }
    if (!(mask & M.AV)) return attr
    // DSCP marking: a tenant cannot pick its traffic class (the provider's class would outrank every tenant)
    if (this.opts.dscpOf) attr = {...attr, ahAttr: {...attr.ahAttr!, trafficClass: this.opts.dscpOf(this.vm) << 2}}
    if (!vpcMode(this.vm)) return attr
    const renamed = await this.rename(attr)
    if (isRnicError(renamed)) return renamed
    if (!peer && (mask & M.DEST_QPN) && vpcMode(this.vm) && this.opts.peerOwns) {
      const g = parseGid(dgid)
      const vip = g ? `${g[12]}.${g[13]}.${g[14]}.${g[15]}` : ''
      const owns = g ? await this.opts.peerOwns(this.vm.vni, vip, attr.destQpNum!).catch(() => false) : false
      if (!owns) {
        const message = `destination QPN ${String(attr.destQpNum)} is not a QP of ${vip} in this VPC`
        this.opts.audit?.record(this.who, 'dest-qpn', {qpn: attr.destQpNum, dstVip: vip, errno: Errno.EPERM, message})
        return this.refuse(Errno.EPERM, `modifyQp: ${message}`)
      }
    }
    return renamed
  }

  /** RConnrename: the AV names the peer's vIP; the QP context gets the host GIDs, looked up in this VPC. */
  private async rename(attr: QpAttr): Promise<QpAttr | RnicError> {
    const g = parseGid(attr.ahAttr?.dgid)
    const mapped = g && g.subarray(0, 10).every((b) => b === 0) && g[10] === 0xff && g[11] === 0xff
    if (!g || !mapped) return this.refuse(Errno.EINVAL, `dgid ${String(attr.ahAttr?.dgid)} is not a VPC address (::ffff:vIP)`)
    const vip = `${g[12]}.${g[13]}.${g[14]}.${g[15]}`
    const loc = this.opts.lookup ? await this.opts.lookup(this.vm.vni, vip).catch(() => null) : null
    if (!loc) {
      // another tenant's address is simply absent from this VPC (C17)
      this.opts.audit?.record(this.who, 'rule', {reason: 'no-such-address', dstVip: vip, errno: Errno.EHOSTUNREACH,
        message: `no VM has ${vip} in the VPC of ${this.vm.name} (VNI ${this.vm.vni})`})
      return this.refuse(Errno.EHOSTUNREACH, `modifyQp: no VM has ${vip} in this VPC`)
    }
    const sgidIndex = Math.max(0, (this.opts.hostGids ?? []).indexOf(this.vm.wireIp))
    return {...attr, ahAttr: {...attr.ahAttr!, dgid: `::ffff:${loc.wireIp}`, sgidIndex}}
  }

  ownsQp(qpn: number): boolean {
    return this.qpHandle.has(qpn)
  }

  /** A new UD QP of a VPC VM: its VNI's table is in the RNIC and the QP renames through it with the tenant DSCP. */
  private async programUd(qpn: number): Promise<RnicError | undefined> {
    const v = this.opts.vpc
    // no programmer, no rename: refuse rather than let vIPs (or any underlay address) onto the wire
    if (!v) return this.refuse(Errno.EPERM, 'createQp: UD needs the VPC rename path (no controller)')
    try {
      await this.vpcTables.program(this.vm.vni)
      await v.qp(qpn, this.vm.vni, (this.opts.dscpOf?.(this.vm) ?? 0) << 2)
      return undefined
    } catch (err) {
      return this.refuse(Errno.EIO, `createQp: programming the VPC context failed: ${(err as Error).message}`)
    }
  }

  /** The CM agent (host side) connected this QP to `peer`: pin it before the CM moves it to RTR. */
  trackPeer(qpn: number, peer: Peer): void {
    this.peers.set(qpn, peer)
  }

  /**
   * Tear down everything the VM still holds (VM gone): QPs before MRs, CQs and PDs; returns what was destroyed
   * per kind (and how many the RNIC refused). A QP also leaves its tenant's rate-limit group (onQp).
   */
  async destroyAll(): Promise<ReleasedObjects> {
    const out: ReleasedObjects = {qp: 0, mr: 0, cq: 0, pd: 0, failed: 0}
    for (const o of this.handles.destroyAll(this.vm.name)) {
      const cmd = ({qp: 'destroyQp', mr: 'deregMr', cq: 'destroyCq', pd: 'deallocPd'} as Record<string, CommandName>)[o.kind]
      if (!cmd) continue
      const r = await this.call(cmd, o.ref).catch((err: Error) => ({errno: Errno.EIO, message: err.message}))
      if (isRnicError(r)) {
        out.failed++
        continue
      }
      out[o.kind as 'qp' | 'mr' | 'cq' | 'pd']++
      if (o.kind === 'qp') this.opts.onQp?.(this.vm, o.ref, false)
    }
    this.qpHandle.clear()
    this.peers.clear()
    this.mrBytes.clear()
    this.opts.quota?.releaseAll(this.vm.name)
    return out
  }

  /** freeflow: the VM's data verbs go through this thread (relay.ts), starting with its doorbell. */
  private startRelay(realDoorbell: SharedArrayBuffer): DataRelay {
    this.relay ??= new DataRelay(new Int32Array(realDoorbell))
    return this.relay
  }

  /** A CQ or QP created before the VM opened its device (a provider always opens it first) still gets relayed. */
  private async ensureRelay(): Promise<DataRelay | undefined> {
    if (this.relay) return this.relay
    const r = await this.call('deviceInfo')
    return isRnicError(r) ? undefined : this.startRelay(r.doorbell)
  }

  close(): void {
    this.closed = true
    this.relay?.close()
    this.virtio.close()
  }
}

/** What Backend.destroyAll released for a VM that went away. */
export interface ReleasedObjects {qp: number; mr: number; cq: number; pd: number; failed: number}

/** The VNIs whose tables this backend put into the RNIC: built on first use, rebuilt on a registry change. */
class VpcRouteTables {
  private readonly programmed = new Set<number>()
  constructor(private readonly opts: BackendOptions) {}

  async program(vni: number, force = false): Promise<void> {
    if (this.programmed.has(vni) && !force) return
    const v = this.opts.vpc!
    const routes: Array<[string, string]> = []
    for (const vip of v.members(vni)) {
      const loc = this.opts.lookup ? await this.opts.lookup(vni, vip).catch(() => null) : null
      if (loc) routes.push([vip, loc.wireIp])
    }
    await v.routes(vni, routes)
    this.programmed.add(vni)
  }

  async refresh(): Promise<void> {
    for (const vni of this.programmed) await this.program(vni, true)
  }
}

export class Backend {
  private readonly sessions = new Map<string, VmSession>()
  /** VMs whose objects were released after their worker crashed or exited, and the objects (counters for status). */
  readonly released = {vms: 0, objects: 0, failed: 0}
  readonly handles: Handles
  readonly guard: VerbsGuard
  private readonly vpcTables: VpcRouteTables

  constructor(private readonly opts: BackendOptions = {}) {
    this.vpcTables = new VpcRouteTables(opts)
    this.handles = new Handles(opts.audit)
    this.guard = new VerbsGuard(opts.audit)
  }

  /** Serve a VM's virtio channel; `rnicPort` is its command port to the RNIC worker. */
  attach(vm: Vm, virtio: MessagePort, rnicPort: MessagePort, memory: SharedArrayBuffer): void {
    this.opts.quota?.addVm(vm)
    this.sessions.set(vm.name, new VmSession(vm, virtio, rnicPort, memory, vm.mode === 'freeflow', this.handles, this.guard, this.opts, this.vpcTables))
  }

  /** The registry changed (the cached lookups were dropped): rebuild every VPC table the RNIC holds. */
  refreshVpc(): Promise<void> {
    return this.vpcTables.refresh()
  }

  /** Does a VM of this backend with (VNI, vIP) own QPN `qpn`? (the destination check of C11) */
  owns(vni: number, vip: string, qpn: number): boolean {
    for (const s of this.sessions.values()) if (s.vm.vni === vni && s.vm.vip === vip && s.ownsQp(qpn)) return true
    return false
  }

  session(vm: string): VmSession | undefined {
    return this.sessions.get(vm)
  }

  detach(vm: string): void {
    this.sessions.get(vm)?.close()
    this.sessions.delete(vm)
  }

  /**
   * rdma_cm ids count against the VM's and its tenant's `cmIds` quota: the host CM agent charges one per
   * rdma_create_id (EAGAIN, counted and audited like the other quotas). VMs without a backend (sriov, bare) are
   * not in the ledger and are not limited.
   */
  chargeCmId(vm: string): {errno: number; message: string} | undefined {
    const r = this.opts.quota?.charge(vm, 'cmIds')
    if (!r || r.ok || r.code === 'ENOENT') return undefined
    const s = this.sessions.get(vm)
    if (s) s.stats.refused++
    return {errno: r.errno, message: `rdma_create_id: ${r.message}`}
  }

  releaseCmIds(vm: string, n = 1): void {
    if (n > 0) this.opts.quota?.release(vm, 'cmIds', n)
  }

  /**
   * A VM's worker crashed or exited: destroy every object it still owns on the RNIC (the backend owns them, so
   * nothing leaks until `masq down`), return its quota, stop serving its virtio channel, and count it.
   */
  async destroyAll(vm: string): Promise<ReleasedObjects | undefined> {
    const s = this.sessions.get(vm)
    if (!s) return undefined
    const r = await s.destroyAll()
    this.detach(vm)
    this.released.vms++
    this.released.objects += r.qp + r.mr + r.cq + r.pd
    this.released.failed += r.failed
    return r
  }

  stats(): Record<string, BackendVmStats & {pds: number; cqs: number; qps: number; mrs: number}> {
    const h = this.handles
    return Object.fromEntries([...this.sessions].map(([n, s]) => [n, {
      ...s.stats, pds: h.count(n, 'pd'), cqs: h.count(n, 'cq'), qps: h.count(n, 'qp'), mrs: h.count(n, 'mr'),
    }]))
  }
}
