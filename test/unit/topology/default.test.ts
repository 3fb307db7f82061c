import {readFileSync} from 'node:fs'
import {describe, expect, it} from 'vitest'
import {DEFAULT_TOPOLOGY, defaultPlan} from '../../../src/topology/default.js'
import {buildGraph} from '../../../src/topology/graph.js'

describe('embedded default topology', () => {
  it('is templates/default.yaml, verbatim', () => {
    expect(DEFAULT_TOPOLOGY).toBe(readFileSync(new URL('../../../templates/default.yaml', import.meta.url), 'utf8'))
  })
  it('two hosts, two tenants with the same CIDR and vIPs, four VMs, intra-tenant traffic only', async () => {
    const p = await defaultPlan()
    expect(p.hosts).toHaveLength(2)
    expect(p.tenants.map((t) => t.cidr)).toEqual(['10.0.0.0/24', '10.0.0.0/24'])
    expect(p.vms).toHaveLength(4)
    const vips = p.vms.map((v) => `${v.tenant}:${v.vip}`)
    expect(vips).toEqual(['blue:10.0.0.1', 'blue:10.0.0.2', 'red:10.0.0.1', 'red:10.0.0.2'])
    const g = buildGraph(p)
    const name = new Map(g.vms.map((v) => [v.id, v.name]))
    expect(g.edges.map((e) => `${name.get(e.from)}->${name.get(e.to)}`).sort()).toEqual(['blue1->blue2', 'blue2->blue1', 'red1->red2', 'red2->red1'])
  })
})
