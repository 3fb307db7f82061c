import {describe, expect, it} from 'vitest'
import {buildGraph, renderDot, renderGraph, renderMermaid, type LabGraph} from '../../../src/topology/graph.js'
import {loadTopology, loadTopologyText} from '../../../src/topology/load.js'
import type {ResolvedPlan} from '../../../src/topology/types.js'

async function plan(name: string): Promise<ResolvedPlan> {
  const r = await loadTopology(new URL(`../../../examples/${name}`, import.meta.url).pathname)
  if (!r.ok) throw new Error(r.errors[0].message)
  return r.plan
}
const edgesByName = (g: LabGraph) => {
  const n = new Map(g.vms.map((v) => [v.id, v.name]))
  return g.edges.map((e) => `${n.get(e.from)}->${n.get(e.to)} ${e.label}`).sort()
}

const base = (groups: string, vmGroups: [string, string, string]) => `
name: g
hosts: [{name: h1, underlay: 192.168.0.1}, {name: h2, underlay: 192.168.0.2}]
tenants: [{name: t, vni: 1, cidr: 10.0.0.0/24}]
securityGroups:
${groups}
vms:
  - {name: a, tenant: t, host: h1, ip: 10.0.0.1, securityGroups: [${vmGroups[0]}]}
  - {name: b, tenant: t, host: h2, ip: 10.0.0.2, securityGroups: [${vmGroups[1]}]}
  - {name: c, tenant: t, host: h2, ip: 10.0.0.130, securityGroups: [${vmGroups[2]}]}
`
function graphOf(text: string): LabGraph {
  const r = loadTopologyText(text, 'g.yaml')
  if (!r.ok) throw new Error(r.errors.map((e) => `${e.line}:${e.col} ${e.message}`).join('\n'))
  return buildGraph(r.plan)
}

describe('graph edges follow the security groups', () => {
  it('multi-tenant example: group rule with a port, cidr rule, restricted egress; never across tenants', async () => {
    expect(edgesByName(buildGraph(await plan('multi-tenant.yaml')))).toEqual([
      'blue-client1->blue-server 18515',
      'blue-client2->blue-server 18515',
      'green-db1->green-db2 20000-20099',
      'green-db2->green-db1 20000-20099',
      'red1->red2 all ports',
      'red2->red1 all ports',
    ])
  })

  it('ingress by cidr only admits peers inside the range', () => {
    const g = graphOf(base('  - {name: s, tenant: t, ingress: [{cidr: 10.0.0.0/25, ports: "100-200"}]}', ['s', 's', 's']))
    expect(edgesByName(g)).toEqual(['a->b 100-200', 'a->c 100-200', 'b->a 100-200', 'b->c 100-200'])
  })

  it('a restricted egress list cuts edges and narrows ports', () => {
    const g = graphOf(base([
      '  - {name: open, tenant: t, ingress: [{cidr: 0.0.0.0/0}]}',
      '  - {name: out, tenant: t, ingress: [{cidr: 0.0.0.0/0}], egress: [{cidr: 10.0.0.2/32, ports: "150-300"}]}',
    ].join('\n'), ['out', 'open', 'open']))
    expect(edgesByName(g)).toEqual(['a->b 150-300', 'b->a all ports', 'b->c all ports', 'c->a all ports', 'c->b all ports'])
  })

  it('no ingress rules, no edges (AWS-like default deny)', () => {
    const g = graphOf(base('  - {name: closed, tenant: t}', ['closed', 'closed', 'closed']))
    expect(g.edges).toEqual([])
  })

  it('modes without rules get no edges', async () => {
    const g = buildGraph(await plan('modes.yaml'))
    const n = new Map(g.vms.map((v) => [v.id, v]))
    for (const e of g.edges) {
      expect(['masq', 'freeflow']).toContain(n.get(e.from)!.mode)
      expect(['masq', 'freeflow']).toContain(n.get(e.to)!.mode)
    }
    expect(g.edges).toHaveLength(12) // 4 rule-mode VMs, all pairs
  })
})

describe('renderers', () => {
  it('mermaid: flowchart with host subgraphs, nested tenant subgraphs, quoted labels, tenant classes', async () => {
    const m = renderMermaid(buildGraph(await plan('multi-tenant.yaml')))
    const lines = m.trimEnd().split('\n')
    expect(lines[0]).toBe('flowchart LR')
    expect(m).toContain('  subgraph h0["host host1 (192.168.0.1)"]')
    expect(m).toContain('    subgraph h0_t0["blue (VNI 100)"]')
    expect(m).toContain('      v0["blue-server<br/>10.0.0.1 · masq"]')
    expect(m).toContain('  v1 -->|"18515"| v0')
    expect(m).toMatch(/classDef tenant0 fill:#[0-9A-F]{6}/)
    expect(m).toContain('  class v0,v1,v2 tenant0')
    // balanced subgraph/end
    expect(lines.filter((l) => l.trim().startsWith('subgraph ')).length).toBe(lines.filter((l) => l.trim() === 'end').length)
  })

  it('dot: clusters per host and tenant, filled VMs, labelled edges, balanced braces', async () => {
    const d = renderDot(buildGraph(await plan('multi-tenant.yaml')))
    expect(d.startsWith('digraph "multi-tenant" {')).toBe(true)
    expect(d).toContain('subgraph cluster_h0 {')
    expect(d).toContain('subgraph cluster_h0_t0 {')
    expect(d).toContain('v0 [label="blue-server\\n10.0.0.1 · masq", fillcolor="#56B4E9"];')
    expect(d).toContain('v1 -> v0 [label="18515"];')
    expect(d.split('{').length).toBe(d.split('}').length)
  })

  it('json: the graph document', async () => {
    const p = await plan('two-host.yaml')
    const j = JSON.parse(renderGraph(p, 'json'))
    expect(j).toMatchObject({version: 1, name: 'two-host'})
    expect(j.hosts).toEqual([{id: 'h0', name: 'host1', underlay: '192.168.0.1'}, {id: 'h1', name: 'host2', underlay: '192.168.0.2'}])
    expect(j.edges).toEqual([
      {from: 'v0', to: 'v1', ports: [[1, 65535]], label: 'all ports'},
      {from: 'v1', to: 'v0', ports: [[1, 65535]], label: 'all ports'},
    ])
  })
})
