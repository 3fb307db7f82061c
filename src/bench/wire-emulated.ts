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

export interface EmulatedRun {
  spinUs: number
  write64k: {mbPerSec: number; gbitsPerSec: number; messages: number; seconds: number}
  lat2: {halfRttUs: {median: number; p99: number}; rttUs: {min: number; median: number; p99: number}}
  lat2Events: EmulatedRun['lat2']
}

export interface EmulatedOptions {spinUs: number[]; durationMs?: number; iterations?: number; log?: (m: string) => void}

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
      const bw = await runWorkload(ref, {workload: 'bench-write', vm: 'a', peer: 'b', params: {test: 'bw', size: 65536, durationMs: o.durationMs ?? 1000}})
      if (!bw.ok) throw new Error(`bench-write bw failed: ${bw.client.error ?? bw.server?.error}`)
      log(`emulated path, rnic spin window ${spinUs} us: 2-byte WRITE ping-pong...`)
      const lat = await runWorkload(ref, {workload: 'bench-write', vm: 'a', peer: 'b', params: {test: 'lat', size: 2, iters: o.iterations ?? 2000}, timeoutMs: 300_000})
      if (!lat.ok) throw new Error(`bench-write lat failed: ${lat.client.error ?? lat.server?.error}`)
      log(`emulated path, rnic spin window ${spinUs} us: 2-byte WRITE ping-pong sleeping on CQ events (perftest -e)...`)
      const ev = await runWorkload(ref, {workload: 'bench-write', vm: 'a', peer: 'b', params: {test: 'lat', size: 2, iters: o.iterations ?? 2000, events: true}, timeoutMs: 300_000})
      if (!ev.ok) throw new Error(`bench-write lat -e failed: ${ev.client.error ?? ev.server?.error}`)
      runs.push({spinUs, write64k: bw.client.result, lat2: lat.client.result, lat2Events: ev.client.result})
    }
    const hostMemoryMiB: number[] = []
    for (const h of hosts) hostMemoryMiB.push((await rpcCall<{memory: {rssMiB: number}}>(h.socket, 'status')).memory.rssMiB)
    return {runs, hostMemoryMiB}
  } finally {
    await down(ref)
    fs.rmSync(dir, {recursive: true, force: true})
  }
}
