// AttackEnv: what a scenario may use. The same scenario code runs against InProcessEnv (RNICs on a LoopbackFabric,
// RNIC checks only) today and against a lab (VM workers, MasQ backend) later. Scenarios reach VMs only through
// the public verbs API (src/verbs) and out-of-band helpers that a workload could also perform.

import type {Context, Cq, Pd, Qp, VmMemory} from '../verbs/index.js'

/**
 * rnic-checks: the RNIC's own protection checks (always). frame-injection: a raw-frame injector on the fabric
 * (attacker model T2). on-path: a hook that sees and may rewrite every frame in flight (T3). backend-policy: the MasQ backend's control-path checks (quotas, Q_Key guard, handles).
 * audit-log: denials are recorded with the offending tenant. cm: rdma_cm over CM MADs. unsafe: the env was built
 * with a deliberately weakened RNIC (tests only).
 */
export type Capability = 'rnic-checks' | 'frame-injection' | 'on-path' | 'backend-policy' | 'audit-log' | 'cm' | 'unsafe'

export interface VmInfo {
  name: string
  tenant: string
  host: string
  ip: string // device address (GID ::ffff:ip); in process the host's address
}

/** A VM as a workload sees it: its memory and the verbs device. */
export interface AttackVm extends VmInfo {
  readonly memory: VmMemory
  /** ibv_open_device: a new device context; every object created through it is released at scope end. */
  open(): Promise<Context>
}

/** One end of an RC connection made by the out-of-band exchange (what rdma_cm or a TCP side channel does). */
export interface RcEnd {
  vm: AttackVm
  pd: Pd
  cq: Cq
  access?: number // qp_access_flags (default: remote read, write, atomic)
}

export interface ConnectOptions {
  mtu?: number // bytes (default 1024)
  psnA?: number
  psnB?: number
}

export interface ObjectCounts {
  pd: number
  mr: number
  cq: number
  qp: number
}

export interface AuditRecord {
  time: number
  tenant: string
  vm?: string
  action: string
  errno?: number
  detail?: string
}

export interface AuditLog {
  query(filter: {tenant?: string; since?: number}): AuditRecord[]
}

export interface HostCounters {
  port: Record<string, number>
  drops: Record<string, number>
  qps: Record<number, Record<string, number>>
}

/** An RNIC async event (ibv_event_type name), as the host's device reports it. */
export interface HostEvent {
  host: string
  name: string // e.g. 'QP_ACCESS_ERR', 'QP_FATAL'
  qpn?: number
  seq: number // increasing across the env
}

export interface SettleOptions {
  until?: () => boolean
  /** upper bound on (virtual) time spent, in microseconds (default 2 s) */
  maxUs?: number
}

export interface AttackEnv {
  readonly kind: 'in-process' | 'lab'
  /** one line for the report header */
  readonly description: string
  readonly capabilities: ReadonlySet<Capability>
  hosts(): string[]
  vms(): VmInfo[]
  vm(name: string): AttackVm
  /** Create an RC QP at each end and bring both to RTS, addressed at each other. */
  connectRc(a: RcEnd, b: RcEnd, opts?: ConnectOptions): Promise<[Qp, Qp]>
  /** Let RNICs, fabric and background traffic make progress until `until` holds or nothing is left to do. */
  settle(opts?: SettleOptions): Promise<void>
  counters(host: string): HostCounters
  /** Async events of every host with seq > since (ibv_get_async_event as an observer sees it). */
  events(since?: number): HostEvent[]
  objects(host: string): ObjectCounts
  readonly audit: AuditLog | undefined
  /** Attacker model T2: emit a raw Ethernet frame from `host`'s fabric port (needs 'frame-injection'). */
  injectFrame(host: string, frame: Uint8Array): void
  /** Attacker model T3: `hook` sees every frame on the fabric and may rewrite it in place (undefined removes it). */
  setOnPath(hook: ((frame: Uint8Array) => void) | undefined): void
  /** Host underlay address (what appears in IP headers on the wire). */
  hostIp(host: string): string
  /** Start a scope: objects created by VMs from now on are released by endScope (a workload exiting). */
  beginScope(): number
  endScope(scope: number): Promise<void>
  /** Background workloads (the victim) that run while the suite settles. */
  /** step() posts the next unit of background work and returns true, or false when it has nothing to post. */
  addBackground(step: () => boolean): void
  close(): Promise<void>
}
