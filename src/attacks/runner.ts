// Runs scenarios against an AttackEnv with the victim workload going on: victim baseline before each scenario,
// the scenario in its own scope (its objects are released afterwards, as when a workload exits), then the victim
// invariants, the object-count baseline per host and the audit log, and the verdict.

import type {AttackEnv} from './env.js'
import {judge, signalSummary} from './judge.js'
import type {Check, Probe, Scenario, ScenarioContext, ScenarioResult, Verdict} from './types.js'
import {VictimWorkload} from './victim.js'
import {mulberry32} from '../rnic/port.js'

export const RESULTS_VERSION = 1

export interface SuiteResult {
  version: typeof RESULTS_VERSION
  env: string
  capabilities: string[]
  seed: number
  durationMs: number
  victim: {verified: number; failures: string[]; qpStates: string[]}
  totals: Record<Verdict, number>
  exitCode: number
  results: ScenarioResult[]
}

export interface RunOptions {
  seed?: number
  /** per scenario, wall time (default 120 s): a hung scenario is an error, not a hung suite */
  timeoutMs?: number
  onResult?: (r: ScenarioResult) => void
  onStart?: (s: Scenario) => void
}

/** 0 all blocked / expected / documented exposed; 1 any LEAKED or error; 2 nothing ran; 3 warnings only (skips). */
export function exitCodeFor(results: ScenarioResult[]): number {
  const ran = results.filter((r) => r.verdict !== 'skipped')
  if (ran.length === 0) return 2
  if (ran.some((r) => r.verdict === 'LEAKED' || r.verdict === 'error')) return 1
  if (results.some((r) => r.verdict === 'skipped')) return 3
  return 0
}

export function emptyTotals(): Record<Verdict, number> {
  return {blocked: 0, expected: 0, exposed: 0, LEAKED: 0, error: 0, skipped: 0}
}

export async function runScenario(env: AttackEnv, victim: VictimWorkload, s: Scenario, seed: number, timeoutMs = 120_000): Promise<ScenarioResult> {
  const t0 = performance.now()
  const base = {id: s.id, title: s.title, catalogue: s.catalogue, attackerModel: s.attackerModel}
  const missing = s.needs.filter((c) => !env.capabilities.has(c))
  if (missing.length) {
    return {...base, verdict: 'skipped', reason: `env lacks ${missing.join(', ')}`, signal: '-', probes: [], invariants: [], controls: [], log: [], durationMs: 0}
  }
  const probes: Probe[] = []
  const invariants: Check[] = []
  const controls: Check[] = []
  const log: string[] = []
  const rnd = mulberry32(seed)
  const ctx: ScenarioContext = {
    seed, random: rnd,
    get victim() {
      return victim.target() // after begin(): the victim may have been reconnected
    },
    probe: (p) => void probes.push(p),
    invariant: (name, ok, detail) => void invariants.push({name, ok, detail}),
    control: (name, ok, detail) => void controls.push({name, ok, detail}),
    log: (m) => void log.push(m),
  }
  let error: string | undefined
  try {
    await victim.begin()
    const baseline = new Map(env.hosts().map((h) => [h, env.objects(h)]))
    const scope = env.beginScope()
    error = await runBounded(() => s.run(env, ctx), timeoutMs)
    await env.endScope(scope)
    await env.settle()
    invariants.push(...await victim.check())
    const diffs: string[] = []
    for (const [h, b] of baseline) {
      const now = env.objects(h)
      for (const k of ['pd', 'mr', 'cq', 'qp'] as const) if (now[k] !== b[k]) diffs.push(`${h} ${k} ${b[k]}→${now[k]}`)
    }
    invariants.push({name: 'objects back to baseline after teardown', ok: diffs.length === 0, detail: diffs.join(', ') || undefined})
    if (!env.audit) invariants.push({name: 'denial in the audit log with the offending tenant', ok: 'n/a', detail: 'this env has no audit log'})
  } catch (e) {
    error ??= e instanceof Error ? `${e.name}: ${e.message}` : String(e)
  }
  const durationMs = Math.round(performance.now() - t0)
  if (error) return {...base, verdict: 'error', reason: error, signal: signalSummary(probes) || '-', probes, invariants, controls, log, durationMs}
  const {verdict, reason} = judge(probes, invariants, controls)
  return {...base, verdict, reason, signal: signalSummary(probes), probes, invariants, controls, log, durationMs}
}

export async function runSuite(env: AttackEnv, scenarios: readonly Scenario[], opts: RunOptions = {}): Promise<SuiteResult> {
  const t0 = performance.now()
  const seed = opts.seed ?? 1
  const victim = await VictimWorkload.start(env)
  const results: ScenarioResult[] = []
  for (const [i, s] of scenarios.entries()) {
    opts.onStart?.(s)
    const r = await runScenario(env, victim, s, seed * 1000 + i, opts.timeoutMs)
    results.push(r)
    opts.onResult?.(r)
  }
  const totals = emptyTotals()
  for (const r of results) totals[r.verdict]++
  return {
    version: RESULTS_VERSION, env: env.description, capabilities: [...env.capabilities], seed,
    durationMs: Math.round(performance.now() - t0), victim: victim.summary(), totals, exitCode: exitCodeFor(results), results,
  }
}

/** Run a scenario body with a wall-time bound: a hung scenario is an error string, not a hung suite. */
export async function runBounded(body: () => Promise<unknown>, timeoutMs: number): Promise<string | undefined> {
  let timer: NodeJS.Timeout | undefined
  try {
    await Promise.race([body(), new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms`)), timeoutMs)
    })])
    return undefined
  } catch (e) {
    return e instanceof Error ? `${e.name}: ${e.message}` : String(e)
  } finally {
    clearTimeout(timer)
  }
}
