// What a workload sees inside a VM (DESIGN §6): the VM's plan entry, its memory, its verbs device, its rdma_cm
// (librdmacm API), and a rendezvous through the lab controller for what rdma_cm does not carry (readiness, results).
import type {RdmaCm} from '../cm/rdma-cm.js'
import {RING_FLAGS, RING_PRODUCER} from '../rnic/queue.js'
import type {Vm} from '../topology/types.js'
import type {Context, Region, VmMemory} from '../verbs/index.js'

export interface WorkloadContext {
  vm: Vm
  peer?: Vm
  /** 'client' on --vm, 'server' on --peer when a workload runs on two VMs. */
  role: 'client' | 'server' | 'single'
  /** Unique per `masq run`: prefix rendezvous keys with it. */
  runId: string
  params: Record<string, unknown>
  memory: VmMemory
  openDevice(): Promise<Context>
  publish(key: string, value: unknown): Promise<void>
  waitFor<T = unknown>(key: string, timeoutMs?: number): Promise<T>
  log(msg: string): void
  /** librdmacm for this VM (rdma_create_event_channel, rdma_create_id, ...). Optional until every lab mode provides it. */
  cm?: RdmaCm
  /** The VM's RDMA device address (what rdma_cm binds to and peers connect to). Default: vm.deviceIp. */
  ip?: string
  /** Device addresses of the other VMs of this run, by VM name. Default: the peer's. */
  peers?: Record<string, string>
  /** Names of every VM of this run in rank order (self included): ring and collective workloads use it. */
  members?: string[]
}

/** The context a workload receives: every helper filled in (completeContext). */
export interface WorkloadVm extends WorkloadContext {
  ip: string
  peers: Record<string, string>
  members: string[]
  /** This VM's index in `members`. */
  rank: number
  /**
   * Allocate a zeroed buffer in VM memory (for pd.regMr); 64-byte aligned by default. Zeroed like calloc: a lab VM
   * reuses its guest memory from run to run, so a plain allocation would see the previous run's bytes.
   */
  alloc(length: number, align?: number): Region
  /** Monotonic clock in nanoseconds (performance.now based): what the bench collector takes. */
  nowNs(): number
}

/** A workload module's default export: `export default async function (vm, options) {...}`. */
export type UserWorkload = (vm: WorkloadVm, options: Record<string, unknown>) => Promise<unknown>

export type Workload = (vm: WorkloadContext) => Promise<unknown>

/** Fill in the derived helpers of a context (a VM worker's or the in-process harness's). */
export function completeContext(ctx: WorkloadContext): WorkloadVm {
  const c = ctx as WorkloadVm
  if (c.rank !== undefined && typeof c.alloc === 'function' && typeof c.nowNs === 'function' && c.members && c.peers && c.ip) return c
  const peers = ctx.peers ?? (ctx.peer ? {[ctx.peer.name]: ctx.peer.deviceIp} : {})
  // a pair's client (--vm) is rank 0, its server (--peer) rank 1
  const members = ctx.members ?? (ctx.peer ? (ctx.role === 'server' ? [ctx.peer.name, ctx.vm.name] : [ctx.vm.name, ctx.peer.name]) : [ctx.vm.name])
  const rank = members.indexOf(ctx.vm.name)
  if (rank < 0) throw new Error(`${ctx.vm.name} is not a member of its run (${members.join(', ')})`)
  return Object.assign(ctx, {
    ip: ctx.ip ?? ctx.vm.deviceIp, peers, members, rank,
    alloc: (length: number, align?: number) => {
      const r = ctx.memory.alloc(length, align)
      r.bytes.fill(0)
      return r
    },
    nowNs: () => performance.now() * 1e6,
  })
}

/** rdma_cm of this VM, or a clear error when this lab does not provide it yet. */
export function requireCm(vm: WorkloadContext): RdmaCm {
  if (!vm.cm) throw new Error(`rdma_cm is not available in VM ${vm.vm.name} (this lab mode does not provide it yet)`)
  return vm.cm
}

/** Resolves once `done()` is true; spins briefly, then yields to the event loop so messages still flow. */
export async function until(done: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const end = Date.now() + timeoutMs
  for (;;) {
    for (let i = 0; i < 2000; i++) if (done()) return
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((r) => setImmediate(r))
  }
}

/**
 * Block this VM thread until the CQ's producer moves or `timeoutMs` passes (ibv_req_notify_cq + ibv_get_cq_event):
 * the RNIC notifies the producer word when the ring's flags word is set. Frees the core for the RNIC threads on a
 * small machine, where a spinning VM would compete with them.
 */
export function waitCq(ring: {i32: Int32Array; producer(): number; consumer(): number}, timeoutMs: number): void {
  const prod = ring.producer()
  if (prod !== ring.consumer()) return
  Atomics.store(ring.i32, RING_FLAGS, 1)
  if (ring.producer() === prod) Atomics.wait(ring.i32, RING_PRODUCER, prod | 0, timeoutMs)
  Atomics.store(ring.i32, RING_FLAGS, 0)
}
