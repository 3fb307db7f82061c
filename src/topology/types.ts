// Topology model v1: the raw YAML shape (what users write) and the resolved plan (what `masq up` consumes).
// The JSON Schema in schema/topology.schema.json describes TopologyRaw; resolve.ts turns it into ResolvedPlan.

export const MODES = ['bare', 'sriov', 'hyv', 'masq', 'freeflow'] as const
export type Mode = (typeof MODES)[number]

// Sizes and rates are written with units in YAML ("4MiB", "100Gbps", "2us") or as plain numbers
// (bytes, bits per second, nanoseconds).
export type Size = number | string
export type Rate = number | string
export type Duration = number | string

export interface ImpairmentsRaw {
  loss?: number // probability 0..1 per frame
  duplicate?: number
  reorder?: number
  jitter?: Duration
  seed?: number
}

export interface FabricRaw {
  mtu?: 256 | 512 | 1024 | 2048 | 4096
  linkRate?: Rate
  delay?: Duration
  buffer?: Size
  dscpPriority?: Record<string, number> // DSCP (0..63, as a key) -> strict priority (0 = highest)
  impairments?: ImpairmentsRaw
  capture?: boolean
}

export interface RnicLimitsRaw {
  maxQp?: number
  maxMr?: number
  maxCq?: number
  maxPd?: number
  qpcCache?: number
  rateLimiters?: number
}

export interface HostRaw {
  name: string
  underlay: string // IPv4 host address on the fabric
  rnic?: RnicLimitsRaw
}

export interface QuotaRaw {
  qps?: number
  mrs?: number
  cqs?: number
  pds?: number
  mrBytes?: Size
  cmIds?: number
  connectRate?: number // connection setups per second (per tenant only)
}

export interface TenantRaw {
  name: string
  vni: number
  cidr: string
  quotas?: {perVm?: QuotaRaw; perTenant?: QuotaRaw}
  qos?: {rate?: Rate; dscp?: number}
}

export interface SgRuleRaw {
  cidr?: string // peer vIP range
  group?: string // or peer security group (same tenant)
  ports?: number | string // rdma_cm port or range "18515" / "1000-2000"; absent = all
}

export interface SecurityGroupRaw {
  name: string
  tenant: string
  ingress?: SgRuleRaw[] // absent or [] = deny all inbound (AWS-like default)
  egress?: SgRuleRaw[] // absent = allow all outbound; present = only what is listed
}

export interface VmRaw {
  name: string
  tenant: string
  host: string
  ip: string // vIP inside the tenant's VPC
  securityGroups?: string[]
  mode?: Mode
  memory?: Size // guest RAM that MRs can register (a SharedArrayBuffer)
}

export interface TopologyRaw {
  name: string
  mode?: Mode
  fabric?: FabricRaw
  provider?: {dscp?: number}
  hosts: HostRaw[]
  tenants: TenantRaw[]
  securityGroups?: SecurityGroupRaw[]
  vms: VmRaw[]
}

// ---------------------------------------------------------------- resolved plan

export const PLAN_VERSION = 1

export interface Impairments {loss: number; duplicate: number; reorder: number; jitterNs: number; seed: number}

export interface Fabric {
  mtu: number
  linkRateBps: number
  delayNs: number
  bufferBytes: number
  dscpPriority: number[] // length 64: priority per DSCP value
  priorities: number // number of strict-priority queues
  impairments: Impairments
  capture: boolean
}

export interface RnicLimits {maxQp: number; maxMr: number; maxCq: number; maxPd: number; qpcCache: number; rateLimiters: number}

export interface Host {
  name: string
  index: number
  underlay: string
  mac: string // "02:00:c0:a8:00:01"-style, derived from the underlay address
  gid: string // ::ffff:a.b.c.d
  rnic: RnicLimits
}

export interface Quota {qps: number; mrs: number; cqs: number; pds: number; mrBytes: number; cmIds: number; connectRate: number}

export interface Tenant {
  name: string
  vni: number
  cidr: string
  perVm: Quota
  perTenant: Quota
  qos: {rateBps: number; dscp: number} // rateBps 0 = unlimited
}

export interface SgRule {cidr?: string; group?: string; portMin: number; portMax: number}

export interface SecurityGroup {
  name: string
  tenant: string
  ingress: SgRule[]
  egress: SgRule[]
  egressRestricted: boolean // false: egress allows everything (no egress list written)
}

export interface Vm {
  name: string
  index: number
  tenant: string
  vni: number
  host: string
  mode: Mode
  vip: string // address inside the VPC, as written
  deviceIp: string // the address the VM's RDMA device has (vIP for masq/freeflow, VF address for sriov/hyv, host IP for bare)
  wireIp: string // the address its traffic carries on the fabric (host underlay for masq/freeflow/bare, VF address for sriov/hyv)
  gid: string // ::ffff:deviceIp (vBond)
  mac: string
  securityGroups: string[]
  memoryBytes: number
}

export interface ResolvedPlan {
  version: typeof PLAN_VERSION
  name: string
  source?: string // topology file path
  mode: Mode
  fabric: Fabric
  provider: {dscp: number}
  hosts: Host[]
  tenants: Tenant[]
  securityGroups: SecurityGroup[]
  vms: Vm[]
}
