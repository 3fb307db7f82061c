// The library behind `masq run`: start a workload on a VM of a running lab (and its server side on --peer for
// paired workloads) through the host agents' `run` RPC, and collect the results.
import crypto from 'node:crypto'
import path from 'node:path'
import {PAIRED} from '../workloads/index.js'
import {assertAlive} from './liveness.js'
import {rpcCall} from './rpc.js'
import {readPlanFile, readState} from './state.js'

export interface RunOptions {workload: string; vm: string; peer?: string; params?: Record<string, unknown>; timeoutMs?: number}

export interface VmRunResult {vm: string; ok: boolean; ms: number; result?: any; error?: string}

export interface RunResult {version: 1; lab: string; workload: string; runId: string; ok: boolean; client: VmRunResult; server?: VmRunResult}

export class RunError extends Error {
  readonly exitCode = 1
}

export async function runWorkload(ref: {name: string; labDir: string}, o: RunOptions): Promise<RunResult> {
  const state = readState(ref.labDir)
  const plan = readPlanFile(ref.labDir)
  if (!state || !plan) throw new RunError(`lab ${ref.name} is not running (no state in ${ref.labDir})`)
  const hostOf = (name: string) => {
    const vm = plan.vms.find((v) => v.name === name)
    if (!vm) throw new RunError(`lab ${ref.name} has no VM ${name} (VMs: ${plan.vms.map((v) => v.name).join(', ')})`)
    const proc = state.processes.find((p) => p.role === 'host' && p.node === vm.host)
    if (!proc) throw new RunError(`the host ${vm.host} of VM ${name} is not running`)
    return proc
  }
  // a relative module path is taken from the caller's directory; built-in names stay names
  const workload = /[/\\]|\.[cm]?js$/.test(o.workload) ? path.resolve(o.workload) : o.workload
  const paired = PAIRED.has(workload)
  if (paired && !o.peer) throw new RunError(`${workload} runs on two VMs: give --peer`)
  if (o.peer && o.peer === o.vm) throw new RunError('--peer must be another VM')
  const client = hostOf(o.vm)
  const server = o.peer ? hostOf(o.peer) : undefined
  await assertAlive(state, [client.node, server?.node, 'controller'], (m) => new RunError(m)) // fail fast on a dead host
  const runId = `${workload.replace(/.*[/\\]/, '')}-${crypto.randomBytes(6).toString('hex')}`
  const timeoutMs = o.timeoutMs ?? 60_000
  const call = async (host: typeof client, vm: string, role: string, peer?: string): Promise<VmRunResult> => {
    try {
      return await rpcCall<VmRunResult>(host.socket, 'run', {vm, workload, role, runId, peer, params: o.params ?? {}, timeoutMs}, timeoutMs + 5000)
    } catch (err) {
      return {vm, ok: false, ms: 0, error: `${host.node}: ${(err as Error).message}`}
    }
  }
  const [c, s] = await Promise.all([
    call(client, o.vm, o.peer ? 'client' : 'single', o.peer),
    server ? call(server, o.peer!, 'server', o.vm) : Promise.resolve(undefined),
  ])
  // a workload's own verdict ({ok: false, ...}) counts as a failure too
  const verdict = (r?: VmRunResult) => !r || (r.ok && (r.result as {ok?: unknown} | undefined)?.ok !== false)
  return {version: 1, lab: state.lab, workload, runId, ok: verdict(c) && verdict(s), client: c, ...(s ? {server: s} : {})}
}
