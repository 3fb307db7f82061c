// Lab graph: hosts containing VMs grouped by tenant, and one edge per (source VM, destination VM) pair that the
// security groups allow (stateful rules: the ingress side of the destination and the egress side of the source,
// the same check RConntrack makes at connection setup). Rendered as mermaid, dot or JSON.
import {modeHasRules} from './defaults.js'
import type {ResolvedPlan, SecurityGroup, SgRule, Vm} from './types.js'
import {cidrContains, parseCidr, parseIpv4} from './units.js'

export const GRAPH_FORMATS = ['mermaid', 'dot', 'json'] as const
export type GraphFormat = (typeof GRAPH_FORMATS)[number]

export interface GraphVm {id: string; name: string; tenant: string; host: string; mode: string; vip: string; wireIp: string}
export interface GraphEdge {from: string; to: string; ports: [number, number][]; label: string}
export interface LabGraph {
  version: 1
  name: string
  hosts: {id: string; name: string; underlay: string}[]
  tenants: {name: string; vni: number; cidr: string; color: string}[]
  vms: GraphVm[]
  edges: GraphEdge[]
}

// fill colours per tenant (colour-blind-friendly Okabe-Ito palette), cycled
const PALETTE = ['#56B4E9', '#E69F00', '#009E73', '#F0E442', '#CC79A7', '#0072B2', '#D55E00', '#999999']

type Range = [number, number]
const ALL: Range = [1, 65535]

function merge(ranges: Range[]): Range[] {
  const sorted = [...ranges].sort((a, b) => a[0] - b[0])
  const out: Range[] = []
  for (const r of sorted) {
    const last = out[out.length - 1]
    if (last && r[0] <= last[1] + 1) last[1] = Math.max(last[1], r[1])
    else out.push([r[0], r[1]])
  }
  return out
}

function intersect(a: Range[], b: Range[]): Range[] {
  const out: Range[] = []
  for (const x of a) for (const y of b) {
    const lo = Math.max(x[0], y[0])
    const hi = Math.min(x[1], y[1])
    if (lo <= hi) out.push([lo, hi])
  }
  return merge(out)
}

const ruleMatches = (rule: SgRule, peer: Vm): boolean => {
  if (rule.group !== undefined) return peer.securityGroups.includes(rule.group)
  const c = parseCidr(rule.cidr)
  const ip = parseIpv4(peer.vip)
  return c.ok && ip !== undefined && cidrContains(c.cidr, ip)
}

/** Port ranges on which `src` may open a connection to `dst` (empty: denied). */
export function allowedPorts(src: Vm, dst: Vm, groups: Map<string, SecurityGroup>): Range[] {
  if (src.vni !== dst.vni || src === dst || !modeHasRules(src.mode) || !modeHasRules(dst.mode)) return []
  const ingress: Range[] = []
  for (const g of dst.securityGroups) {
    for (const r of groups.get(g)?.ingress ?? []) if (ruleMatches(r, src)) ingress.push([r.portMin, r.portMax])
  }
  const srcGroups = src.securityGroups.map((g) => groups.get(g)).filter((g): g is SecurityGroup => g !== undefined)
  let egress: Range[]
  if (srcGroups.length === 0 || srcGroups.some((g) => !g.egressRestricted)) egress = [ALL]
  else egress = srcGroups.flatMap((g) => g.egress.filter((r) => ruleMatches(r, dst)).map((r): Range => [r.portMin, r.portMax]))
  return intersect(merge(ingress), merge(egress))
}

const portLabel = (ranges: Range[]): string =>
  ranges.length === 1 && ranges[0][0] === 1 && ranges[0][1] === 65535 ? 'all ports'
    : ranges.map(([a, b]) => (a === b ? `${a}` : `${a}-${b}`)).join(', ')

export function buildGraph(plan: ResolvedPlan): LabGraph {
  const groups = new Map(plan.securityGroups.map((g) => [g.name, g]))
  const vmId = (v: Vm) => `v${v.index}`
  const edges: GraphEdge[] = []
  for (const src of plan.vms) for (const dst of plan.vms) {
    const ports = allowedPorts(src, dst, groups)
    if (ports.length > 0) edges.push({from: vmId(src), to: vmId(dst), ports, label: portLabel(ports)})
  }
  return {
    version: 1,
    name: plan.name,
    hosts: plan.hosts.map((h) => ({id: `h${h.index}`, name: h.name, underlay: h.underlay})),
    tenants: plan.tenants.map((t, i) => ({name: t.name, vni: t.vni, cidr: t.cidr, color: PALETTE[i % PALETTE.length]})),
    vms: plan.vms.map((v) => ({id: vmId(v), name: v.name, tenant: v.tenant, host: v.host, mode: v.mode, vip: v.vip, wireIp: v.wireIp})),
    edges,
  }
}

const vmsOn = (g: LabGraph, host: string, tenant: string) => g.vms.filter((v) => v.host === host && v.tenant === tenant)

/** mermaid flowchart: a subgraph per host, a nested one per tenant on it, VMs coloured by tenant. */
export function renderMermaid(g: LabGraph): string {
  const L: string[] = ['flowchart LR']
  g.hosts.forEach((h) => {
    L.push(`  subgraph ${h.id}["host ${h.name} (${h.underlay})"]`)
    g.tenants.forEach((t, ti) => {
      const vms = vmsOn(g, h.name, t.name)
      if (vms.length === 0) return
      L.push(`    subgraph ${h.id}_t${ti}["${t.name} (VNI ${t.vni})"]`)
      for (const v of vms) L.push(`      ${v.id}["${v.name}<br/>${v.vip} · ${v.mode}"]`)
      L.push('    end')
    })
    L.push('  end')
  })
  for (const e of g.edges) L.push(`  ${e.from} -->|"${e.label}"| ${e.to}`)
  g.tenants.forEach((t, ti) => {
    const ids = g.vms.filter((v) => v.tenant === t.name).map((v) => v.id)
    L.push(`  classDef tenant${ti} fill:${t.color},stroke:#333,color:#000`)
    if (ids.length > 0) L.push(`  class ${ids.join(',')} tenant${ti}`)
  })
  return L.join('\n') + '\n'
}

const dq = (s: string) => `"${s.replace(/["\\]/g, '\\$&')}"`

/** Graphviz dot: a cluster per host, a nested cluster per tenant, VMs filled with the tenant colour. */
export function renderDot(g: LabGraph): string {
  const L: string[] = [
    `digraph ${dq(g.name)} {`,
    '  rankdir=LR;',
    '  graph [fontname="Helvetica"];',
    '  node [shape=box, style="rounded,filled", fontname="Helvetica"];',
    '  edge [fontname="Helvetica", fontsize=10];',
  ]
  g.hosts.forEach((h) => {
    L.push(`  subgraph cluster_${h.id} {`, `    label=${dq(`host ${h.name} (${h.underlay})`)};`, '    style=rounded;')
    g.tenants.forEach((t, ti) => {
      const vms = vmsOn(g, h.name, t.name)
      if (vms.length === 0) return
      L.push(`    subgraph cluster_${h.id}_t${ti} {`, `      label=${dq(`${t.name} (VNI ${t.vni})`)};`, '      style=dashed;')
      for (const v of vms) L.push(`      ${v.id} [label=${dq(`${v.name}\\n${v.vip} · ${v.mode}`).replace(/\\\\n/g, '\\n')}, fillcolor=${dq(t.color)}];`)
      L.push('    }')
    })
    L.push('  }')
  })
  for (const e of g.edges) L.push(`  ${e.from} -> ${e.to} [label=${dq(e.label)}];`)
  L.push('}')
  return L.join('\n') + '\n'
}

export function renderGraph(plan: ResolvedPlan, format: GraphFormat): string {
  const g = buildGraph(plan)
  if (format === 'mermaid') return renderMermaid(g)
  if (format === 'dot') return renderDot(g)
  return JSON.stringify(g, null, 2) + '\n'
}
