// The suite's composition (which scenario runs where, the --quick subset, catalogue order) and the lab-side
// switches and verdict plumbing that need no lab: a lab scenario's verdict comes from the same judge.
import {describe, expect, it} from 'vitest'
import {LAB_SCENARIOS} from '../../../src/attacks/lab/scenarios.js'
import {StepRecorder} from '../../../src/attacks/lab/record.js'
import {attackPlan} from '../../../src/attacks/lab/topology.js'
import {judge} from '../../../src/attacks/judge.js'
import {SCENARIOS} from '../../../src/attacks/registry.js'
import {labScenarioList, QUICK_IN_PROCESS, runAttackSuite} from '../../../src/attacks/suite.js'
import {unsafeFromEnv, unsafeSwitches} from '../../../src/attacks/unsafe.js'

describe('attack suite composition', () => {
  it('every backend-policy scenario of the in-process registry has a lab form; the lab adds C17-C26', () => {
    const lab = new Set(LAB_SCENARIOS.map((s) => s.id))
    for (const s of SCENARIOS.filter((x) => x.needs.includes('backend-policy'))) expect(lab.has(s.id), s.id).toBe(true)
    expect([...lab]).toEqual(['C09', 'C11', 'C14b', 'C17', 'C18', 'C19', 'C20', 'C21', 'C23', 'C25', 'C26'])
  })

  it('--quick: a representative subset in each environment; globs select lab scenarios too', () => {
    expect(labScenarioList(LAB_SCENARIOS, {quick: true}).map((s) => s.id)).toEqual(['C09', 'C11', 'C14b', 'C17', 'C20'])
    expect(QUICK_IN_PROCESS.every((id) => SCENARIOS.some((s) => s.id === id && !s.needs.includes('backend-policy')))).toBe(true)
    expect(labScenarioList(LAB_SCENARIOS, {scenario: 'C2*'}).map((s) => s.id)).toEqual(['C20', 'C21', 'C23', 'C25', 'C26'])
    expect(labScenarioList(LAB_SCENARIOS, {scenario: 'C0*'}).map((s) => s.id)).toEqual(['C09'])
  })

  it('--in-process: the backend scenarios are skipped, results come in catalogue order (C14 before C14b)', async () => {
    const r = await runAttackSuite({inProcessOnly: true, scenario: 'C09,C14*,C15'})
    expect(r.results.map((x) => [x.id, x.verdict])).toEqual([['C09', 'skipped'], ['C14', 'blocked'], ['C14b', 'skipped'], ['C15', 'blocked']])
    expect(r.exitCode).toBe(3)
    expect(r.env).toBe('in-process (RNIC checks only)')
  })

  it('the embedded attack-test lab has the VMs and groups the lab scenarios name', async () => {
    const plan = await attackPlan()
    expect(plan.vms.map((v) => v.name).sort()).toEqual(['blue1', 'blue2', 'blue3', 'green1', 'green2', 'red1', 'red2'])
    const vip = (n: string) => plan.vms.find((v) => v.name === n)!.vip
    expect(vip('red2')).toBe(vip('blue2')) // C19: the same vIP in two VPCs
    expect(plan.vms.filter((v) => v.vip === vip('blue3'))).toHaveLength(1) // C17: only in blue's VPC
    const red = plan.tenants.find((t) => t.name === 'red')!
    expect(red.perVm.qps).toBeLessThan(plan.tenants.find((t) => t.name === 'blue')!.perVm.qps)
    expect(red.perTenant.connectRate).toBeGreaterThan(0)
    expect(red.qos.rateBps).toBeGreaterThan(0)
    expect(plan.securityGroups.some((g) => g.name === 'green-intra')).toBe(true)
  })
})

describe('lab plumbing without a lab', () => {
  it('a VM step record judges like an in-process scenario: a forged handle that succeeds is LEAKED', () => {
    const rec = new StepRecorder('red2', 'c09')
    rec.probe({name: 'query_qp(victim QPN)', want: 'denied', expected: 'ENOENT', observed: 'OK', ok: false})
    rec.control('own QP', true)
    const j = rec.toJSON()
    expect(judge(j.probes, j.invariants, j.controls).verdict).toBe('LEAKED')
    rec.probes[0] = {...rec.probes[0]!, observed: 'ENOENT', ok: true}
    expect(judge(rec.probes, [], rec.controls).verdict).toBe('blocked')
  })

  it('skip-qp-owner-check is a backend switch: honoured only with NODE_ENV=test, no RNIC switch', () => {
    expect(unsafeSwitches({MASQ_UNSAFE_TEST: 'skip-qp-owner-check'})).toEqual([])
    expect(unsafeSwitches({NODE_ENV: 'test', MASQ_UNSAFE_TEST: 'skip-qp-owner-check'})).toEqual(['skip-qp-owner-check'])
    expect(unsafeFromEnv({NODE_ENV: 'test', MASQ_UNSAFE_TEST: 'skip-qp-owner-check'})).toBeUndefined()
    expect(unsafeFromEnv({NODE_ENV: 'test', MASQ_UNSAFE_TEST: 'skip-qp-owner-check,skip-pd-check'})).toEqual({skipPdCheck: true})
    expect(() => unsafeSwitches({NODE_ENV: 'test', MASQ_UNSAFE_TEST: 'skip-it-all'})).toThrow(/unknown switch/)
  })
})
