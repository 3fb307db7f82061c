// Runs lab scenarios with the lab victim going on: a victim snapshot and per-host object counts before each
// scenario, the scenario (its steps run in VMs and release their objects when they return), then the victim
// invariants, the object counts back to baseline, the audit record with the offending tenant, and the verdict.
import crypto from 'node:crypto'
import type {AuditKind} from '../../backend/audit.js'
import {mulberry32} from '../../rnic/port.js'
import {judge, signalSummary} from '../judge.js'
import {runBounded} from '../runner.js'
import type {LabEnv} from '../lab-env.js'
import type {AttackerModel, Check, Probe, ScenarioResult} from '../types.js'
import type {StepRecord} from './record.js'
import type {LabVictim, LabVictimTarget} from './victim.js'

export interface LabScenarioContext {
  readonly seed: number
  readonly victim: LabVictimTarget
  random(): number
  /** a fresh rendezvous prefix */
  tag(what: string): string
  probe(p: Probe): void
  invariant(name: string, ok: boolean | 'n/a', detail?: string): void
  control(name: string, ok: boolean, detail?: string): void
  log(msg: string): void
  /** take a VM step's probes, invariants, controls and log */
  merge(rec: StepRecord): void
}

export interface LabScenario {
  id: string
  title: string
  catalogue: string
  attackerModel: AttackerModel
  /** in the --quick subset */
  quick?: boolean
  /** the denial must be in the audit log with this tenant, for each kind (NL-std vi) */
  audit?: {tenant: string; kinds: AuditKind[]}
  run(env: LabEnv, ctx: LabScenarioContext): Promise<void>
}

async function objectsBack(env: LabEnv, baseline: Map<string, Record<string, number>>): Promise<Check> {
  let diffs: string[] = []
  const end = Date.now() + 10_000
  do {
    diffs = []
    for (const [h, b] of baseline) {
      const now = (await env.observe(h)).objects as Record<string, number>
      for (const k of ['pd', 'mr', 'cq', 'qp']) if (now[k] !== b[k]) diffs.push(`${h} ${k} ${b[k]}→${now[k]}`)
    }
    if (diffs.length === 0) break
    await new Promise((r) => setTimeout(r, 100)) // a step's releases and the CM's timewait destroys are asynchronous
  } while (Date.now() < end)
  return {name: 'objects back to baseline after teardown', ok: diffs.length === 0, detail: diffs.join(', ') || undefined}
}

export async function runLabScenario(env: LabEnv, victim: LabVictim, s: LabScenario, seed: number, timeoutMs = 120_000): Promise<ScenarioResult> {
  const t0 = performance.now()
  const base = {id: s.id, title: s.title, catalogue: s.catalogue, attackerModel: s.attackerModel}
  const probes: Probe[] = []
  const invariants: Check[] = []
  const controls: Check[] = []
  const log: string[] = []
  let error: string | undefined
  try {
    await victim.begin()
    const ctx: LabScenarioContext = {
      seed, random: mulberry32(seed), victim: victim.target(),
      tag: (what) => `${s.id}-${what}-${crypto.randomBytes(3).toString('hex')}`,
      probe: (p) => void probes.push(p),
      invariant: (name, ok, detail) => void invariants.push({name, ok, detail}),
      control: (name, ok, detail) => void controls.push({name, ok, detail}),
      log: (m) => void log.push(m),
      merge: (r) => {
        probes.push(...r.probes)
        invariants.push(...r.invariants)
        controls.push(...r.controls)
        log.push(...r.log.map((l) => `${r.vm}: ${l}`))
      },
    }
    const baseline = new Map<string, Record<string, number>>()
    for (const h of env.hosts()) baseline.set(h, (await env.observe(h)).objects)
    const since = Date.now()
    error = await runBounded(() => s.run(env, ctx), timeoutMs)
    invariants.push(...await victim.check())
    invariants.push(await objectsBack(env, baseline))
    if (s.audit) {
      const entries = env.audit(since - 5).filter((e) => e.tenant === s.audit!.tenant)
      const missing = s.audit.kinds.filter((k) => !entries.some((e) => e.kind === k))
      invariants.push({name: `denial in the audit log with the offending tenant (${s.audit.tenant}: ${s.audit.kinds.join(', ')})`, ok: missing.length === 0,
        detail: missing.length ? `no ${missing.join(', ')} record` : `${entries.length} records`})
    }
  } catch (e) {
    error ??= e instanceof Error ? `${e.name}: ${e.message}` : String(e)
  }
  const durationMs = Math.round(performance.now() - t0)
  if (error) return {...base, verdict: 'error', reason: error, signal: signalSummary(probes) || '-', probes, invariants, controls, log, durationMs}
  const {verdict, reason} = judge(probes, invariants, controls)
  return {...base, verdict, reason, signal: signalSummary(probes), probes, invariants, controls, log, durationMs}
}
