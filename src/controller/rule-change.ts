// `masq rules <lab> add|remove <group> ingress|egress --cidr C | --group G [--ports P]`: the arguments after
// the lab name parsed into a rule change (every problem reported at once), and the change applied to a
// security-group state, yielding the new state and the live connections it no longer allows.
import type {SgRule} from '../topology/types.js'
import type {ConnTrack, Violation, VmResolver} from './conntrack.js'
import {addRule, removeRule, type Direction, type RuleError, type SgState} from './security-groups.js'

export interface RuleChange {
  op: 'add' | 'remove'
  group: string
  direction: Direction
  rule: SgRule
}

export type ParseResult = {ok: true; change: RuleChange} | {ok: false; errors: string[]}

export const RULES_USAGE = 'masq rules <lab> add|remove <group> ingress|egress --cidr <net> | --group <name> [--ports <p>|<lo>-<hi>]'

/** "18515" | "1000-2000" | "all" -> [lo, hi]; a message for anything else */
export function parsePortSpec(s: string): [number, number] | string {
  if (s === 'all') return [1, 65535]
  const m = /^([0-9]{1,5})(?:-([0-9]{1,5}))?$/.exec(s)
  if (!m) return `--ports "${s}" is not a port or a range lo-hi`
  const lo = Number(m[1])
  const hi = Number(m[2] ?? m[1])
  if (lo < 1 || hi > 65535) return `--ports ${s} is out of range 1..65535`
  if (lo > hi) return `--ports ${s} has min > max (did you mean ${hi}-${lo}?)`
  return [lo, hi]
}

const FLAGS = ['cidr', 'group', 'ports'] as const
type Flag = (typeof FLAGS)[number]

export function parseRuleArgs(argv: readonly string[]): ParseResult {
  const errors: string[] = []
  const positional: string[] = []
  const flags: Partial<Record<Flag, string>> = {}
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    if (!a.startsWith('--')) {
      positional.push(a)
      continue
    }
    const eq = a.indexOf('=')
    const name = (eq < 0 ? a.slice(2) : a.slice(2, eq)) as Flag
    if (!FLAGS.includes(name)) {
      errors.push(`unknown flag ${eq < 0 ? a : a.slice(0, eq)}`)
      if (eq < 0 && argv[i + 1] !== undefined && !argv[i + 1].startsWith('--')) i++
      continue
    }
    const value = eq < 0 ? argv[++i] : a.slice(eq + 1)
    if (value === undefined || value === '' || (eq < 0 && value.startsWith('--'))) {
      errors.push(`--${name} needs a value`)
      if (value?.startsWith('--')) i--
      continue
    }
    if (flags[name] !== undefined) errors.push(`--${name} given twice`)
    flags[name] = value
  }
  const [op, group, direction, ...extra] = positional
  if (op !== 'add' && op !== 'remove') errors.push(op === undefined ? 'missing add|remove' : `"${op}" is not add or remove`)
  if (group === undefined) errors.push('missing security group name')
  if (direction !== 'ingress' && direction !== 'egress') {
    errors.push(direction === undefined ? 'missing ingress|egress' : `"${direction}" is not ingress or egress`)
  }
  if (extra.length > 0) errors.push(`unexpected argument${extra.length > 1 ? 's' : ''}: ${extra.join(' ')}`)
  if (flags.cidr === undefined && flags.group === undefined) errors.push('give the peer: --cidr <net> or --group <name>')
  if (flags.cidr !== undefined && flags.group !== undefined) errors.push('--cidr and --group exclude each other (one rule names one peer)')
  let ports: [number, number] = [1, 65535]
  if (flags.ports !== undefined) {
    const p = parsePortSpec(flags.ports)
    if (typeof p === 'string') errors.push(p)
    else ports = p
  }
  if (errors.length > 0) return {ok: false, errors}
  const rule: SgRule = {
    ...(flags.cidr !== undefined ? {cidr: flags.cidr} : {}), ...(flags.group !== undefined ? {group: flags.group} : {}),
    portMin: ports[0], portMax: ports[1],
  }
  return {ok: true, change: {op: op as RuleChange['op'], group: group!, direction: direction as Direction, rule}}
}

export type ApplyResult =
  | {ok: true; newState: SgState; resets: Violation[]}
  | ({ok: false} & RuleError)

/**
 * Apply a change and list the connections to reset. Pure: neither the state nor the table is modified.
 * An added rule only widens what is allowed, so it never resets anything; the check still runs for both
 * ops so that the invariant "every tracked connection is allowed by the current rules" holds after any change.
 */
export function applyRuleChange(state: SgState, change: RuleChange, track: ConnTrack, vmOf: VmResolver): ApplyResult {
  const res = change.op === 'add'
    ? addRule(state, change.group, change.direction, change.rule)
    : removeRule(state, change.group, change.direction, change.rule)
  if (!res.ok) return res
  return {ok: true, newState: res.state, resets: track.reevaluate(res.state, vmOf)}
}

export const describeChange = (c: RuleChange): string => {
  const peer = c.rule.cidr !== undefined ? `--cidr ${c.rule.cidr}` : `--group ${c.rule.group}`
  const ports = c.rule.portMin === 1 && c.rule.portMax === 65535 ? '' : ` --ports ${c.rule.portMin === c.rule.portMax ? c.rule.portMin : `${c.rule.portMin}-${c.rule.portMax}`}`
  return `${c.op} ${c.group} ${c.direction} ${peer}${ports}`
}
