// Human output of `masq run`: a summary per built-in the way its reference tool prints it (perftest tables for
// pingpong and bw, an nccl-tests table for allreduce), a readable listing for everything else. `--json` prints the
// RunResult document instead; this module only renders it.
import path from 'node:path'
import {stringify} from 'yaml'
import {bwDurationReport, bwReport, formatBwTable, formatLatTable, type LatRow} from '../bench/perftest.js'
import {sprintf} from '../bench/cformat.js'
import type {RunResult, VmRunResult} from './run.js'

type Formatter = (r: RunResult) => string

const n2 = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v.toFixed(2) : String(v))

const smoke: Formatter = (r) => {
  const ops = (r.client.result?.ops ?? []) as Array<{op: string; size: number; ok: boolean; side: string; status?: string}>
  const lines = [`smoke ${r.client.vm} <-> ${r.server?.vm ?? '?'}${r.client.result?.mtu ? `, MTU ${r.client.result.mtu}` : ''}`]
  // one line per (op, who checked it): the client checks its completions and READ data, the server what landed
  const groups = new Map<string, typeof ops>()
  for (const o of ops) groups.set(`${o.op}\u0000${o.side}`, [...(groups.get(`${o.op}\u0000${o.side}`) ?? []), o])
  for (const [k, g] of groups) {
    const [op, side] = k.split('\u0000') as [string, string]
    const bad = g.filter((o) => !o.ok)
    const sizes = g.map((o) => `${o.size}${o.ok ? '' : '!'}`).join(' ')
    lines.push(` ${bad.length ? 'FAIL' : 'ok  '}  ${op.padEnd(10)} checked by ${side.padEnd(8)} sizes (B): ${sizes}`)
  }
  return lines.join('\n') + '\n'
}

const pingpong: Formatter = (r) => {
  const c = r.client.result
  if (!c?.lat) return generic(r)
  const what = c.op === 'send' || c.op === 'write' ? 'half round trip' : 'round trip'
  return ` ${String(c.op).toUpperCase()} latency (${what}), ${r.client.vm} <-> ${r.server?.vm ?? '?'}, ` +
    `${c.warmup ?? 0} warm-up + ${c.iters} iterations, ${c.verified} verified\n` + formatLatTable([c.lat as LatRow])
}

const bw: Formatter = (r) => {
  const c = r.client.result
  const raw = c?.raw
  if (!raw) return generic(r)
  const row = raw.tposted
    ? bwReport({size: c.size, tposted: raw.tposted, tcompleted: raw.tcompleted, cqMod: raw.cqMod ?? 1}) // peak windows end on signaled WRs: O(n^2 / cq_mod)
    : bwDurationReport({size: c.size, iters: raw.iters, elapsedNs: raw.elapsedNs})
  return ` ${String(c.op).toUpperCase()} bandwidth, ${r.client.vm} -> ${r.server?.vm ?? '?'}, ${c.qps} QP(s), tx depth ${c.txDepth}, ${c.cqMod !== undefined ? `CQ moderation ${c.cqMod}, ` : ''}` +
    `${c.verified} verified\n` + formatBwTable([row])
}

const connrate: Formatter = (r) => {
  const c = r.client.result
  if (!c?.setupUs) return generic(r)
  const s = c.setupUs
  return [
    ` rdma_cm connections ${r.client.vm} -> ${r.server?.vm ?? '?'}: ${c.connections} (${c.verified} verified)`,
    ` setups/sec ${n2(c.setupsPerSec)}   teardowns/sec ${n2(c.teardownsPerSec)}   connections/sec ${n2(c.connectionsPerSec)}`,
    ' setup latency [usec]:  min      median   p99      max',
    sprintf('                        %-8.2f %-8.2f %-8.2f %-8.2f', s.min, s.median, s.p99, s.max),
  ].join('\n') + '\n'
}

// nccl-tests (common.cu): size, count, type, redop, then time / algbw / busbw / #wrong; our ring is in place
const allreduce: Formatter = (r) => {
  const res = r.vms.map((v) => v.result).filter((x) => x?.timeUs !== undefined)
  if (!res.length) return generic(r)
  const first = res[0]
  // the collective takes as long as its slowest rank
  const timeUs = Math.max(...res.map((x) => x.timeUs as number))
  const algbw = first.bytes / (timeUs * 1e3)
  const busbw = (algbw * 2 * (first.ranks - 1)) / first.ranks
  const wrong = r.vms.filter((v) => !v.ok || v.result?.verified !== true).length
  return [
    `# ring allreduce over ${first.ranks} VMs: ${r.vms.map((v) => v.vm).join(' -> ')} -> ${r.vms[0]!.vm}`,
    `#  Rank ${sprintf('%2d', 0)} .. ${first.ranks - 1}, ${first.iters} iterations (median per rank; time of the slowest rank)`,
    '#',
    '#                                                in-place',
    '#       size         count      type   redop     time   algbw   busbw #wrong',
    '#        (B)    (elements)                       (us)  (GB/s)  (GB/s)',
    sprintf('%12li  %12li  %8s  %6s  %7.1f  %6.2f  %6.2f  %5d', first.bytes, first.count, 'float', 'sum', timeUs, algbw, busbw, wrong),
    `# Avg bus bandwidth    : ${busbw.toFixed(6)}`,
  ].join('\n') + '\n'
}

const ud: Formatter = (r) => {
  const c = r.client.result
  if (c?.datagrams === undefined) return generic(r)
  return [
    ` UD datagrams ${r.client.vm} <-> ${r.server?.vm ?? '?'} (Q_Key 0x${(c.qkey >>> 0).toString(16)}, remote QPN 0x${c.remoteQpn.toString(16)})`,
    ` #bytes  #datagrams  sent     received lost     retransmits  round trips/sec`,
    sprintf(' %-7d %-11d %-8d %-8d %-8d %-12d %.2f', c.size, c.datagrams, c.sent ?? c.datagrams, c.received ?? c.datagrams, c.lost ?? 0,
      c.retransmits, c.roundTripsPerSec),
    ` verified: ${c.verified} of ${c.datagrams} echoed intact`,
  ].join('\n') + '\n'
}

/** Any other result: each VM's result as YAML (readable, nested, no JSON braces). */
function generic(r: RunResult): string {
  return r.vms.filter((v) => v.result !== undefined && v.result !== null)
    .map((v) => `${v.vm}:\n${stringify(v.result, {indent: 2}).replace(/^/gm, '  ').trimEnd()}\n`).join('')
}

const BY_WORKLOAD: Record<string, Formatter> = {smoke, pingpong, bw, connrate, allreduce, ud}

/** The summary on stdout: the workload's table (when every side succeeded) and a last line with the verdict. */
export function formatRun(r: RunResult): string {
  const f = Object.hasOwn(BY_WORKLOAD, r.workload) ? BY_WORKLOAD[r.workload]! : generic
  let body = ''
  if (r.vms.some((v) => v.ok)) {
    try {
      body = f(r)
    } catch {
      body = generic(r) // a result of an unexpected shape still prints
    }
  }
  // a module under the current directory by its relative path (the document keeps the absolute one)
  const rel = path.isAbsolute(r.workload) ? path.relative(process.cwd(), r.workload) : r.workload
  const name = rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : r.workload
  const where = r.vms.length === 2 ? `${r.vms[0]!.vm} <-> ${r.vms[1]!.vm}` : r.vms.map((v) => v.vm).join(', ')
  const lossy = r.fabric?.lost ? `, ${r.fabric.lost} of ${r.fabric.sent} frames lost` : ''
  return `${body}${name} on ${where}${r.inProcess ? ` (in process${lossy})` : ''}: ${r.ok ? 'ok' : 'FAILED'}\n`
}

/** What goes to stderr for each side that failed (the stack too when it ran in process, for debugging). */
export function formatFailures(r: RunResult): string {
  return r.vms.filter((v: VmRunResult) => v.error).map((v) =>
    `${v.vm}: workload failed: ${v.error}\n${r.inProcess && v.stack ? `${v.stack.replace(/^/gm, '    ')}\n` : ''}`).join('')
}
