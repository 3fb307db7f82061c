// The emulated path between two VMs on two hosts, measured through `masq run`'s library with the built-in
// bench-write workload: RDMA WRITE 64 KiB throughput and a 2-byte WRITE ping-pong (perftest write_lat style).
// Starts a throw-away two-host lab from dist/ and stops it afterwards.
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {down, up} from '../lab/lifecycle.js'
import {loadPlan} from '../lab/plan-source.js'
import {rpcCall} from '../lab/rpc.js'
import {runWorkload} from '../lab/run.js'

const TOPOLOGY = `name: bench-wire-PID
mode: masq
fabric: {mtu: 4096}
hosts:
  - {name: h1, underlay: 192.168.0.1}
  - {name: h2, underlay: 192.168.0.2}
tenants:
  - {name: t, vni: 1, cidr: 10.0.0.0/24}
vms:
  - {name: a, tenant: t, host: h1, ip: 10.0.0.1}
  - {name: b, tenant: t, host: h2, ip: 10.0.0.2}
`

/** What a run cost the two host processes (all their threads): wall-clock figures on a shared machine are noise,
 *  these are not. Per unit = per MiB for throughput, per round trip for the ping-pongs. */
export interface RunCost {
  cpuMs: number
  cpuMsPerUnit: number
  txWritesPerUnit: number
  rxReadsPerUnit: number
  rnicSleepsPerUnit: number
  rnicPassesPerUnit: number
  /** CPU of the two RNIC worker threads alone (the engine, the wire link and their event loops). */
  rnicCpuMsPerUnit: number
}

export interface EmulatedRun {
  spinUs: number
  write64k: {mbPerSec: number; gbitsPerSec: number; messages: number; seconds: number}
  lat2: {halfRttUs: {median: number; p99: number}; rttUs: {min: number; median: number; p99: number}}
  lat2Events: EmulatedRun['lat2']
  cost: {write64k: RunCost; lat2: RunCost; lat2Events: RunCost}
}

export interface EmulatedOptions {spinUs: number[]; durationMs?: number; iterations?: number; log?: (m: string) => void; tests?: string[]}

const TICK_MS = 1000 / 100 // USER_HZ
interface Snap {cpuMs: number; rnicCpuMs: number; txWrites: number; rxReads: number; sleeps: number; passes: number; threads: Map<string, [number, number]>}
function threadTicks(pid: number, into: Map<string, [number, number]>): void {
  for (const t of fs.readdirSync(`/proc/${pid}/task`)) {
    try {
      const st = fs.readFileSync(`/proc/${pid}/task/${t}/stat`, 'utf8')
      const f = st.slice(st.lastIndexOf(')') + 2).split(' ')
      into.set(`${pid}/${t} ${st.slice(st.indexOf('(') + 1, st.lastIndexOf(')'))}`, [Number(f[11]), Number(f[12])])
    } catch {}
  }
}
/** MASQ_BENCH_THREADS=1: the busiest threads of a run (user/system ms), to tell RNIC, VM and main threads apart. */
export function threadReport(a: Snap, b: Snap): string {
  const rows: Array<[string, number, number]> = []
  for (const [k, [u, s]] of b.threads) {
    const [u0, s0] = a.threads.get(k) ?? [0, 0]
    if (u - u0 + s - s0 > 0) rows.push([k, (u - u0) * TICK_MS, (s - s0) * TICK_MS])
  }
  return rows.sort((x, y) => y[1] + y[2] - x[1] - x[2]).slice(0, 12).map(([k, u, s]) => `  thread ${k}: user ${u} ms, sys ${s} ms`).join('\n')
}
function procCpuMs(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8')
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return (Number(f[11]) + Number(f[12])) * TICK_MS // utime, stime (fields 14, 15)
}
async function snapshot(hosts: Array<{pid: number; socket: string}>): Promise<Snap> {
  const s: Snap = {cpuMs: 0, rnicCpuMs: 0, txWrites: 0, rxReads: 0, sleeps: 0, passes: 0, threads: new Map()}
  for (const h of hosts) {
    s.cpuMs += procCpuMs(h.pid)
    if (process.env.MASQ_BENCH_THREADS) threadTicks(h.pid, s.threads)
    const st = await rpcCall<{counters: {wire: Record<string, number>}; rnic: {loop?: {passes: number; sleeps: number; cpuMs?: number}}}>(h.socket, 'status')
    s.txWrites += st.counters.wire.txWrites
    s.rxReads += st.counters.wire.rxReads
    s.sleeps += st.rnic.loop?.sleeps ?? 0
    s.passes += st.rnic.loop?.passes ?? 0
    s.rnicCpuMs += st.rnic.loop?.cpuMs ?? Number.NaN
  }
  return s
}
function cost(a: Snap, b: Snap, units: number): RunCost {
  const per = (x: number) => Math.round((x / units) * 1000) / 1000
  return {cpuMs: b.cpuMs - a.cpuMs, cpuMsPerUnit: per(b.cpuMs - a.cpuMs), txWritesPerUnit: per(b.txWrites - a.txWrites),
    rxReadsPerUnit: per(b.rxReads - a.rxReads), rnicSleepsPerUnit: per(b.sleeps - a.sleeps), rnicPassesPerUnit: per(b.passes - a.passes),
    rnicCpuMsPerUnit: per(b.rnicCpuMs - a.rnicCpuMs)}
}

function bwMiB(r: {totalBytes?: number; bytes: number}): number {
  return (r.totalBytes ?? r.bytes) / 1048576
}

export async function measureEmulated(o: EmulatedOptions): Promise<{runs: EmulatedRun[]; hostMemoryMiB: number[]}> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'masq-bench-wire-'))
  const file = path.join(dir, 'bench.yaml')
  fs.writeFileSync(file, TOPOLOGY.replace('PID', String(process.pid)))
  const plan = await loadPlan(file)
  const labDir = path.join(dir, `masq-${plan.name}`)
  const ref = {name: plan.name, labDir}
  const log = o.log ?? (() => {})
  const res = await up(plan, {topologyFile: file, labDir, renderer: 'silent'})
  try {
    const hosts = res.processes.filter((p) => p.role === 'host')
    const runs: EmulatedRun[] = []
    for (const spinUs of o.spinUs) {
      for (const h of hosts) await rpcCall(h.socket, 'setSpin', {spinUs})
      log(`emulated path, rnic spin window ${spinUs} us: WRITE 64 KiB throughput...`)
      const s0 = await snapshot(hosts)
      const want = (t: string) => !o.tests || o.tests.includes(t)
      const skipped = {ok: true, client: {result: {mbPerSec: NaN, halfRttUs: {median: NaN}, bytes: 0}}, server: undefined} as any
      const bw = !want('bw') ? skipped : await runWorkload(ref, {workload: 'bench-write', vm: 'a', peer: 'b', params: {test: 'bw', size: 65536, durationMs: o.durationMs ?? 1000, ...JSON.parse(process.env.MASQ_BENCH_BW_PARAMS ?? '{}')}})
      if (!bw.ok) throw new Error(`bench-write bw failed: ${bw.client.error ?? bw.server?.error}`)
      const s1 = await snapshot(hosts)
      log(`emulated path, rnic spin window ${spinUs} us: 2-byte WRITE ping-pong...`)
      const lat = !want('lat') ? skipped : await runWorkload(ref, {workload: 'bench-write', vm: 'a', peer: 'b', params: {test: 'lat', size: 2, iters: o.iterations ?? 2000, spinForever: process.env.MASQ_BENCH_SPIN_FOREVER === '1'}, timeoutMs: 300_000})
      if (!lat.ok) throw new Error(`bench-write lat failed: ${lat.client.error ?? lat.server?.error}`)
      const s2 = await snapshot(hosts)
      log(`emulated path, rnic spin window ${spinUs} us: 2-byte WRITE ping-pong sleeping on CQ events (perftest -e)...`)
      const ev = !want('ev') ? skipped : await runWorkload(ref, {workload: 'bench-write', vm: 'a', peer: 'b', params: {test: 'lat', size: 2, iters: o.iterations ?? 2000, events: true}, timeoutMs: 300_000})
      if (!ev.ok) throw new Error(`bench-write lat -e failed: ${ev.client.error ?? ev.server?.error}`)
      const s3 = await snapshot(hosts)
      if (process.env.MASQ_BENCH_THREADS) log(`threads, bw:\n${threadReport(s0, s1)}\nthreads, lat:\n${threadReport(s1, s2)}\nthreads, lat -e:\n${threadReport(s2, s3)}`)
      // per MiB of every WRITE of the bw run (warm-up and drain included), per round trip (warm-up included)
      const iters = (o.iterations ?? 2000) + 200
      const mib = Math.max(1, bwMiB(bw.client.result))
      runs.push({spinUs, write64k: bw.client.result, lat2: lat.client.result, lat2Events: ev.client.result,
        cost: {write64k: cost(s0, s1, mib), lat2: cost(s1, s2, iters), lat2Events: cost(s2, s3, iters)}})
    }
    const hostMemoryMiB: number[] = []
    for (const h of hosts) hostMemoryMiB.push((await rpcCall<{memory: {rssMiB: number}}>(h.socket, 'status')).memory.rssMiB)
    return {runs, hostMemoryMiB}
  } finally {
    await down(ref)
    // MASQ_BENCH_KEEP=DIR: keep the lab directory (process logs, e.g. with MASQ_NODE_ARGS=--trace-gc)
    if (process.env.MASQ_BENCH_KEEP) fs.cpSync(labDir, process.env.MASQ_BENCH_KEEP, {recursive: true})
    fs.rmSync(dir, {recursive: true, force: true})
  }
}
