import {describe, expect, it} from 'vitest'
import {
  addRule, ALLOW_ALL, describeMatch, evaluate, removeRule, sgStateFromPlan, type Decision,
} from '../../../src/controller/security-groups.js'
import type {SgRule} from '../../../src/topology/types.js'
import {loadPlan, policyPlan, vmOf} from './fixtures/plan.js'

const plan = policyPlan()
const state = sgStateFromPlan(plan)
const attempt = (src: string, dst: string, port: number) => ({src: vmOf(plan, src), dst: vmOf(plan, dst), port})
const verdict = (d: Decision): string => (d.allowed ? 'allow' : d.reason)

describe('security group evaluation at connection setup', () => {
  it.each([
    // src, dst, port, verdict, why
    ['app1', 'web1', 18515, 'allow', 'web admits group app on 18515; app egress allows 10.0.0.0/25 18515-18520'],
    ['app1', 'web1', 18516, 'ingress-denied', 'web admits app only on 18515'],
    ['app1', 'app2', 18521, 'egress-denied', 'app egress stops at 18520'],
    ['app1', 'far', 18515, 'egress-denied', '10.0.0.130 is outside app egress 10.0.0.0/25'],
    ['admin', 'web1', 7, 'allow', 'admin 10.0.0.9 is in web ingress 10.0.0.8/30, all ports; closed egress unrestricted'],
    ['admin', 'app1', 18515, 'ingress-denied', 'admin is not in group app'],
    ['web1', 'admin', 18515, 'ingress-denied', 'a group without ingress rules admits nothing'],
    ['web1', 'lonely', 18515, 'ingress-denied', 'a VM in no group admits nothing'],
    ['lonely', 'web1', 18515, 'ingress-denied', 'a VM in no group has unrestricted egress, web does not admit it'],
    ['far', 'web1', 18515, 'allow', 'far is in app (ingress by group) and in web (unrestricted egress): union'],
    ['far', 'app1', 20000, 'allow', 'web egress is unrestricted, so far may leave on any port; app admits app members'],
    ['web1', 'red1', 18515, 'cross-vpc', 'same vIP family, other VNI: never (C17)'],
    ['red1', 'web1', 18515, 'cross-vpc', 'and not the other way either'],
    ['red1', 'red2', 18515, 'allow', 'red-open admits its CIDR'],
  ] as const)('%s -> %s:%i is %s (%s)', (src, dst, port, expected, _why) => {
    expect(verdict(evaluate(state, attempt(src, dst, port)))).toBe(expected)
  })

  it('names the matching rules of an allowed connection for the audit log', () => {
    const d = evaluate(state, attempt('app1', 'web1', 18515))
    expect(d).toEqual({
      allowed: true,
      egress: {group: 'app', direction: 'egress', index: 0, rule: {cidr: '10.0.0.0/25', portMin: 18515, portMax: 18520}},
      ingress: {group: 'web', direction: 'ingress', index: 0, rule: {group: 'app', portMin: 18515, portMax: 18515}},
    })
    if (!d.allowed || !('egress' in d)) throw new Error('unreachable')
    expect(describeMatch(d.ingress)).toBe('ingress web[0]: group app, port 18515')
    expect(describeMatch(d.egress)).toBe('egress app[0]: cidr 10.0.0.0/25, ports 18515-18520')
    const open = evaluate(state, attempt('admin', 'web1', 1))
    if (!open.allowed || !('egress' in open)) throw new Error('unreachable')
    expect(describeMatch(open.egress)).toBe('egress closed (default): cidr 0.0.0.0/0, all ports')
  })

  it('uses the registry VM (its real vIP), so a spoofed source address changes nothing (C18)', () => {
    // lonely pretends to be 10.0.0.9 (admin, admitted by web's cidr rule); the backend passes the real VM
    const d = evaluate(state, attempt('lonely', 'web1', 18515))
    expect(d).toMatchObject({allowed: false, reason: 'ingress-denied'})
    if (!d.allowed) expect(d.message).toContain('10.0.0.200')
  })

  it('modes without rules are not filtered (DESIGN §2)', () => {
    const hyv = loadPlan('hyv-lab.yaml')
    const a = hyv.vms[0]
    const b = hyv.vms[1]
    expect(evaluate(sgStateFromPlan(hyv), {src: a, dst: b, port: 1})).toEqual({allowed: true, unfiltered: 'hyv'})
  })
})

describe('rule mutation', () => {
  const r = (x: Partial<SgRule>): SgRule => ({portMin: 1, portMax: 65535, ...x})

  it('adds and removes rules, each change a new version; the old state is untouched', () => {
    const added = addRule(state, 'closed', 'ingress', r({cidr: '10.0.0.0/24', portMin: 18515, portMax: 18515}))
    if (!added.ok) throw new Error(added.message)
    expect(added.state.version).toBe(state.version + 1)
    expect(verdict(evaluate(added.state, attempt('web1', 'admin', 18515)))).toBe('allow')
    expect(verdict(evaluate(state, attempt('web1', 'admin', 18515)))).toBe('ingress-denied')
    const removed = removeRule(added.state, 'closed', 'ingress', r({cidr: '10.0.0.0/24', portMin: 18515, portMax: 18515}))
    if (!removed.ok) throw new Error(removed.message)
    expect(removed.state.groups.get('closed')?.ingress).toEqual([])
    expect(verdict(evaluate(removed.state, attempt('web1', 'admin', 18515)))).toBe('ingress-denied')
  })

  it('removing the implicit allow-all egress rule restricts the group (AWS default outbound rule)', () => {
    const res = removeRule(state, 'closed', 'egress', ALLOW_ALL)
    if (!res.ok) throw new Error(res.message)
    expect(res.state.groups.get('closed')?.egressRestricted).toBe(true)
    expect(verdict(evaluate(res.state, attempt('admin', 'web1', 7)))).toBe('egress-denied')
    const back = addRule(res.state, 'closed', 'egress', r({cidr: '10.0.0.8/29'}))
    if (!back.ok) throw new Error(back.message)
    expect(verdict(evaluate(back.state, attempt('admin', 'web1', 7)))).toBe('egress-denied') // 10.0.0.1 not in /29 at .8
    const wide = addRule(back.state, 'closed', 'egress', r({cidr: '10.0.0.0/29'}))
    if (!wide.ok) throw new Error(wide.message)
    expect(verdict(evaluate(wide.state, attempt('admin', 'web1', 7)))).toBe('allow')
  })

  it.each([
    ['nope', 'ingress', r({cidr: '10.0.0.0/24'}), 'unknown-group'],
    ['web', 'ingress', r({}), 'no-peer'],
    ['web', 'ingress', r({cidr: '10.0.0.0/24', group: 'app'}), 'both-peers'],
    ['web', 'ingress', r({cidr: '10.0.0.1/24'}), 'bad-cidr'],
    ['web', 'ingress', r({cidr: '10.0.0/24'}), 'bad-cidr'],
    ['web', 'ingress', r({group: 'ghost'}), 'unknown-group'],
    ['web', 'ingress', r({group: 'red-open'}), 'foreign-group'],
    ['web', 'ingress', r({cidr: '10.0.0.0/24', portMin: 0, portMax: 5}), 'bad-ports'],
    ['web', 'ingress', r({cidr: '10.0.0.0/24', portMin: 10, portMax: 5}), 'bad-ports'],
    ['web', 'ingress', r({cidr: '10.0.0.0/24', portMin: 1, portMax: 65536}), 'bad-ports'],
    ['web', 'ingress', r({group: 'app', portMin: 18515, portMax: 18515}), 'duplicate-rule'],
  ] as const)('add to %s %s %j fails with %s', (group, dir, rule, code) => {
    const res = addRule(state, group, dir, rule)
    expect(res).toMatchObject({ok: false, error: code})
  })

  it('removing a rule that is not there is an error value', () => {
    expect(removeRule(state, 'web', 'ingress', r({cidr: '10.0.0.0/8'}))).toMatchObject({ok: false, error: 'no-such-rule'})
    expect(removeRule(state, 'app', 'egress', ALLOW_ALL)).toMatchObject({ok: false, error: 'no-such-rule'})
    expect(addRule(state, 'web', 'ingress', r({cidr: '10.0.0.1/24'}))).toMatchObject({hint: 'did you mean 10.0.0.0/24?'})
  })
})
