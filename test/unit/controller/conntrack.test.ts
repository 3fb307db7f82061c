import {describe, expect, it} from 'vitest'
import {ConnTrack, type ConnectionInit} from '../../../src/controller/conntrack.js'
import {Registry} from '../../../src/controller/registry.js'
import {applyRuleChange, parseRuleArgs, type RuleChange} from '../../../src/controller/rule-change.js'
import {evaluate, sgStateFromPlan, type SgState} from '../../../src/controller/security-groups.js'
import type {ResolvedPlan} from '../../../src/topology/types.js'
import {policyPlan} from './fixtures/plan.js'

// A running lab in miniature: the registry, the rules, and the connections that were admitted.
function lab() {
  const plan: ResolvedPlan = policyPlan()
  const reg = new Registry(plan)
  const track = new ConnTrack()
  let sg: SgState = sgStateFromPlan(plan)
  let qpn = 0x11
  const vmOf = (n: string) => reg.vm(n)
  const connect = (src: string, dst: string, port: number) => {
    const s = reg.vm(src)!
    const d = reg.vm(dst)!
    const decision = evaluate(sg, {src: s, dst: d, port})
    if (!decision.allowed) return decision.reason
    const init: ConnectionInit = {
      tenant: s.tenant, vni: s.vni, srcVm: src, dstVm: dst, srcVip: s.vip, dstVip: d.vip, port,
      srcHost: s.host, dstHost: d.host, srcQpn: qpn++, dstQpn: qpn++, establishedAt: 1000,
    }
    return track.add(init)
  }
  const change = (argv: string) => {
    const p = parseRuleArgs(argv.split(' '))
    if (!p.ok) throw new Error(p.errors.join('; '))
    const r = applyRuleChange(sg, p.change, track, vmOf)
    if (!r.ok) throw new Error(r.message)
    sg = r.newState
    track.reset(r.resets.map((v) => v.conn.id))
    return r.resets.map((v) => `${v.conn.srcVm}->${v.conn.dstVm}:${v.conn.port} ${v.reason}`)
  }
  return {reg, track, connect, change, vmOf, get sg() { return sg }}
}

const ids = (xs: unknown[]) => xs.map((x) => (typeof x === 'object' && x !== null && 'id' in x ? 'conn' : x))

describe('RConntrack', () => {
  it('tracks connections and finds them by VM, host and QPN', () => {
    const l = lab()
    const a = l.connect('app1', 'web1', 18515)
    const b = l.connect('red1', 'red2', 7000)
    if (typeof a === 'string' || typeof b === 'string') throw new Error('denied')
    expect(l.track.size).toBe(2)
    expect(l.track.ofVm('web1')).toEqual([a])
    expect(l.track.ofHost('h1').map((c) => c.id)).toEqual([a.id, b.id]) // web1 and red1 are on h1
    expect(l.track.byQpn('h1', a.dstQpn)).toBe(a)
    expect(l.track.byQpn('h2', a.dstQpn)).toBeUndefined() // same number, other host
    expect(l.track.remove(a.id)).toBe(a)
    expect(l.track.remove(a.id)).toBeUndefined()
    expect(l.track.counters).toEqual({added: 2, removed: 1, reset: 0})
  })

  it('removing a rule resets exactly the connections it no longer allows; others are untouched', () => {
    const l = lab()
    const conns = ['app1>web1:18515', 'app2>web1:18515', 'admin>web1:5', 'app1>app2:18520', 'red1>red2:18515']
      .map((s) => /(\w+)>(\w+):(\d+)/.exec(s)!).map(([, a, b, p]) => l.connect(a, b, Number(p)))
    expect(ids(conns)).toEqual(['conn', 'conn', 'conn', 'conn', 'conn'])
    expect(l.change('remove web ingress --group app --ports 18515')).toEqual([
      'app1->web1:18515 ingress-denied', 'app2->web1:18515 ingress-denied',
    ])
    expect(l.track.list().map((c) => `${c.srcVm}>${c.dstVm}`)).toEqual(['admin>web1', 'app1>app2', 'red1>red2'])
    expect(l.track.counters.reset).toBe(2)
    // new connections follow the new rules; re-adding the rule allows new ones
    expect(l.connect('app1', 'web1', 18515)).toBe('ingress-denied')
    expect(l.change('add web ingress --group app --ports 18515')).toEqual([])
    expect(ids([l.connect('app1', 'web1', 18515)])).toEqual(['conn'])
    expect(l.track.size).toBe(4)
  })

  it('an added rule never resets; a narrowed port range resets only the ports it drops', () => {
    const l = lab()
    l.connect('red1', 'red2', 100)
    l.connect('red2', 'red1', 18515)
    expect(l.change('add red-open ingress --cidr 10.0.0.0/24 --ports 18515')).toEqual([])
    expect(l.change('remove red-open ingress --cidr 10.0.0.0/24')).toEqual(['red1->red2:100 ingress-denied'])
    expect(l.track.list().map((c) => c.port)).toEqual([18515])
  })

  it('egress restriction: removing the default outbound rule resets what the new egress list does not cover', () => {
    const l = lab()
    l.connect('admin', 'web1', 5) // closed: unrestricted egress
    l.connect('far', 'app1', 20000) // far is in web (unrestricted egress) and app (restricted)
    expect(l.change('add closed egress --cidr 10.0.0.1/32 --ports 1-10')).toEqual([]) // still unrestricted
    expect(l.change('remove closed egress --cidr 0.0.0.0/0')).toEqual([]) // now only 10.0.0.1:1-10: admin>web1:5 stays
    expect(l.change('remove closed egress --cidr 10.0.0.1/32 --ports 1-10')).toEqual(['admin->web1:5 egress-denied'])
    // far keeps its connection: web is still unrestricted (union of the groups' allows)
    expect(l.track.list().map((c) => c.srcVm)).toEqual(['far'])
    expect(l.change('remove web egress --cidr 0.0.0.0/0')).toEqual(['far->app1:20000 egress-denied'])
  })

  it('group-based rules follow membership, not addresses', () => {
    const l = lab()
    l.connect('app1', 'app2', 9) // app admits group app, all ports; egress stops at 18520 -> 9 is denied
    expect(l.track.size).toBe(0)
    l.connect('app1', 'app2', 18516)
    l.connect('far', 'app2', 18516) // far is a member of app too
    expect(l.change('remove app ingress --group app')).toEqual([
      'app1->app2:18516 ingress-denied', 'far->app2:18516 ingress-denied',
    ])
  })

  it('overlapping CIDRs in two tenants: a rule change in one VPC never touches the other', () => {
    const l = lab()
    l.connect('admin', 'web1', 5) // blue 10.0.0.9 -> 10.0.0.1
    l.connect('red2', 'red1', 5) // red 10.0.0.2 -> 10.0.0.1, same addresses family
    expect(l.change('remove web ingress --cidr 10.0.0.8/30')).toEqual(['admin->web1:5 ingress-denied'])
    expect(l.track.list().map((c) => c.tenant)).toEqual(['red'])
    expect(l.change('remove red-open ingress --cidr 10.0.0.0/24')).toEqual(['red2->red1:5 ingress-denied'])
  })

  it('a connection whose VM disappeared is reset', () => {
    const l = lab()
    l.connect('red1', 'red2', 5)
    l.reg.removeVm('red2')
    expect(l.track.reevaluate(l.sg, l.vmOf)).toMatchObject([{reason: 'vm-gone', message: 'red2 no longer exists'}])
  })

  it('reevaluate is pure; reset ignores unknown ids', () => {
    const l = lab()
    const c = l.connect('red1', 'red2', 5)
    if (typeof c === 'string') throw new Error(c)
    const p = parseRuleArgs(['remove', 'red-open', 'ingress', '--cidr', '10.0.0.0/24'])
    if (!p.ok) throw new Error('parse')
    const r = applyRuleChange(l.sg, p.change, l.track, l.vmOf)
    expect(r).toMatchObject({ok: true, resets: [{conn: c}]})
    expect(l.track.size).toBe(1)
    expect(l.track.reset([c.id, 999]).length).toBe(1)
    expect(l.track.reset([c.id])).toEqual([])
  })

  it('a refused change is an error value and resets nothing', () => {
    const l = lab()
    l.connect('red1', 'red2', 5)
    const change: RuleChange = {op: 'remove', group: 'nope', direction: 'ingress', rule: {cidr: '10.0.0.0/24', portMin: 1, portMax: 65535}}
    expect(applyRuleChange(l.sg, change, l.track, l.vmOf)).toMatchObject({ok: false, error: 'unknown-group'})
  })
})
