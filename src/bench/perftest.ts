// perftest 4.5 text output (Debian perftest 4.5-0.17), rendered from perftest's own format strings.
// Sources: perftest_parameters.h (RESULT_* / REPORT_*), perftest_parameters.c ctx_print_test_info,
// perftest_communication.h + .c ctx_print_pingpong_data. 4.5 prints "MB/sec" while meaning 2^20 bytes.
import {sprintf} from './cformat.js'
import type {BwRow, LatDurRow, LatRow, PerftestVerb} from './perftest-stats.js'

export * from './perftest-stats.js'
export {parsePerftest} from './perftest-parse.js'
export type {ParsedPerftest, ParsedTable, ParsedAddress} from './perftest-parse.js'

export const RESULT_LINE = '-'.repeat(87) + '\n'
export const RESULT_FMT = ' #bytes     #iterations    BW peak[MB/sec]    BW average[MB/sec]   MsgRate[Mpps]'
export const RESULT_FMT_G = ' #bytes     #iterations    BW peak[Gb/sec]    BW average[Gb/sec]   MsgRate[Mpps]'
export const RESULT_FMT_LAT =
  ' #bytes #iterations    t_min[usec]    t_max[usec]  t_typical[usec]    t_avg[usec]    t_stdev[usec]   99% percentile[usec]   99.9% percentile[usec] '
export const RESULT_FMT_LAT_DUR = ' #bytes        #iterations       t_avg[usec]    tps average'
export const RESULT_EXT = '\n'
export const REPORT_FMT = ' %-7lu    %-10lu       %-7.2lf            %-7.2lf\t\t   %-7.6lf'
/** Used instead of REPORT_FMT when reporting Gb/sec below 0.1 (perftest `inc_accuracy`). */
export const REPORT_FMT_EXT = ' %-7lu    %lu           %-7.6lf            %-7.6lf            %-7.6lf'
export const REPORT_FMT_LAT = ' %-7lu %d          %-7.2f        %-7.2f      %-7.2f  \t       %-7.2f     \t%-7.2f\t\t%-7.2f \t\t%-7.2f'
export const REPORT_FMT_LAT_DUR = ' %-7lu       %d            %-7.2f        %-7.2f'
export const REPORT_EXT = '\n'
export const BASIC_ADDR_FMT = ' %s address: LID %#04x QPN %#06x PSN %#06x'
export const READ_FMT = ' OUT %#04x'
export const RDMA_FMT = ' RKey %#08x VAddr %#016llx'
export const PERF_GID_FMT = ' %s: ' + Array(16).fill('%02d').join(':') + '\n'

/** testsStr[] / atomicTypesStr[] in perftest. */
const TEST_NAME: Record<PerftestVerb, string> = {send: 'Send', write: 'RDMA_Write', read: 'RDMA_Read', atomic: 'Atomic'}

/** What ctx_print_test_info prints (the client's view unless `machine` says otherwise). */
export interface PerftestInfo {
  verb: PerftestVerb
  test: 'bw' | 'lat'
  atomicType?: 'CMP_AND_SWAP' | 'FETCH_AND_ADD'
  device?: string
  numQps?: number
  connection?: 'RC' | 'UC' | 'UD'
  machine?: 'client' | 'server'
  txDepth?: number
  rxDepth?: number
  cqMod?: number
  mtu?: number
  linkType?: 'Ethernet' | 'IB'
  /** -1 (perftest DEF_GID_INDEX) hides the line. */
  gidIndex?: number
  inlineSize?: number
  outReads?: number
  rdmaCm?: boolean
  pcieRelaxOrder?: 'ON' | 'OFF' | 'Unsupported'
  /** Default false: perftest 4.5 on rxe prints "ibv_wr* API     : OFF". */
  ibvWrApi?: boolean
  /** -D: perftest's parser warns before the banner that a BW test will not measure the peak. */
  duration?: boolean
}

/** The banner block, from the first dashed line to the closing one (after the -D warning, if any). */
export function formatTestInfo(info: PerftestInfo): string {
  const bw = info.test === 'bw'
  const machine = info.machine ?? 'client'
  const gid = info.gidIndex ?? -1
  let s = bw && info.duration ? " WARNING: BW peak won't be measured in this run.\n" : ''
  s += RESULT_LINE
  s += '                    ' + TEST_NAME[info.verb] + ' '
  if (info.verb === 'atomic') s += (info.atomicType ?? 'FETCH_AND_ADD') + ' '
  s += bw ? 'BW ' : 'Latency '
  s += 'Test\n'
  s += sprintf(' Dual-port       : %s\t\tDevice         : %s\n', 'OFF', info.device ?? 'rxe0')
  s += sprintf(' Number of qps   : %d\t\tTransport type : %s\n', info.numQps ?? 1, 'IB')
  s += sprintf(' Connection type : %s\t\tUsing SRQ      : %s\n', info.connection ?? 'RC', 'OFF')
  s += sprintf(' PCIe relax order: %s\n', info.pcieRelaxOrder ?? 'ON')
  s += sprintf(' ibv_wr* API     : %s\n', info.ibvWrApi ? 'ON' : 'OFF')
  if (machine === 'client') s += sprintf(' TX depth        : %d\n', info.txDepth ?? (bw ? 128 : 1))
  if (info.verb === 'send' && machine === 'server') s += sprintf(' RX depth        : %d\n', info.rxDepth ?? 512)
  if (bw) s += sprintf(' CQ Moderation   : %d\n', info.cqMod ?? 100)
  s += sprintf(' Mtu             : %lu[B]\n', info.mtu ?? 1024)
  s += sprintf(' Link type       : %s\n', info.linkType ?? 'Ethernet')
  if (gid !== -1) s += sprintf(' GID index       : %d\n', gid)
  if (info.verb !== 'read' && info.verb !== 'atomic') s += sprintf(' Max inline data : %d[B]\n', info.inlineSize ?? 0)
  else s += sprintf(' Outstand reads  : %d\n', info.outReads ?? 16)
  s += sprintf(' rdma_cm QPs\t : %s\n', info.rdmaCm ? 'ON' : 'OFF')
  s += sprintf(' Data ex. method : %s', info.rdmaCm ? 'rdma_cm' : 'Ethernet') + '\n'
  return s + RESULT_LINE
}

/** One side's pingpong_dest as perftest prints it. */
export interface PerftestDest {
  lid?: number
  qpn: number
  psn: number
  rkey?: number
  vaddr?: bigint | number
  outReads?: number
  /** 16 GID bytes; omitted when gidIndex is -1. */
  gid?: ArrayLike<number>
}

/** ctx_print_pingpong_data: READ prints OUT then falls through to RKey/VAddr; send and atomic print neither. */
export function formatAddress(side: 'local' | 'remote', dest: PerftestDest, verb: PerftestVerb, gidIndex = 0): string {
  let s = sprintf(BASIC_ADDR_FMT, side, dest.lid ?? 0, dest.qpn, dest.psn)
  if (verb === 'read') s += sprintf(READ_FMT, dest.outReads ?? 16)
  if (verb === 'read' || verb === 'write') s += sprintf(RDMA_FMT, dest.rkey ?? 0, BigInt(dest.vaddr ?? 0))
  s += '\n'
  if (gidIndex > -1 && dest.gid) s += sprintf(PERF_GID_FMT, 'GID', ...Array.from(dest.gid))
  return s
}

/** One BW row, without the line end. */
export function formatBwRow(row: BwRow): string {
  const ext = row.unit === 'Gb/sec' && row.bwAverage < 0.1
  return sprintf(ext ? REPORT_FMT_EXT : REPORT_FMT, row.bytes, row.iterations, row.bwPeak, row.bwAverage, row.msgRate)
}

export function formatLatRow(row: LatRow): string {
  return sprintf(REPORT_FMT_LAT, row.bytes, row.iterations, row.tMin, row.tMax, row.tTypical, row.tAvg, row.tStdev, row.p99, row.p999)
}

export function formatLatDurRow(row: LatDurRow): string {
  return sprintf(REPORT_FMT_LAT_DUR, row.bytes, row.iterations, row.tAvg, row.tps)
}

/** The BW result block (one row per size with -a), dashed lines included. */
export function formatBwTable(rows: readonly BwRow[], gbits = rows[0]?.unit === 'Gb/sec'): string {
  return RESULT_LINE + (gbits ? RESULT_FMT_G : RESULT_FMT) + RESULT_EXT + rows.map((r) => formatBwRow(r) + REPORT_EXT).join('') + RESULT_LINE
}

export function formatLatTable(rows: readonly LatRow[]): string {
  return RESULT_LINE + RESULT_FMT_LAT + RESULT_EXT + rows.map((r) => formatLatRow(r) + REPORT_EXT).join('') + RESULT_LINE
}

export function formatLatDurTable(rows: readonly LatDurRow[]): string {
  return RESULT_LINE + RESULT_FMT_LAT_DUR + RESULT_EXT + rows.map((r) => formatLatDurRow(r) + REPORT_EXT).join('') + RESULT_LINE
}

/** A whole client transcript: banner, local then remote addresses (one per QP), the result table. */
export function formatPerftestReport(input: {
  info: PerftestInfo
  local: readonly PerftestDest[]
  remote: readonly PerftestDest[]
  bw?: readonly BwRow[]
  lat?: readonly LatRow[]
  latDuration?: readonly LatDurRow[]
}): string {
  const gid = input.info.gidIndex ?? -1
  let s = formatTestInfo(input.info)
  for (const d of input.local) s += formatAddress('local', d, input.info.verb, gid)
  for (const d of input.remote) s += formatAddress('remote', d, input.info.verb, gid)
  if (input.bw) s += formatBwTable(input.bw)
  if (input.lat) s += formatLatTable(input.lat)
  if (input.latDuration) s += formatLatDurTable(input.latDuration)
  return s
}

/** A GID as perftest derives it for RoCE from an IPv4 address: ::ffff:a.b.c.d. */
export function gidFromIpv4(ip: string): number[] {
  return [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 255, 255, ...ip.split('.').map(Number)]
}
