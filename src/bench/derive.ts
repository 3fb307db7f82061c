// `masq bench` measures one pair of VMs per mode: from the user's topology (or the embedded default) it derives a
// two-VM, two-host topology per mode, overriding `mode`, and lets the real loader validate it. Rules per mode
// follow docs/decisions.md: sriov/hyv VMs get distinct underlay-style addresses (no VPC), security groups stay only
// where the mode has rules (masq, freeflow).
import {parse as parseYaml, stringify} from 'yaml'
import {loadTopologyText} from '../topology/load.js'
import type {Mode, ResolvedPlan, SecurityGroupRaw, TopologyRaw, VmRaw} from '../topology/types.js'

export interface DerivedLab {
  mode: Mode
  /** Client (perftest's client side) and server VM names. */
  client: string
  server: string
  plan: ResolvedPlan
  /** The derived topology as YAML (written next to the lab for inspection). */
  yaml: string
}

export class DeriveError extends Error {
  readonly exitCode = 2
}

const hasRules = (m: Mode) => m === 'masq' || m === 'freeflow'

const ipNum = (ip: string) => ip.split('.').reduce((a, o) => a * 256 + Number(o), 0)
const ipStr = (n: number) => [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join('.')

/** The first VM and the first VM of the same tenant on another host: the pair perftest's client/server run on. */
export function pickPair(raw: TopologyRaw): [VmRaw, VmRaw] {
  for (const a of raw.vms ?? []) {
    const b = (raw.vms ?? []).find((v) => v !== a && v.tenant === a.tenant && v.host !== a.host)
    if (b) return [a, b]
  }
  throw new DeriveError('masq bench needs two VMs of one tenant on two different hosts; the topology has none')
}

/**
 * Underlay-style addresses for the pair's VFs (sriov/hyv): the subnet after the first host's underlay
 * (192.168.0.1 -> 192.168.1.1, 192.168.1.2), skipping any host address.
 */
export function vfAddresses(hostUnderlays: readonly string[], count = 2): string[] {
  const taken = new Set(hostUnderlays.map(ipNum))
  const base = hostUnderlays.length ? (Math.floor(ipNum(hostUnderlays[0]!) / 256) + 1) * 256 : ipNum('192.168.1.0')
  const out: string[] = []
  for (let n = base + 1; out.length < count; n++) {
    if (n % 256 === 0 || n % 256 === 255 || taken.has(n)) continue
    out.push(ipStr(n))
  }
  return out
}

/** Derive the two-VM topology of one mode and resolve it (all loader errors become one DeriveError). */
export function deriveLab(text: string, file: string, mode: Mode, opts: {name?: string; memoryBytes?: number} = {}): DerivedLab {
  let raw: TopologyRaw
  try {
    raw = parseYaml(text) as TopologyRaw
  } catch (err) {
    throw new DeriveError(`${file}: ${(err as Error).message}`)
  }
  if (typeof raw !== 'object' || raw === null || !Array.isArray(raw.vms) || !Array.isArray(raw.hosts)) {
    // let the loader say precisely what is wrong
    const r = loadTopologyText(text, file)
    throw new DeriveError(r.ok ? `${file}: not a topology` : r.errors.map((e) => `${e.file}:${e.line}:${e.col} ${e.message}`).join('\n'))
  }
  const [a, b] = pickPair(raw)
  const hosts = raw.hosts.filter((h) => h.name === a.host || h.name === b.host)
  const tenants = (raw.tenants ?? []).filter((t) => t.name === a.tenant)
  const vf = vfAddresses(hosts.map((h) => h.underlay))
  const vm = (v: VmRaw, i: number): VmRaw => {
    const {mode: _mode, securityGroups, memory, ...rest} = v
    const out: VmRaw = {...rest}
    if (mode === 'sriov' || mode === 'hyv') out.ip = vf[i]!
    if (hasRules(mode) && securityGroups?.length) out.securityGroups = securityGroups
    if (opts.memoryBytes !== undefined) out.memory = opts.memoryBytes
    else if (memory !== undefined) out.memory = memory
    return out
  }
  const vms = [vm(a, 0), vm(b, 1)]
  const groups = new Set(vms.flatMap((v) => v.securityGroups ?? []))
  const securityGroups: SecurityGroupRaw[] = hasRules(mode) ? (raw.securityGroups ?? []).filter((g) => groups.has(g.name)) : []
  const derived: TopologyRaw = {
    name: opts.name ?? `bench-${mode}`,
    mode,
    ...(raw.fabric ? {fabric: raw.fabric} : {}),
    ...(raw.provider ? {provider: raw.provider} : {}),
    hosts,
    tenants,
    ...(securityGroups.length ? {securityGroups} : {}),
    vms,
  }
  const yaml = stringify(derived)
  const r = loadTopologyText(yaml, `${file} (derived for mode ${mode})`)
  if (!r.ok) throw new DeriveError(`cannot derive a ${mode} lab from ${file}:\n` + r.errors.map((e) => `  ${e.path}: ${e.message}${e.hint ? ` (${e.hint})` : ''}`).join('\n'))
  return {mode, client: a.name, server: b.name, plan: r.plan, yaml}
}
