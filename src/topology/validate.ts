// Semantic checks that JSON Schema cannot express. Every check runs on possibly schema-invalid data
// (values of the wrong type are skipped, the schema reports them), and ALL errors are collected.
import {DEFAULTS, effectiveQuotas, effectiveRnic, modeHasRules, modeHasVpc, QUOTA_TO_RNIC} from './defaults.js'
import {didYouMean, formatPath, type Segment, type TopologyError} from './errors.js'
import type {ParsedTopology} from './parse.js'
import {MODES, type Mode} from './types.js'
import {cidrBroadcast, cidrContains, formatIpv4, parseCidr, parseIpv4, parsePorts, parseRate, parseSize, type Cidr} from './units.js'

export {parsePorts} from './units.js'

type Rec = Record<string, unknown>
const rec = (v: unknown): Rec | undefined => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Rec) : undefined)
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : [])
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined)
const isMode = (v: unknown): v is Mode => typeof v === 'string' && (MODES as readonly string[]).includes(v)

export function semanticErrors(parsed: ParsedTopology): TopologyError[] {
  const out: TopologyError[] = []
  const root = rec(parsed.data)
  if (!root) return out
  const err = (path: Segment[], message: string, hint?: string, at: 'key' | 'value' = 'value'): void => {
    const p = parsed.locate(path, at)
    out.push({file: parsed.file, line: p.line, col: p.col, path: formatPath(path), message, ...(hint ? {hint} : {})})
  }
  const lineOf = (path: Segment[]): number => parsed.locate(path).line

  const hosts = list(root.hosts)
  const tenants = list(root.tenants)
  const groups = list(root.securityGroups)
  const vms = list(root.vms)
  const defaultMode: Mode = isMode(root.mode) ? root.mode : DEFAULTS.mode

  // ---- duplicate names (first one wins; later ones are reported)
  const index = (items: unknown[], key: string, what: string): Map<string, number> => {
    const seen = new Map<string, number>()
    items.forEach((item, i) => {
      const name = str(rec(item)?.name)
      if (name === undefined) return
      const first = seen.get(name)
      if (first === undefined) seen.set(name, i)
      else err([key, i, 'name'], `duplicate ${what} name "${name}"`, `first defined at line ${lineOf([key, first, 'name'])}; names must be unique`)
    })
    return seen
  }
  const hostIx = index(hosts, 'hosts', 'host')
  const tenantIx = index(tenants, 'tenants', 'tenant')
  const groupIx = index(groups, 'securityGroups', 'security group')
  const vmIx = index(vms, 'vms', 'VM')
  // hosts and VMs share one namespace: `masq logs <node>` and `masq run <vm>` address them by name
  for (const [n, i] of vmIx) {
    const h = hostIx.get(n)
    if (h !== undefined) err(['vms', i, 'name'], `VM name "${n}" is also the name of a host`, `host and VM names must differ (commands address nodes by name); the host is at line ${lineOf(['hosts', h, 'name'])}`)
  }

  const unknownRef = (path: Segment[], what: string, name: string, known: Iterable<string>) => {
    const names = [...known]
    const guess = didYouMean(name, names)
    err(path, `unknown ${what} "${name}"`, guess ? `did you mean "${guess}"?` : names.length ? `known ${what}s: ${names.join(', ')}` : `no ${what}s are defined`)
  }

  // ---- hosts: unique underlay addresses
  const underlays = new Map<number, number>()
  hosts.forEach((h, i) => {
    const ip = parseIpv4(rec(h)?.underlay)
    if (ip === undefined) return
    const first = underlays.get(ip)
    if (first === undefined) underlays.set(ip, i)
    else err(['hosts', i, 'underlay'], `duplicate underlay address ${formatIpv4(ip)} (also host "${str(rec(hosts[first])?.name)}")`, 'every host needs its own fabric address')
  })

  // ---- tenants: VNIs, CIDRs, QoS
  const providerDscp = typeof rec(root.provider)?.dscp === 'number' ? (rec(root.provider)!.dscp as number) : DEFAULTS.providerDscp
  const vnis = new Map<number, number>()
  const tenantCidr = new Map<string, Cidr>()
  const checkCidr = (path: Segment[], v: unknown): Cidr | undefined => {
    if (typeof v !== 'string' || !/^[0-9]{1,3}(\.[0-9]{1,3}){3}\/[0-9]{1,2}$/.test(v)) return undefined // schema reports
    const r = parseCidr(v)
    if (r.ok) return r.cidr
    if (r.reason === 'host-bits') err(path, `CIDR ${v} has host bits set`, `did you mean ${r.suggestion}?`)
    else err(path, `invalid CIDR ${JSON.stringify(v)}`, 'octets are 0..255 and the prefix length 0..32, e.g. 10.0.0.0/24')
    return undefined
  }
  tenants.forEach((t, i) => {
    const tr = rec(t)
    if (!tr) return
    if (typeof tr.vni === 'number' && Number.isInteger(tr.vni)) {
      const first = vnis.get(tr.vni)
      if (first === undefined) vnis.set(tr.vni, i)
      else err(['tenants', i, 'vni'], `duplicate VNI ${tr.vni} (also tenant "${str(rec(tenants[first])?.name)}")`, 'each tenant VPC needs its own VNI')
    }
    const c = checkCidr(['tenants', i, 'cidr'], tr.cidr)
    const name = str(tr.name)
    if (c && name !== undefined && tenantIx.get(name) === i) tenantCidr.set(name, c)
    const qos = rec(tr.qos)
    if (qos?.dscp === providerDscp) {
      err(['tenants', i, 'qos', 'dscp'], `tenant DSCP ${providerDscp} is the provider's traffic class`, 'pick another DSCP (default 26) or change provider.dscp')
    }
  })

  // ---- security groups: tenant, rules
  const groupTenant = new Map<string, string>()
  groups.forEach((g, i) => {
    const gr = rec(g)
    const name = str(gr?.name)
    const tenant = str(gr?.tenant)
    if (name !== undefined && tenant !== undefined && groupIx.get(name) === i) groupTenant.set(name, tenant)
  })
  groups.forEach((g, i) => {
    const gr = rec(g)
    if (!gr) return
    const tenant = str(gr.tenant)
    if (tenant !== undefined && !tenantIx.has(tenant)) unknownRef(['securityGroups', i, 'tenant'], 'tenant', tenant, tenantIx.keys())
    for (const dir of ['ingress', 'egress'] as const) {
      list(gr[dir]).forEach((r, j) => {
        const rr = rec(r)
        if (!rr) return
        const at = ['securityGroups', i, dir, j]
        if (rr.cidr === undefined && rr.group === undefined) err(at, 'rule names no peer', 'add `cidr: 0.0.0.0/0` (any peer in the VPC), a narrower cidr, or `group: <name>`')
        if (rr.cidr !== undefined && rr.group !== undefined) err([...at, 'group'], 'rule has both cidr and group', 'write two rules, one with cidr and one with group')
        checkCidr([...at, 'cidr'], rr.cidr)
        const ref = str(rr.group)
        if (ref !== undefined) {
          const owner = groupTenant.get(ref)
          if (owner === undefined) unknownRef([...at, 'group'], 'security group', ref, groupTenant.keys())
          else if (tenant !== undefined && owner !== tenant) {
            err([...at, 'group'], `group "${ref}" belongs to tenant "${owner}", not "${tenant}"`, 'rules may only name groups of the same tenant (VPCs are isolated); use a cidr inside the VPC instead')
          }
        }
        const ports = parsePorts(rr.ports)
        if (ports && typeof rr.ports === 'string') {
          const [lo, hi] = ports
          if (lo < 1 || hi > 65535) err([...at, 'ports'], `port range ${rr.ports} is out of range 1..65535`)
          else if (lo > hi) err([...at, 'ports'], `port range ${rr.ports} has min > max`, `did you mean "${hi}-${lo}"?`)
        }
      })
    }
  })

  // ---- VMs
  const vipInVpc = new Map<string, number>() // "tenant\0ip" -> vm index
  const underlayVm = new Map<number, number>() // sriov/hyv ip -> vm index
  const hostsOfTenant = new Map<string, Set<string>>()
  const noVpcHint = 'sriov and hyv have no VPC addressing: the VM ip is used on the underlay as is. Use mode masq for VPC addresses'
  vms.forEach((v, i) => {
    const vr = rec(v)
    if (!vr) return
    const name = str(vr.name) ?? `#${i}`
    const tenant = str(vr.tenant)
    const host = str(vr.host)
    const mode: Mode = isMode(vr.mode) ? vr.mode : defaultMode
    const tenantOk = tenant !== undefined && tenantIx.has(tenant)
    const hostOk = host !== undefined && hostIx.has(host)
    if (tenant !== undefined && !tenantOk) unknownRef(['vms', i, 'tenant'], 'tenant', tenant, tenantIx.keys())
    if (host !== undefined && !hostOk) unknownRef(['vms', i, 'host'], 'host', host, hostIx.keys())
    if (tenantOk && hostOk) {
      if (!hostsOfTenant.has(tenant)) hostsOfTenant.set(tenant, new Set())
      hostsOfTenant.get(tenant)!.add(host)
    }

    const ip = parseIpv4(vr.ip)
    if (ip !== undefined && modeHasVpc(mode) && tenantOk) {
      const c = tenantCidr.get(tenant)
      if (c && !cidrContains(c, ip)) {
        err(['vms', i, 'ip'], `vIP ${vr.ip} is outside the CIDR ${formatIpv4(c.base)}/${c.prefix} of tenant "${tenant}"`, 'pick an address inside the tenant\'s CIDR')
      } else if (c && c.prefix <= 30 && (ip === c.base || ip === cidrBroadcast(c))) {
        err(['vms', i, 'ip'], `vIP ${vr.ip} is the ${ip === c.base ? 'network' : 'broadcast'} address of ${formatIpv4(c.base)}/${c.prefix}`, 'pick a host address')
      } else {
        const k = `${tenant}\0${ip}`
        const first = vipInVpc.get(k)
        if (first === undefined) vipInVpc.set(k, i)
        else err(['vms', i, 'ip'], `duplicate vIP ${vr.ip} in the VPC of tenant "${tenant}" (also VM "${str(rec(vms[first])?.name)}")`, 'vIPs are unique within a VPC (the same vIP in two tenants is fine)')
      }
    }
    if (ip !== undefined && (mode === 'sriov' || mode === 'hyv')) {
      const h = underlays.get(ip)
      if (h !== undefined) err(['vms', i, 'ip'], `${mode} VM "${name}" uses ${vr.ip}, the underlay address of host "${str(rec(hosts[h])?.name)}"`, noVpcHint)
      const first = underlayVm.get(ip)
      if (first === undefined) underlayVm.set(ip, i)
      else if (h === undefined) err(['vms', i, 'ip'], `${mode} VM "${name}" uses ${vr.ip}, already used on the underlay by VM "${str(rec(vms[first])?.name)}"`, noVpcHint)
    }

    const sgs = vr.securityGroups
    if (Array.isArray(sgs) && sgs.length > 0 && !modeHasRules(mode)) {
      err(['vms', i, 'securityGroups'], `VM "${name}" in mode ${mode} cannot have security groups (${mode} has no security rules)`, 'remove securityGroups, or use mode masq or freeflow')
    } else {
      list(sgs).forEach((g, j) => {
        const ref = str(g)
        if (ref === undefined) return
        const owner = groupTenant.get(ref)
        if (owner === undefined) unknownRef(['vms', i, 'securityGroups', j], 'security group', ref, groupTenant.keys())
        else if (tenantOk && owner !== tenant) err(['vms', i, 'securityGroups', j], `security group "${ref}" belongs to tenant "${owner}", not to "${tenant}" of VM "${name}"`, 'a VM may only use groups of its own tenant')
      })
    }
    const mem = parseSize(vr.memory)
    if (mem !== undefined && mem < 4096) err(['vms', i, 'memory'], `memory ${vr.memory} is below one 4KiB page`)
  })

  // ---- quotas vs RNIC capacity
  const hostByName = new Map<string, {i: number; raw: unknown}>()
  for (const [n, i] of hostIx) hostByName.set(n, {i, raw: hosts[i]})
  tenants.forEach((t, i) => {
    const name = str(rec(t)?.name)
    if (name === undefined || tenantIx.get(name) !== i) return
    const used = [...(hostsOfTenant.get(name) ?? [])]
    if (used.length === 0) return
    const {perVm, perTenant} = effectiveQuotas(t)
    const q = rec(rec(t)?.quotas)
    const written = (scope: 'perVm' | 'perTenant', k: string) => rec(q?.[scope])?.[k] !== undefined
    for (const [qk, rk] of Object.entries(QUOTA_TO_RNIC) as [keyof typeof QUOTA_TO_RNIC, (typeof QUOTA_TO_RNIC)[keyof typeof QUOTA_TO_RNIC]][]) {
      let sum = 0
      for (const h of used) {
        const hb = hostByName.get(h)!
        const limit = effectiveRnic(hb.raw)[rk]
        sum += limit
        if (perVm[qk] > limit) {
          const at = written('perVm', qk) ? ['tenants', i, 'quotas', 'perVm', qk]
            : rec(rec(hb.raw)?.rnic)?.[rk] !== undefined ? ['hosts', hb.i, 'rnic', rk] : ['tenants', i]
          err(at, `per-VM quota ${qk} ${perVm[qk]} of tenant "${name}" exceeds the RNIC of host "${h}" (${rk} ${limit})`, `lower tenants[].quotas.perVm.${qk} or raise hosts[].rnic.${rk}`)
        }
      }
      if (perTenant[qk] > sum) {
        const at = written('perTenant', qk) ? ['tenants', i, 'quotas', 'perTenant', qk] : written('perVm', qk) ? ['tenants', i, 'quotas', 'perVm', qk] : ['tenants', i]
        err(at, `per-tenant quota ${qk} ${perTenant[qk]} of tenant "${name}" exceeds what the RNICs of its hosts hold (${used.join(', ')}: ${rk} ${sum} in total)`, `lower tenants[].quotas.perTenant.${qk} (default ${DEFAULTS.perTenantFactor} x perVm) or raise hosts[].rnic.${rk}`)
      }
    }
  })

  // ---- rate limiters: every rate-limited tenant takes one RNIC limiter on each host it has VMs on (QoS, DESIGN §1)
  hosts.forEach((h, i) => {
    const name = str(rec(h)?.name)
    if (name === undefined || hostIx.get(name) !== i) return
    const limited = tenants.filter((t) => {
      const tn = str(rec(t)?.name)
      const rate = parseRate(rec(rec(t)?.qos)?.rate)
      return tn !== undefined && rate !== undefined && rate > 0 && hostsOfTenant.get(tn)?.has(name)
    }).map((t) => str(rec(t)?.name))
    const have = effectiveRnic(h).rateLimiters
    if (limited.length > have) {
      const at = rec(rec(h)?.rnic)?.rateLimiters !== undefined ? ['hosts', i, 'rnic', 'rateLimiters'] : ['hosts', i]
      err(at, `host "${name}" serves ${limited.length} rate-limited tenants (${limited.join(', ')}) but its RNIC has ${have} rate limiter${have === 1 ? '' : 's'}`, 'raise hosts[].rnic.rateLimiters, or drop qos.rate of a tenant')
    }
  })

  // ---- fabric
  const fabric = rec(root.fabric)
  if (fabric) {
    const rate = parseRate(fabric.linkRate)
    if (rate === 0) err(['fabric', 'linkRate'], 'linkRate must be above 0')
    const buf = parseSize(fabric.buffer)
    const mtu = typeof fabric.mtu === 'number' ? fabric.mtu : DEFAULTS.mtu
    if (buf !== undefined && buf < mtu + 100) err(['fabric', 'buffer'], `buffer ${fabric.buffer} cannot hold one ${mtu}-byte frame`, 'use at least a few KiB (default 4MiB)')
  }
  return out
}
