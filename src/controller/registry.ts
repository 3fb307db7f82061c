// VPC registry (DESIGN §1 RConnrename): the controller's map (VNI, vIP) -> VM, its host and wire address.
// Keyed by VPC, never by vIP alone: two tenants may use the same CIDR and the same vIPs (catalogue C19).
// Every change bumps `generation`; backends cache lookups per generation (LookupCache) and drop the cache
// when the controller announces a newer one.
import {addressPlan, gidOf} from '../topology/resolve.js'
import type {Host, ResolvedPlan, Tenant, Vm} from '../topology/types.js'

export interface Location {
  vm: Vm
  host: Host
  underlay: string // the host's underlay address
  wireIp: string // the address the VM's frames carry on the fabric
  wireGid: string // ::ffff:wireIp, what RConnrename programs into the QP's address vector
}

/** the flat, JSON-friendly shape for RPC replies (the same fields as step 3's VpcRegistry.VmLocation) */
export interface FlatLocation {vm: string; tenant: string; vni: number; vip: string; host: string; underlay: string; wireIp: string; gid: string; hostGid: string}

export const flatLocation = (l: Location): FlatLocation => ({
  vm: l.vm.name, tenant: l.vm.tenant, vni: l.vm.vni, vip: l.vm.vip, host: l.host.name, underlay: l.underlay,
  wireIp: l.wireIp, gid: l.vm.gid, hostGid: l.host.gid,
})

export type RegistryError =
  | {error: 'duplicate-vm'; message: string}
  | {error: 'duplicate-address'; message: string}
  | {error: 'unknown-vm'; message: string}
  | {error: 'unknown-host'; message: string}
  | {error: 'unknown-tenant'; message: string}

export type RegistryResult = {ok: true; generation: number} | ({ok: false} & RegistryError)

const key = (vni: number, vip: string): string => `${vni}/${vip}`

export class Registry {
  private gen = 1
  private readonly hosts = new Map<string, Host>()
  private readonly tenantsByVni = new Map<number, Tenant>()
  private readonly tenantsByName = new Map<string, Tenant>()
  private readonly vms = new Map<string, Vm>()
  private readonly byAddress = new Map<string, Vm>()

  constructor(plan: ResolvedPlan) {
    for (const h of plan.hosts) this.hosts.set(h.name, h)
    for (const t of plan.tenants) {
      this.tenantsByVni.set(t.vni, t)
      this.tenantsByName.set(t.name, t)
    }
    for (const vm of plan.vms) {
      this.vms.set(vm.name, vm)
      this.byAddress.set(key(vm.vni, vm.vip), vm)
    }
  }

  /** bumped on every change; starts at 1 so that 0 can mean "nothing cached yet" */
  get generation(): number {
    return this.gen
  }

  /** (VNI, vIP) -> where that VM is; null when no VM of that VPC owns the address */
  lookup(vni: number, vip: string): Location | null {
    const vm = this.byAddress.get(key(vni, vip))
    return vm ? this.locate(vm) : null
  }

  locate(vm: Vm): Location {
    const host = this.hosts.get(vm.host)!
    return {vm, host, underlay: host.underlay, wireIp: vm.wireIp, wireGid: gidOf(vm.wireIp)}
  }

  vm(name: string): Vm | undefined {
    return this.vms.get(name)
  }

  host(name: string): Host | undefined {
    return this.hosts.get(name)
  }

  tenant(nameOrVni: string | number): Tenant | undefined {
    return typeof nameOrVni === 'number' ? this.tenantsByVni.get(nameOrVni) : this.tenantsByName.get(nameOrVni)
  }

  allVms(): Vm[] {
    return [...this.vms.values()]
  }

  vmsOfHost(host: string): Vm[] {
    return this.allVms().filter((v) => v.host === host)
  }

  vmsOfTenant(tenant: string): Vm[] {
    return this.allVms().filter((v) => v.tenant === tenant)
  }

  addVm(vm: Vm): RegistryResult {
    if (this.vms.has(vm.name)) return {ok: false, error: 'duplicate-vm', message: `VM "${vm.name}" already exists`}
    if (!this.hosts.has(vm.host)) return {ok: false, error: 'unknown-host', message: `no host "${vm.host}"`}
    const t = this.tenantsByName.get(vm.tenant)
    if (!t || t.vni !== vm.vni) return {ok: false, error: 'unknown-tenant', message: `no tenant "${vm.tenant}" with VNI ${vm.vni}`}
    const other = this.byAddress.get(key(vm.vni, vm.vip))
    if (other) return {ok: false, error: 'duplicate-address', message: `${vm.vip} in VNI ${vm.vni} already belongs to "${other.name}"`}
    this.vms.set(vm.name, vm)
    this.byAddress.set(key(vm.vni, vm.vip), vm)
    return {ok: true, generation: ++this.gen}
  }

  removeVm(name: string): RegistryResult {
    const vm = this.vms.get(name)
    if (!vm) return {ok: false, error: 'unknown-vm', message: `no VM "${name}"`}
    this.vms.delete(name)
    this.byAddress.delete(key(vm.vni, vm.vip))
    return {ok: true, generation: ++this.gen}
  }

  /** a VM joins or leaves security groups (the caller checks that the groups exist and are the tenant's) */
  setSecurityGroups(name: string, groups: readonly string[]): RegistryResult {
    const vm = this.vms.get(name)
    if (!vm) return {ok: false, error: 'unknown-vm', message: `no VM "${name}"`}
    const changed: Vm = {...vm, securityGroups: [...new Set(groups)]}
    this.vms.set(name, changed)
    this.byAddress.set(key(vm.vni, vm.vip), changed)
    return {ok: true, generation: ++this.gen}
  }

  /** live migration: the VM keeps its vIP; its wire address follows the new host (addressPlan) */
  moveVm(name: string, hostName: string): RegistryResult {
    const vm = this.vms.get(name)
    if (!vm) return {ok: false, error: 'unknown-vm', message: `no VM "${name}"`}
    const host = this.hosts.get(hostName)
    if (!host) return {ok: false, error: 'unknown-host', message: `no host "${hostName}"`}
    const {deviceIp, wireIp} = addressPlan(vm.mode, vm.vip, host.underlay)
    const moved: Vm = {...vm, host: hostName, deviceIp, wireIp, gid: gidOf(deviceIp)}
    this.vms.set(name, moved)
    this.byAddress.set(key(vm.vni, vm.vip), moved)
    return {ok: true, generation: ++this.gen}
  }
}

export interface LookupSource {
  readonly generation: number
  lookup(vni: number, vip: string): Location | null
}

/**
 * A backend's cache of controller lookups. Entries belong to one registry generation: a newer generation
 * (learnt from a controller push or from a reply) empties the cache, and a reply computed under an older
 * generation than the cache's is not stored (it raced with a change).
 */
export class LookupCache {
  private gen = 0
  private readonly entries = new Map<string, Location | null>()
  readonly stats = {hits: 0, misses: 0, invalidations: 0}

  get generation(): number {
    return this.gen
  }

  /** undefined = not cached; null = cached negative answer (no such vIP in that VPC) */
  get(vni: number, vip: string): Location | null | undefined {
    const v = this.entries.get(key(vni, vip))
    if (v === undefined) this.stats.misses++
    else this.stats.hits++
    return v
  }

  /** the controller announced `generation`; drop everything older */
  invalidate(generation: number): void {
    if (generation <= this.gen) return
    this.gen = generation
    if (this.entries.size > 0) this.stats.invalidations++
    this.entries.clear()
  }

  put(generation: number, vni: number, vip: string, loc: Location | null): void {
    if (generation < this.gen) return
    this.invalidate(generation)
    this.entries.set(key(vni, vip), loc)
  }

  /** in-process convenience: consult the source's generation, then the cache, then the source */
  through(source: LookupSource, vni: number, vip: string): Location | null {
    this.invalidate(source.generation)
    const hit = this.get(vni, vip)
    if (hit !== undefined) return hit
    const loc = source.lookup(vni, vip)
    this.put(source.generation, vni, vip, loc)
    return loc
  }

  get size(): number {
    return this.entries.size
  }
}
