// The whole attack suite as `masq attack-test` and `masq demo` run it: each scenario where it can run faithfully.
// RNIC-level scenarios (memory protection, injection, on-path) run in process, where a manual clock makes them
// deterministic and a T3 hook exists; scenarios that need the MasQ backend, the CM agents and the controller run
// against a real lab (the embedded attack-test lab, a given topology, or a running lab). One report for both.
import {emptyTotals, exitCodeFor, RESULTS_VERSION, runSuite, type SuiteResult} from './runner.js'
import {selectScenarios, SCENARIOS} from './registry.js'
import type {RnicUnsafe} from '../rnic/rnic.js'
import type {Scenario, ScenarioResult} from './types.js'
import type {LabScenario} from './lab/runner.js'

/** `--quick`: one representative per class (memory protection, false-positive guard, injection, backend policy, VPC). */
export const QUICK_IN_PROCESS = ['C02', 'C03', 'C07', 'C12']

export interface AttackSuiteOptions {
  quick?: boolean
  /** a running lab (name or directory) for the backend scenarios */
  lab?: string
  /** a topology file to bring up for the backend scenarios (default: the embedded attack-test topology) */
  topology?: string
  /** no lab at all: the backend scenarios are skipped (exit 3) */
  inProcessOnly?: boolean
  scenario?: string
  seed?: number
  unsafe?: RnicUnsafe
  onResult?: (r: ScenarioResult) => void
  log?: (msg: string) => void
}

export function labScenarioList(all: readonly LabScenario[], o: {quick?: boolean; scenario?: string}): LabScenario[] {
  const picked = selectScenarios(o.scenario, all as unknown as Scenario[]) as unknown as LabScenario[]
  return o.quick ? picked.filter((s) => s.quick) : picked
}

export async function runAttackSuite(o: AttackSuiteOptions = {}): Promise<SuiteResult> {
  const t0 = performance.now()
  const seed = o.seed ?? 1
  const log = o.log ?? (() => undefined)
  const {LAB_SCENARIOS} = await import('./lab/scenarios.js')
  const labList = o.inProcessOnly ? [] : labScenarioList(LAB_SCENARIOS, o)
  const inLab = new Set(labList.map((s) => s.id))
  // a scenario with a lab form runs in the lab; the rest in process
  let inProc = selectScenarios(o.scenario, SCENARIOS).filter((s) => !inLab.has(s.id))
  if (o.quick) inProc = inProc.filter((s) => QUICK_IN_PROCESS.includes(s.id))
  if (!o.inProcessOnly) inProc = inProc.filter((s) => !s.needs.includes('backend-policy') || LAB_SCENARIOS.every((l) => l.id !== s.id))
  const results: ScenarioResult[] = []
  const envs: string[] = []
  const caps = new Set<string>()
  let victim: SuiteResult['victim'] = {verified: 0, failures: [], qpStates: []}
  if (inProc.length) {
    const {InProcessEnv} = await import('./inprocess-env.js')
    const env = new InProcessEnv({seed, unsafe: o.unsafe})
    try {
      const r = await runSuite(env, inProc, {seed, onResult: o.onResult})
      results.push(...r.results)
      envs.push(env.description)
      for (const c of r.capabilities) caps.add(c)
      victim = r.victim
    } finally {
      await env.close()
    }
  }
  if (labList.length) {
    const {LabEnv} = await import('./lab-env.js')
    const {LabVictim} = await import('./lab/victim.js')
    const {runLabScenario} = await import('./lab/runner.js')
    // Ctrl-C / SIGTERM: during `up` the lab rolls back; afterwards the lab attack-test brought up goes down with it
    // (exit 130, as `up` does)
    const abort = new AbortController()
    let started: import('./lab-env.js').LabEnv | undefined
    const interrupted = () => {
      log('interrupted: taking the attack-test lab down')
      abort.abort()
      if (started?.owned) void started.close().finally(() => process.exit(130))
      else if (started) process.exit(130) // a running lab (--lab) stays as it is
    }
    for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, interrupted)
    let env: import('./lab-env.js').LabEnv
    try {
      env = await LabEnv.start({lab: o.lab, topology: o.topology, log, signal: abort.signal})
    } catch (err) {
      for (const sig of ['SIGINT', 'SIGTERM'] as const) process.off(sig, interrupted)
      if (abort.signal.aborted) process.exit(130)
      throw err
    }
    started = env
    try {
      const v = new LabVictim(env)
      log(`lab ${env.name} is up; starting the victim workload (blue1 → blue2)`)
      await v.start()
      for (const [i, s] of labList.entries()) {
        log(`${s.id} in the lab`)
        const r = await runLabScenario(env, v, s, seed * 1000 + 500 + i)
        results.push(r)
        o.onResult?.(r)
      }
      const sum = await v.stop()
      victim = {verified: victim.verified + sum.verified, failures: [...victim.failures, ...sum.failures], qpStates: [...victim.qpStates, ...sum.qpStates]}
      envs.push(env.description)
      for (const c of ['backend-policy', 'audit-log', 'cm', 'frame-injection']) caps.add(c)
    } finally {
      for (const sig of ['SIGINT', 'SIGTERM'] as const) process.off(sig, interrupted)
      await env.close()
    }
  }
  // catalogue order: C09 < C10 < C14 < C14b < C17
  const order = (id: string) => {
    const m = /^C(\d+)(.*)$/i.exec(id)
    return m ? Number(m[1]) * 100 + (m[2] ? m[2].charCodeAt(0) - 96 : 0) : 1e6
  }
  results.sort((a, b) => order(a.id) - order(b.id))
  const totals = emptyTotals()
  for (const r of results) totals[r.verdict]++
  return {version: RESULTS_VERSION, env: envs.join(' + ') || 'none', capabilities: [...caps], seed, durationMs: Math.round(performance.now() - t0),
    victim, totals, exitCode: exitCodeFor(results), results}
}
