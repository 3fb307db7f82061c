// The lab that `masq attack-test` brings up when no topology or lab is given: the default lab's two tenants with
// the same CIDR and vIPs (blue = victim, red = attacker; C19), a third blue VM whose vIP exists only in blue's VPC
// (C17), and green, a tenant of its own whose security group the suite changes live (C20) so that the victim's
// rules are never touched. red has small quotas and a connect rate (C23, C25) and a rate limit (C26).
export const ATTACK_TOPOLOGY_FILE = '<attack-test>'

export const ATTACK_TOPOLOGY = `name: attack-test
mode: masq
hosts:
  - {name: host1, underlay: 192.168.0.1}
  - {name: host2, underlay: 192.168.0.2}
tenants:
  - name: blue
    vni: 100
    cidr: 10.0.0.0/24
  - name: red
    vni: 200
    cidr: 10.0.0.0/24
    quotas:
      perVm: {qps: 16, cqs: 32, mrs: 64, pds: 16}
      perTenant: {connectRate: 20}
    qos: {rate: 200Mbps}
  - name: green
    vni: 300
    cidr: 172.16.0.0/16
securityGroups:
  - name: blue-intra
    tenant: blue
    ingress: [{group: blue-intra}]
  - name: red-intra
    tenant: red
    ingress: [{group: red-intra}]
  - name: green-intra
    tenant: green
    ingress: [{group: green-intra}]
vms:
  - {name: blue1, tenant: blue, host: host1, ip: 10.0.0.1, securityGroups: [blue-intra]}
  - {name: blue2, tenant: blue, host: host2, ip: 10.0.0.2, securityGroups: [blue-intra]}
  - {name: blue3, tenant: blue, host: host1, ip: 10.0.0.3, securityGroups: [blue-intra]}
  - {name: red1, tenant: red, host: host1, ip: 10.0.0.1, securityGroups: [red-intra]}
  - {name: red2, tenant: red, host: host2, ip: 10.0.0.2, securityGroups: [red-intra]}
  - {name: green1, tenant: green, host: host1, ip: 172.16.0.1, securityGroups: [green-intra]}
  - {name: green2, tenant: green, host: host2, ip: 172.16.0.2, securityGroups: [green-intra]}
`

export async function attackPlan(): Promise<import('../../topology/types.js').ResolvedPlan> {
  const {loadTopologyText} = await import('../../topology/load.js')
  const r = loadTopologyText(ATTACK_TOPOLOGY, ATTACK_TOPOLOGY_FILE)
  if (!r.ok) throw new Error(`embedded attack-test topology is invalid: ${r.errors.map((e) => e.message).join('; ')}`)
  return r.plan
}
