// `masq bench` end to end: measure the wire limit, derive a two-VM lab per mode and bring them all up, run each
// planned step in every mode back to back (--runs times), tear everything down; fold raw stamps into perftest rows
// and one results document. Every lab is torn down on success, on failure and on abort (Ctrl-C).
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {down, up} from '../lab/lifecycle.js'
import {runWorkload} from '../lab/run.js'
import type {Mode} from '../topology/types.js'
import {fittingTxDepth, planBench, type BenchPlan, type BenchRequest, type BenchStep} from './bench-plan.js'
import {collectMode, type RawMode} from './collect.js'
import {deriveLab} from './derive.js'
import {Progress} from './progress.js'
import {aggregateRuns, buildResults, envFingerprint, type ModeResults, type ResultsDoc} from './results.js'
import {formatBench} from './tables.js'
import {measureWireLimit, type WireLimit, type WireLimitOptions} from './wire-limit.js'
import {isBenchRaw, toContract, workloadParams, type ConnRawResult, type VerbsRawResult} from './workload-contract.js'

export interface RunnerOptions {
  topologyText: string
  topologyFile: string
  request: BenchRequest
  /** Lab directories go under DIR/labs (kept after the run for their logs); default a temp dir, removed. */
  outDir?: string
  signal?: AbortSignal
  /** Progress and notes (stderr). */
  log?: (line: string) => void
  progressStream?: {write(s: string): unknown; isTTY?: boolean}
  /** false skips the wire-limit measurement (tests of the runner's plumbing only). */
  wireLimit?: WireLimitOptions | false
  /** Seconds one workload run may take (default: generous, from the step). */
  stepTimeoutMs?: number
}

export class BenchError extends Error {
  constructor(message: string, readonly exitCode = 1) {
    super(message)
  }
}

export class BenchAborted extends BenchError {
  constructor() {
    super('interrupted: every lab was torn down', 130)
  }
}

/** Plan or throw every refusal at once (exit 2, like a usage error). */
export function planOrThrow(request: BenchRequest): BenchPlan {
  const {plan, errors} = planBench(request)
  if (!plan) throw new BenchError(errors.join('\n'), 2)
  return plan
}

/**
 * The bench library's entry point (the command, bench/bench-all.ts and `masq demo` call it): the results document,
 * the plan it ran, and `text`, the tables exactly as `masq bench` prints them.
 */
export async function runBench(o: RunnerOptions): Promise<{doc: ResultsDoc; plan: BenchPlan; text: string}> {
  const plan = planOrThrow(o.request)
  const log = o.log ?? ((l: string) => process.stderr.write(l + '\n'))
  for (const s of plan.skipped) log(`[bench] skipped: ${s}`)
  // derive every mode's lab before starting anything: a topology that cannot serve a mode fails fast
  const suffix = `${process.pid.toString(36)}${Math.floor(Math.random() * 1296).toString(36)}`
  const labs = plan.config.modes.map((mode) => deriveLab(o.topologyText, o.topologyFile, mode, {name: `bench-${mode}-${suffix}`, memoryBytes: memoryFor(plan)}))
  const checkAbort = () => {
    if (o.signal?.aborted) throw new BenchAborted()
  }
  let wireLimit: WireLimit | undefined
  if (o.wireLimit !== false) {
    log('[bench] measuring the wire limit (two node processes over a unix socket)')
    // not raced against the signal: its peer processes are gone only once it settles (about a second)
    wireLimit = await measureWireLimit({durationMs: 500, iterations: 1000, ...(o.wireLimit ?? {})})
    checkAbort()
  }
  const root = o.outDir ? path.join(path.resolve(o.outDir), 'labs') : fs.mkdtempSync(path.join(os.tmpdir(), 'masq-bench-'))
  const progress = new Progress({total: labs.length * plan.config.runs * plan.steps.length, stream: o.progressStream ?? process.stderr})
  const modes: ResultsDoc['modes'] = {}
  const running: Array<{name: string; labDir: string}> = []
  try {
    // Every mode's lab is up before the first measurement, and each step runs in every mode back to back: a
    // machine whose load drifts (CI, shared cores) then biases no mode, and the ratios compare like with like.
    // Idle labs cost little (RNIC loops sleep on their doorbells).
    for (const lab of labs) {
      checkAbort()
      const labDir = path.join(root, lab.mode)
      fs.mkdirSync(labDir, {recursive: true})
      fs.writeFileSync(path.join(labDir, 'topology.yaml'), lab.yaml)
      log(`[bench] ${lab.mode}: bringing up ${lab.plan.name} (${lab.client} on ${lab.plan.vms[0]!.host}, ${lab.server} on ${lab.plan.vms[1]!.host})`)
      await up(lab.plan, {labDir, renderer: 'silent', signal: o.signal}) // rolls back by itself when it fails
      running.push({name: lab.plan.name, labDir})
    }
    // A fresh lab runs its first messages on cold code (interpreter, then JIT) in the VM and RNIC threads: the
    // first run measured 10x below the next ones here. One untimed pass per lab first, as perftest users do.
    const warm = warmupSteps(plan.steps)
    for (const [i, lab] of labs.entries()) {
      if (!warm.length) break
      log(`[bench] ${lab.mode}: warm-up (${warm.length} untimed step${warm.length === 1 ? '' : 's'})`)
      for (const step of warm) {
        checkAbort()
        const fitted = step.params.txDepthAuto ? {...step, params: {...step.params, txDepth: fittingTxDepth(step.size ?? 0, lab.plan.fabric.bufferBytes)}} : step
        await abortable(runStep(running[i]!, lab.client, lab.server, fitted, o.stepTimeoutMs), o.signal)
      }
    }
    const runs = new Map<Mode, ModeResults[]>(labs.map((l) => [l.mode, []]))
    for (let run = 0; run < plan.config.runs; run++) {
      const raw = new Map<Mode, RawMode>(labs.map((l) => [l.mode, {}]))
      for (const [k, step] of plan.steps.entries()) {
        // the modes take turns going first (rotated per step and run): a load burst on a shared machine then
        // lands on every mode alike over a run, instead of always on the same one
        for (const i of rotation(labs.length, run * plan.steps.length + k)) {
          const lab = labs[i]!
          checkAbort()
          progress.start({mode: lab.mode, test: step.test, op: step.op, size: step.size})
          const fitted = step.params.txDepthAuto ? {...step, params: {...step.params, txDepth: fittingTxDepth(step.size ?? 0, lab.plan.fabric.bufferBytes)}} : step
          const result = await abortable(runStep(running[i]!, lab.client, lab.server, fitted, o.stepTimeoutMs), o.signal)
          addRaw(raw.get(lab.mode)!, fitted, result)
          progress.finish()
        }
      }
      for (const lab of labs) runs.get(lab.mode)!.push(collectMode(raw.get(lab.mode)!, {gbits: plan.config.reportGbits}))
    }
    for (const lab of labs) modes[lab.mode] = aggregateRuns(runs.get(lab.mode)!)
    checkAbort()
  } catch (err) {
    if (o.signal?.aborted) throw new BenchAborted() // up() rolled back; the finally below tears the rest down
    throw err
  } finally {
    await downAll(running, log)
    if (!o.outDir) fs.rmSync(root, {recursive: true, force: true})
  }
  progress.end()
  const doc = buildResults({env: envFingerprint(o.topologyText), config: plan.config, modes, ...(wireLimit ? {wireLimit} : {})})
  return {doc, plan, text: formatBench(doc)}
}

/** 0..n-1 starting at `shift` (mod n). */
export function rotation(n: number, shift: number): number[] {
  return Array.from({length: n}, (_, i) => (i + shift) % n)
}

/** Per (test, op): the smallest and the largest size of the plan, in iterations mode, at most 500 iterations (bw:
 *  20000 whatever -n says) or 32 MiB (at least 5, perftest's minimum). bw at small sizes needs the more: 500 messages of 2 B are a few
 *  ms, and the first ~20000 messages of a fresh lab ran at 80 k msg/s against 150-300 k after them (JIT of the VM and
 *  RNIC paths), so that the first measured runs were slow in every mode. */
const BW_WARMUP_ITERS = 20_000

export function warmupSteps(steps: readonly BenchStep[]): BenchStep[] {
  const out: BenchStep[] = []
  const cells = new Map<string, BenchStep[]>()
  for (const s of steps) if (s.test === 'bw' || s.test === 'lat') cells.set(`${s.test}/${s.op}`, [...(cells.get(`${s.test}/${s.op}`) ?? []), s])
  for (const list of cells.values()) {
    const bySize = [...list].sort((a, b) => (a.size ?? 0) - (b.size ?? 0))
    for (const s of new Set([bySize[0]!, bySize.at(-1)!])) {
      const {durationMs: _d, ...params} = s.params
      const count = s.test === 'bw' ? BW_WARMUP_ITERS : Math.min(Number(s.params.iters ?? 500), 500)
      const iters = Math.max(5, Math.min(count, Math.floor((32 << 20) / Math.max(1, s.size ?? 1))))
      out.push({...s, params: {...params, iters, warmupIters: 0, warmupMs: 0}})
    }
  }
  return out
}

/** Tear down every lab even if one refuses; the first failure is reported after the others are down. */
async function downAll(labs: ReadonlyArray<{name: string; labDir: string}>, log: (l: string) => void): Promise<void> {
  let first: unknown
  for (const lab of [...labs].reverse()) {
    try {
      await down(lab)
    } catch (err) {
      log(`[bench] ${lab.name}: teardown failed: ${(err as Error).message}`)
      first ??= err
    }
  }
  if (first) throw first
}

/** Guest memory per VM: the largest step's buffers (bench-write uses 2 x size) plus room for queues. */
function memoryFor(plan: BenchPlan): number | undefined {
  const biggest = Math.max(0, ...plan.steps.map((s) => s.size ?? 0))
  const need = 4 * biggest + (16 << 20)
  return need > 64 << 20 ? Math.ceil(need / (1 << 20)) * (1 << 20) : undefined
}

/** Timers hold at most 2^31-1 ms (a larger delay fires at once): a day is the longest step we wait for. */
const MAX_STEP_MS = 86_400_000

function timeoutOf(step: BenchStep): number {
  const p = step.params
  if (typeof p.durationMs === 'number') return Math.min(MAX_STEP_MS, p.durationMs + (typeof p.warmupMs === 'number' ? p.warmupMs : 0) + 120_000)
  // a slow, loaded machine: 10 ms per iteration of budget on top of two minutes
  return Math.min(MAX_STEP_MS, 120_000 + 10 * (Number(p.iters ?? 0) + Number(p.warmupIters ?? 0)))
}

async function runStep(ref: {name: string; labDir: string}, client: string, server: string, step: BenchStep, timeoutMs?: number): Promise<unknown> {
  const r = await runWorkload(ref, {
    workload: step.workload.name, vm: client, ...(step.workload.paired ? {peer: server} : {}),
    params: workloadParams(step.workload.name, step.params), timeoutMs: timeoutMs ?? timeoutOf(step),
  })
  const what = `${step.workload.name} (${[step.test, step.op, step.size === undefined ? undefined : `${step.size} B`].filter(Boolean).join(' ')})`
  if (!r.ok) {
    const errs = [r.client, r.server].flatMap((s) => (s?.error ? [`${s.vm}: ${s.error}`] : []))
    throw new BenchError(`${what} failed in lab ${ref.name}: ${errs.join('; ') || 'the workload reported a failure'}`)
  }
  return toContract(step.workload.name, step.test, r.client.result)
}

function addRaw(raw: RawMode, step: BenchStep, result: unknown): void {
  if (step.test === 'verbs') {
    raw.verbs = (result as VerbsRawResult).samplesNs
    return
  }
  if (step.test === 'conn') {
    const c = result as ConnRawResult
    raw.conn = {samplesNs: c.samplesNs, ...(c.elapsedNs !== undefined ? {elapsedNs: c.elapsedNs} : {})}
    return
  }
  if (!isBenchRaw(result)) throw new BenchError(`${step.workload.name} did not return raw stamps (workload contract 1)`)
  raw.info ??= {device: result.device, mtu: result.mtu, numQps: Number(step.params.qps ?? 1), connection: step.params.connection as 'RC', cqMod: result.cqMod ?? 100}
  if (step.test === 'bw') raw.info.txDepth = Number(step.params.txDepth)
  if (step.test === 'bw') {
    ;(raw.bw ??= []).push(result.tposted && result.tcompleted
      ? {op: result.op, size: result.size, tposted: result.tposted, tcompleted: result.tcompleted, cqMod: result.cqMod}
      : {op: result.op, size: result.size, iters: result.iterations, elapsedNs: result.elapsedNs})
  } else {
    ;(raw.lat ??= []).push(result.samplesNs
      ? {op: result.op, size: result.size, samplesNs: result.samplesNs, iterations: result.iterations} // one RTT per iteration
      : {op: result.op, size: result.size, iters: result.iterations, elapsedNs: result.elapsedNs})
  }
}

/** Reject as soon as the signal fires; the work is cleaned up by the callers' finally blocks. */
function abortable<T>(p: Promise<T>, signal?: AbortSignal): Promise<T> {
  if (!signal) return p
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new BenchAborted())
    if (signal.aborted) return onAbort()
    signal.addEventListener('abort', onAbort, {once: true})
    p.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort))
  })
}

export type {Mode}
