// Unit parsing for topology values. Sizes are bytes, rates bits per second, durations nanoseconds.
// Binary prefixes (KiB) are powers of 1024, decimal ones (KB, Gbps) powers of 1000, as in IEC 80000-13.
// Parsers return undefined on bad input (never throw): callers turn that into a positioned TopologyError.

const SIZE_UNITS: Record<string, number> = {
  B: 1, KB: 1e3, MB: 1e6, GB: 1e9, TB: 1e12,
  KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3, TiB: 1024 ** 4,
}
const RATE_UNITS: Record<string, number> = {
  bps: 1, Kbps: 1e3, kbps: 1e3, Mbps: 1e6, Gbps: 1e9, Tbps: 1e12,
}
const DURATION_UNITS: Record<string, number> = {
  ns: 1, us: 1e3, 'µs': 1e3, ms: 1e6, s: 1e9,
}

// The string patterns are shared with schema/topology.schema.json (a unit test keeps them in sync).
export const SIZE_PATTERN = '^[0-9]+(\\.[0-9]+)?\\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)?$'
export const RATE_PATTERN = '^[0-9]+(\\.[0-9]+)?\\s*(bps|Kbps|kbps|Mbps|Gbps|Tbps)?$'
export const DURATION_PATTERN = '^[0-9]+(\\.[0-9]+)?\\s*(ns|us|µs|ms|s)?$'

const NUM_UNIT = /^([0-9]+(?:\.[0-9]+)?)\s*([A-Za-zµ]*)$/

function parseWith(table: Record<string, number>, v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) && v >= 0 ? Math.round(v) : undefined
  if (typeof v !== 'string') return undefined
  const m = NUM_UNIT.exec(v.trim())
  if (!m) return undefined
  const mult = m[2] === '' ? 1 : table[m[2]]
  if (mult === undefined) return undefined
  const n = Math.round(Number(m[1]) * mult)
  return Number.isSafeInteger(n) ? n : undefined
}

/** "64MiB" | "4KiB" | 4096 -> bytes */
export const parseSize = (v: unknown): number | undefined => parseWith(SIZE_UNITS, v)
/** "100Gbps" | "10Mbps" | 1e9 -> bits per second */
export const parseRate = (v: unknown): number | undefined => parseWith(RATE_UNITS, v)
/** "2us" | "1ms" | 1000 -> nanoseconds */
export const parseDuration = (v: unknown): number | undefined => parseWith(DURATION_UNITS, v)

function fmt(n: number, units: [string, number][]): string {
  for (const [name, mult] of units) {
    if (n >= mult && n % mult === 0) return `${n / mult}${name}`
  }
  return `${n}${units[units.length - 1][0]}`
}

export const formatSize = (bytes: number): string =>
  fmt(bytes, [['TiB', 1024 ** 4], ['GiB', 1024 ** 3], ['MiB', 1024 ** 2], ['KiB', 1024], ['B', 1]])
export const formatRate = (bps: number): string =>
  bps === 0 ? '0' : fmt(bps, [['Tbps', 1e12], ['Gbps', 1e9], ['Mbps', 1e6], ['Kbps', 1e3], ['bps', 1]])
export const formatDuration = (ns: number): string =>
  fmt(ns, [['s', 1e9], ['ms', 1e6], ['us', 1e3], ['ns', 1]])

// ---------------------------------------------------------------- IPv4 / CIDR helpers

/** dotted quad -> uint32, undefined if malformed */
export function parseIpv4(s: unknown): number | undefined {
  if (typeof s !== 'string') return undefined
  const parts = s.split('.')
  if (parts.length !== 4) return undefined
  let n = 0
  for (const p of parts) {
    if (!/^(0|[1-9][0-9]{0,2})$/.test(p)) return undefined
    const o = Number(p)
    if (o > 255) return undefined
    n = n * 256 + o
  }
  return n
}

export const formatIpv4 = (n: number): string =>
  [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.')

export interface Cidr {base: number; prefix: number; mask: number}

export type CidrResult = {ok: true; cidr: Cidr} | {ok: false; reason: 'syntax' | 'host-bits'; suggestion?: string}

/** "10.0.0.0/24" -> network; host bits set is an error (with the corrected network as a suggestion). */
export function parseCidr(s: unknown): CidrResult {
  if (typeof s !== 'string') return {ok: false, reason: 'syntax'}
  const m = /^([0-9.]+)\/([0-9]{1,2})$/.exec(s)
  if (!m) return {ok: false, reason: 'syntax'}
  const ip = parseIpv4(m[1])
  const prefix = Number(m[2])
  if (ip === undefined || prefix > 32) return {ok: false, reason: 'syntax'}
  const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0
  const base = (ip & mask) >>> 0
  if (base !== ip) return {ok: false, reason: 'host-bits', suggestion: `${formatIpv4(base)}/${prefix}`}
  return {ok: true, cidr: {base, prefix, mask}}
}

export const cidrContains = (c: Cidr, ip: number): boolean => ((ip & c.mask) >>> 0) === c.base

/** broadcast address of a network (for /31 and /32 there is none in use) */
export const cidrBroadcast = (c: Cidr): number => (c.base | (~c.mask >>> 0)) >>> 0

/** "18515" | 18515 | "1000-2000" -> [min, max]; undefined = not a port expression (the schema reports it) */
export function parsePorts(v: unknown): [number, number] | undefined {
  if (typeof v === 'number' && Number.isInteger(v)) return [v, v]
  if (typeof v !== 'string') return undefined
  const m = /^([0-9]{1,5})(?:-([0-9]{1,5}))?$/.exec(v)
  if (!m) return undefined
  return [Number(m[1]), Number(m[2] ?? m[1])]
}
