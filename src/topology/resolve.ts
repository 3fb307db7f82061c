// Resolve a valid topology into the plan `masq up` consumes: defaults, the address plan per mode (DESIGN §2),
// MACs, GIDs and indexes. Call only after schema + semantic validation found no error.
import {DEFAULTS, effectiveQuotas, effectiveRnic} from './defaults.js'
import {
  PLAN_VERSION, type Fabric, type Host, type Mode, type ResolvedPlan, type SecurityGroup, type SgRule, type SgRuleRaw,
  type Tenant, type TopologyRaw, type Vm,
} from './types.js'
import {parseDuration, parsePorts, parseRate, parseSize} from './units.js'

const hex = (n: number): string => n.toString(16).padStart(2, '0')

/** vBond: the GID is the IPv4-mapped IPv6 address of the device IP */
export const gidOf = (ip: string): string => `::ffff:${ip}`

/** host MAC: 02:00 (locally administered) + the four underlay octets */
export const hostMac = (underlay: string): string => `02:00:${underlay.split('.').map((o) => hex(Number(o))).join(':')}`

/** VM MAC: 02 + the 24-bit VNI + the 16-bit VM index, unique per VM and recognisable per VPC */
export const vmMac = (vni: number, index: number): string =>
  ['02', hex((vni >>> 16) & 255), hex((vni >>> 8) & 255), hex(vni & 255), hex((index >>> 8) & 255), hex(index & 255)].join(':')

/** Address plan (DESIGN §2): which address the VM's device has and which one its frames carry. */
export function addressPlan(mode: Mode, vip: string, hostUnderlay: string): {deviceIp: string; wireIp: string} {
  switch (mode) {
    case 'masq':
    case 'freeflow': return {deviceIp: vip, wireIp: hostUnderlay} // RConnrename / relay: vIP inside, host IP on the wire
    case 'sriov':
    case 'hyv': return {deviceIp: vip, wireIp: vip} // no VPC: the VF address is an underlay address
    case 'bare': return {deviceIp: hostUnderlay, wireIp: hostUnderlay} // a process on the host
  }
}

function resolveFabric(raw: TopologyRaw): Fabric {
  const f = raw.fabric ?? {}
  const providerDscp = raw.provider?.dscp ?? DEFAULTS.providerDscp
  const dscpPriority: number[] = Array.from({length: 64}, (_, d) => (d === providerDscp ? 0 : 1))
  for (const [k, v] of Object.entries(f.dscpPriority ?? {})) dscpPriority[Number(k)] = v
  const im = f.impairments ?? {}
  return {
    mtu: f.mtu ?? DEFAULTS.mtu,
    linkRateBps: parseRate(f.linkRate ?? DEFAULTS.linkRate)!,
    delayNs: parseDuration(f.delay ?? DEFAULTS.delay)!,
    bufferBytes: parseSize(f.buffer ?? DEFAULTS.buffer)!,
    dscpPriority,
    priorities: Math.max(...dscpPriority) + 1,
    impairments: {
      loss: im.loss ?? 0, duplicate: im.duplicate ?? 0, reorder: im.reorder ?? 0,
      jitterNs: parseDuration(im.jitter ?? 0)!, seed: im.seed ?? DEFAULTS.seed,
    },
    capture: f.capture ?? false,
  }
}

function resolveRule(r: SgRuleRaw): SgRule {
  const [portMin, portMax] = r.ports === undefined ? [1, 65535] : parsePorts(r.ports)!
  return {...(r.cidr !== undefined ? {cidr: r.cidr} : {}), ...(r.group !== undefined ? {group: r.group} : {}), portMin, portMax}
}

export function resolveTopology(raw: TopologyRaw, source?: string): ResolvedPlan {
  const mode = raw.mode ?? DEFAULTS.mode
  const hosts: Host[] = raw.hosts.map((h, index) => ({
    name: h.name, index, underlay: h.underlay, mac: hostMac(h.underlay), gid: gidOf(h.underlay), rnic: effectiveRnic(h),
  }))
  const tenants: Tenant[] = raw.tenants.map((t) => ({
    name: t.name, vni: t.vni, cidr: t.cidr, ...effectiveQuotas(t),
    qos: {rateBps: parseRate(t.qos?.rate ?? DEFAULTS.tenantRate)!, dscp: t.qos?.dscp ?? DEFAULTS.tenantDscp},
  }))
  const securityGroups: SecurityGroup[] = (raw.securityGroups ?? []).map((g) => ({
    name: g.name, tenant: g.tenant, ingress: (g.ingress ?? []).map(resolveRule), egress: (g.egress ?? []).map(resolveRule),
    egressRestricted: g.egress !== undefined,
  }))
  const hostBy = new Map(hosts.map((h) => [h.name, h]))
  const tenantBy = new Map(tenants.map((t) => [t.name, t]))
  const vms: Vm[] = raw.vms.map((v, index) => {
    const vmMode = v.mode ?? mode
    const host = hostBy.get(v.host)!
    const vni = tenantBy.get(v.tenant)!.vni
    const {deviceIp, wireIp} = addressPlan(vmMode, v.ip, host.underlay)
    return {
      name: v.name, index, tenant: v.tenant, vni, host: v.host, mode: vmMode, vip: v.ip, deviceIp, wireIp,
      gid: gidOf(deviceIp), mac: vmMac(vni, index), securityGroups: v.securityGroups ?? [],
      memoryBytes: parseSize(v.memory ?? DEFAULTS.vmMemory)!,
    }
  })
  return {
    version: PLAN_VERSION, name: raw.name, ...(source !== undefined ? {source} : {}), mode,
    fabric: resolveFabric(raw), provider: {dscp: raw.provider?.dscp ?? DEFAULTS.providerDscp},
    hosts, tenants, securityGroups, vms,
  }
}
