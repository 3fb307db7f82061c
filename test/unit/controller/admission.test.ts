import {describe, expect, it} from 'vitest'
import {AuditLog} from '../../../src/backend/audit.js'
import {Admission, describeDecision} from '../../../src/controller/admission.js'
import {parseRuleArgs} from '../../../src/controller/rule-change.js'
import {RejReason} from '../../../src/rdma-constants.js'
import {policyPlan} from './fixtures/plan.js'

function setup() {
  const audit = new AuditLog({lab: 'policy', clock: () => 0})
  const adm = new Admission(policyPlan(), audit)
  let qpn = 0x100
  const connect = (src: string, dstVip: string, port: number) => {
    const r = adm.admit({srcVm: src, dstVip, port})
    if (!r.ok) return r.reason
    const s = adm.registry.vm(src)!
    const e = adm.establish({
      tenant: s.tenant, vni: s.vni, srcVm: src, dstVm: r.dst.vm.name, srcVip: s.vip, dstVip, port,
      srcHost: s.host, dstHost: r.dst.host.name, srcQpn: qpn++, dstQpn: qpn++, establishedAt: 0,
    })
    return e.ok ? e.conn : e.reason
  }
  const change = (s: string) => {
    const p = parseRuleArgs(s.split(' '))
    if (!p.ok) throw new Error(p.errors.join())
    return adm.changeRules(p.change)
  }
  return {adm, audit, connect, change}
}

describe('admission (controller policy core)', () => {
  it('looks the destination up in the source VM\'s own VPC: same vIP, other tenant, other VM', () => {
    const {adm} = setup()
    const blue = adm.admit({srcVm: 'admin', dstVip: '10.0.0.1', port: 18515})
    const red = adm.admit({srcVm: 'red2', dstVip: '10.0.0.1', port: 18515})
    expect(blue).toMatchObject({ok: true, dst: {vm: {name: 'web1'}}})
    expect(red).toMatchObject({ok: true, dst: {vm: {name: 'red1'}}})
    if (blue.ok) expect(describeDecision(blue.decision)).toBe('egress closed (default): cidr 0.0.0.0/0, all ports; ingress web[1]: cidr 10.0.0.8/30, all ports')
    expect(adm.admit({srcVm: 'red2', dstVip: '10.0.0.9', port: 1})).toMatchObject({ok: false, reason: 'no-such-address'}) // admin is blue's
    expect(adm.admit({srcVm: 'ghost', dstVip: '10.0.0.1', port: 1})).toMatchObject({ok: false, reason: 'unknown-vm'})
  })

  it('another tenant\'s vIP does not exist in the source\'s VPC (C17): audited, no REJ', () => {
    const {adm, audit} = setup()
    expect(adm.admit({srcVm: 'red2', dstVip: '10.0.0.9', port: 1})).toEqual({
      ok: false, reason: 'no-such-address', message: 'no VM has 10.0.0.9 in the VPC of red2 (VNI 200)',
    })
    expect(audit.query({kind: 'rule'})).toMatchObject([{tenant: 'red', vm: 'red2', detail: {reason: 'no-such-address', dstVip: '10.0.0.9'}}])
  })

  it('a rule change between REQ and RTU is not missed (C21): establish re-checks', () => {
    const {adm, audit, change} = setup()
    const r = adm.admit({srcVm: 'app1', dstVip: '10.0.0.1', port: 18515})
    expect(r.ok).toBe(true)
    change('remove web ingress --group app --ports 18515') // lands while the REP/RTU are in flight
    const e = adm.establish({
      tenant: 'blue', vni: 100, srcVm: 'app1', dstVm: 'web1', srcVip: '10.0.0.2', dstVip: '10.0.0.1', port: 18515,
      srcHost: 'h2', dstHost: 'h1', srcQpn: 1, dstQpn: 2, establishedAt: 0,
    })
    expect(e).toMatchObject({ok: false, reason: 'ingress-denied'})
    expect(adm.track.size).toBe(0)
    expect(audit.query({kind: 'rule'})).toMatchObject([{vm: 'app1', detail: {stage: 'establish'}}])
    expect(adm.establish({
      tenant: 'blue', vni: 100, srcVm: 'ghost', dstVm: 'web1', srcVip: '10.0.0.2', dstVip: '10.0.0.1', port: 18515,
      srcHost: 'h2', dstHost: 'h1', srcQpn: 1, dstQpn: 2, establishedAt: 0,
    })).toMatchObject({ok: false, reason: 'unknown-vm'})
  })

  it('UD address handles: same VPC only; without a port only all-port rules admit (C14)', () => {
    const {adm} = setup()
    expect(adm.admitDatagram('admin', '10.0.0.1')).toMatchObject({ok: true, dst: {vm: {name: 'web1'}}}) // web: 10.0.0.8/30 all ports
    expect(adm.admitDatagram('app1', '10.0.0.1')).toMatchObject({ok: false, reason: 'egress-denied'}) // app egress: ports 18515-18520 only
    expect(adm.admitDatagram('app1', '10.0.0.1', 18515)).toMatchObject({ok: true}) // SIDR names the port
    expect(adm.admitDatagram('app2', '10.0.0.2')).toEqual({
      ok: false, reason: 'egress-denied', rej: RejReason.PRIMARY_REMOTE_GID_REJECTED,
      message: 'no egress rule of app2 [app] allows 10.0.0.2 on all ports',
    })
    expect(adm.admitDatagram('red1', '10.0.0.9')).toMatchObject({ok: false, reason: 'no-such-address'}) // blue's admin
    expect(adm.admitDatagram('red1', '10.0.0.2')).toMatchObject({ok: true, dst: {vm: {name: 'red2'}}})
    expect(adm.admitDatagram('nobody', '10.0.0.2')).toMatchObject({ok: false, reason: 'unknown-vm'})
  })

  it('a security-group denial is a REJ with reason 12 and an audit entry naming tenant and VM', () => {
    const {adm, audit} = setup()
    expect(adm.admit({srcVm: 'app1', dstVip: '10.0.0.1', port: 18516})).toEqual({
      ok: false, reason: 'ingress-denied', rej: RejReason.PRIMARY_REMOTE_GID_REJECTED,
      message: 'no ingress rule of web1 [web] allows 10.0.0.2 port 18516',
    })
    expect(audit.query({kind: 'rule'})).toMatchObject([{tenant: 'blue', vm: 'app1', host: 'h2', detail: {reason: 'ingress-denied', dst: 'web1', port: 18516}}])
  })

  it('the receiving side checks that the claimed source lives on the sending host (C18) and in that VNI', () => {
    const {adm, audit} = setup()
    expect(adm.admitIncoming(100, '10.0.0.9', 'h2', '10.0.0.1', 5)).toMatchObject({ok: true}) // admin is on h2
    expect(adm.admitIncoming(100, '10.0.0.9', 'h1', '10.0.0.1', 5)).toMatchObject({ok: false, reason: 'spoofed-source'})
    expect(adm.admitIncoming(200, '10.0.0.9', 'h2', '10.0.0.1', 5)).toMatchObject({ok: false, reason: 'spoofed-source'})
    expect(adm.admitIncoming(100, '10.0.0.9', 'h2', '10.0.0.77', 5)).toMatchObject({ok: false, reason: 'no-such-address'})
    expect(adm.admitIncoming(200, '10.0.0.2', 'h2', '10.0.0.1', 5)).toMatchObject({ok: true, dst: {vm: {name: 'red1'}}})
    expect(adm.admitIncoming(100, '10.0.0.200', 'h2', '10.0.0.1', 5)).toMatchObject({ok: false, reason: 'ingress-denied'})
    expect(audit.query({kind: 'rule'}).map((e) => [e.tenant, e.vm, e.host, e.detail.reason])).toEqual([
      ['blue', 'admin', 'h1', 'spoofed-source'], ['red', '?', 'h2', 'spoofed-source'], ['blue', 'admin', 'h2', 'no-such-address'],
      ['blue', 'lonely', 'h2', 'ingress-denied'],
    ])
  })

  it('a rule change resets exactly the disallowed connections, groups them per host for the pushes, audits each', () => {
    const {adm, audit, connect, change} = setup()
    connect('app1', '10.0.0.1', 18515) // h2 -> h1
    connect('app2', '10.0.0.1', 18515) // h1 -> h1
    connect('admin', '10.0.0.1', 5) // stays
    connect('red2', '10.0.0.1', 18515) // other tenant, stays
    const r = change('remove web ingress --group app --ports 18515')
    if (!r.ok) throw new Error(r.message)
    expect(r.resets.map((v) => v.conn.srcVm)).toEqual(['app1', 'app2'])
    expect([...r.byHost].map(([h, cs]) => [h, cs.map((c) => c.srcVm)])).toEqual([['h2', ['app1']], ['h1', ['app1', 'app2']]])
    expect(adm.track.list().map((c) => c.srcVm)).toEqual(['admin', 'red2'])
    expect(audit.query({kind: 'reset'}).map((e) => [e.vm, e.detail.change])).toEqual([
      ['app1', 'remove web ingress --group app --ports 18515'], ['app2', 'remove web ingress --group app --ports 18515'],
    ])
    expect(connect('app1', '10.0.0.1', 18515)).toBe('ingress-denied')
    expect(change('add web ingress --group app --ports 18515')).toMatchObject({ok: true, resets: []})
    expect(typeof connect('app1', '10.0.0.1', 18515)).toBe('object')
    expect(change('remove nope ingress --cidr 10.0.0.0/24')).toMatchObject({ok: false, error: 'unknown-group'})
    expect(adm.sg.version).toBe(3)
  })

  it('a VM leaving a group loses the connections that membership admitted, and the registry generation moves', () => {
    const {adm, audit, connect} = setup()
    connect('far', '10.0.0.2', 18515) // far is in app: app1 admits group app
    connect('far', '10.0.0.1', 18515) // and web1 admits group app on 18515
    connect('admin', '10.0.0.1', 5)
    const g0 = adm.registry.generation
    const r = adm.setVmGroups('far', ['web'])
    if (!r.ok) throw new Error(r.message)
    expect(r.resets.map((v) => `${v.conn.srcVm}->${v.conn.dstVm} ${v.reason}`)).toEqual(['far->app1 ingress-denied', 'far->web1 ingress-denied'])
    expect(adm.track.list().map((c) => c.srcVm)).toEqual(['admin'])
    expect(adm.registry.generation).toBe(g0 + 1)
    expect(audit.query({kind: 'reset'}).map((e) => e.detail.change)).toEqual(['far groups = [web]', 'far groups = [web]'])
    expect(adm.setVmGroups('far', ['red-open'])).toMatchObject({ok: false, error: 'foreign-group'})
    expect(adm.setVmGroups('far', ['nope'])).toMatchObject({ok: false, error: 'unknown-group'})
    expect(adm.setVmGroups('ghost', [])).toMatchObject({ok: false, error: 'unknown-vm'})
    expect(adm.setVmGroups('far', ['app', 'web'])).toMatchObject({ok: true, resets: []})
    expect(typeof connect('far', '10.0.0.2', 18515)).toBe('object')
  })
})
