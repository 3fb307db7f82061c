// Verdict rules (three-part oracle), exit codes, scenario selection and the report formats.

import {describe, expect, it} from 'vitest'
import {judge, signalSummary} from '../../../src/attacks/judge.js'
import {SCENARIOS, selectScenarios} from '../../../src/attacks/registry.js'
import {formatSuiteTable, toJunit} from '../../../src/attacks/report.js'
import {emptyTotals, exitCodeFor, type SuiteResult} from '../../../src/attacks/runner.js'
import type {Check, Probe, ScenarioResult, Verdict} from '../../../src/attacks/types.js'
import {wellFormed} from './xml-check.js'

const denied = (ok: boolean, exposed?: string): Probe => ({name: 'p', want: 'denied', expected: 'REM_ACCESS_ERR', observed: ok ? 'REM_ACCESS_ERR' : 'SUCCESS', ok, exposed})
const guard = (ok: boolean): Probe => ({name: 'g', want: 'success', expected: 'SUCCESS', observed: ok ? 'SUCCESS' : 'REM_ACCESS_ERR', ok})
const good: Check[] = [{name: 'c', ok: true}]
const na: Check = {name: 'audit', ok: 'n/a'}

describe('judge', () => {
  it('blocked only when primary signal, invariants and positive control all hold', () => {
    expect(judge([denied(true)], [{name: 'i', ok: true}, na], good)).toEqual({verdict: 'blocked'})
  })
  it('LEAKED when the attack succeeded or an invariant broke', () => {
    expect(judge([denied(false)], [], good).verdict).toBe('LEAKED')
    expect(judge([denied(true)], [{name: 'canary', ok: false}], good)).toMatchObject({verdict: 'LEAKED', reason: 'invariant broken: canary'})
    // a leak wins over a failed control
    expect(judge([denied(false)], [], [{name: 'c', ok: false}]).verdict).toBe('LEAKED')
  })
  it('error without a primary signal or without a passing positive control (no vacuous pass)', () => {
    expect(judge([], [], good).verdict).toBe('error')
    expect(judge([denied(true)], [], []).verdict).toBe('error')
    expect(judge([denied(true)], [], [{name: 'c', ok: false}]).reason).toMatch(/positive control failed: c/)
  })
  it('exposed with its reason, never blocked, when software cannot stop a probe', () => {
    expect(judge([denied(true), denied(false, 'on-path')], [], good)).toEqual({verdict: 'exposed', reason: 'on-path'})
    // but a broken invariant is still a leak
    expect(judge([denied(false, 'on-path')], [{name: 'i', ok: false}], good).verdict).toBe('LEAKED')
  })
  it('false-positive guards: success is expected behaviour; a denial is an error (stricter than the spec)', () => {
    expect(judge([guard(true)], [], good).verdict).toBe('expected')
    expect(judge([guard(false)], [], good).verdict).toBe('error')
  })
  it('signal summary groups the first clause of each observation', () => {
    expect(signalSummary([denied(true), denied(true), {...denied(true), observed: 'EINVAL, 0 MR created'}])).toBe('REM_ACCESS_ERR ×2, EINVAL')
  })
})

const result = (id: string, verdict: Verdict, extra: Partial<ScenarioResult> = {}): ScenarioResult => ({
  id, title: `title <${id}> & "more"`, catalogue: id, attackerModel: 'T1', verdict, signal: 'REM_ACCESS_ERR', probes: [denied(verdict !== 'LEAKED')],
  invariants: [na], controls: good, log: ['a\u0001b'], durationMs: 5, reason: verdict === 'blocked' ? undefined : `why ${verdict}`, ...extra,
})

describe('exit codes', () => {
  it('0 all pass, 1 any LEAKED or error, 2 nothing ran, 3 skips only', () => {
    expect(exitCodeFor([result('C01', 'blocked'), result('C07', 'expected'), result('C10', 'exposed')])).toBe(0)
    expect(exitCodeFor([result('C01', 'blocked'), result('C02', 'LEAKED'), result('C14b', 'skipped')])).toBe(1)
    expect(exitCodeFor([result('C01', 'error')])).toBe(1)
    expect(exitCodeFor([])).toBe(2)
    expect(exitCodeFor([result('C14b', 'skipped')])).toBe(2)
    expect(exitCodeFor([result('C01', 'blocked'), result('C14b', 'skipped')])).toBe(3)
  })
})

describe('selectScenarios', () => {
  it('matches ids by glob, case-insensitively, several globs with commas', () => {
    expect(selectScenarios(undefined).map((s) => s.id)).toEqual(SCENARIOS.map((s) => s.id))
    expect(selectScenarios('C0*').map((s) => s.id)).toEqual(['C01', 'C02', 'C03', 'C04', 'C05', 'C07', 'C09'])
    expect(selectScenarios('c1[04]').map((s) => s.id)).toEqual(['C10', 'C14', 'C14b']) // C14b by its catalogue entry
    expect(selectScenarios('C02, C12').map((s) => s.id)).toEqual(['C02', 'C12'])
    expect(selectScenarios('C0[1-5]').map((s) => s.id)).toEqual(['C01', 'C02', 'C03', 'C04', 'C05'])
    expect(selectScenarios('C99')).toEqual([])
    expect(selectScenarios('C0[')).toEqual([]) // unbalanced class: no match, no throw
    expect(selectScenarios('C1.')).toEqual([]) // '.' is literal
  })
  it('every scenario names a catalogue entry, an attacker model and what it needs', () => {
    for (const s of SCENARIOS) {
      expect(s.catalogue).toMatch(/^C\d\d$/)
      expect(['T1', 'T2', 'T3', 'T4']).toContain(s.attackerModel)
      expect(s.needs.length).toBeGreaterThan(0)
    }
    expect(new Set(SCENARIOS.map((s) => s.id)).size).toBe(SCENARIOS.length)
  })
})

describe('report', () => {
  const suite: SuiteResult = {
    version: 1, env: 'in-process (test)', capabilities: ['rnic-checks'], seed: 1, durationMs: 1234, victim: {verified: 9, failures: [], qpStates: ['RTS', 'RTS']},
    totals: {...emptyTotals(), blocked: 1, LEAKED: 1, error: 1, skipped: 1, exposed: 1}, exitCode: 1,
    results: [result('C01', 'blocked'), result('C02', 'LEAKED'), result('C03', 'error'), result('C14b', 'skipped'), result('C10', 'exposed', {probes: [denied(false, 'no auth')]})],
  }
  it('JUnit: well-formed, LEAKED as failure, error as error, skipped as skipped', () => {
    const x = toJunit(suite)
    expect(wellFormed(x)).toBe(true)
    expect(wellFormed('<a><b></a></b>')).toBe(false) // the checker itself can fail
    expect(x).toContain('<testsuites name="masq attack-test" tests="5" failures="1" errors="1" skipped="1"')
    expect(x.match(/<failure /g)).toHaveLength(1)
    expect(x.match(/<error /g)).toHaveLength(1)
    expect(x.match(/<skipped /g)).toHaveLength(1)
    expect(x).toContain('title &lt;C02&gt; &amp; &quot;more&quot;')
    expect(x).toContain('exposed: no auth')
  })
  it('table: env line, one row per scenario with model, signal and verdict, then totals', () => {
    const t = formatSuiteTable(suite).split('\n')
    expect(t[0]).toBe('env: in-process (test)')
    expect(t[1]).toMatch(/^SCENARIO\s+TITLE\s+MODEL\s+SIGNAL\s+VERDICT$/)
    expect(t[3]).toMatch(/^C02\s.*\sT1\s+REM_ACCESS_ERR\s+LEAKED$/)
    expect(t.at(-1)).toMatch(/^5 scenarios: 1 blocked, 0 expected behaviour, 1 exposed, 1 LEAKED, 1 error, 1 skipped; victim: 9 rounds verified/)
  })
})
