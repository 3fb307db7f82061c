// JSON Schema validation (ajv, allErrors) mapped to positioned TopologyErrors with hints.
// The validator is the schema compiled ahead of time (see schema-codegen.ts): no ajv compile at start-up.
import {readFileSync} from 'node:fs'
import type {ErrorObject} from 'ajv'
import {didYouMean, formatPath, type Segment, type TopologyError} from './errors.js'
import type {ParsedTopology} from './parse.js'
import {SCHEMA_URL} from './paths.js'
import generatedValidate from './schema-validator.generated.js'

interface Validator {(data: unknown): boolean; errors?: ErrorObject[] | null}
const validate = generatedValidate as unknown as Validator

let schemaCache: Record<string, unknown> | undefined
export function topologySchema(): Record<string, unknown> {
  schemaCache ??= JSON.parse(readFileSync(SCHEMA_URL, 'utf8')) as Record<string, unknown>
  return schemaCache
}

type Schema = Record<string, unknown>

/** Follow a local $ref ("#/definitions/x"); returns the target and the definition name. */
function deref(node: Schema | undefined): {schema?: Schema; def?: string} {
  let def: string | undefined
  let cur = node
  for (let i = 0; cur && typeof cur.$ref === 'string' && i < 8; i++) {
    def = /^#\/definitions\/(.+)$/.exec(cur.$ref)?.[1]
    cur = def ? ((topologySchema().definitions as Record<string, Schema>)[def]) : undefined
  }
  return {schema: cur, def}
}

/** The (dereferenced) schema that applies at a data path, by walking properties / patternProperties / items. */
function schemaAt(path: Segment[]): {schema: Schema; def?: string} {
  let cur = deref(topologySchema())
  for (const seg of path) {
    const s = cur.schema
    if (!s) break
    let next: Schema | undefined
    if (typeof seg === 'number') next = s.items as Schema | undefined
    else {
      next = (s.properties as Record<string, Schema> | undefined)?.[seg]
      if (!next && s.patternProperties) {
        for (const [re, sub] of Object.entries(s.patternProperties as Record<string, Schema>)) if (new RegExp(re, 'u').test(seg)) next = sub
      }
    }
    cur = deref(next)
  }
  return {schema: cur.schema ?? {}, def: cur.def}
}

function dataAt(data: unknown, path: Segment[]): unknown {
  let cur = data
  for (const seg of path) cur = cur !== null && typeof cur === 'object' ? (cur as Record<string, unknown>)[seg] : undefined
  return cur
}

// What each unit/format definition looks like, for pattern errors.
const PATTERN_HELP: Record<string, {what: string; hint: string}> = {
  size: {what: 'size', hint: 'write bytes as a number, or a number with a unit: B, KB, MB, GB, KiB, MiB, GiB (e.g. "64MiB")'},
  rate: {what: 'rate', hint: 'write bits/s as a number, or a number with a unit: bps, Kbps, Mbps, Gbps, Tbps (e.g. "100Gbps")'},
  duration: {what: 'duration', hint: 'write nanoseconds as a number, or a number with a unit: ns, us, ms, s (e.g. "2us")'},
  ipv4: {what: 'IPv4 address', hint: 'write a dotted quad such as 10.0.0.1'},
  cidr: {what: 'CIDR', hint: 'write a network such as 10.0.0.0/24'},
  name: {what: 'name', hint: 'use letters, digits, "_", "." and "-", starting with a letter or digit, at most 32 characters'},
}

const show = (v: unknown): string => {
  let s: string
  try {
    s = JSON.stringify(v) ?? String(v)
  } catch {
    s = Array.isArray(v) ? '[...]' : typeof v === 'object' ? '{...}' : String(v) // circular alias, BigInt
  }
  return s.length > 40 ? `${s.slice(0, 37)}...` : s
}

function toSegments(pointer: string, data: unknown): Segment[] {
  if (pointer === '') return []
  const out: Segment[] = []
  let cur: unknown = data
  for (const raw of pointer.slice(1).split('/')) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~')
    const seg: Segment = Array.isArray(cur) ? Number(key) : key
    out.push(seg)
    cur = cur !== null && typeof cur === 'object' ? (cur as Record<string, unknown>)[key] : undefined
  }
  return out
}

function convert(e: ErrorObject, parsed: ParsedTopology): TopologyError {
  const path = toSegments(e.instancePath, parsed.data)
  const {schema: parent, def} = schemaAt(path)
  const value = dataAt(parsed.data, path)
  const at = (p: Segment[], where: 'key' | 'value' = 'value') => {
    const pos = parsed.locate(p, where)
    return {file: parsed.file, line: pos.line, col: pos.col, path: formatPath(p)}
  }
  const last = path[path.length - 1]
  // name the offending key in messages, unless it is an index or a map key like a DSCP value
  const field = typeof last === 'string' && /^[A-Za-z]/.test(last) ? `${last} ` : ''
  switch (e.keyword) {
    case 'additionalProperties': {
      const key = String((e.params as {additionalProperty: string}).additionalProperty)
      const p = [...path, key]
      if (parent.patternProperties && !parent.properties) {
        return {...at(p, 'key'), message: `invalid key "${key}"`, hint: last === 'dscpPriority' ? 'keys are DSCP values 0..63' : `keys must match ${Object.keys(parent.patternProperties as object).join(', ')}`}
      }
      const allowed = Object.keys((parent.properties ?? {}) as object).filter((k) => k !== '$schema')
      const guess = didYouMean(key, allowed)
      return {...at(p, 'key'), message: `unknown key "${key}"`, hint: guess ? `did you mean "${guess}"? (allowed: ${allowed.join(', ')})` : `allowed keys: ${allowed.join(', ')}`}
    }
    case 'required': {
      const key = (e.params as {missingProperty: string}).missingProperty
      return {...at(path), path: formatPath([...path, key]), message: `missing required key "${key}"`}
    }
    case 'enum': {
      const allowed = (e.params as {allowedValues: unknown[]}).allowedValues
      const guess = typeof value === 'string' ? didYouMean(value, allowed.map(String)) : undefined
      const list = allowed.map((a) => String(a)).join(', ')
      return {...at(path), message: `invalid ${field}${show(value)}`, hint: guess ? `did you mean "${guess}"? (allowed: ${list})` : `allowed values: ${list}`}
    }
    case 'type': {
      const t = (e.params as {type: string | string[]}).type
      const want = Array.isArray(t) || String(t).includes(',')
        ? (def && PATTERN_HELP[def] ? `a ${PATTERN_HELP[def].what} (number or string with a unit)` : 'a number or a string')
        : t === 'integer' ? 'an integer' : t === 'array' ? 'a list' : t === 'object' ? 'a mapping' : `a ${t}`
      return {...at(path), message: `${field}must be ${want}, got ${show(value)}`, hint: def ? PATTERN_HELP[def]?.hint : undefined}
    }
    case 'pattern': {
      const help = def ? PATTERN_HELP[def] : undefined
      if (help) return {...at(path), message: `invalid ${help.what} ${show(value)}`, hint: help.hint}
      if (last === 'ports') return {...at(path), message: `invalid port range ${show(value)}`, hint: 'write a port (18515) or a range "1000-2000"'}
      return {...at(path), message: `${field}${show(value)} does not match ${e.params.pattern as string}`}
    }
    case 'minimum':
    case 'maximum': {
      const min = parent.minimum as number | undefined
      const max = parent.maximum as number | undefined
      const range = min !== undefined && max !== undefined ? `${min}..${max}` : min !== undefined ? `>= ${min}` : `<= ${max}`
      return {...at(path), message: `${field ? `${field.trim()}: ` : ''}${show(value)} is out of range ${range}`}
    }
    case 'minItems':
      return {...at(path), message: `${field}must list at least ${(e.params as {limit: number}).limit} item(s)`}
    default:
      return {...at(path), message: `${field}${e.message ?? 'is invalid'}`}
  }
}

/** Schema errors of a parsed topology (empty when it conforms). */
export function schemaErrors(parsed: ParsedTopology): TopologyError[] {
  if (validate(parsed.data)) return []
  const seen = new Set<string>()
  const out: TopologyError[] = []
  for (const e of validate.errors ?? []) {
    const te = convert(e, parsed)
    const k = `${te.path}\0${te.message}`
    if (seen.has(k)) continue
    seen.add(k)
    out.push(te)
  }
  return out
}
