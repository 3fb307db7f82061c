// Invariant of RConntrack under any sequence of rule changes: after each change, every connection left in the
// table is allowed by the current rules, and every reset one is not (exactly the disallowed ones are reset).
import fc from 'fast-check'
import {describe, expect, it} from 'vitest'
import {ConnTrack} from '../../../src/controller/conntrack.js'
import {Registry} from '../../../src/controller/registry.js'
import {applyRuleChange, type RuleChange} from '../../../src/controller/rule-change.js'
import {ALLOW_ALL, evaluate, sgStateFromPlan, type SgState} from '../../../src/controller/security-groups.js'
import {policyPlan} from './fixtures/plan.js'

const plan = policyPlan()
const reg = new Registry(plan)
const names = plan.vms.map((v) => v.name)
const groups = plan.securityGroups.map((g) => g.name)
const cidrs = ['10.0.0.0/24', '10.0.0.0/25', '10.0.0.8/30', '10.0.0.1/32', '0.0.0.0/0']
const ports = [[1, 65535], [18515, 18515], [18515, 18520], [1, 100]] as const

const arbChange: fc.Arbitrary<RuleChange> = fc.record({
  op: fc.constantFrom('add' as const, 'remove' as const),
  group: fc.constantFrom(...groups),
  direction: fc.constantFrom('ingress' as const, 'egress' as const),
  peer: fc.oneof(fc.constantFrom(...cidrs).map((cidr) => ({cidr})), fc.constantFrom(...groups).map((group) => ({group}))),
  ports: fc.constantFrom(...ports),
}).map(({op, group, direction, peer, ports: [portMin, portMax]}) => ({op, group, direction, rule: {...peer, portMin, portMax}}))

// a remove that names a rule present in the current state: index into them at run time
const arbRemoveExisting = fc.record({removeAt: fc.nat()})

function existing(sg: SgState): RuleChange[] {
  const out: RuleChange[] = []
  for (const g of sg.groups.values()) {
    for (const rule of g.ingress) out.push({op: 'remove', group: g.name, direction: 'ingress', rule})
    for (const rule of g.egress) out.push({op: 'remove', group: g.name, direction: 'egress', rule})
    if (!g.egressRestricted) out.push({op: 'remove', group: g.name, direction: 'egress', rule: ALLOW_ALL})
  }
  return out
}

const arbConn = fc.record({src: fc.constantFrom(...names), dst: fc.constantFrom(...names), port: fc.constantFrom(5, 18515, 18520, 20000)})

describe('RConntrack invariant (property)', () => {
  it('after any rule change exactly the disallowed connections are reset', () => {
    let resets = 0
    fc.assert(fc.property(fc.array(fc.oneof(arbChange, arbRemoveExisting, arbConn, arbConn, arbConn, arbConn), {minLength: 20, maxLength: 60}), (steps) => {
      let sg = sgStateFromPlan(plan)
      const track = new ConnTrack()
      const vmOf = (n: string) => reg.vm(n)
      for (const raw of steps) {
        let step: RuleChange | {src: string; dst: string; port: number}
        if (!('removeAt' in raw)) step = raw
        else {
          const all = existing(sg)
          if (all.length === 0) continue
          step = all[raw.removeAt % all.length]
        }
        if ('op' in step) {
          const before = track.list()
          const r = applyRuleChange(sg, step, track, vmOf)
          if (!r.ok) continue
          sg = r.newState
          const resetIds = new Set(r.resets.map((v) => v.conn.id))
          for (const c of before) {
            const allowed = evaluate(sg, {src: vmOf(c.srcVm)!, dst: vmOf(c.dstVm)!, port: c.port}).allowed
            expect(resetIds.has(c.id)).toBe(!allowed)
          }
          if (step.op === 'add') expect(resetIds.size).toBe(0)
          resets += resetIds.size
          track.reset([...resetIds])
        } else {
          const s = vmOf(step.src)!
          const d = vmOf(step.dst)!
          if (!evaluate(sg, {src: s, dst: d, port: step.port}).allowed) continue
          track.add({
            tenant: s.tenant, vni: s.vni, srcVm: s.name, dstVm: d.name, srcVip: s.vip, dstVip: d.vip, port: step.port,
            srcHost: s.host, dstHost: d.host, srcQpn: 1, dstQpn: 2, establishedAt: 0,
          })
        }
        for (const c of track.list()) expect(evaluate(sg, {src: vmOf(c.srcVm)!, dst: vmOf(c.dstVm)!, port: c.port}).allowed).toBe(true)
      }
    }), {numRuns: 300})
    expect(resets).toBeGreaterThan(100) // the property is exercised, not vacuous
  })
})
