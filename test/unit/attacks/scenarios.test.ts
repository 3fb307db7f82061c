// Every scenario against the in-process env with the victim workload running: the verdict and the oracle details
// behind it (primary signal per probe, victim invariants, positive control).

import {beforeAll, describe, expect, it} from 'vitest'
import {InProcessEnv} from '../../../src/attacks/inprocess-env.js'
import {SCENARIOS} from '../../../src/attacks/registry.js'
import {runScenario} from '../../../src/attacks/runner.js'
import type {ScenarioResult} from '../../../src/attacks/types.js'
import {VictimWorkload} from '../../../src/attacks/victim.js'


let env: InProcessEnv
let victim: VictimWorkload
const results = new Map<string, ScenarioResult>()

beforeAll(async () => {
  env = new InProcessEnv({seed: 3})
  victim = await VictimWorkload.start(env)
  for (const [i, s] of SCENARIOS.entries()) results.set(s.id, await runScenario(env, victim, s, 100 + i))
})

function victimIntact(r: ScenarioResult) {
  const inv = Object.fromEntries(r.invariants.map((c) => [c.name, c.ok]))
  expect(inv['victim canary hash unchanged']).toBe(true)
  expect(inv['victim guard bytes unchanged']).toBe(true)
  expect(inv['victim QPs still RTS']).toBe(true)
  expect(inv['no async error event on victim QPs']).toBe(true)
  expect(inv['victim traffic verified (checksums)']).toBe(true)
  expect(inv['objects back to baseline after teardown']).toBe(true)
  expect(inv['denial in the audit log with the offending tenant']).toBe('n/a')
}

describe('attack scenarios in process (RNIC checks)', () => {
  it.for(['C01', 'C02', 'C03', 'C04', 'C05', 'C14', 'C15', 'C22'])('%s is blocked with all three oracles', (id) => {
    const r = results.get(id)!
    expect(r.verdict, r.reason).toBe('blocked')
    expect(r.probes.length).toBeGreaterThan(0)
    expect(r.probes.every((p) => p.ok && p.want === 'denied')).toBe(true)
    expect(r.controls.length).toBeGreaterThan(0)
    expect(r.controls.every((c) => c.ok === true)).toBe(true)
    victimIntact(r)
  })

  it('C01 sweeps indexes, key bits and random keys with a reconnect per guess', () => {
    const r = results.get('C01')!
    expect(r.probes.length).toBeGreaterThanOrEqual(20)
    for (const p of r.probes) expect(p.observed).toMatch(/^REM_ACCESS_ERR, attacker QP ERR, responder QP ERR$/)
    expect(r.invariants.find((c) => c.name.includes('rate limiter'))?.ok).toBe('n/a')
    expect(r.invariants.find((c) => c.name.includes('QP_ACCESS_ERR'))?.ok).toBe(true)
  })

  it('C02 denies the canary rkey from the attacker PD and from another victim PD; READ returns no victim bytes', () => {
    const r = results.get('C02')!
    expect(r.probes.map((p) => p.name)).toEqual(expect.arrayContaining(['WRITE canary via own QP on the victim host (tenant red)', 'READ canary via victim service QP (tenant blue, other PD)']))
    expect(r.invariants.filter((c) => c.name.startsWith('attacker READ buffer')).every((c) => c.ok === true)).toBe(true)
  })

  it('C03 covers before, after, wrap near 2^64 and multi-packet overrun, guards intact', () => {
    const names = results.get('C03')!.probes.map((p) => p.name).join('|')
    for (const k of ['(after)', '(before)', 'wrapping 2^64', 'multi-packet WRITE overrun']) expect(names).toContain(k)
    expect(results.get('C03')!.invariants.find((c) => c.name.startsWith('guard bytes around'))?.ok).toBe(true)
  })

  it('C04 separates MR-level (REM_ACCESS_ERR), QP-level (REM_INV_REQ_ERR) and registration (EINVAL) violations', () => {
    const obs = results.get('C04')!.probes.map((p) => p.observed.split(',')[0])
    expect(obs.filter((o) => o === 'REM_ACCESS_ERR')).toHaveLength(3)
    expect(obs.filter((o) => o === 'REM_INV_REQ_ERR')).toHaveLength(3)
    expect(obs.filter((o) => o === 'EINVAL')).toHaveLength(3)
  })

  it('C05 recycles the index into another tenant and still denies the stale and the exact key', () => {
    const r = results.get('C05')!
    expect(r.log.join()).toMatch(/recycled/)
    expect(r.probes.some((p) => p.name.includes('exact rkey') && p.ok)).toBe(true)
  })

  it('C07 reports zero-length access and same-PD guessing as expected behaviour, never as a leak', () => {
    const r = results.get('C07')!
    expect(r.verdict).toBe('expected')
    expect(r.probes.every((p) => p.want === 'success' && p.ok)).toBe(true)
    victimIntact(r)
  })

  it('C10 blocks misaddressed, corrupted and out-of-sequence frames and marks valid spoofing exposed', () => {
    const r = results.get('C10')!
    expect(r.verdict).toBe('exposed')
    expect(r.reason).toMatch(/no source authentication/)
    const exposed = r.probes.filter((p) => p.exposed)
    expect(exposed).toHaveLength(1)
    expect(exposed[0]!.observed).toMatch(/^bytes placed/)
    const blocked = r.probes.filter((p) => !p.exposed)
    expect(blocked.length).toBeGreaterThanOrEqual(6)
    expect(blocked.every((p) => p.ok)).toBe(true)
    expect(blocked.find((p) => p.name.includes('own address'))!.observed).toContain('addr_mismatch +1')
    victimIntact(r)
  })

  it('C12: recoverable protocol errors keep the QP in RTS; the right PSN kills it (exposed, not blocked)', () => {
    const r = results.get('C12')!
    expect(r.verdict).toBe('exposed')
    expect(r.probes.filter((p) => !p.exposed).every((p) => p.ok && p.observed.startsWith('responder QP RTS'))).toBe(true)
    expect(r.probes.find((p) => p.exposed)!.observed).toMatch(/^responder QP ERR/)
    victimIntact(r)
  })

  it('C13: off-path frames cannot desync; a spoofed right-PSN frame silently swallows the next genuine WRITE (exposed, counted)', () => {
    const r = results.get('C13')!
    expect(r.verdict).toBe('exposed')
    expect(r.probes[0]).toMatchObject({ok: true, observed: 'placed, genuine WC SUCCESS'})
    expect(r.probes[1]).toMatchObject({ok: false, observed: 'NOT placed (desync: ACKed as a duplicate), genuine WC SUCCESS'})
    expect(r.invariants.find((c) => c.name.includes('DUP_REQ'))).toMatchObject({ok: true, detail: 'DUP_REQ +1'})
    victimIntact(r)
  })

  it('C16: an on-path reader and an ICRC-fixing tamperer are exposed; a tamperer without the ICRC is dropped and repaired', () => {
    const r = results.get('C16')!
    expect(r.verdict).toBe('exposed')
    expect(r.probes.map((p) => [p.ok, p.exposed !== undefined])).toEqual([[false, true], [true, false], [false, true]])
    expect(r.probes[1]!.observed).toBe('drop BAD_ICRC +1, genuine data placed (WC SUCCESS)')
    expect(r.probes[2]!.observed).toBe('tampered data placed, WC SUCCESS')
    victimIntact(r)
  })

  it('C22: a foreign lkey fails locally (LOC_PROT_ERR) for a gather and remotely (REM_OP_ERR) for a scatter', () => {
    expect(results.get('C22')!.probes.map((p) => p.observed)).toEqual(['LOC_PROT_ERR, nothing sent', 'sender REM_OP_ERR, receiver LOC_QP_OP_ERR'])
  })

  it('C14: the sender sees SUCCESS, the drop is counted and the victim RQ is untouched', () => {
    for (const p of results.get('C14')!.probes) expect(p.observed).toBe('sender SUCCESS, drop qkey_violation +1, victim RQ untouched')
  })

  it('C09, C11, C14b and C23 need the backend and are skipped in process', () => {
    for (const id of ['C11', 'C23']) expect(results.get(id)).toMatchObject({verdict: 'skipped', reason: 'env lacks backend-policy'})
    expect(results.get('C14b')).toMatchObject({verdict: 'skipped', reason: 'env lacks backend-policy'})
    expect(results.get('C09')).toMatchObject({verdict: 'skipped', reason: 'env lacks backend-policy'})
  })

  it('the victim kept verifying traffic through the whole run', () => {
    const s = victim.summary()
    expect(s.failures).toEqual([])
    expect(s.verified).toBeGreaterThan(SCENARIOS.length)
    expect(s.qpStates).toEqual(['RTS', 'RTS'])
  })

  it('scenario objects are released: only the victim\'s remain', () => {
    const total = env.hosts().map((h) => env.objects(h)).reduce((a, b) => ({pd: a.pd + b.pd, mr: a.mr + b.mr, cq: a.cq + b.cq, qp: a.qp + b.qp}))
    expect(total).toEqual({pd: 2, mr: 5, cq: 2, qp: 2}) // victim: 2 PDs, src/msg/dst/msg/canary MRs, 2 CQs, 2 QPs
  })
})
