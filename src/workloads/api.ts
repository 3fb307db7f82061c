// What a workload sees inside a VM (DESIGN §6): the VM's plan entry, its memory, its verbs device, and (until
// rdma_cm exists) a rendezvous through the lab controller to exchange QP numbers, PSNs and keys.
import type {RdmaCm} from '../cm/rdma-cm.js'
import {RING_FLAGS, RING_PRODUCER} from '../rnic/queue.js'
import type {Vm} from '../topology/types.js'
import type {Context, VmMemory} from '../verbs/index.js'

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
}

export type Workload = (vm: WorkloadContext) => Promise<unknown>

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
