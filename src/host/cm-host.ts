// rdma_cm in a host (issue 6 item 1): the host's CM agent (src/cm/agent.ts) on the main thread, its MADs carried
// to and from the RNIC worker's GSI path over the worker's MessagePort, one RdmaCm per VM driven over the VM's
// agent port (src/cm/remote.ts is the VM end), and the MasQ hooks: egress and ingress admission by the controller,
// (VNI, vIP) resolution, connection tracking at establishment and resets after a rule change (RConntrack).
// The agent moves the VMs' QPs itself, over the host's own command port to the RNIC (the backend's trusted path),
// and pins each QP's peer in the backend, so a tenant cannot re-point a connected QP afterwards.
import type {MessagePort, Worker} from 'node:worker_threads'
import {CmAgent} from '../cm/agent.js'
import {CmTimerDriver} from '../cm/driver.js'
import {CmError} from '../cm/errors.js'
import {EventChannel, type RdmaCmEvent} from '../cm/event-channel.js'
import type {PolicyDecision, ReqPolicyContext} from '../cm/policy.js'
import {type CmId, ipOf, RdmaCm} from '../cm/rdma-cm.js'
import type {MadReceive, MadSendOptions, MadTransport} from '../cm/transport.js'
import {CmEvent, PortSpace, QpAttrMask as M, QpState} from '../rdma-constants.js'
import {ipString} from '../rnic/av.js'
import {realClock} from '../rnic/clock.js'
import type {MadSource} from '../rnic/gsi.js'
import type {QpAttr} from '../rnic/qp.js'
import type {ResolvedPlan, Vm} from '../topology/types.js'
import {MessagePortChannel} from '../verbs/channel.js'
import type {Backend} from '../backend/backend.js'
import {isRnicError} from '../rnic/errors.js'
import {dscpFor} from '../fabric/tenant-qos.js'
import {rcAckTimeout} from '../fabric/host-fabric.js'
import type {Pd, Qp} from '../verbs/verbs.js'

/** MADs between the agent (main thread) and the RNIC worker's QP1: {type: 'mad'} both ways, no reply. */
export class WorkerMadTransport implements MadTransport {
  private handler: MadReceive | undefined
  /** CM MADs are provider traffic: they carry the provider's DSCP whatever the engine asks (issue 5 item 6). */
  constructor(private readonly worker: Worker, private readonly providerDscp: number) {
    worker.on('message', (m: {type?: string; mad?: Uint8Array; from?: MadSource}) => {
      if (m?.type === 'mad' && m.mad && m.from) this.handler?.(m.mad, m.from)
    })
  }

  send(dstIp: number, mad: Uint8Array, opts: MadSendOptions): void {
    this.worker.postMessage({type: 'sendMad', srcIp: opts.srcIp, dstIp, dscp: this.providerDscp, mad})
  }

  onMad(handler: MadReceive): void {
    this.handler = handler
  }
}

/** What a QP looks like to RdmaCm on the host: its number, state and device, moved over the trusted port. */
class HostQp {
  state: number = QpState.RESET
  readonly pd: {ctx: {info: {maxMtu: number; gids: Array<string | null>}}}

  constructor(readonly qpn: number, info: {maxMtu: number; gids: Array<string | null>}, private readonly rnic: MessagePortChannel,
    private readonly onRtr: (qpn: number, attr: QpAttr) => void, private readonly trafficClass: number | undefined) {
    this.pd = {ctx: {info}}
  }

  async modify(attr: QpAttr, mask: number): Promise<void> {
    // the connection's packets carry the tenant's DSCP (the agent's own MADs carry the provider's)
    if ((mask & M.AV) && this.trafficClass !== undefined) attr = {...attr, ahAttr: {...attr.ahAttr!, trafficClass: this.trafficClass}}
    const r = await this.rnic.call('modifyQp', this.qpn, attr, mask) as {errno?: number; message?: string}
    if (r && typeof r.errno === 'number') throw new CmError(r.errno, `modifyQp: ${r.message}`)
    if (mask & M.STATE) this.state = attr.qpState!
    if (attr.qpState === QpState.RTR && (mask & M.DEST_QPN)) this.onRtr(this.qpn, attr)
  }
}

/** A connection-tracking record as the controller keeps it (src/controller/conntrack.ts). */
export interface TrackedConn {id: number; srcVm: string; dstVm: string; srcQpn: number; dstQpn: number}

export type ControllerCall = <T = any>(method: string, params: unknown, timeoutMs?: number) => Promise<T>

interface VmCm {vm: Vm; cm: RdmaCm; port: MessagePort; ids: Map<number, CmId>; channels: Map<number, EventChannel>; nextHostId: number}

const vpcMode = (vm: Vm): boolean => vm.mode === 'masq' || vm.mode === 'freeflow'
/** How long an admission asked for at resolve_addr stays usable by a connect (rdma_cm's default timeouts are 2 s). */
const EARLY_ADMIT_MS = 2000

export class CmHost {
  readonly agent: CmAgent
  private readonly vms = new Map<string, VmCm>()
  private readonly numOf = new WeakMap<CmId, {vm: VmCm; num: number}>()
  /** live connections registered with the controller, by the local (VM, QPN) */
  private readonly conns = new Map<string, {id: CmId; connId?: number; registered?: Promise<void>}>()
  private info: {maxMtu: number; gids: Array<string | null>} | undefined
  /** Egress admissions asked for at resolve_addr, by `vm/dstIp/port`, taken by the connect that follows. */
  private readonly earlyAdmits = new Map<string, {at: number; verdict: Promise<{ok: boolean; rej?: number}>}>()
  /** Ingress allows by `vni/srcVip/fromHost/dstVip/port`, valid until the controller pushes a rule change. */
  private readonly ingressAllowed = new Set<string>()
  private rulesVersion = 0
  readonly stats = {ops: 0, opErrors: 0, established: 0, resets: 0, trackErrors: 0, earlyAdmits: 0, ingressCached: 0}

  constructor(private readonly plan: ResolvedPlan, private readonly hostName: string, rnicWorker: Worker,
    private readonly rnic: MessagePortChannel, private readonly controller: ControllerCall,
    private readonly backend: Backend, private readonly lookup: (vni: number, vip: string) => Promise<{wireIp: string} | null>) {
    this.agent = new CmAgent({
      transport: new WorkerMadTransport(rnicWorker, plan.provider.dscp), clock: realClock,
      localAckTimeout: rcAckTimeout(plan.fabric, plan.tenants.map((t) => t.qos.rateBps)), // covers a modelled slow link
      policy: {onOutgoingReq: (c) => this.egress(c), onIncomingReq: (c) => this.ingress(c)},
      // vni 0: a VM without VPC features (sriov/hyv/bare) addresses the fabric directly
      resolve: async (vni, ip) => {
        if (vni === 0) return {wireIp: ip, reachable: true}
        const loc = await this.lookup(vni, ipString(ip))
        return loc ? {wireIp: ipOf(loc.wireIp), reachable: true} : undefined
      },
      translate: (vni, ip) => {
        const v = this.localVm(vni, ipString(ip))
        return v ? ipOf(v.wireIp) : ip
      },
    })
  }

  async start(): Promise<void> {
    const r = await this.rnic.call('deviceInfo')
    this.info = {maxMtu: r.maxMtu, gids: r.gids}
    // the CM engine's timers (MAD retransmissions, MRA/service timeouts, TIMEWAIT exit) on real time: without
    // them a lost REQ/REP/RTU/DREQ was never re-sent and a connection never left TIMEWAIT
    new CmTimerDriver(this.agent.engine).start()
  }

  private localVm(vni: number, deviceIp: string): Vm | undefined {
    return this.plan.vms.find((v) => v.host === this.hostName && v.deviceIp === deviceIp && (vni === 0 ? !vpcMode(v) : v.vni === vni && vpcMode(v)))
  }

  private hostOfWire(wireIp: string): string | undefined {
    return this.plan.hosts.find((h) => h.underlay === wireIp)?.name ?? this.plan.vms.find((v) => v.wireIp === wireIp)?.host
  }

  // ---- the MasQ hooks ----

  private async egress(c: ReqPolicyContext): Promise<PolicyDecision> {
    if (c.vni === 0) return {allow: true} // no VPC, no rules (DESIGN §2)
    const src = this.localVm(c.vni, c.srcIp)
    if (!src) return {allow: false, reason: 12}
    const key = `${src.name}/${c.dstIp}/${c.dstPort}`
    const early = this.earlyAdmits.get(key)
    this.earlyAdmits.delete(key)
    const fresh = early && Date.now() - early.at < EARLY_ADMIT_MS
    if (fresh) this.stats.earlyAdmits++
    const r = fresh ? await early.verdict : await this.controller<{ok: boolean; rej?: number}>('admit', {srcVm: src.name, dstVip: c.dstIp, port: c.dstPort})
    return r.ok ? {allow: true} : {allow: false, reason: r.rej ?? 12}
  }

  /**
   * The controller's egress admission overlaps rdma_resolve_route and the QP's creation instead of delaying the
   * REQ: it is asked for as soon as the destination is known (resolve_addr) and taken by the connect that follows.
   * A rule change in between is still caught: the controller checks again when the connection is established
   * (RConntrack, `establish`), and resets what it no longer allows.
   */
  private admitEarly(v: VmCm, dst: {ip?: unknown; port?: unknown} | undefined): void {
    if (!vpcMode(v.vm) || typeof dst?.ip !== 'string' || typeof dst.port !== 'number') return
    const now = Date.now()
    for (const [k, e] of this.earlyAdmits) if (now - e.at >= EARLY_ADMIT_MS) this.earlyAdmits.delete(k)
    // asked on the next turn of the event loop, once ADDR_RESOLVED is on its way to the VM: the RPC's socket write
    // (which wakes the controller) does not delay the event. A connect that comes first awaits the same request.
    let ask!: () => void
    const verdict = new Promise<void>((r) => (ask = r)).then(() =>
      this.controller<{ok: boolean; rej?: number}>('admit', {srcVm: v.vm.name, dstVip: dst.ip, port: dst.port}))
    setImmediate(ask)
    verdict.catch(() => undefined) // a failure surfaces at connect, where the verdict is awaited
    this.earlyAdmits.set(`${v.vm.name}/${dst.ip}/${dst.port}`, {at: now, verdict})
  }

  /**
   * Ingress admission. An allow is kept (as a MasQ backend keeps the rules the controller pushed) until the
   * controller announces a rule change (`rulesChanged`, pushed to every host before `masq rules` returns); a deny
   * is never cached, so every refused attempt is audited by the controller. A verdict computed under rules older
   * than the last announced change is not kept.
   */
  private async ingress(c: ReqPolicyContext): Promise<PolicyDecision> {
    if (c.vni === 0) return {allow: true}
    const fromHost = this.hostOfWire(c.srcWireIp) ?? '?'
    const key = `${c.vni}/${c.srcIp}/${fromHost}/${c.dstIp}/${c.dstPort}`
    if (this.ingressAllowed.has(key)) {
      this.stats.ingressCached++
      return {allow: true}
    }
    const r = await this.controller<{ok: boolean; rej?: number; rulesVersion?: number}>('admitIncoming',
      {vni: c.vni, srcVip: c.srcIp, fromHost, dstVip: c.dstIp, port: c.dstPort})
    if (r.ok && typeof r.rulesVersion === 'number' && r.rulesVersion >= this.rulesVersion) {
      if (this.ingressAllowed.size >= 10_000) this.ingressAllowed.clear()
      this.ingressAllowed.add(key)
    }
    // a refused REQ gets REJ 12 (PRIMARY_REMOTE_GID_REJECTED) from the ingress side too: the same as the egress refusal
    return r.ok ? {allow: true} : {allow: false, reason: r.rej ?? 12}
  }

  /** The controller changed the rules (or the registry): cached ingress allows no longer hold. */
  rulesChanged(version = this.rulesVersion): {ok: true} {
    this.rulesVersion = Math.max(this.rulesVersion, version)
    this.ingressAllowed.clear()
    return {ok: true}
  }

  // ---- one VM's rdma_cm, driven over its agent port ----

  attach(vm: Vm, port: MessagePort): void {
    const cm = this.agent.vm({vni: vpcMode(vm) ? vm.vni : undefined, addresses: [vm.deviceIp]})
    this.vms.set(vm.name, {vm, cm, port, ids: new Map(), channels: new Map(), nextHostId: -1})
  }

  detach(vm: string): void {
    const v = this.vms.get(vm)
    if (!v) return
    for (const id of v.ids.values()) v.cm.destroyId(id)
    this.backend.releaseCmIds(vm, [...v.ids.keys()].filter((n) => n >= 0).length)
    this.vms.delete(vm)
  }

  private channel(v: VmCm, num: number): EventChannel {
    let ch = v.channels.get(num)
    if (!ch) {
      const self = this
      ch = new (class extends EventChannel {
        override push(e: RdmaCmEvent): void {
          self.forward(v, num, e)
        }
      })()
      v.channels.set(num, ch)
    }
    return ch
  }

  /** An event on a VM's channel goes to the VM worker at once; the VM queues it in its own EventChannel. */
  private forward(v: VmCm, channel: number, e: RdmaCmEvent): void {
    let idNum = this.numOf.get(e.id)?.num
    if (idNum === undefined) { // a CONNECT_REQUEST's new id: numbered by the host (negative)
      idNum = v.nextHostId--
      v.ids.set(idNum, e.id)
      this.numOf.set(e.id, {vm: v, num: idNum})
    }
    if (e.listenId && e.listenId.backlogUsed > 0) e.listenId.backlogUsed-- // fetched by the VM
    const qp = e.id.qp as unknown as HostQp | undefined
    v.port.postMessage({type: 'cmEvent', channel, event: e.event, status: e.status, cmId: idNum,
      listenId: e.listenId ? this.numOf.get(e.listenId)?.num : undefined, param: e.param, qpState: qp?.state,
      local: e.id.localAddr, peer: e.id.peerAddr})
    // RConntrack's bookkeeping after the event is on its way: the controller RPC (encode, socket write) does not
    // delay the application's ESTABLISHED; the VM's next request is a later message, so the record is in place
    if (e.event === CmEvent.ESTABLISHED && qp && e.id.ps === PortSpace.TCP) void this.established(v, e.id)
    if ((e.event === CmEvent.DISCONNECTED || e.event === CmEvent.REJECTED) && qp) void this.closed(v, qp.qpn)
  }

  /** RConntrack: the active end registers the connection with the controller once it is established. */
  private async established(v: VmCm, id: CmId): Promise<void> {
    const qpn = id.qp!.qpn
    const key = `${v.vm.name}/${qpn}`
    const rec: {id: CmId; connId?: number; registered?: Promise<void>} = {id}
    this.conns.set(key, rec)
    this.stats.established++
    if (id.passive || !vpcMode(v.vm)) return
    let refused = false
    // a disconnect that comes before the controller's answer waits for it (closed()), so nothing stays tracked
    rec.registered = this.controller<{id: number}>('establish', {srcVm: v.vm.name, dstVip: id.peerAddr!.ip,
      port: id.peerAddr!.port, srcQpn: qpn, dstQpn: id.conn?.remoteQpn ?? 0}).then((r) => {
      rec.connId = r.id
    }, () => {
      refused = true
    })
    await rec.registered
    if (refused) {
      // refused at establishment (a rule changed between REQ and RTU) or controller down: reset it here
      this.stats.trackErrors++
      await this.resetOne(key)
    }
  }

  private async closed(v: VmCm, qpn: number): Promise<void> {
    const key = `${v.vm.name}/${qpn}`
    const rec = this.conns.get(key)
    if (!rec) return
    this.conns.delete(key)
    await rec.registered
    if (rec.connId !== undefined) await this.controller('closeConnection', {id: rec.connId}).catch(() => undefined)
  }

  private async resetOne(key: string): Promise<boolean> {
    const rec = this.conns.get(key)
    if (!rec) return false
    this.conns.delete(key)
    this.agent.untrack(rec.id)
    this.stats.resets++
    // rdma_disconnect on the tenant's behalf: QP to ERR (flushed WRs), DREQ; both applications see DISCONNECTED
    await rec.id.cm.disconnect(rec.id).catch(() => undefined)
    return true
  }

  /** The controller's push after a rule change: reset this host's ends of the listed connections. */
  async resetConnections(conns: TrackedConn[]): Promise<{reset: number}> {
    let reset = 0
    for (const c of conns) {
      for (const key of [`${c.srcVm}/${c.srcQpn}`, `${c.dstVm}/${c.dstQpn}`]) if (await this.resetOne(key)) reset++
    }
    return {reset}
  }

  /** One rdma_cm call from a VM ({op, ...}); the reply carries what the VM mirrors (addresses, QP state). */
  async op(vmName: string, p: {op?: unknown; id?: unknown; [k: string]: any}): Promise<unknown> {
    const v = this.vms.get(vmName)
    if (!v) throw new Error(`no rdma_cm for VM ${vmName}`)
    this.stats.ops++
    const num = Number(p.id)
    const id = v.ids.get(num)
    const need = (): CmId => {
      if (!id) throw new CmError(22, `no cm id ${num}`)
      return id
    }
    const addrs = (i: CmId | undefined) => ({local: i?.localAddr, peer: i?.peerAddr, qpState: (i?.qp as unknown as HostQp | undefined)?.state})
    try {
      switch (p.op) {
        case 'createId': {
          const denied = this.backend.chargeCmId(vmName) // the cmIds quota (issue 5 item 5)
          if (denied) throw new CmError(denied.errno, denied.message)
          let created: CmId
          try {
            created = v.cm.createId(this.channel(v, Number(p.channel)), null, Number(p.ps))
          } catch (err) {
            this.backend.releaseCmIds(vmName)
            throw err
          }
          v.ids.set(num, created)
          this.numOf.set(created, {vm: v, num})
          return addrs(created)
        }
        case 'bindAddr': need().bindAddr(p.addr); return addrs(id)
        case 'resolveAddr': {
          need().resolveAddr(p.src, p.dst, p.timeoutMs)
          this.admitEarly(v, p.dst)
          return addrs(id)
        }
        case 'resolveRoute': need().resolveRoute(); return addrs(id)
        case 'listen': need().listen(p.backlog); return addrs(id)
        case 'createQp': {
          // the VM created the QP through its verbs (the backend owns it), or sent the create_qp command along
          // (`create`, one virtio round trip: the backend is on this thread); rdma_cm moves it from here on
          const session = this.backend.session(vmName)
          let created: {qpn: number} | undefined
          if (p.create !== undefined) {
            need()
            if (!session) throw new CmError(22, 'createQp: this VM has no backend to create QPs through')
            const r = await session.handle('createQp', [p.create])
            if (isRnicError(r)) {
              this.stats.opErrors++
              return {error: {errno: r.errno, message: r.message, verbs: true}}
            }
            created = r as {qpn: number}
          }
          const qpn = created ? created.qpn : Number(p.qpn)
          const hostQp = new HostQp(qpn, this.info!, this.rnic, (q, attr) => {
            const peer = need().peerAddr
            session?.trackPeer(q, {peerQpn: attr.destQpNum!, peerGid: `::ffff:${peer?.ip ?? '0.0.0.0'}`})
          }, v.vm.mode === 'sriov' || v.vm.mode === 'bare' ? undefined : dscpFor(this.plan, {kind: 'tenant', tenant: v.vm.tenant}) << 2)
          const pd = {createQp: async () => hostQp} as unknown as Pd
          try {
            await v.cm.createQp(need(), pd, p.attr)
          } catch (err) {
            // the QP exists: the VM gets it with the error (its run's end releases it, as after a separate create)
            if (!created) throw err
            this.stats.opErrors++
            return {qp: created, error: {errno: (err as CmError).errno ?? 22, message: (err as Error).message}}
          }
          return created ? {...addrs(id), qp: created} : addrs(id)
        }
        case 'connect': await v.cm.connect(need(), p.param); return addrs(id)
        case 'accept': await v.cm.accept(need(), p.param); return addrs(id)
        case 'reject': need().reject(p.privateData); return addrs(id)
        case 'disconnect': {
          const i = need()
          const qp = i.qp as unknown as HostQp | undefined
          await i.disconnect()
          if (qp) await this.closed(v, qp.qpn)
          return addrs(i)
        }
        case 'destroy': {
          if (id) {
            const qp = id.qp as unknown as HostQp | undefined
            v.cm.destroyId(id)
            v.ids.delete(num)
            if (num >= 0) this.backend.releaseCmIds(vmName)
            if (qp) await this.closed(v, qp.qpn)
          }
          return {}
        }
        default:
          throw new CmError(22, `unknown rdma_cm op ${String(p.op)}`)
      }
    } catch (err) {
      this.stats.opErrors++
      const e = err as {errno?: number; message?: string}
      return {error: {errno: e.errno ?? 22, message: e.message ?? String(err)}}
    }
  }
}

export type {Qp}
