// Security groups as RConntrack evaluates them at connection setup (DESIGN §1; catalogue C17, C18, C20; §6).
// Model (AWS-like): rules are allow-only; a group with no ingress rules admits nothing inbound; a group whose
// egress was never restricted behaves as if it held the implicit rule `0.0.0.0/0, all ports`; a VM in several
// groups gets the union of their allows. Peers are matched by their real vIP or group membership as the
// registry knows them, never by an address the tenant supplied (C18). Nothing crosses VPCs (C17).
// The state is immutable: every mutation returns a new state with a higher version.
import {cidrContains, parseCidr, parseIpv4, type Cidr} from '../topology/units.js'
import {modeHasRules} from '../topology/defaults.js'
import type {Mode, ResolvedPlan, SecurityGroup, SgRule, Vm} from '../topology/types.js'

export type Direction = 'ingress' | 'egress'
export const DIRECTIONS: readonly Direction[] = ['ingress', 'egress']

export interface SgState {
  readonly version: number
  readonly groups: ReadonlyMap<string, SecurityGroup>
}

/** the rule an unrestricted egress side stands for (AWS's default outbound rule) */
export const ALLOW_ALL: SgRule = Object.freeze({cidr: '0.0.0.0/0', portMin: 1, portMax: 65535})

export interface RuleMatch {
  group: string | null // null: the source VM is in no group (egress is then unrestricted)
  direction: Direction
  index: number // position in the group's list; -1 for the implicit allow-all egress rule
  rule: SgRule
}

export type DenyReason = 'cross-vpc' | 'egress-denied' | 'ingress-denied'

export type Decision =
  | {allowed: true; egress: RuleMatch; ingress: RuleMatch}
  | {allowed: true; unfiltered: Mode} // a mode without rules (sriov, hyv, bare: DESIGN §2)
  | {allowed: false; reason: DenyReason; message: string}

export interface ConnectAttempt {
  src: Vm // from the registry: its real vIP and groups
  dst: Vm
  // the rdma_cm port the destination listens on; 'all' for a UD address handle made without rdma_cm, which
  // names no port: then only a rule covering every port admits it
  port: Port
}

export type Port = number | 'all'

export function sgStateFromPlan(plan: ResolvedPlan): SgState {
  return {version: 1, groups: new Map(plan.securityGroups.map((g) => [g.name, g]))}
}

const cidrCache = new Map<string, Cidr | null>()
function cidrOf(s: string): Cidr | null {
  let c = cidrCache.get(s)
  if (c === undefined) {
    const r = parseCidr(s)
    c = r.ok ? r.cidr : null
    if (cidrCache.size > 100_000) cidrCache.clear()
    cidrCache.set(s, c)
  }
  return c
}

const ipCache = new Map<string, number | null>()
function ipOf(s: string): number | null {
  let n = ipCache.get(s)
  if (n === undefined) {
    n = parseIpv4(s) ?? null
    if (ipCache.size > 100_000) ipCache.clear() // bounded: vIPs come from the plan, but be safe
    ipCache.set(s, n)
  }
  return n
}

const covers = (rule: SgRule, port: Port): boolean =>
  port === 'all' ? rule.portMin <= 1 && rule.portMax >= 65535 : port >= rule.portMin && port <= rule.portMax

/** does `rule` name `peer` (by vIP in its cidr, or by membership of its group) and cover `port`? */
export function ruleAdmits(rule: SgRule, peer: Vm, port: Port): boolean {
  if (!covers(rule, port)) return false
  if (rule.group !== undefined) return peer.securityGroups.includes(rule.group)
  if (rule.cidr === undefined) return false
  const c = cidrOf(rule.cidr)
  const ip = ipOf(peer.vip)
  return c !== null && ip !== null && cidrContains(c, ip)
}

function firstMatch(state: SgState, owner: Vm, direction: Direction, peer: Vm, port: Port): RuleMatch | null {
  for (const name of owner.securityGroups) {
    const g = state.groups.get(name)
    if (!g) continue
    if (direction === 'egress' && !g.egressRestricted) return {group: name, direction, index: -1, rule: ALLOW_ALL}
    const rules = direction === 'ingress' ? g.ingress : g.egress
    for (let i = 0; i < rules.length; i++) {
      if (ruleAdmits(rules[i], peer, port)) return {group: name, direction, index: i, rule: rules[i]}
    }
  }
  return null
}

/** Connection-setup check: cross-VPC first, then the source's egress, then the destination's ingress. */
export function evaluate(state: SgState, a: ConnectAttempt): Decision {
  const {src, dst, port} = a
  if (!modeHasRules(src.mode)) return {allowed: true, unfiltered: src.mode}
  if (!modeHasRules(dst.mode)) return {allowed: true, unfiltered: dst.mode}
  if (src.vni !== dst.vni || src.tenant !== dst.tenant) {
    return {allowed: false, reason: 'cross-vpc', message: `${src.name} (VNI ${src.vni}) cannot reach ${dst.name} (VNI ${dst.vni}): VPCs are isolated`}
  }
  const egress = src.securityGroups.length === 0
    ? {group: null, direction: 'egress' as const, index: -1, rule: ALLOW_ALL}
    : firstMatch(state, src, 'egress', dst, port)
  if (!egress) {
    return {allowed: false, reason: 'egress-denied', message: `no egress rule of ${src.name} [${src.securityGroups.join(', ')}] allows ${dst.vip} ${portText(port)}`}
  }
  const ingress = firstMatch(state, dst, 'ingress', src, port)
  if (!ingress) {
    const groups = dst.securityGroups.length === 0 ? 'no security group' : dst.securityGroups.join(', ')
    return {allowed: false, reason: 'ingress-denied', message: `no ingress rule of ${dst.name} [${groups}] allows ${src.vip} ${portText(port)}`}
  }
  return {allowed: true, egress, ingress}
}

const portText = (p: Port): string => (p === 'all' ? 'on all ports' : `port ${p}`)

/** one line for logs and the audit trail */
export function describeMatch(m: RuleMatch): string {
  const peer = m.rule.group !== undefined ? `group ${m.rule.group}` : `cidr ${m.rule.cidr}`
  const ports = m.rule.portMin === 1 && m.rule.portMax === 65535 ? 'all ports'
    : m.rule.portMin === m.rule.portMax ? `port ${m.rule.portMin}` : `ports ${m.rule.portMin}-${m.rule.portMax}`
  const where = m.group === null ? 'no group' : m.index < 0 ? `${m.group} (default)` : `${m.group}[${m.index}]`
  return `${m.direction} ${where}: ${peer}, ${ports}`
}

// ---------------------------------------------------------------- mutation

export type RuleErrorCode =
  | 'unknown-group' | 'bad-cidr' | 'bad-ports' | 'no-peer' | 'both-peers' | 'foreign-group' | 'duplicate-rule' | 'no-such-rule'
  | 'unknown-vm'

export interface RuleError {error: RuleErrorCode; message: string; hint?: string}

export type RuleResult = {ok: true; state: SgState} | ({ok: false} & RuleError)

const fail = (error: RuleErrorCode, message: string, hint?: string): RuleResult =>
  ({ok: false, error, message, ...(hint !== undefined ? {hint} : {})})

/** Every problem of a rule for `group` as a value (first one found), or null when the rule is well formed. */
export function checkRule(state: SgState, group: string, rule: SgRule): RuleError | null {
  const g = state.groups.get(group)
  if (!g) {
    const known = [...state.groups.keys()]
    return {error: 'unknown-group', message: `no security group "${group}"`, ...(known.length ? {hint: `known: ${known.join(', ')}`} : {})}
  }
  if (rule.cidr === undefined && rule.group === undefined) return {error: 'no-peer', message: 'rule names no peer', hint: 'give --cidr or --group'}
  if (rule.cidr !== undefined && rule.group !== undefined) return {error: 'both-peers', message: 'rule has both a cidr and a group', hint: 'write two rules'}
  if (rule.cidr !== undefined) {
    const c = parseCidr(rule.cidr)
    if (!c.ok) {
      return {error: 'bad-cidr', message: `"${rule.cidr}" is not an IPv4 network`, ...(c.suggestion ? {hint: `did you mean ${c.suggestion}?`} : {})}
    }
  }
  if (rule.group !== undefined) {
    const peer = state.groups.get(rule.group)
    if (!peer) return {error: 'unknown-group', message: `no security group "${rule.group}"`}
    if (peer.tenant !== g.tenant) {
      return {error: 'foreign-group', message: `group "${rule.group}" belongs to tenant "${peer.tenant}", not "${g.tenant}"`, hint: 'rules may only name groups of the same tenant'}
    }
  }
  const {portMin: lo, portMax: hi} = rule
  if (!Number.isInteger(lo) || !Number.isInteger(hi) || lo < 1 || hi > 65535) {
    return {error: 'bad-ports', message: `ports ${lo}-${hi} are out of range 1..65535`}
  }
  if (lo > hi) return {error: 'bad-ports', message: `port range ${lo}-${hi} has min > max`, hint: `did you mean ${hi}-${lo}?`}
  return null
}

export const sameRule = (a: SgRule, b: SgRule): boolean =>
  a.cidr === b.cidr && a.group === b.group && a.portMin === b.portMin && a.portMax === b.portMax

const normalise = (r: SgRule): SgRule => ({
  ...(r.cidr !== undefined ? {cidr: r.cidr} : {}), ...(r.group !== undefined ? {group: r.group} : {}), portMin: r.portMin, portMax: r.portMax,
})

function withGroup(state: SgState, g: SecurityGroup): SgState {
  const groups = new Map(state.groups)
  groups.set(g.name, g)
  return {version: state.version + 1, groups}
}

export function addRule(state: SgState, group: string, direction: Direction, rule: SgRule): RuleResult {
  const bad = checkRule(state, group, rule)
  if (bad) return {ok: false, ...bad}
  const g = state.groups.get(group)!
  const list = direction === 'ingress' ? g.ingress : g.egress
  const r = normalise(rule)
  if (list.some((x) => sameRule(x, r))) return fail('duplicate-rule', `${group} already has this ${direction} rule`)
  const next = [...list, r]
  return {ok: true, state: withGroup(state, direction === 'ingress' ? {...g, ingress: next} : {...g, egress: next})}
}

/**
 * Removing the implicit allow-all egress rule of an unrestricted group restricts it (what is left is the
 * group's explicit egress list), as removing AWS's default outbound rule does.
 */
export function removeRule(state: SgState, group: string, direction: Direction, rule: SgRule): RuleResult {
  const bad = checkRule(state, group, rule)
  if (bad) return {ok: false, ...bad}
  const g = state.groups.get(group)!
  const r = normalise(rule)
  if (direction === 'egress' && !g.egressRestricted && sameRule(r, ALLOW_ALL)) {
    return {ok: true, state: withGroup(state, {...g, egressRestricted: true})}
  }
  const list = direction === 'ingress' ? g.ingress : g.egress
  const i = list.findIndex((x) => sameRule(x, r))
  if (i < 0) return fail('no-such-rule', `${group} has no such ${direction} rule`)
  const next = list.filter((_, j) => j !== i)
  return {ok: true, state: withGroup(state, direction === 'ingress' ? {...g, ingress: next} : {...g, egress: next})}
}
