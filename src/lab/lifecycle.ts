// The library behind `masq up / down / status`: start a lab from a plan, stop it from its recorded state,
// report on it. Commands stay thin and call these.
import fs from 'node:fs'
import path from 'node:path'
import {Listr, ListrLogger, PRESET_TIMER, ProcessOutput} from 'listr2'
import type {ResolvedPlan} from '../topology/types.js'
import {isOurs} from './proc.js'
import {waitReady} from './ready.js'
import {lookupLab, markStopped, registerLab} from './registry.js'
import {rpcCall} from './rpc.js'
import {makeSocketDir, removeSocketDir, socketNames} from './sockets.js'
import {spawnProcess} from './spawn.js'
import {
  STATE_VERSION, defaultLabDir, labPaths, readState, removeState, writePlan, writeState,
  type LabState, type ProcRecord,
} from './state.js'
import {stopAll, type StopOutcome} from './teardown.js'

export type Renderer = 'default' | 'simple' | 'silent'

export function pickRenderer(): Renderer {
  // listr2's default renderer needs a sized terminal (a 0-column pty prints one character per line).
  return process.stderr.isTTY && process.stderr.columns ? 'default' : 'simple'
}

export interface UpOptions {topologyFile?: string; labDir?: string; timeoutMs?: number; signal?: AbortSignal; renderer?: Renderer}

export interface ProcessSummary {node: string; role: string; pid: number; socket: string; log: string; vms: string[]}
export interface UpResult {version: 1; lab: string; labDir: string; socketDir: string; processes: ProcessSummary[]}

function summarize(plan: ResolvedPlan, procs: ProcRecord[]): ProcessSummary[] {
  return procs.map((p) => ({
    node: p.node, role: p.role, pid: p.pid, socket: p.socket, log: p.log,
    vms: p.role === 'host' ? plan.vms.filter((v) => v.host === p.node).map((v) => v.name) : [],
  }))
}

function liveProcesses(state: LabState | undefined): ProcRecord[] {
  return (state?.processes ?? []).filter((p) => isOurs(p.pid, p.startTime))
}

export async function up(plan: ResolvedPlan, opts: UpOptions = {}): Promise<UpResult> {
  const labDir = path.resolve(opts.labDir ?? (opts.topologyFile ? defaultLabDir(plan, opts.topologyFile) : `masq-${plan.name}`))
  const timeoutMs = opts.timeoutMs ?? 30_000
  const previous = readState(labDir)
  if (liveProcesses(previous).length > 0) throw new Error(`lab ${plan.name} is already running in ${labDir}: run \`masq down ${labDir}\` first`)
  const same = lookupLab(plan.name)
  if (same && same.status === 'running' && path.resolve(same.labDir) !== labDir && liveProcesses(readState(same.labDir)).length > 0) {
    throw new Error(`a lab named ${plan.name} is already running from ${same.labDir}: stop it or rename this one`)
  }
  if (previous) {
    // Leftovers of a lab that died without `down`: clean them before reuse.
    await stopAll(previous.processes, {graceMs: 500})
    removeSocketDir(previous.socketDir)
  }
  const planFile = writePlan(labDir, plan)
  const socketDir = makeSocketDir(plan.name, plan.hosts.length)
  const state: LabState = {
    version: STATE_VERSION, lab: plan.name, labDir, socketDir, source: opts.topologyFile ? path.resolve(opts.topologyFile) : plan.source,
    status: 'starting', createdAt: new Date().toISOString(), processes: [],
  }
  writeState(state)
  try {
    await registerLab({name: plan.name, labDir, socketDir, source: state.source, status: 'running'})
  } catch (err) {
    await rollback(state)
    throw err
  }

  // Internal abort: stops readiness pollers once anything fails, so rollback never races a start.
  const inner = new AbortController()
  const onOuterAbort = () => inner.abort()
  opts.signal?.addEventListener('abort', onOuterAbort)
  const check = () => {
    if (inner.signal.aborted) throw new Error('interrupted')
  }
  const common = (node: string) => ['--plan', planFile, '--node', node, '--socket-dir', socketDir]
  const start = async (node: string, role: 'controller' | 'host', socket: string): Promise<ProcRecord> => {
    check()
    const rec = await spawnProcess({node, role, socket, log: labPaths(labDir).log(node), args: [...common(node), '--socket', socket]})
    state.processes.push(rec)
    writeState(state) // recorded before readiness: a SIGKILLed `up` can still be cleaned by `down`
    return rec
  }

  const logger = new ListrLogger({processOutput: new ProcessOutput(process.stderr, process.stderr), useIcons: true})
  const renderer = opts.renderer ?? pickRenderer()
  const tasks = new Listr(
    [
      {
        title: 'Start controller',
        task: async () => {
          const rec = await start('controller', 'controller', path.join(socketDir, socketNames.controller))
          await waitReady(rec, {timeoutMs, signal: inner.signal})
        },
      },
      {
        title: `Start ${plan.hosts.length} host${plan.hosts.length === 1 ? '' : 's'}`,
        task: async (_, task) => {
          const recs: ProcRecord[] = []
          for (const h of plan.hosts) recs.push(await start(h.name, 'host', path.join(socketDir, socketNames.host(h.index))))
          return task.newListr(
            recs.map((rec) => ({title: `${rec.node} ready`, task: async () => void (await waitReady(rec, {timeoutMs, signal: inner.signal}))})),
            {concurrent: true, exitOnError: true},
          )
        },
      },
      {
        title: `Start ${plan.vms.length} VM${plan.vms.length === 1 ? '' : 's'}`,
        task: async () => {
          check()
          const hosts = state.processes.filter((p) => p.role === 'host')
          await abortable(Promise.all(
            hosts.map(async (h) => {
              try {
                await rpcCall(h.socket, 'startVms', {}, timeoutMs)
              } catch (err) {
                throw new Error(`${h.node}: VMs did not start: ${(err as Error).message}`)
              }
            }),
          ), inner.signal)
        },
      },
    ],
    {
      exitOnError: true,
      registerSignalListeners: false, // listr2 would exit(127) on SIGINT; we roll back instead
      renderer: renderer === 'silent' ? 'silent' : renderer,
      fallbackRenderer: 'simple',
      rendererOptions: {logger, timer: PRESET_TIMER},
      fallbackRendererOptions: {logger, timer: PRESET_TIMER},
    } as ConstructorParameters<typeof Listr>[1],
  )
  try {
    await tasks.run()
    check()
    state.status = 'running'
    writeState(state)
    return {version: 1, lab: plan.name, labDir, socketDir, processes: summarize(plan, state.processes)}
  } catch (err) {
    inner.abort()
    await rollback(state)
    if (opts.signal?.aborted) throw new Error(`interrupted: lab ${plan.name} rolled back`)
    throw err
  } finally {
    opts.signal?.removeEventListener('abort', onOuterAbort)
  }
}

/** Reject as soon as the signal fires (the work itself is cleaned up by rollback). */
function abortable<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new Error('interrupted'))
    if (signal.aborted) return onAbort()
    signal.addEventListener('abort', onAbort, {once: true})
    p.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort))
  })
}

async function rollback(state: LabState): Promise<void> {
  await stopAll(state.processes, {graceMs: 1000, termMs: 1000})
  removeSocketDir(state.socketDir)
  removeState(state.labDir)
  try {
    await markStopped(state.lab, state.labDir)
  } catch {} // a busy registry must not keep the rollback from finishing; the entry says running, state is gone
}

export interface DownResult {lab: string; labDir: string; wasRunning: boolean; processes: Array<{node: string; pid: number; outcome: StopOutcome}>}

export async function down(ref: {name: string; labDir: string}): Promise<DownResult> {
  const state = readState(ref.labDir)
  if (!state) {
    await markStopped(ref.name, ref.labDir)
    return {lab: ref.name, labDir: ref.labDir, wasRunning: false, processes: []}
  }
  state.status = 'stopping'
  writeState(state)
  const outcomes = await stopAll(state.processes)
  const processes = state.processes.map((p) => ({node: p.node, pid: p.pid, outcome: outcomes.get(p.node) ?? 'not-running'}))
  const survivors = processes.filter((p) => p.outcome === 'survived')
  if (survivors.length) throw new Error(`could not stop ${survivors.map((p) => `${p.node} (pid ${p.pid})`).join(', ')}; state kept in ${ref.labDir}`)
  removeSocketDir(state.socketDir)
  removeState(ref.labDir)
  await markStopped(state.lab, ref.labDir)
  return {lab: state.lab, labDir: ref.labDir, wasRunning: processes.some((p) => p.outcome !== 'not-running'), processes}
}

export type ProcState = 'running' | 'failed' | 'unresponsive' | 'stopped' | 'starting'

export interface ProcessStatus {
  node: string
  role: string
  pid: number
  state: ProcState
  uptimeMs: number | null
  vms: Array<{name: string; state: string}>
  qps: number
  counters: Record<string, unknown>
  memory?: unknown
  error?: string
}

export interface StatusResult {version: 1; lab: string; labDir: string; socketDir: string | null; state: 'running' | 'degraded' | 'starting' | 'stopped'; processes: ProcessStatus[]}

export async function status(ref: {name: string; labDir: string}): Promise<StatusResult> {
  const state = readState(ref.labDir)
  if (!state) return {version: 1, lab: ref.name, labDir: ref.labDir, socketDir: null, state: 'stopped', processes: []}
  const processes = await Promise.all(
    state.processes.map(async (p): Promise<ProcessStatus> => {
      const base = {node: p.node, role: p.role, pid: p.pid, vms: [], qps: 0, counters: {}}
      if (!isOurs(p.pid, p.startTime)) return {...base, state: 'failed', uptimeMs: null, error: 'process is gone'}
      const uptimeMs = Date.now() - Date.parse(p.startedAt)
      try {
        const s = await rpcCall<any>(p.socket, 'status', {}, 5000)
        // hosts list their VMs; the controller reports a count (the plan has the list): vms stays an array in --json
        return {...base, state: 'running', uptimeMs, vms: Array.isArray(s.vms) ? s.vms : [], qps: s.qps ?? 0, counters: s.counters ?? {}, memory: s.memory}
      } catch (err) {
        return {...base, state: state.status === 'starting' ? 'starting' : 'unresponsive', uptimeMs, error: (err as Error).message}
      }
    }),
  )
  const bad = processes.some((p) => p.state === 'failed' || p.state === 'unresponsive')
  const overall = state.status === 'starting' ? 'starting' : bad ? 'degraded' : 'running'
  return {version: 1, lab: state.lab, labDir: ref.labDir, socketDir: state.socketDir, state: overall, processes}
}

/** Whether anything of the lab is left: live processes or the socket dir. */
export function leftovers(labDir: string): {pids: number[]; socketDir?: string} {
  const st = readState(labDir)
  return {pids: liveProcesses(st).map((p) => p.pid), socketDir: st?.socketDir && fs.existsSync(st.socketDir) ? st.socketDir : undefined}
}
