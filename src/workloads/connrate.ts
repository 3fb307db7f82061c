// Built-in `connrate`: short RC connections with rdma_cm, one after the other. Each connection: resolve_addr,
// resolve_route, create_qp, connect → ESTABLISHED (the setup time), one SEND of the connection's number
// (verified by the server), then rdma_disconnect → DISCONNECTED (the teardown time), destroy QP and id.
// options: count (connections, default 50), port. The client reports setups and teardowns per second and
// setup-latency percentiles; `raw.conn.samplesNs` is what src/bench/collect.ts takes.
import {SendFlags, WrOpcode} from '../rdma-constants.js'
import type {WorkloadVm} from './api.js'
import {accept, connect, disconnect, listen, numOpt, peerIp, pollCq, runKey} from './rdma.js'

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? sorted[0]!
}

export default async function connrate(vm: WorkloadVm, options: Record<string, unknown>): Promise<unknown> {
  const count = numOpt(options, 'count', 50)
  const port = numOpt(options, 'port', 18517)
  const server = vm.rank !== 0
  const ctx = await vm.openDevice()
  const pd = await ctx.allocPd()
  const buf = vm.alloc(64)
  const mr = await pd.regMr(buf, 1) // IBV_ACCESS_LOCAL_WRITE
  const cq = await ctx.createCq(16)
  const cap = {maxSendWr: 4, maxRecvWr: 4}
  const view = new DataView(buf.bytes.buffer, buf.bytes.byteOffset, 8)
  const sg = [{addr: mr.addr, length: 8, lkey: mr.lkey}]
  const key = runKey(vm, 'connrate-listening')

  if (server) {
    const l = listen(vm, port, 128)
    await vm.publish(key, true)
    for (let i = 0; i < count; i++) {
      const c = await accept(l, {pd, sendCq: cq, recvCq: cq, cap, beforeAccept: (qp) => qp.postRecv({wrId: i, sgList: sg})})
      await pollCq(cq, 1, `connection ${i}: its SEND`)
      const got = view.getUint32(0, true)
      if (got !== i || view.getUint32(4, true) !== 0xc0ffee) throw new Error(`connection ${i}: received ${got}`)
      await disconnect(c, false)
    }
    l.id.destroy()
    return {role: 'server', connections: count, verified: count}
  }

  await vm.waitFor(key, 60_000)
  const ip = peerIp(vm)
  const setupNs: number[] = []
  const teardownNs: number[] = []
  const t0 = vm.nowNs()
  for (let i = 0; i < count; i++) {
    const a = vm.nowNs()
    const c = await connect(vm, {ip, port, pd, sendCq: cq, recvCq: cq, cap})
    const b = vm.nowNs()
    view.setUint32(0, i, true)
    view.setUint32(4, 0xc0ffee, true)
    c.qp.postSend({wrId: i, opcode: WrOpcode.SEND, sendFlags: SendFlags.SIGNALED, sgList: sg})
    await pollCq(cq, 1, `connection ${i}: SEND`)
    const d0 = vm.nowNs()
    await disconnect(c, true)
    teardownNs.push(vm.nowNs() - d0)
    setupNs.push(b - a)
  }
  const elapsedNs = vm.nowNs() - t0
  const sorted = [...setupNs].sort((x, y) => x - y)
  const sum = (v: number[]) => v.reduce((p, q) => p + q, 0)
  const us = (ns: number) => Math.round(ns / 10) / 100
  return {
    connections: count, verified: count,
    setupsPerSec: count / (sum(setupNs) / 1e9),
    teardownsPerSec: count / (sum(teardownNs) / 1e9),
    connectionsPerSec: count / (elapsedNs / 1e9),
    setupUs: {min: us(sorted[0]!), median: us(percentile(sorted, 50)), p99: us(percentile(sorted, 99)), max: us(sorted.at(-1)!)},
    raw: {conn: {samplesNs: setupNs, elapsedNs}},
  }
}
