// VM worker: one per VM. Guest memory is the SharedArrayBuffer the host gave it (the RNIC worker holds the same
// buffer); the verbs provider (src/verbs) sends control verbs over `verbs` (to the backend, or straight to the RNIC
// worker in sriov/bare) and touches only the shared rings and the doorbell for data verbs. Workloads run here.
import {workerData} from 'node:worker_threads'
import type {RdmaCm} from '../cm/rdma-cm.js'
import {RemoteCm} from '../cm/remote.js'
import {MessagePortChannel, openDevice, TrackingChannel, VmMemory} from '../verbs/index.js'
import type {WorkloadContext} from '../workloads/api.js'
import {loadWorkload} from '../workloads/index.js'
import {serve} from './channel.js'
import type {VmWorkerData} from './messages.js'

const d = workerData as VmWorkerData

/** A VmMemory over the guest RAM we were given (VmMemory's constructor allocates its own buffer). */
function guestMemory(sab: SharedArrayBuffer): VmMemory {
  const m = Object.create(VmMemory.prototype) as VmMemory
  Object.assign(m, {size: sab.byteLength, base: 0x7f0000000000n, sab, u8: new Uint8Array(sab), brk: 0})
  return m
}

const channel = new MessagePortChannel(d.verbs)

// VM -> host agent calls ({call, method, params} / {call, result | error}); the agent serves ping/run with {id}.
let nextCall = 1
const calls = new Map<number, {resolve: (v: any) => void; reject: (e: Error) => void}>()
d.port.on('message', (m: {type?: string; call?: number; result?: unknown; error?: string}) => {
  if (m?.type === 'cmEvent') {
    for (const c of cms) if (c.ownsChannel((m as {channel: number}).channel)) return c.onEvent(m as any)
    return
  }
  if (typeof m?.call !== 'number') return
  const c = calls.get(m.call)
  if (!c) return
  calls.delete(m.call)
  if (m.error !== undefined) c.reject(new Error(m.error))
  else c.resolve(m.result)
})
function agentCall<T>(method: string, params: unknown): Promise<T> {
  const call = nextCall++
  return new Promise<T>((resolve, reject) => {
    calls.set(call, {resolve, reject})
    d.port.postMessage({call, method, params})
  })
}

// rdma_cm: a proxy to the host's CM agent over the same port (src/cm/remote.ts), one per run
const cmLink = {
  call: <T>(op: string, params: Record<string, unknown>) => agentCall<T>(op, params),
  send: (op: string, params: Record<string, unknown>) => void agentCall(op, params).catch(() => undefined),
}
const cms = new Set<RemoteCm>()

let runs = 0
const finishedRuns: TrackingChannel[] = []
let failures = 0

async function run(m: {workload: string; role: WorkloadContext['role']; runId: string; peer?: WorkloadContext['peer']; params?: Record<string, unknown>}): Promise<unknown> {
  runs++
  const started = performance.now()
  const name = d.vm.name
  const cm = new RemoteCm(cmLink)
  cms.add(cm)
  // What a finished run created is destroyed when the VM's next run starts, as a process exit releases its verbs
  // objects. Not at the end of the run: the server side of a pair may return while its peer still reads its memory.
  // Runs still going (a VM may run several at once) keep theirs.
  for (const t of finishedRuns.splice(0)) await t.releaseAll()
  const verbs = new TrackingChannel(channel)
  try {
    const workload = await loadWorkload(m.workload)
    const ctx: WorkloadContext = {
      vm: d.vm, peer: m.peer, role: m.role, runId: m.runId, params: m.params ?? {},
      // each run gets fresh buffers at the start of guest memory (a run owns the VM's memory while it runs)
      memory: guestMemory(d.memory),
      openDevice: () => openDevice(verbs, {memory: ctx.memory}),
      publish: (key, value) => agentCall('publish', {key, value}),
      waitFor: (key, timeoutMs = 20_000) => agentCall('waitFor', {key, timeoutMs}),
      cm: cm as unknown as RdmaCm,
      log: (msg) => process.stdout.write(`${new Date().toISOString()} [${name}] ${msg}\n`),
    }
    const result = await workload(ctx)
    return {vm: name, ok: true, ms: performance.now() - started, result}
  } catch (err) {
    failures++
    const e = err as Error
    return {vm: name, ok: false, ms: performance.now() - started, error: e?.message ?? String(err), stack: e?.stack}
  } finally {
    cm.destroyAll()
    cms.delete(cm)
    finishedRuns.push(verbs)
  }
}

// A workload's stray promise or timer callback that throws must not take the VM down.
for (const event of ['unhandledRejection', 'uncaughtException'] as const) {
  process.on(event, (err: unknown) => {
    failures++
    process.stdout.write(`${new Date().toISOString()} [${d.vm.name}] ${event} in a workload: ${(err as Error)?.message ?? String(err)}\n`)
  })
}

serve(d.port, (m: {type: string}) => {
  if (m.type === 'ping') return {vm: d.vm.name, memoryBytes: d.memory.byteLength, runs, failures}
  if (m.type === 'run') return run(m as any)
  throw new Error(`unknown request ${m.type}`)
})
