// RConnrename for UD (MasQ §4; issue 5 item 3): a UD WQE of a masq/freeflow QP names its destination by the
// peer's vIP (the VM only knows virtual addresses), and every WQE is posted from VM memory, so the rename cannot
// be left to a control verb: the RNIC renames (VNI, vIP) -> host underlay address per WQE from a table the
// backend programs (its cached controller lookups), and marks the frame with the tenant's DSCP.

import {ipString, parseGidIp} from './av.js'

/** One VPC's vIP -> host underlay address table, shared by every QP of that VNI on this RNIC. */
export type VpcRoutes = Map<number, number>

/** A QP's VPC context: its VNI's table and the traffic class its tenant's frames carry (DSCP << 2). */
export interface VpcContext {vni: number; trafficClass: number; routes: VpcRoutes}

/** Drop counter of a UD WQE whose vIP is not in its QP's VPC. */
export const VPC_UNREACHABLE = 'vpc_unreachable'

/** Per-RNIC tables, one per VNI; a table is replaced in place so the QPs holding it see the change. */
export class VpcTables {
  private readonly byVni = new Map<number, VpcRoutes>()

  routes(vni: number): VpcRoutes {
    let t = this.byVni.get(vni)
    if (!t) this.byVni.set(vni, (t = new Map()))
    return t
  }

  /** Replace a VNI's table; returns an error text for a malformed entry (the table is then unchanged). */
  set(vni: number, entries: ReadonlyArray<readonly [string, string]>): string | undefined {
    const parsed: Array<[number, number]> = []
    for (const e of entries) {
      const vip = Array.isArray(e) ? parseGidIp(String(e[0])) : undefined
      const wire = Array.isArray(e) ? parseGidIp(String(e[1])) : undefined
      if (vip === undefined || wire === undefined) return `bad VPC route ${JSON.stringify(e)}`
      parsed.push([vip, wire])
    }
    const t = this.routes(vni)
    t.clear()
    for (const [v, w] of parsed) t.set(v, w)
    return undefined
  }

  toJSON(): Record<number, Record<string, string>> {
    const out: Record<number, Record<string, string>> = {}
    for (const [vni, t] of this.byVni) out[vni] = Object.fromEntries([...t].map(([v, w]) => [ipString(v), ipString(w)]))
    return out
  }
}
