// Host agent (a host process's main thread): control RPC for the CLI, the place the MasQ backend will live,
// and the owner of the host's workers: one RNIC worker (fabric port) and one worker per VM.
import fs from 'node:fs'
import path from 'node:path'
import {MessageChannel, Worker, type MessagePort} from 'node:worker_threads'
import {AuditLog} from '../backend/audit.js'
import {Backend} from '../backend/backend.js'
import {QuotaLedger} from '../backend/quota.js'
import {dscpFor, limiterKey} from '../fabric/tenant-qos.js'
import type {Host, ResolvedPlan, Vm} from '../topology/types.js'
import {log, memoryMiB} from '../lab/daemon.js'
import {RpcError, type RpcHandlers} from '../lab/rpc.js'
import {socketNames} from '../lab/sockets.js'
import {WIRE_COUNTERS} from '../lab/wire-link.js'
import {MessagePortChannel} from '../verbs/channel.js'
import {WorkerChannel} from './channel.cjs'
import {CmHost} from './cm-host.js'
import {ControllerLink} from './controller-link.js'
import type {RnicWorkerData, VmWorkerData} from './messages.js'

type VmState = 'starting' | 'running' | 'failed' | 'stopped'
interface VmHandle {vm: Vm; state: VmState; worker: Worker; channel: WorkerChannel; memory: SharedArrayBuffer; error?: string}

const RNIC_WORKER = new URL('./rnic-worker.js', import.meta.url)
const VM_WORKER = new URL('./vm-worker.cjs', import.meta.url)

export class HostAgent {
  readonly host: Host
  private readonly started = Date.now()
  private rnic!: Worker
  private rnicChannel!: WorkerChannel
  private rnicState: 'starting' | 'running' | 'failed' = 'starting'
  private readonly counters = new SharedArrayBuffer(8 * WIRE_COUNTERS.length)
  private readonly vms = new Map<string, VmHandle>()
  private stopping = false
  private rnicUp?: Promise<void>
  private vmsUp?: Promise<{vms: string[]}>
  private readonly controller: ControllerLink
  readonly audit: AuditLog
  readonly backend: Backend
  cm!: CmHost
  /** RConnrename's (VNI, vIP) -> location cache; dropped when the controller reports a new registry generation. */
  private readonly lookups = new Map<string, {wireIp: string} | null>()
  private readonly qosGroups = new Map<string, Set<number>>()

  constructor(private readonly plan: ResolvedPlan, node: string, private readonly socketDir: string, private readonly labDir?: string) {
    const host = plan.hosts.find((h) => h.name === node)
    if (!host) throw new Error(`host ${node} is not in the plan`)
    this.host = host
    this.controller = new ControllerLink(path.join(socketDir, socketNames.controller), {host: node, pid: process.pid})
    // one audit log per lab: every process appends its denials (O_APPEND, one write per line) to audit.jsonl
    this.audit = new AuditLog({lab: plan.name, host: node, file: labDir ? path.join(labDir, 'audit.jsonl') : undefined})
    this.backend = new Backend({audit: this.audit, quota: new QuotaLedger(plan.tenants, [], this.audit), hostGids: this.gids(),
      lookup: (vni, vip) => this.lookup(vni, vip), onQp: (vm, qpn, created) => this.onQp(vm, qpn, created),
      dscpOf: (vm) => dscpFor(plan, {kind: 'tenant', tenant: vm.tenant}), peerOwns: (vni, vip, qpn) => this.peerOwns(vni, vip, qpn), vpc: {
        members: (vni) => plan.vms.filter((v) => v.vni === vni && (v.mode === 'masq' || v.mode === 'freeflow')).map((v) => v.vip),
        routes: (vni, routes) => this.rnicRequest({type: 'setVpcRoutes', vni, routes}),
        qp: (qpn, vni, trafficClass) => this.rnicRequest({type: 'setVpcQp', qpn, vni, trafficClass}),
      }})
  }

  /**
   * QoS (issue 5 item 6): one budget per tenant shared by all its QPs on this RNIC, enforced by the engine's
   * rate-limit groups (Rnic.setRateLimit: the requester's scheduler holds a QP back until the group has tokens).
   * src/fabric/tenant-qos.ts's RateLimiterGroup is not used here: it would meter frames after the engine chose
   * them, so one QP could still starve its tenant's others; only its keys (limiterKey) are.
   */
  private onQp(vm: Vm, qpn: number, created: boolean): void {
    const key = limiterKey(vm)
    const rate = this.plan.tenants.find((t) => t.name === vm.tenant)?.qos.rateBps ?? 0
    if (key === undefined || rate <= 0) return
    const set = this.qosGroups.get(key) ?? new Set<number>()
    this.qosGroups.set(key, set)
    if (created) set.add(qpn)
    else set.delete(qpn)
    // The RNIC worker sleeps on millisecond timers between deadlines: a burst of 10 ms at the rate (not the
    // fabric's 100 µs) keeps the long-run rate exact when a wake-up comes a few ms late on a loaded machine.
    const bytesPerSec = set.size ? rate / 8 : 0
    void this.rnicChannel.request({type: 'setRateLimit', group: key, qpns: [...set], bytesPerSec, burstBytes: Math.max(64 * 1024, bytesPerSec * 0.01)}, 5000)
      .catch((err: unknown) => log(`setRateLimit ${key}: ${(err as Error).message}`))
  }

  /** C11: is `qpn` a QP of the VM with (VNI, vIP)? Answered by the backend of that VM's host (asked over host RPC). */
  private async peerOwns(vni: number, vip: string, qpn: number): Promise<boolean> {
    const vm = this.plan.vms.find((v) => v.vni === vni && v.vip === vip)
    const host = vm && this.plan.hosts.find((h) => h.name === vm.host)
    if (!vm || !host) return false
    if (host.name === this.host.name) return this.backend.owns(vni, vip, qpn)
    const {rpcCall} = await import('../lab/rpc.js')
    const r = await rpcCall<{owns: boolean}>(path.join(this.socketDir, socketNames.host(host.index)), 'ownsQp', {vni, vip, qpn}, 5000)
    return r.owns === true
  }

  /** A trusted RNIC command (setVpc*): an RnicError answer becomes an exception for the backend. */
  private async rnicRequest(m: Record<string, unknown>): Promise<void> {
    const r = await this.rnicChannel.request(m, 5000) as {errno?: number; message?: string}
    if (typeof r?.errno === 'number') throw new Error(`${String(m.type)}: ${r.message}`)
  }

  /** sriov: the VF's rate limiter at its tenant's rate (src/fabric/vf-limiter.ts); other modes: none here. */
  private vfRate(vm: Vm): {group: string; bytesPerSec: number; burstBytes: number} | undefined {
    const key = limiterKey(vm)
    const rate = this.plan.tenants.find((t) => t.name === vm.tenant)?.qos.rateBps ?? 0
    if (vm.mode !== 'sriov' || key === undefined || rate <= 0) return undefined
    return {group: key, bytesPerSec: rate / 8, burstBytes: Math.max(64 * 1024, (rate / 8) * 0.01)}
  }

  /** Where (VNI, vIP) lives on the fabric, asked of the controller once and cached (null = not in that VPC). */
  private async lookup(vni: number, vip: string): Promise<{wireIp: string} | null> {
    const key = `${vni}/${vip}`
    const have = this.lookups.get(key)
    if (have !== undefined) return have
    let loc: {wireIp: string} | null
    try {
      const r = await this.controller.call<{wireIp: string}>('lookup', {vni, vip})
      loc = {wireIp: r.wireIp}
    } catch (err) {
      if ((err as {code?: number}).code !== -32004) throw err // controller unreachable: not cached
      loc = null
    }
    this.lookups.set(key, loc)
    return loc
  }

  private routes(): Array<[string, number]> {
    const index = new Map(this.plan.hosts.map((h) => [h.name, h.index]))
    const routes = new Map<string, number>()
    for (const h of this.plan.hosts) routes.set(h.underlay, h.index)
    for (const v of this.plan.vms) if (!routes.has(v.wireIp)) routes.set(v.wireIp, index.get(v.host) ?? -1)
    return [...routes].filter(([, i]) => i >= 0)
  }

  /** The RNIC's GID table: the host underlay (index 0), then the VF addresses of its sriov/hyv VMs. */
  private gids(): string[] {
    const gids = [this.host.underlay]
    for (const v of this.plan.vms) if (v.host === this.host.name && !gids.includes(v.wireIp)) gids.push(v.wireIp)
    return gids
  }

  private capturePath(): string | undefined {
    if (!this.plan.fabric.capture || !this.labDir) return undefined
    const dir = path.join(this.labDir, 'capture')
    fs.mkdirSync(dir, {recursive: true})
    return path.join(dir, `${this.host.name}.pcap`)
  }

  /** Start the RNIC worker and the CM agent (once; later calls share the first). */
  start(): Promise<void> {
    this.rnicUp ??= this.startRnic()
    return this.rnicUp
  }

  /** Resolves true once the backend's link to the controller is up (hostHello answered). */
  controllerConnected(timeoutMs: number): Promise<boolean> {
    return this.controller.waitConnected(timeoutMs)
  }

  private async startRnic(): Promise<void> {
    this.controller.start()
    const data: RnicWorkerData = {
      host: this.host.name,
      index: this.host.index,
      wireSockets: this.plan.hosts.map((h) => path.join(this.socketDir, socketNames.wire(h.index))),
      routes: this.routes(),
      stations: this.plan.hosts.map((h) => ({mac: h.mac, underlay: h.underlay})),
      counters: this.counters,
      gids: this.gids(),
      mtu: this.plan.fabric.mtu,
      fabric: this.plan.fabric,
      capture: this.capturePath(),
      spinUs: process.env.MASQ_RNIC_SPIN_US ? Number(process.env.MASQ_RNIC_SPIN_US) : undefined,
    }
    this.rnic = new Worker(RNIC_WORKER, {workerData: data})
    this.rnicChannel = new WorkerChannel(this.rnic)
    this.rnic.on('error', (err) => {
      this.rnicState = 'failed'
      log(`rnic worker failed: ${err.stack ?? err.message}`)
    })
    this.rnic.on('exit', (code) => {
      this.rnicChannel.failAll('rnic worker exited')
      if (!this.stopping) {
        this.rnicState = 'failed'
        log(`rnic worker exited with code ${code}`)
      }
    })
    await new Promise<void>((resolve, reject) => {
      this.rnic.once('error', reject)
      this.rnic.on('message', (m: {type?: string}) => {
        if (m?.type === 'ready') {
          this.rnicState = 'running'
          this.rnic.off('error', reject)
          resolve()
        }
      })
    })
    // the host CM agent's own command port to the RNIC: it moves the VMs' QPs for rdma_cm (trusted path)
    const cmPort = new MessageChannel()
    await this.rnicChannel.request({type: 'attachVm', vm: `cm@${this.host.name}`, memory: new SharedArrayBuffer(8), verbs: cmPort.port2}, 10_000, [cmPort.port2])
    this.cm = new CmHost(this.plan, this.host.name, this.rnic, new MessagePortChannel(cmPort.port1),
      (method, params, timeoutMs) => this.controller.call(method, params, timeoutMs), this.backend, (vni, vip) => this.lookup(vni, vip))
    await this.cm.start()
  }

  /**
   * Start the workers of this host's VMs (once; later calls share the first); resolves when every VM answers
   * ping and is attached to the RNIC. May be called before start() finishes: the VM workers boot (the costly
   * part: an isolate and its modules each) while the RNIC worker does, and attach once it is up.
   */
  startVms(timeoutMs = 20_000): Promise<{vms: string[]}> {
    this.vmsUp ??= this.startAllVms(timeoutMs)
    return this.vmsUp
  }

  private async startAllVms(timeoutMs: number): Promise<{vms: string[]}> {
    const mine = this.plan.vms.filter((v) => v.host === this.host.name && !this.vms.has(v.name))
    await Promise.all(mine.map((vm) => this.startVm(vm, timeoutMs)))
    const failed = [...this.vms.values()].filter((h) => h.state === 'failed')
    if (failed.length) throw new RpcError(-32010, failed.map((h) => `${h.vm.name}: ${h.error}`).join('; '))
    return {vms: [...this.vms.keys()]}
  }

  private async startVm(vm: Vm, timeoutMs: number): Promise<void> {
    const memory = new SharedArrayBuffer(vm.memoryBytes)
    const {port1, port2} = new MessageChannel()
    // Control verbs: sriov/bare go straight to the RNIC worker (a VF / the host's own device, DESIGN §2); the
    // other modes cross the backend on this thread (virtio), which then uses the VM's command port to the RNIC.
    const toRnic = new MessageChannel()
    let vmVerbs: MessagePort = toRnic.port1
    if (vm.mode !== 'sriov' && vm.mode !== 'bare') {
      const virtio = new MessageChannel()
      this.backend.attach(vm, virtio.port1, toRnic.port1, memory)
      vmVerbs = virtio.port2
    }
    const wd: VmWorkerData = {vm, memory, port: port2, verbs: vmVerbs}
    const worker = new Worker(VM_WORKER, {workerData: wd, transferList: [port2, vmVerbs]})
    const h: VmHandle = {vm, state: 'starting', worker, channel: new WorkerChannel(port1), memory}
    this.vms.set(vm.name, h)
    port1.on('message', (m: {call?: number; method?: string; params?: any}) => {
      if (typeof m?.call !== 'number') return
      // rdma_cm calls are taken in arrival order and start synchronously (ucma serialises a file's writes)
      if (m.method === 'cm') {
        void this.cm.op(vm.name, m.params ?? {}).then((result) => port1.postMessage({call: m.call, result}))
        return
      }
      void this.vmCall(port1, m.call, String(m.method), m.params ?? {})
    })
    worker.on('error', (err) => {
      h.state = 'failed'
      h.error = err.message
      log(`vm ${vm.name} failed: ${err.stack ?? err.message}`)
    })
    worker.on('exit', () => {
      h.channel.failAll('vm worker exited')
      if (!this.stopping && h.state !== 'failed') h.state = 'failed'
      if (!this.stopping) void this.releaseVm(vm)
    })
    try {
      await this.start() // the RNIC worker and the CM agent
      this.cm.attach(vm, port1)
      await h.channel.request({type: 'ping'}, timeoutMs)
      await this.rnicChannel.request({type: 'attachVm', vm: vm.name, memory, verbs: toRnic.port2, vfRate: this.vfRate(vm)}, timeoutMs, [toRnic.port2])
      h.state = 'running'
      log(`vm ${vm.name} running (${vm.mode}, ${vm.memoryBytes} bytes of memory shared with the rnic worker)`)
    } catch (err) {
      h.state = 'failed'
      h.error ??= (err as Error).message
    }
  }

  /** A VM's worker is gone: its rdma_cm ids and every RNIC object the backend holds for it are released. */
  private async releaseVm(vm: Vm): Promise<void> {
    try {
      this.cm?.detach(vm.name)
      const r = await this.backend.destroyAll(vm.name)
      if (r) log(`vm ${vm.name} exited: released ${r.qp} QPs, ${r.mr} MRs, ${r.cq} CQs, ${r.pd} PDs${r.failed ? ` (${r.failed} refused by the RNIC)` : ''}`)
    } catch (err) {
      log(`vm ${vm.name}: releasing its objects failed: ${(err as Error).message}`)
    }
  }

  /** Calls from a VM worker to the host: the rendezvous through the controller (no rdma_cm yet). */
  private async vmCall(port: MessagePort, call: number, method: string, params: {key?: unknown; value?: unknown; timeoutMs?: unknown}): Promise<void> {
    try {
      let result: unknown
      if (method === 'publish') result = await this.controller.call('publish', {key: params.key, value: params.value})
      else if (method === 'waitFor') {
        const t = Number(params.timeoutMs ?? 20_000)
        result = await this.controller.call('waitFor', {key: params.key, timeoutMs: t}, t + 5000)
      } else throw new Error(`unknown VM call ${method}`)
      port.postMessage({call, result})
    } catch (err) {
      port.postMessage({call, error: (err as Error).message})
    }
  }

  /** Run a workload on one of this host's VMs; the VM worker reports failures as {ok: false, error}. */
  async run(p: {vm?: unknown; workload?: unknown; role?: unknown; runId?: unknown; peer?: unknown; members?: unknown; params?: unknown; timeoutMs?: unknown}): Promise<unknown> {
    const h = typeof p.vm === 'string' ? this.vms.get(p.vm) : undefined
    if (!h) throw new RpcError(-32602, `run: no VM ${String(p.vm)} on host ${this.host.name}`)
    if (h.state !== 'running') throw new RpcError(-32011, `run: VM ${h.vm.name} is ${h.state}`)
    if (typeof p.workload !== 'string') throw new RpcError(-32602, 'run: workload must be a name or a module path')
    const peer = typeof p.peer === 'string' ? this.plan.vms.find((v) => v.name === p.peer) : undefined
    // every VM of a run over several VMs (rank order), and their device addresses from the plan
    const members = Array.isArray(p.members) && p.members.every((m) => typeof m === 'string') ? p.members as string[] : undefined
    const peers = members && Object.fromEntries(this.plan.vms.filter((v) => v.name !== h.vm.name && members.includes(v.name)).map((v) => [v.name, v.deviceIp]))
    const timeoutMs = Number(p.timeoutMs ?? 60_000)
    return h.channel.request({type: 'run', workload: p.workload, role: p.role ?? 'single', runId: String(p.runId ?? Date.now()), peer, members, peers, params: p.params ?? {}}, timeoutMs)
  }

  private wireCounters(): Record<string, number> {
    const c = new Float64Array(this.counters)
    return Object.fromEntries(WIRE_COUNTERS.map((n, i) => [n, c[i]]))
  }

  async status(): Promise<unknown> {
    let rnic: unknown = {state: this.rnicState}
    if (this.rnicState === 'running') {
      try {
        rnic = {state: this.rnicState, ...(await this.rnicChannel.request({type: 'info'}, 2000))}
      } catch (err) {
        rnic = {state: 'unresponsive', error: (err as Error).message}
      }
    }
    const vms = await Promise.all(
      [...this.vms.values()].map(async (h) => {
        let memoryBytes: number | undefined
        if (h.state === 'running') {
          try {
            memoryBytes = (await h.channel.request<{memoryBytes: number}>({type: 'ping'}, 2000)).memoryBytes
          } catch {
            h.state = 'failed'
          }
        }
        return {name: h.vm.name, tenant: h.vm.tenant, mode: h.vm.mode, state: h.state, memoryBytes, error: h.error}
      }),
    )
    return {
      node: this.host.name,
      role: 'host',
      pid: process.pid,
      uptimeMs: Date.now() - this.started,
      memory: memoryMiB(),
      rnic,
      vms,
      controller: this.controller.connected ? 'connected' : 'disconnected',
      qps: (rnic as {qps?: number}).qps ?? 0,
      backend: this.backend.stats(),
      released: this.backend.released,
      cm: {...this.cm?.stats, errors: this.cm?.agent.errors.count ?? 0, live: this.cm?.agent.liveConnections().length ?? 0},
      counters: {wire: this.wireCounters(), rnic: (rnic as {port?: unknown}).port, drops: (rnic as {drops?: unknown}).drops,
        fabric: (rnic as {fabric?: unknown}).fabric},
    }
  }

  async linkTest(p: {peer?: unknown; frames?: unknown; size?: unknown; batch?: unknown}): Promise<unknown> {
    const peer = typeof p.peer === 'number' ? p.peer : this.plan.hosts.find((h) => h.name === p.peer)?.index
    if (peer === undefined || peer === this.host.index || !this.plan.hosts[peer]) {
      throw new RpcError(-32602, `linkTest: peer must be another host of the lab, got ${JSON.stringify(p.peer)}`)
    }
    const frames = Number(p.frames ?? 10_000)
    const size = Number(p.size ?? 4096)
    if (!Number.isInteger(frames) || frames < 1 || !Number.isInteger(size)) throw new RpcError(-32602, 'linkTest: frames and size must be positive integers')
    const batchBytes = p.batch === undefined ? undefined : Number(p.batch)
    const r = await this.rnicChannel.request({type: 'linkTest', peer, frames, size, batchBytes, timeoutMs: 120_000}, 125_000)
    return {from: this.host.name, to: this.plan.hosts[peer].name, ...r}
  }

  handlers(stop: () => void): RpcHandlers {
    return {
      ping: () => ({node: this.host.name, role: 'host', pid: process.pid}),
      status: () => this.status(),
      startVms: () => this.startVms(),
      vms: () => [...this.vms.values()].map((h) => ({name: h.vm.name, state: h.state})),
      linkTest: (p) => this.linkTest(p ?? {}),
      run: (p) => this.run(p ?? {}),
      // the RNIC worker's busy-poll window after activity (bench:wire sweeps it)
      setSpin: (p: {spinUs?: unknown}) => {
        const us = Number(p?.spinUs)
        if (!(us >= 0 && us <= 1e6)) throw new RpcError(-32602, 'setSpin needs {spinUs: 0..1e6}')
        return this.rnicChannel.request({type: 'setSpin', spinUs: us}, 5000)
      },
      // a provider-class (by default) probe stream through the fabric model to another host (src/fabric/probe.ts)
      fabricProbe: (p: {peer?: unknown; count?: unknown; intervalUs?: unknown; len?: unknown; dscp?: unknown}) => {
        const peer = this.plan.hosts.find((h) => h.name === p?.peer)
        const count = Number(p?.count ?? 1000)
        const intervalUs = Number(p?.intervalUs ?? 1000)
        if (!peer || peer.name === this.host.name) throw new RpcError(-32602, 'fabricProbe needs {peer: another host}')
        if (!(count >= 1 && count <= 1e6 && intervalUs >= 0)) throw new RpcError(-32602, 'fabricProbe: count 1..1e6, intervalUs >= 0')
        const ip = (a: string) => a.split('.').reduce((v, o) => v * 256 + Number(o), 0)
        const probe = {srcIp: ip(this.host.underlay), dstIp: ip(peer.underlay), dscp: Number(p?.dscp ?? this.plan.provider.dscp),
          len: Number(p?.len ?? 300), count, intervalNs: intervalUs * 1000}
        return this.rnicChannel.request({type: 'fabricProbe', probe}, count * intervalUs / 1000 + 60_000)
      },
      // The backend asks the controller where a (VNI, vIP) lives: the RConnrename lookup (step 4).
      lookup: (p) => this.controller.call('lookup', p),
      // RConntrack: the controller resets this host's ends of connections a rule change no longer allows
      resetConnections: (p: {conns?: unknown}) => {
        if (!Array.isArray(p?.conns)) throw new RpcError(-32602, 'resetConnections needs {conns: [...]}')
        return this.cm.resetConnections(p.conns)
      },
      // the registry changed: drop the cached lookups (RConnrename asks again)
      registryChanged: () => {
        this.lookups.clear()
        this.cm.rulesChanged()
        // UD renaming tables in the RNIC are rebuilt from fresh lookups (a moved VM's vIP points at its new host)
        void this.backend.refreshVpc().catch((err: unknown) => log(`refreshing VPC tables: ${(err as Error).message}`))
        return {ok: true}
      },
      // another host's backend checks a tenant-named destination QPN (C11)
      ownsQp: (p: {vni?: unknown; vip?: unknown; qpn?: unknown}) => {
        if (typeof p?.vni !== 'number' || typeof p.vip !== 'string' || typeof p.qpn !== 'number') throw new RpcError(-32602, 'ownsQp needs {vni, vip, qpn}')
        return {owns: this.backend.owns(p.vni, p.vip, p.qpn)}
      },
      ...this.attackHandlers(),
      // a rule change: the CM agent's cached ingress verdicts are dropped before `masq rules` returns
      rulesChanged: (p: {version?: unknown}) => this.cm.rulesChanged(typeof p?.version === 'number' ? p.version : undefined),
      shutdown: () => {
        setImmediate(stop)
        return {ok: true}
      },
    }
  }

  /**
   * masq attack-test's observers (object counts, drop counters, backend refusals) and, in labs that attack-test
   * started (plan.attackTest), the T2 raw-frame injector. A user's lab refuses attackInject.
   */
  private attackHandlers(): RpcHandlers {
    return {
      attackObserve: async () => {
        const info = await this.rnicChannel.request<{port: Record<string, number>; drops: Record<string, number>; qps: number; asyncEvents: Record<string, number>}>({type: 'info'}, 5000)
        const objects = await this.rnicChannel.request<Record<string, number>>({type: 'objectCounts'}, 5000)
        return {host: this.host.name, objects, port: info.port, drops: info.drops, asyncEvents: info.asyncEvents, backend: this.backend.stats()}
      },
      attackInject: (p: {frame?: unknown}) => {
        if (!(this.plan as {attackTest?: boolean}).attackTest) throw new RpcError(-32601, 'attackInject: only labs started by masq attack-test inject frames')
        const hex = typeof p?.frame === 'string' ? p.frame : ''
        if (!/^([0-9a-f]{2}){14,9000}$/i.test(hex)) throw new RpcError(-32602, 'attackInject needs {frame: hex string of 14..9000 bytes}')
        const frame = Buffer.from(hex, 'hex')
        return this.rnicChannel.request({type: 'injectFrame', frame}, 5000)
      },
    }
  }

  async stop(): Promise<void> {
    this.stopping = true
    this.controller.close()
    for (const h of this.vms.values()) h.state = 'stopped'
    await Promise.all([...this.vms.values()].map((h) => h.worker.terminate()))
    if (this.rnic) {
      try {
        await this.rnicChannel.request({type: 'shutdown'}, 2000)
      } catch {}
      await this.rnic.terminate()
    }
  }
}
