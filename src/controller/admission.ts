// The controller's policy core in one place: registry lookups, the security-group check at connection
// setup, the connection table and live rule changes, with every denial and reset written to the audit log.
// The controller process wraps this in RPC; nothing here does I/O except the audit sink.
import {RejReason} from '../rdma-constants.js'
import type {ResolvedPlan} from '../topology/types.js'
import type {AuditSink} from '../backend/audit.js'
import {ConnTrack, type Connection, type ConnectionInit, type Violation} from './conntrack.js'
import {Registry, type Location} from './registry.js'
import {applyRuleChange, describeChange, type RuleChange} from './rule-change.js'
import {describeMatch, evaluate, sgStateFromPlan, type Decision, type Port, type RuleError, type SgState} from './security-groups.js'

export interface AdmitRequest {
  srcVm: string // the VM the request came from (the backend knows it: never taken from tenant data)
  dstVip: string // looked up in the source VM's own VPC
  port: number
}

export type AdmitResult =
  | {ok: true; dst: Location; decision: Decision}
  // unknown-vm / no-such-address: nothing to send a REQ to (rdma_cm reports ADDR_ERROR or UNREACHABLE)
  | {ok: false; reason: 'unknown-vm' | 'no-such-address' | 'spoofed-source'; message: string}
  // a policy refusal: the application sees REJECTED with this REJ reason (docs/decisions.md)
  | {ok: false; reason: 'cross-vpc' | 'egress-denied' | 'ingress-denied'; rej: number; message: string}

export type EstablishResult =
  | {ok: true; conn: Connection}
  | {ok: false; reason: 'unknown-vm' | 'cross-vpc' | 'egress-denied' | 'ingress-denied'; message: string}

export type RuleChangeResult =
  | {ok: true; version: number; resets: Violation[]; byHost: Map<string, Connection[]>}
  | ({ok: false} & RuleError)

export class Admission {
  readonly registry: Registry
  readonly track = new ConnTrack()
  private sgState: SgState

  constructor(plan: ResolvedPlan, private readonly audit?: AuditSink) {
    this.registry = new Registry(plan)
    this.sgState = sgStateFromPlan(plan)
  }

  get sg(): SgState {
    return this.sgState
  }

  admit(req: AdmitRequest): AdmitResult {
    const src = this.registry.vm(req.srcVm)
    if (!src) return {ok: false, reason: 'unknown-vm', message: `no VM "${req.srcVm}"`}
    const dst = this.registry.lookup(src.vni, req.dstVip)
    if (!dst) {
      // another tenant's address is simply absent from this VPC (C17); audited, since probing shows up here
      const message = `no VM has ${req.dstVip} in the VPC of ${src.name} (VNI ${src.vni})`
      this.audit?.record({tenant: src.tenant, vm: src.name, host: src.host}, 'rule', {reason: 'no-such-address', dstVip: req.dstVip, port: req.port, message})
      return {ok: false, reason: 'no-such-address', message}
    }
    return this.decide(src.name, dst, req.port)
  }

  /**
   * UD has no connection: an address handle is the moment to check (catalogue C14, C17). With rdma_cm (SIDR)
   * the port is known; a bare create_ah names none, so only rules that cover every port admit it.
   */
  admitDatagram(srcVm: string, dstVip: string, port?: number): AdmitResult {
    const src = this.registry.vm(srcVm)
    if (!src) return {ok: false, reason: 'unknown-vm', message: `no VM "${srcVm}"`}
    const dst = this.registry.lookup(src.vni, dstVip)
    if (!dst) {
      const message = `no VM has ${dstVip} in the VPC of ${src.name} (VNI ${src.vni})`
      this.audit?.record({tenant: src.tenant, vm: src.name, host: src.host}, 'rule', {reason: 'no-such-address', dstVip, ud: true, message})
      return {ok: false, reason: 'no-such-address', message}
    }
    return this.decide(src.name, dst, port ?? 'all')
  }

  /**
   * The receiving side's check of a REQ: the MasQ header names the VNI, the cma_hdr the source vIP, the
   * frame came from `fromHost`. The claimed source must really live on that host (C18), then the rules apply.
   */
  admitIncoming(vni: number, srcVip: string, fromHost: string, dstVip: string, port: number): AdmitResult {
    const src = this.registry.lookup(vni, srcVip)
    if (!src || src.host.name !== fromHost) {
      const message = `no VM ${srcVip} of VNI ${vni} on host ${fromHost}`
      const tenant = this.registry.tenant(vni)?.name ?? `vni-${vni}`
      this.audit?.record({tenant, vm: src?.vm.name ?? '?', host: fromHost}, 'rule', {reason: 'spoofed-source', vni, srcVip, dstVip, port, message})
      return {ok: false, reason: 'spoofed-source', message}
    }
    const dst = this.registry.lookup(vni, dstVip)
    if (!dst) {
      const message = `no VM has ${dstVip} in VNI ${vni}`
      this.audit?.record({tenant: src.vm.tenant, vm: src.vm.name, host: fromHost}, 'rule', {reason: 'no-such-address', dstVip, port, message})
      return {ok: false, reason: 'no-such-address', message}
    }
    return this.decide(src.vm.name, dst, port)
  }

  private decide(srcName: string, dst: Location, port: Port): AdmitResult {
    const src = this.registry.vm(srcName)!
    const decision = evaluate(this.sgState, {src, dst: dst.vm, port})
    if (decision.allowed) return {ok: true, dst, decision}
    this.audit?.record({tenant: src.tenant, vm: src.name, host: src.host}, 'rule', {
      reason: decision.reason, dst: dst.vm.name, dstVip: dst.vm.vip, port, message: decision.message,
    })
    return {ok: false, reason: decision.reason, rej: RejReason.PRIMARY_REMOTE_GID_REJECTED, message: decision.message}
  }

  /**
   * Both ends are connected (RTU seen): track it. The rules are checked again here, because a rule change
   * between the REQ and the RTU would otherwise miss a connection that was not yet in the table (C21).
   */
  establish(init: ConnectionInit): EstablishResult {
    const src = this.registry.vm(init.srcVm)
    const dst = this.registry.vm(init.dstVm)
    if (!src || !dst) return {ok: false, reason: 'unknown-vm', message: `no VM "${src ? init.dstVm : init.srcVm}"`}
    const d = evaluate(this.sgState, {src, dst, port: init.port})
    if (!d.allowed) {
      this.audit?.record({tenant: src.tenant, vm: src.name, host: src.host}, 'rule', {
        reason: d.reason, dst: dst.name, port: init.port, stage: 'establish', message: d.message,
      })
      return {ok: false, reason: d.reason, message: d.message}
    }
    return {ok: true, conn: this.track.add(init)}
  }

  close(id: number): Connection | undefined {
    return this.track.remove(id)
  }

  /**
   * `masq rules add|remove`: the new rules take effect for new setups at once; connections they no longer
   * allow leave the table and are returned per host, for the controller to push resets to both ends.
   */
  changeRules(change: RuleChange): RuleChangeResult {
    const r = applyRuleChange(this.sgState, change, this.track, (n) => this.registry.vm(n))
    if (!r.ok) return r
    this.sgState = r.newState
    return {ok: true, version: r.newState.version, resets: r.resets, byHost: this.resetAll(r.resets, describeChange(change))}
  }

  /** a VM joins or leaves groups on a running lab: the same re-check and resets as a rule change */
  setVmGroups(vm: string, groups: readonly string[]): RuleChangeResult {
    const v = this.registry.vm(vm)
    if (!v) return {ok: false, error: 'unknown-vm', message: `no VM "${vm}"`}
    for (const g of groups) {
      const sg = this.sgState.groups.get(g)
      if (!sg) return {ok: false, error: 'unknown-group', message: `no security group "${g}"`}
      if (sg.tenant !== v.tenant) return {ok: false, error: 'foreign-group', message: `group "${g}" belongs to tenant "${sg.tenant}", not "${v.tenant}"`}
    }
    this.registry.setSecurityGroups(vm, groups)
    const resets = this.track.reevaluate(this.sgState, (n) => this.registry.vm(n))
    return {ok: true, version: this.sgState.version, resets, byHost: this.resetAll(resets, `${vm} groups = [${groups.join(', ')}]`)}
  }

  private resetAll(resets: readonly Violation[], cause: string): Map<string, Connection[]> {
    this.track.reset(resets.map((v) => v.conn.id))
    const byHost = new Map<string, Connection[]>()
    for (const v of resets) {
      const c = v.conn
      this.audit?.record({tenant: c.tenant, vm: c.srcVm, host: c.srcHost}, 'reset', {
        conn: c.id, src: c.srcVm, dst: c.dstVm, port: c.port, reason: v.reason, change: cause, message: v.message,
      })
      for (const h of new Set([c.srcHost, c.dstHost])) {
        const list = byHost.get(h) ?? []
        list.push(c)
        byHost.set(h, list)
      }
    }
    return byHost
  }
}

/** one line for `masq rules --json` and logs */
export const describeDecision = (d: Decision): string =>
  !d.allowed ? `${d.reason}: ${d.message}` : 'unfiltered' in d ? `unfiltered (${d.unfiltered})` : `${describeMatch(d.egress)}; ${describeMatch(d.ingress)}`
