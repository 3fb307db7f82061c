// Prove the oracles can fail: with a protection check switched off in the RNIC (RnicOptions.unsafe, tests only)
// the matching scenarios report LEAKED and the suite exits 1, while the others keep their verdicts.

import {describe, expect, it} from 'vitest'
import {InProcessEnv} from '../../../src/attacks/inprocess-env.js'
import {selectScenarios} from '../../../src/attacks/registry.js'
import {runSuite} from '../../../src/attacks/runner.js'
import type {Scenario} from '../../../src/attacks/types.js'
import {unsafeFromEnv} from '../../../src/attacks/unsafe.js'

describe('weakened RNIC builds', () => {
  it('PD check off: C02 and C05 report LEAKED with the canary changed; exit 1', async () => {
    const env = new InProcessEnv({unsafe: {skipPdCheck: true}})
    expect(env.capabilities.has('unsafe')).toBe(true)
    const s = await runSuite(env, selectScenarios('C02,C05,C03'))
    const v = Object.fromEntries(s.results.map((r) => [r.id, r]))
    expect(v.C02!.verdict).toBe('LEAKED')
    expect(v.C02!.probes.filter((p) => !p.ok).map((p) => p.observed.split(',')[0])).toContain('SUCCESS')
    expect(v.C02!.invariants.find((c) => c.name === 'victim canary hash unchanged')!.ok).toBe(false)
    expect(v.C05!.verdict).toBe('LEAKED')
    expect(v.C05!.reason).toContain('exact rkey')
    expect(v.C03!.verdict).toBe('blocked')
    expect(s.exitCode).toBe(1)
  })

  it('bounds check off: C03 reports LEAKED (overruns complete, bytes placed); C02 stays blocked', async () => {
    const env = new InProcessEnv({unsafe: {skipBoundsCheck: true}})
    const s = await runSuite(env, selectScenarios('C02,C03'))
    const v = Object.fromEntries(s.results.map((r) => [r.id, r]))
    expect(v.C03!.verdict).toBe('LEAKED')
    expect(v.C03!.probes.find((p) => p.name.startsWith('WRITE 16 B at end-1'))!.observed).toMatch(/^SUCCESS/)
    expect(v.C03!.invariants.find((c) => c.name.startsWith('no byte placed'))!.ok).toBe(false)
    expect(v.C02!.verdict).toBe('blocked')
    expect(s.exitCode).toBe(1)
  })

  it('without a backend, forged handles reach the victim: C09 run in process anyway reports LEAKED', async () => {
    const env = new InProcessEnv({pretend: ['backend-policy']})
    const s = await runSuite(env, selectScenarios('C09'))
    const r = s.results[0]!
    expect(r.verdict).toBe('LEAKED')
    expect(r.probes.find((p) => p.name === 'destroy_qp(victim QPN)')).toMatchObject({observed: 'OK', ok: false})
    expect(r.invariants.find((c) => c.name === 'victim QPs still RTS')!.ok).toBe(false)
    expect(s.exitCode).toBe(1)
  })

  it('without the backend\'s Q_Key guard, C14b run in process anyway reports LEAKED (the RNIC accepts 0x80010000)', async () => {
    const s = await runSuite(new InProcessEnv({pretend: ['backend-policy']}), selectScenarios('C14b'))
    expect(s.results[0]).toMatchObject({verdict: 'LEAKED'})
    expect(s.results[0]!.probes.map((p) => p.observed)).toEqual(['OK', 'OK'])
  })

  it('without the backend, C11 (RTR to a foreign QPN) and C23 (QP exhaustion) run in process anyway report LEAKED', async () => {
    const s = await runSuite(new InProcessEnv({pretend: ['backend-policy']}), selectScenarios('C11,C23'))
    const v = Object.fromEntries(s.results.map((r) => [r.id, r]))
    expect(v.C11!.verdict).toBe('LEAKED')
    expect(v.C11!.probes.map((p) => p.observed)).toEqual(['OK', 'OK'])
    expect(v.C23!.verdict).toBe('LEAKED')
    expect(v.C23!.reason).toMatch(/victim tenant can still create QPs.*QP limit reached/)
  })

  it('a scenario that breaks a victim invariant is LEAKED even with a clean primary signal', async () => {
    const env = new InProcessEnv()
    const tamper: Scenario = {
      id: 'X01', catalogue: 'X', title: 'tampers with the canary', attackerModel: 'T4', needs: [],
      async run(_env, ctx) {
        ctx.probe({name: 'looks denied', want: 'denied', expected: 'x', observed: 'x', ok: true})
        ctx.control('fine', true)
        // T4 (malware in the victim VM) writes the canary through local memory
        const blue = env.vm('blue-2').memory
        blue.u8[Number(ctx.victim.canaryAddr - blue.base) + 10]! ^= 0xff
      },
    }
    const s = await runSuite(env, [tamper])
    expect(s.results[0]!.verdict).toBe('LEAKED')
    expect(s.results[0]!.reason).toMatch(/invariant broken/)
    expect(s.exitCode).toBe(1)
  })

  it('a scenario that hangs is an error after its time limit, and the suite goes on', async () => {
    const env = new InProcessEnv()
    const hang: Scenario = {id: 'X02', catalogue: 'X', title: 'never returns', attackerModel: 'T1', needs: [], run: () => new Promise(() => undefined)}
    const ok: Scenario = {id: 'X03', catalogue: 'X', title: 'fine', attackerModel: 'T1', needs: [], async run(_e, ctx) {
      ctx.probe({name: 'p', want: 'denied', expected: 'x', observed: 'x', ok: true})
      ctx.control('c', true)
    }}
    const s = await runSuite(env, [hang, ok], {timeoutMs: 200})
    expect(s.results.map((r) => r.verdict)).toEqual(['error', 'blocked'])
    expect(s.results[0]!.reason).toMatch(/timed out after 200 ms/)
  })

  it('MASQ_UNSAFE_TEST is honoured only with NODE_ENV=test', () => {
    expect(unsafeFromEnv({MASQ_UNSAFE_TEST: 'skip-pd-check'})).toBeUndefined()
    expect(unsafeFromEnv({NODE_ENV: 'production', MASQ_UNSAFE_TEST: 'skip-pd-check'})).toBeUndefined()
    expect(unsafeFromEnv({NODE_ENV: 'test', MASQ_UNSAFE_TEST: 'skip-pd-check'})).toEqual({skipPdCheck: true})
    expect(unsafeFromEnv({NODE_ENV: 'test', MASQ_UNSAFE_TEST: 'skip-pd-check,skip-bounds-check'})).toEqual({skipPdCheck: true, skipBoundsCheck: true})
    expect(unsafeFromEnv({NODE_ENV: 'test'})).toBeUndefined()
    expect(() => unsafeFromEnv({NODE_ENV: 'test', MASQ_UNSAFE_TEST: 'skip-everything'})).toThrow(/unknown switch/)
  })
})
