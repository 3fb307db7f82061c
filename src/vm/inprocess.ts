// In-process VMs for tests and debugging: N hosts, one VM each, every host an Rnic with its CmAgent (IB CM on
// QP1) on one LoopbackFabric (optionally lossy), all driven on this event loop in real time (RnicDriver +
// CmTimerDriver). Each VM gets the same WorkloadContext a lab VM worker gives (src/host/vm-worker.cts) plus rdma_cm.

import {CmAgent} from '../cm/agent.js'
import {CmTimerDriver} from '../cm/driver.js'
import {RnicMadTransport} from '../cm/transport.js'
import {type Impairments, LoopbackFabric, mulberry32} from '../rnic/port.js'
import {RnicDriver} from '../rnic/pump.js'
import {Rnic} from '../rnic/rnic.js'
import type {Vm} from '../topology/types.js'
import {openDevice, VmMemory} from '../verbs/index.js'
import {completeContext, type WorkloadContext, type WorkloadVm} from '../workloads/api.js'
import {type LoadedWorkload, loadWorkloadFile, type RunOutcome, runWithTimeout, WorkloadLoadError} from './loader.js'

export interface InProcessOptions {
  /** Number of VMs (default 2) or their names. */
  vms?: number | string[]
  /** Fabric impairments, e.g. {loss: 0.05, reorder: 0.01}: impaired frames go through the fabric's queue. */
  impairments?: Impairments
  /** Shorthand for impairments.loss: the probability that a frame is dropped (seeded). */
  loss?: number
  seed?: number
  memoryBytes?: number
  runId?: string
  /** Write vm.log lines here (default: dropped). */
  log?: (vm: string, msg: string) => void
}

export interface InProcessLab {
  vms: WorkloadVm[]
  nics: Rnic[]
  agents: CmAgent[]
  fabric: LoopbackFabric
  /** Run one workload on every VM at once (rank 0 = client, rank 1 = server for pairs); never throws. */
  run(workload: LoadedWorkload, params?: Record<string, unknown>, timeoutMs?: number): Promise<RunOutcome[]>
  stop(): void
}

/** Plan entry of in-process VM i: device address = wire address = 10.0.0.(i+1), as in sriov mode. */
export function inProcessVm(name: string, i: number, memoryBytes: number): Vm {
  const ip = `10.0.0.${i + 1}`
  return {name, index: i, tenant: 't0', vni: 0, host: `host${i}`, mode: 'sriov', vip: ip, deviceIp: ip, wireIp: ip,
    gid: `::ffff:${ip}`, mac: `02:00:0a:00:00:${(i + 1).toString(16).padStart(2, '0')}`, securityGroups: [], memoryBytes}
}

/** A rendezvous like the lab controller's: publish a value under a key, wait for a key. */
export class Rendezvous {
  private readonly values = new Map<string, unknown>()
  private readonly waiters = new Map<string, Array<(v: unknown) => void>>()

  publish(key: string, value: unknown): void {
    this.values.set(key, value)
    for (const w of this.waiters.get(key) ?? []) w(value)
    this.waiters.delete(key)
  }

  waitFor<T>(key: string, timeoutMs = 20_000): Promise<T> {
    if (this.values.has(key)) return Promise.resolve(this.values.get(key) as T)
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`rendezvous: timed out after ${timeoutMs} ms waiting for ${key}`)), timeoutMs)
      const list = this.waiters.get(key) ?? []
      list.push((v) => {
        clearTimeout(timer)
        resolve(v as T)
      })
      this.waiters.set(key, list)
    })
  }
}

export function createInProcessLab(o: InProcessOptions = {}): InProcessLab {
  const names = Array.isArray(o.vms) ? o.vms : Array.from({length: o.vms ?? 2}, (_, i) => `vm${i}`)
  const memoryBytes = o.memoryBytes ?? 32 << 20
  const seed = o.seed ?? 1
  // poison: a queued frame is overwritten once delivered, so nothing can keep using a frame past receive()
  const fabric = new LoopbackFabric({seed, impairments: {...o.impairments, ...(o.loss ? {loss: o.loss} : {})}, poison: true})
  const plans = names.map((n, i) => inProcessVm(n, i, memoryBytes))
  const nics = plans.map((p, i) => new Rnic({name: `rxe${i}`, gids: [p.wireIp], random: mulberry32(seed * 1000 + i)}))
  for (const n of nics) fabric.attach(n)
  const stops: Array<() => void> = []
  const driver = new RnicDriver(nics, fabric)
  driver.start()
  stops.push(() => driver.stop())
  // CM timers short enough that lost MADs are re-sent within milliseconds; a QP ACK timeout of 16 ms
  // (4.096 µs · 2^12) and an RNR timer of 0.01 ms keep retransmissions on a lossy fabric quick
  const agents = nics.map((n, i) => new CmAgent({transport: new RnicMadTransport(n), clock: n.clock,
    random: mulberry32(seed * 2000 + i), timeouts: {cmResponseTimeout: 14, packetLifeTime: 8, maxCmRetries: 15, timewaitUs: 5000},
    localAckTimeout: 12, minRnrTimer: 1}))
  for (const a of agents) {
    const d = new CmTimerDriver(a.engine)
    d.start()
    stops.push(() => d.stop())
  }
  const rendezvous = new Rendezvous()
  let runs = 0
  const makeContext = (i: number, runId: string, params: Record<string, unknown>): WorkloadVm => {
    const vm = plans[i]!
    const memory = new VmMemory(memoryBytes)
    const peers = Object.fromEntries(plans.filter((p) => p !== vm).map((p) => [p.name, p.deviceIp]))
    const ctx: WorkloadContext = {
      vm, peer: plans.length === 2 ? plans[1 - i] : undefined,
      role: plans.length === 2 ? (i === 0 ? 'client' : 'server') : 'single',
      runId, params, memory,
      openDevice: () => openDevice(nics[i]!, {memory}),
      publish: async (key, value) => rendezvous.publish(key, value),
      waitFor: (key, timeoutMs) => rendezvous.waitFor(key, timeoutMs),
      log: (msg) => o.log?.(vm.name, msg),
      cm: agents[i]!.vm({addresses: [vm.deviceIp]}),
      ip: vm.deviceIp, peers, members: names,
    }
    return completeContext(ctx)
  }
  const vms = plans.map((_, i) => makeContext(i, o.runId ?? 'inproc-0', {}))
  return {
    vms, nics, agents, fabric,
    async run(workload, params = {}, timeoutMs = 120_000) {
      const runId = `${o.runId ?? 'inproc'}-${++runs}`
      // fresh memory and ids per run, like a VM worker's run
      const ctxs = plans.map((_, i) => makeContext(i, runId, params))
      return Promise.all(ctxs.map((c) => runWithTimeout(workload, c, timeoutMs)))
    },
    stop() {
      while (stops.length) stops.pop()!()
    },
  }
}

/**
 * What `masq run --in-process` would do: a built-in by name or a module by path, on `vms` fresh in-process VMs
 * (2 by default), with optional frame loss. Returns one outcome per VM (rank order).
 */
export async function runInProcess(workload: string, o: InProcessOptions & {params?: Record<string, unknown>; timeoutMs?: number;
  /** Called with the fabric's counters once the run is over (frames sent, lost ...). */
  fabricStats?: (stats: LoopbackFabric['stats']) => void} = {}): Promise<RunOutcome[]> {
  const {BUILTIN} = await import('../workloads/index.js')
  if (!Object.hasOwn(BUILTIN, workload) && !/[/\\]|\.[cm]?[jt]s$/.test(workload)) {
    throw new WorkloadLoadError(`unknown workload ${workload}: built-ins are ${Object.keys(BUILTIN).join(', ')}, or give a path to a .js/.mjs/.ts module`)
  }
  const loaded: LoadedWorkload = Object.hasOwn(BUILTIN, workload)
    ? {name: workload, fn: (vm) => BUILTIN[workload]!().then((f) => f(vm))}
    : await loadWorkloadFile(workload)
  const lab = createInProcessLab(o)
  try {
    return await lab.run(loaded, o.params ?? {}, o.timeoutMs)
  } finally {
    lab.stop()
    o.fabricStats?.({...lab.fabric.stats})
  }
}
