// The library behind `masq up / down / status`: start a lab from a plan, stop it from its recorded state,
// report on it. Commands stay thin and call these. listr2 is loaded by up() only, while the lab's processes boot
// (it costs more CPU than `down` itself).
import fs from 'node:fs'
import path from 'node:path'
import type {Listr as ListrType} from 'listr2'
import type {ResolvedPlan} from '../topology/types.js'
import {isOurs} from './proc.js'
import {ReadyBoard, waitReady, type ReadyMessage} from './ready.js'
import {lookupLab, registerLab, removeLab} from './registry.js'
import {rpcCall} from './rpc.js'
import {makeSocketDir, removeSocketDir, socketNames} from './sockets.js'
import {
  STATE_VERSION, defaultLabDir, labPaths, readPlanFile, readState, removeState, writePlan, writeState,
  type LabState, type ProcRecord,
} from './state.js'
import {stopAll, type StopOutcome} from './teardown.js'

/** How often, at most, `up` leaves spawned processes unrecorded in state.json (see spawnAll). */
const RECORD_EVERY_MS = 100

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
  const {spawnProcess} = await import('./spawn.js')
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

  // Every process says when it is ready on this socket (src/lab/ready.ts): no ping polling.
  let board: ReadyBoard
  try {
    board = await ReadyBoard.listen(path.join(socketDir, socketNames.ready))
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
  const common = (node: string) => ['--plan', planFile, '--node', node, '--socket-dir', socketDir, '--ready', board.socket]
  // The controller and every host start at once, in one synchronous loop (hosts re-dial the controller until it
  // listens): the machine's cores, not a chain of waits, bound the start-up. state.json is rewritten at least every
  // RECORD_EVERY_MS and after the last spawn, not after each one (an atomic rename over a file costs ~8 ms on ext4):
  // a SIGKILLed `up` still leaves every process recorded for `down`, or unrecorded for well under the 1 s a
  // process waits before it stops itself (watchRecorded in daemon.ts).
  const spawnAll = () => {
    const procs: Array<[string, 'controller' | 'host', string]> = [
      ['controller', 'controller', path.join(socketDir, socketNames.controller)],
      ...plan.hosts.map((h): [string, 'host', string] => [h.name, 'host', path.join(socketDir, socketNames.host(h.index))]),
    ]
    let written = Date.now()
    try {
      for (const [i, [node, role, socket]] of procs.entries()) {
        check()
        state.processes.push(spawnProcess({node, role, socket, log: labPaths(labDir).log(node), args: [...common(node), '--socket', socket]}))
        if (i === 0 || Date.now() - written >= RECORD_EVERY_MS) {
          writeState(state)
          written = Date.now()
        }
      }
    } finally {
      writeState(state) // recorded before readiness (and before a rollback reads it)
    }
  }

  let Listr: typeof import('listr2').Listr, ListrLogger: typeof import('listr2').ListrLogger
  let PRESET_TIMER: typeof import('listr2').PRESET_TIMER, ProcessOutput: typeof import('listr2').ProcessOutput
  try {
    spawnAll()
    // listr2 loads while the processes boot: spawning them first keeps the second core busy from the start
    ;({Listr, ListrLogger, PRESET_TIMER, ProcessOutput} = await import('listr2'))
  } catch (err) {
    inner.abort()
    opts.signal?.removeEventListener('abort', onOuterAbort)
    await board.close()
    await rollback(state)
    if (opts.signal?.aborted) throw new Error(`interrupted: lab ${plan.name} rolled back`)
    throw err
  }
  const logger = new ListrLogger({processOutput: new ProcessOutput(process.stderr, process.stderr), useIcons: true})
  const renderer = opts.renderer ?? pickRenderer()
  const tasks = new Listr(
    [
      {
        title: `Start controller and ${plan.hosts.length} host${plan.hosts.length === 1 ? '' : 's'}`,
        task: async (_, task) => {
          return task.newListr(
            state.processes.map((rec) => ({title: `${rec.node} ready`, task: async () => void (await waitReady(rec, {timeoutMs, signal: inner.signal, board}))})),
            {concurrent: true, exitOnError: true},
          )
        },
      },
      {
        // Hosts start their VM workers by themselves, alongside their RNIC worker, and say so ('vms').
        title: `Start ${plan.vms.length} VM${plan.vms.length === 1 ? '' : 's'}`,
        task: async () => {
          check()
          const hosts = state.processes.filter((p) => p.role === 'host')
          await Promise.all(
            hosts.map(async (h) => {
              const m = (await waitReady(h, {timeoutMs, signal: inner.signal, board, event: 'vms'})) as ReadyMessage
              if (!m.ok) throw new Error(`${h.node}: VMs did not start: ${m.error ?? 'unknown error'}`)
            }),
          )
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
    } as ConstructorParameters<typeof ListrType>[1],
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
    await board.close()
  }
}

async function rollback(state: LabState): Promise<void> {
  await stopAll(state.processes, {graceMs: 1000, termMs: 1000})
  removeSocketDir(state.socketDir)
  removeState(state.labDir)
  try {
    await removeLab(state.lab, state.labDir)
  } catch {} // a busy registry must not keep the rollback from finishing; the entry says running, state is gone
}

export interface DownResult {lab: string; labDir: string; wasRunning: boolean; processes: Array<{node: string; pid: number; outcome: StopOutcome}>}

/** Stop a lab and forget it: its registry entry goes too (containerlab's `destroy`); the lab dir (logs) stays. */
export async function down(ref: {name: string; labDir: string}): Promise<DownResult> {
  const state = readState(ref.labDir)
  if (!state) {
    await removeLab(ref.name, ref.labDir)
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
  await removeLab(state.lab, ref.labDir)
  return {lab: state.lab, labDir: ref.labDir, wasRunning: processes.some((p) => p.outcome !== 'not-running'), processes}
}

export type ProcState = 'running' | 'failed' | 'unresponsive' | 'stopped' | 'starting'

/** One VM in `masq status`: the same shape for every process ('unknown' when its host does not answer). */
export interface VmStatus {name: string; tenant: string; mode: string; state: 'starting' | 'running' | 'failed' | 'stopped' | 'unknown'; memoryBytes?: number; error?: string}

export interface ProcessStatus {
  node: string
  role: string
  pid: number
  state: ProcState
  uptimeMs: number | null
  /** the VMs this process runs: a host's VMs, [] for the controller (its registry size is in counters.vmsRegistered) */
  vms: VmStatus[]
  qps: number
  counters: Record<string, unknown>
  memory?: {rssMiB: number; heapUsedMiB: number}
  error?: string
}

/** `masq status --json`. Version 2: `vms` is always a VmStatus[] (version 1 gave the controller a number). */
export interface StatusResult {version: 2; lab: string; labDir: string; socketDir: string | null; state: 'running' | 'degraded' | 'starting' | 'stopped'; processes: ProcessStatus[]}

const VM_STATES = new Set(['starting', 'running', 'failed', 'stopped'])

/** A host's `status` VMs as VmStatus (fields checked: the answer crosses a socket). */
function vmStatuses(raw: unknown): VmStatus[] {
  if (!Array.isArray(raw)) return []
  return raw.filter((v) => v && typeof v.name === 'string').map((v) => ({
    name: v.name, tenant: String(v.tenant ?? ''), mode: String(v.mode ?? ''),
    state: VM_STATES.has(v.state) ? v.state : 'unknown',
    ...(typeof v.memoryBytes === 'number' ? {memoryBytes: v.memoryBytes} : {}),
    ...(typeof v.error === 'string' ? {error: v.error} : {}),
  }))
}

export async function status(ref: {name: string; labDir: string}): Promise<StatusResult> {
  const state = readState(ref.labDir)
  if (!state) return {version: 2, lab: ref.name, labDir: ref.labDir, socketDir: null, state: 'stopped', processes: []}
  const plan = readPlanFile(ref.labDir)
  // what the plan puts on a host, for a host that cannot say itself
  const planned = (node: string): VmStatus[] =>
    (plan?.vms ?? []).filter((v) => v.host === node).map((v) => ({name: v.name, tenant: v.tenant, mode: v.mode, state: 'unknown' as const}))
  const processes = await Promise.all(
    state.processes.map(async (p): Promise<ProcessStatus> => {
      const base = {node: p.node, role: p.role, pid: p.pid, vms: p.role === 'host' ? planned(p.node) : [], qps: 0, counters: {}}
      if (!isOurs(p.pid, p.startTime)) return {...base, state: 'failed', uptimeMs: null, error: 'process is gone'}
      const uptimeMs = Date.now() - Date.parse(p.startedAt)
      try {
        const s = await rpcCall<any>(p.socket, 'status', {}, 5000)
        const counters = p.role === 'controller' ? {...s.counters, vmsRegistered: s.vms} : (s.counters ?? {})
        return {...base, state: 'running', uptimeMs, vms: p.role === 'host' ? vmStatuses(s.vms) : [], qps: s.qps ?? 0, counters, memory: s.memory}
      } catch (err) {
        return {...base, state: state.status === 'starting' ? 'starting' : 'unresponsive', uptimeMs, error: (err as Error).message}
      }
    }),
  )
  const bad = processes.some((p) => p.state === 'failed' || p.state === 'unresponsive')
  const overall = state.status === 'starting' ? 'starting' : bad ? 'degraded' : 'running'
  return {version: 2, lab: state.lab, labDir: ref.labDir, socketDir: state.socketDir, state: overall, processes}
}

/** Whether anything of the lab is left: live processes or the socket dir. */
export function leftovers(labDir: string): {pids: number[]; socketDir?: string} {
  const st = readState(labDir)
  return {pids: liveProcesses(st).map((p) => p.pid), socketDir: st?.socketDir && fs.existsSync(st.socketDir) ? st.socketDir : undefined}
}
