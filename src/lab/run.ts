// The library behind `masq run`: start a workload on the VMs of a running lab through the host agents' `run` RPC
// (a pair: --vm is the client, --peer the server; a group: --vms in rank order) and collect the results; or run
// it on an in-process lab built from a topology's VM names (--in-process), with the same result document.
import crypto from 'node:crypto'
import path from 'node:path'
import {modeHasVpc} from '../topology/defaults.js'
import type {ResolvedPlan} from '../topology/types.js'
import type {RunOutcome} from '../vm/loader.js'
import {MULTI, PAIRED} from '../workloads/index.js'
import {assertAlive} from './liveness.js'
import {loadPlan} from './plan-source.js'
import {rpcCall} from './rpc.js'
import {readPlanFile, readState} from './state.js'

export interface RunOptions {
  workload: string
  /** The client (rank 0). */
  vm: string
  /** The server of a pair (rank 1). */
  peer?: string
  /** Every VM of the run in rank order (instead of vm/peer); vm, when given too, must be the first. */
  vms?: string[]
  params?: Record<string, unknown>
  timeoutMs?: number
}

export interface VmRunResult {vm: string; ok: boolean; ms: number; result?: any; error?: string; stack?: string}

export interface RunResult {
  version: 1
  lab: string
  workload: string
  runId: string
  ok: boolean
  /** Rank 0 (--vm, or the first of --vms). */
  client: VmRunResult
  /** Rank 1 of a two-VM run. */
  server?: VmRunResult
  /** Every VM's result in rank order (client first). */
  vms: VmRunResult[]
  /** Ran on an in-process lab (masq run --in-process), not on a running one. */
  inProcess?: boolean
  /** In process: the fabric's frame counters (how many frames were sent, lost to --loss ...). */
  fabric?: {sent: number; delivered: number; lost: number}
}

export class RunError extends Error {
  readonly exitCode = 1
}

/** A relative module path is taken from the caller's directory; built-in names stay names. */
export function workloadRef(w: string): string {
  return /[/\\]|\.[cm]?[jt]s$/.test(w) ? path.resolve(w) : w
}

/** The VMs of the run in rank order, checked against the plan and what the workload needs. */
export function runMembers(plan: ResolvedPlan, labName: string, workload: string, o: RunOptions): string[] {
  const members = o.vms?.length ? [...o.vms] : [o.vm, ...(o.peer ? [o.peer] : [])]
  if (o.vms?.length && o.peer) throw new RunError('give either --peer or --vms, not both')
  if (o.vms?.length && o.vm && o.vm !== members[0]) throw new RunError(`--vm ${o.vm} must be the first of --vms (rank 0)`)
  const seen = new Set<string>()
  for (const m of members) {
    if (!plan.vms.some((v) => v.name === m)) throw new RunError(`lab ${labName} has no VM ${m} (VMs: ${plan.vms.map((v) => v.name).join(', ')})`)
    if (seen.has(m)) throw new RunError(members.length === 2 && !o.vms ? '--peer must be another VM' : `VM ${m} appears twice in the run`)
    seen.add(m)
  }
  if (PAIRED.has(workload)) {
    if (members.length < 2) throw new RunError(`${workload} runs on ${MULTI.has(workload) ? 'two VMs or more: give --peer or --vms' : 'two VMs: give --peer'}`)
    if (members.length > 2 && !MULTI.has(workload)) throw new RunError(`${workload} runs on exactly two VMs (--vm and --peer); ${[...MULTI].join(', ')} takes --vms`)
  }
  return members
}

/** Built-ins that connect their VMs with rdma_cm, by vIP (smoke and bench-write connect out of band). */
const RDMA_CM_BUILTINS = new Set(['pingpong', 'bw', 'connrate', 'ud', 'allreduce'])

/**
 * An rdma_cm built-in connects its VMs by vIP: in a mode with VPCs they must share one, else rdma_cm fails with
 * ADDR_ERROR on one side while the others wait out their rendezvous. (A module may try on purpose: not checked.)
 */
export function sameVpc(plan: ResolvedPlan, members: string[], workload: string): void {
  const vms = members.map((m) => plan.vms.find((v) => v.name === m)!)
  const vpc = vms.filter((v) => modeHasVpc(v.mode))
  if (vpc.length && new Set(vpc.map((v) => v.tenant)).size > 1) {
    throw new RunError(`${workload} connects its VMs to each other, but they are in different tenants (${vms.map((v) => `${v.name}: ${v.tenant}`).join(', ')}): VPCs do not reach each other`)
  }
}

/** client/server for a pair, 'single' alone or in a group (WorkloadContext.role). */
function roleOf(rank: number, n: number): 'client' | 'server' | 'single' {
  return n === 2 ? (rank === 0 ? 'client' : 'server') : 'single'
}

// a workload's own verdict ({ok: false, ...}) counts as a failure too
const verdict = (r: VmRunResult) => r.ok && (r.result as {ok?: unknown} | undefined)?.ok !== false

function document(lab: string, workload: string, runId: string, sides: VmRunResult[], inProcess?: boolean): RunResult {
  return {version: 1, lab, workload, runId, ok: sides.every(verdict), client: sides[0]!, ...(sides.length === 2 ? {server: sides[1]} : {}),
    vms: sides, ...(inProcess ? {inProcess} : {})}
}

export async function runWorkload(ref: {name: string; labDir: string}, o: RunOptions): Promise<RunResult> {
  const state = readState(ref.labDir)
  const plan = readPlanFile(ref.labDir)
  if (!state || !plan) throw new RunError(`lab ${ref.name} is not running (no state in ${ref.labDir})`)
  const workload = workloadRef(o.workload)
  const members = runMembers(plan, ref.name, workload, o)
  if (RDMA_CM_BUILTINS.has(workload)) sameVpc(plan, members, workload)
  const hostOf = (name: string) => {
    const vm = plan.vms.find((v) => v.name === name)!
    const proc = state.processes.find((p) => p.role === 'host' && p.node === vm.host)
    if (!proc) throw new RunError(`the host ${vm.host} of VM ${name} is not running`)
    return proc
  }
  const hosts = members.map(hostOf)
  await assertAlive(state, [...new Set(hosts.map((h) => h.node)), 'controller'], (m) => new RunError(m)) // fail fast on a dead host
  const runId = `${workload.replace(/.*[/\\]/, '')}-${crypto.randomBytes(6).toString('hex')}`
  const timeoutMs = o.timeoutMs ?? 60_000
  const sides = await Promise.all(members.map(async (vm, rank): Promise<VmRunResult> => {
    const host = hosts[rank]!
    // a pair's other side is its peer (smoke and bench-write read vm.peer)
    const peer = members.length === 2 ? members[1 - rank] : undefined
    try {
      return await rpcCall<VmRunResult>(host.socket, 'run', {vm, workload, role: roleOf(rank, members.length), runId, peer, members,
        params: o.params ?? {}, timeoutMs}, timeoutMs + 5000)
    } catch (err) {
      return {vm, ok: false, ms: 0, error: `${host.node}: ${(err as Error).message}`}
    }
  }))
  return document(state.lab, workload, runId, sides)
}

/**
 * `masq run --in-process`: the run's VMs (names from the topology) become in-process VMs, one per emulated host,
 * on this process's event loop (src/vm/inprocess.ts): no backend, controller or worker threads, so a debugger and
 * stack traces reach the workload directly. Same result document as a lab run.
 */
export async function runInProcessTopology(topology: string, o: RunOptions & {impairments?: {loss?: number}; seed?: number}): Promise<RunResult> {
  const plan = await loadPlan(topology)
  const workload = workloadRef(o.workload)
  const members = runMembers(plan, plan.name, workload, o)
  const memoryBytes = Math.max(...members.map((m) => plan.vms.find((v) => v.name === m)!.memoryBytes))
  const {runInProcess} = await import('../vm/inprocess.js')
  const runId = `inproc-${crypto.randomBytes(6).toString('hex')}`
  let outcomes: RunOutcome[]
  let fabric: RunResult['fabric']
  try {
    outcomes = await runInProcess(workload, {vms: members, memoryBytes, params: o.params ?? {}, timeoutMs: o.timeoutMs ?? 60_000,
      runId, impairments: o.impairments, seed: o.seed, fabricStats: (st) => (fabric = {sent: st.sent, delivered: st.delivered, lost: st.lost})})
  } catch (err) {
    throw new RunError((err as Error).message)
  }
  const sides = outcomes.map((r): VmRunResult => r.ok
    ? {vm: r.vm, ok: true, ms: r.ms, result: r.result}
    : {vm: r.vm, ok: false, ms: r.ms, error: r.error.message, stack: r.error.stack})
  return {...document(plan.name, workload, runId, sides, true), fabric}
}
