// The attack suite's data model: scenarios, their three oracles (rdma-security.md §1 item 7) and verdicts.

import type {AttackEnv, Capability} from './env.js'
import type {VictimTarget} from './victim.js'

export type AttackerModel = 'T1' | 'T2' | 'T3' | 'T4' // ReDMArk's attacker locations (rdma-security.md §2)

/**
 * blocked: primary signal, victim invariants and positive control all hold. expected: a false-positive guard (C07)
 * behaved as the spec says it must (success is correct). exposed: software cannot block this (reason given).
 * LEAKED: the attack succeeded or a victim invariant broke. error: the scenario could not run or its positive
 * control failed (it could not discriminate). skipped: the env lacks a capability.
 */
export type Verdict = 'blocked' | 'expected' | 'exposed' | 'LEAKED' | 'error' | 'skipped'

/** One attack attempt and its primary signal (WC status, errno, drop counter delta, bytes placed). */
export interface Probe {
  name: string
  /** what a correct system shows: 'denied' for an attack, 'success' for a C07 false-positive guard */
  want: 'denied' | 'success'
  expected: string // e.g. 'REM_ACCESS_ERR', 'EINVAL', 'drop addr_mismatch +1'
  observed: string
  /** true when the observed signal is the denial (or, for want 'success', the success) */
  ok: boolean
  /** software cannot block this probe; the reason is reported and the verdict is `exposed`, never `blocked` */
  exposed?: string
}

/** A victim invariant or a positive control. 'n/a': the env cannot observe it (e.g. no audit log in process). */
export interface Check {
  name: string
  ok: boolean | 'n/a'
  detail?: string
}

export interface ScenarioContext {
  readonly seed: number
  /** what the attacker knows about the suite's victim (its canary's rkey and address leaked: C02's precondition) */
  readonly victim: VictimTarget
  random(): number
  probe(p: Probe): void
  invariant(name: string, ok: boolean | 'n/a', detail?: string): void
  control(name: string, ok: boolean, detail?: string): void
  log(msg: string): void
}

export interface Scenario {
  id: string // C-number with an optional suffix (C14b)
  title: string
  catalogue: string // the catalogue entry, e.g. 'C01'
  attackerModel: AttackerModel
  needs: Capability[]
  /** Records its probes, invariants and controls in ctx; throwing means `error`. */
  run(env: AttackEnv, ctx: ScenarioContext): Promise<void>
}

export interface ScenarioResult {
  id: string
  title: string
  catalogue: string
  attackerModel: AttackerModel
  verdict: Verdict
  reason?: string
  signal: string // one-line summary of the primary signal
  probes: Probe[]
  invariants: Check[]
  controls: Check[]
  log: string[]
  durationMs: number
}
