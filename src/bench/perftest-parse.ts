// Reads perftest text output (ours or real perftest 4.x) back into numbers. Never throws: a line it cannot
// read inside a table becomes an entry in `errors`.
import type {BwRow, LatDurRow, LatRow} from './perftest-stats.js'

export type ParsedTable =
  | {kind: 'bw'; unit: 'MB/sec' | 'Gb/sec' | 'MiB/sec'; rows: BwRow[]}
  | {kind: 'lat'; rows: LatRow[]}
  | {kind: 'latDuration'; rows: LatDurRow[]}

export interface ParsedAddress {
  side: 'local' | 'remote'
  lid: number
  qpn: number
  psn: number
  rkey?: number
  vaddr?: bigint
  outReads?: number
  gid?: number[]
}

export interface ParsedPerftest {
  /** Banner titles such as "RDMA_Write BW Test". */
  titles: string[]
  /** Banner "key : value" pairs, last one wins. */
  info: Record<string, string>
  addresses: ParsedAddress[]
  tables: ParsedTable[]
  errors: Array<{line: number; text: string; reason: string}>
}

const DASHES = /^-{20,}\s*$/
const BW_HEAD = /^\s*#bytes\s+#iterations\s+BW peak\[(MB|Gb|MiB)\/sec\]/
const LAT_HEAD = /^\s*#bytes\s+#iterations\s+t_min\[/
const LAT_DUR_HEAD = /^\s*#bytes\s+#iterations\s+t_avg\[usec\]\s+tps average/
const TITLE = /^\s{2,}(\S.*\bTest)\s*$/
const ADDR = /^\s*(local|remote) address: LID (\S+) QPN (\S+) PSN (\S+)(?: OUT (\S+))?(?: RKey (\S+) VAddr (\S+))?/
const GID = /^\s*M?GID: ((?:\d+:){15}\d+)\s*$/

/** Parse every banner, address line and result table found in `text`. */
export function parsePerftest(text: string): ParsedPerftest {
  const out: ParsedPerftest = {titles: [], info: {}, addresses: [], tables: [], errors: []}
  let table: ParsedTable | undefined
  const lines = text.split(/\r?\n/)
  lines.forEach((line, idx) => {
    if (DASHES.test(line)) { table = undefined; return }
    const bwHead = BW_HEAD.exec(line)
    if (bwHead) { table = {kind: 'bw', unit: `${bwHead[1]}/sec` as 'MB/sec', rows: []}; out.tables.push(table); return }
    if (LAT_HEAD.test(line)) { table = {kind: 'lat', rows: []}; out.tables.push(table); return }
    if (LAT_DUR_HEAD.test(line)) { table = {kind: 'latDuration', rows: []}; out.tables.push(table); return }
    if (table) {
      if (line.trim() === '') return
      const reason = addRow(table, line)
      if (reason) out.errors.push({line: idx + 1, text: line, reason})
      return
    }
    parseBannerLine(line, out)
  })
  return out
}

function addRow(table: ParsedTable, line: string): string | undefined {
  const f = line.trim().split(/\s+/).map(Number)
  const need = table.kind === 'bw' ? 5 : table.kind === 'lat' ? 9 : 4
  // A trailing CPU_Util column is allowed.
  if (f.length < need || f.length > need + 1 || f.some((v) => !Number.isFinite(v))) return `expected ${need} numbers`
  if (table.kind === 'bw') {
    const unit = table.unit === 'Gb/sec' ? 'Gb/sec' : 'MB/sec'
    table.rows.push({bytes: f[0]!, iterations: f[1]!, bwPeak: f[2]!, bwAverage: f[3]!, msgRate: f[4]!, unit})
  } else if (table.kind === 'lat') {
    const [bytes, iterations, tMin, tMax, tTypical, tAvg, tStdev, p99, p999] = f as [number, number, number, number, number, number, number, number, number]
    table.rows.push({bytes, iterations, tMin, tMax, tTypical, tAvg, tStdev, p99, p999})
  } else {
    table.rows.push({bytes: f[0]!, iterations: f[1]!, tAvg: f[2]!, tps: f[3]!})
  }
  return undefined
}

function parseBannerLine(line: string, out: ParsedPerftest): void {
  const title = TITLE.exec(line)
  if (title) { out.titles.push(title[1]!); return }
  const addr = ADDR.exec(line)
  if (addr) {
    const a: ParsedAddress = {side: addr[1] as 'local', lid: num(addr[2]!), qpn: num(addr[3]!), psn: num(addr[4]!)}
    if (addr[5] !== undefined) a.outReads = num(addr[5])
    if (addr[6] !== undefined) a.rkey = num(addr[6])
    if (addr[7] !== undefined && /^(0x)?[0-9a-f]+$/i.test(addr[7])) a.vaddr = BigInt(addr[7].startsWith('0x') ? addr[7] : `0x${addr[7]}`)
    out.addresses.push(a)
    return
  }
  const gid = GID.exec(line)
  if (gid) {
    const last = out.addresses.at(-1)
    if (last) last.gid = gid[1]!.split(':').map(Number)
    return
  }
  // " Dual-port       : OFF\t\tDevice         : rxe0": one or two pairs per line.
  for (const part of line.split('\t\t')) {
    const m = /^\s*([^:]+?)\s*:\s*(.*?)\s*$/.exec(part)
    if (m && m[1]!.length > 0) out.info[m[1]!] = m[2]!
  }
}

/** perftest prints these with %#x, which has no 0x prefix for zero ("0000"). */
function num(s: string): number {
  return /^0x/i.test(s) ? Number.parseInt(s.slice(2), 16) : Number.parseInt(s, 16)
}
