// The embedded default topology (used by `masq demo`, `masq bench` and `masq attack-test` when no file is given).
// templates/default.yaml is the same text (a unit test keeps them identical).
export const DEFAULT_TOPOLOGY_FILE = '<default>'

export const DEFAULT_TOPOLOGY = `# yaml-language-server: $schema=../schema/topology.schema.json
# masq default lab: two hosts, two tenants whose VPCs use the same CIDR and the same vIPs.
# Security groups allow traffic inside each tenant; nothing crosses tenants.
name: default
mode: masq

hosts:
  - name: host1
    underlay: 192.168.0.1
  - name: host2
    underlay: 192.168.0.2

tenants:
  - name: blue
    vni: 100
    cidr: 10.0.0.0/24
  - name: red
    vni: 200
    cidr: 10.0.0.0/24

securityGroups:
  - name: blue-intra
    tenant: blue
    ingress:
      - group: blue-intra
  - name: red-intra
    tenant: red
    ingress:
      - group: red-intra

vms:
  - name: blue1
    tenant: blue
    host: host1
    ip: 10.0.0.1
    securityGroups: [blue-intra]
  - name: blue2
    tenant: blue
    host: host2
    ip: 10.0.0.2
    securityGroups: [blue-intra]
  - name: red1
    tenant: red
    host: host1
    ip: 10.0.0.1
    securityGroups: [red-intra]
  - name: red2
    tenant: red
    host: host2
    ip: 10.0.0.2
    securityGroups: [red-intra]
`

/** The default topology resolved into a plan (it is valid by construction; a unit test proves it). */
export async function defaultPlan(): Promise<import('./types.js').ResolvedPlan> {
  const {loadTopologyText} = await import('./load.js')
  const r = loadTopologyText(DEFAULT_TOPOLOGY, DEFAULT_TOPOLOGY_FILE)
  if (!r.ok) throw new Error(`embedded default topology is invalid: ${r.errors[0].message}`)
  return r.plan
}
