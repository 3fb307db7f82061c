// The controller's view of the plan: which host holds a VM, keyed by (VNI, vIP). RConnrename asks it to
// rewrite virtual GIDs to host GIDs (DESIGN §1); step 4 grows it with security groups and conntrack.
import type {ResolvedPlan} from '../topology/types.js'

export interface VmLocation {vm: string; tenant: string; vni: number; vip: string; host: string; underlay: string; wireIp: string; gid: string; hostGid: string}

export class VpcRegistry {
  private readonly byKey = new Map<string, VmLocation>()

  constructor(readonly plan: ResolvedPlan) {
    const hosts = new Map(plan.hosts.map((h) => [h.name, h]))
    for (const v of plan.vms) {
      const h = hosts.get(v.host)
      if (!h) continue
      this.byKey.set(`${v.vni}/${v.vip}`, {vm: v.name, tenant: v.tenant, vni: v.vni, vip: v.vip, host: h.name, underlay: h.underlay, wireIp: v.wireIp, gid: v.gid, hostGid: h.gid})
    }
  }

  lookup(vni: number, vip: string): VmLocation | undefined {
    return this.byKey.get(`${vni}/${vip}`)
  }

  summary(): {tenants: number; vms: number; hosts: number} {
    return {tenants: this.plan.tenants.length, vms: this.plan.vms.length, hosts: this.plan.hosts.length}
  }
}
