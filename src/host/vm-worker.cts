// VM worker: one per VM. Guest memory is the SharedArrayBuffer the host gave it (the RNIC worker holds the same
// buffer); the verbs provider (src/verbs) sends control verbs over `verbs` (to the backend, or straight to the RNIC
// worker in sriov/bare) and touches only the shared rings and the doorbell for data verbs. Workloads run here.
import {workerData} from 'node:worker_threads'
import type {RdmaCm} from '../cm/rdma-cm.js'
import type {RemoteCm} from '../cm/remote.js'
import type {MessagePortChannel, VmMemory} from '../verbs/index.js'
import type {WorkloadContext} from '../workloads/api.js'
import {serve} from './channel.cjs'
import type {VmWorkerData} from './messages.js'

const d = workerData as VmWorkerData

// The verbs provider, the rdma_cm proxy and the workload loader are loaded by the first run, not at boot: a lab
// starts a worker per VM and each module an isolate loads costs start-up CPU (bench/lab-up.ts).
interface Libs {verbs: typeof import('../verbs/index.js'); CmProxy: typeof RemoteCm; loadWorkload: typeof import('../workloads/index.js').loadWorkload; channel: MessagePortChannel}
let libs: Promise<Libs> | undefined
function load(): Promise<Libs> {
  libs ??= Promise.all([import('../verbs/index.js'), import('../cm/remote.js'), import('../workloads/index.js')]).then(([verbs, cm, wl]) => ({
    verbs, CmProxy: cm.RemoteCm, loadWorkload: wl.loadWorkload, channel: new verbs.MessagePortChannel(d.verbs),
  }))
  return libs
}

/** A VmMemory over the guest RAM we were given (VmMemory's constructor allocates its own buffer). */
function guestMemory(VmMemory: Libs['verbs']['VmMemory'], sab: SharedArrayBuffer): VmMemory {
  const m = Object.create(VmMemory.prototype) as VmMemory
  Object.assign(m, {size: sab.byteLength, base: 0x7f0000000000n, sab, u8: new Uint8Array(sab), brk: 0})
  return m
}

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
  call: <T,>(op: string, params: Record<string, unknown>) => agentCall<T>(op, params),
  send: (op: string, params: Record<string, unknown>) => void agentCall(op, params).catch(() => undefined),
  // the backend shares the CM agent's thread: rdma_create_qp is one request to it (sriov/bare verbs go to the VF)
  qpViaAgent: d.vm.mode !== 'sriov' && d.vm.mode !== 'bare',
}
const cms = new Set<RemoteCm>()

let runs = 0
let failures = 0
// What a finished run created is destroyed when the VM's next run starts, as a process exit releases its verbs
// objects. Not at the end of the run: the server side of a pair may return while its peer still reads its memory.
// Runs still going (a VM may run several at once) keep theirs.
const finishedRuns: Array<{releaseAll(): Promise<unknown>}> = []

async function run(m: {workload: string; role: WorkloadContext['role']; runId: string; peer?: WorkloadContext['peer']; members?: string[];
  peers?: Record<string, string>; params?: Record<string, unknown>}): Promise<unknown> {
  runs++
  const started = performance.now()
  const name = d.vm.name
  let cm: RemoteCm | undefined
  let tracked: InstanceType<Libs['verbs']['TrackingChannel']> | undefined
  try {
    for (const t of finishedRuns.splice(0)) await t.releaseAll()
    const {verbs, CmProxy, loadWorkload, channel} = await load()
    cm = new CmProxy(cmLink)
    cms.add(cm)
    const t = (tracked = new verbs.TrackingChannel(channel))
    const workload = await loadWorkload(m.workload)
    const ctx: WorkloadContext = {
      vm: d.vm, peer: m.peer, members: m.members, peers: m.peers, role: m.role, runId: m.runId, params: m.params ?? {},
      // each run gets fresh buffers at the start of guest memory (a run owns the VM's memory while it runs)
      memory: guestMemory(verbs.VmMemory, d.memory),
      openDevice: () => verbs.openDevice(t, {memory: ctx.memory}),
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
    if (cm) {
      cm.destroyAll()
      cms.delete(cm)
    }
    if (tracked) finishedRuns.push(tracked)
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
