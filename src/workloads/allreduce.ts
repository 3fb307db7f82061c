// Built-in `allreduce`: ring allreduce (sum of float32 vectors) over every VM of the run with RDMA WRITE WITH
// IMMEDIATE: n-1 reduce-scatter steps, then n-1 allgather steps (the NCCL ring algorithm). Each rank connects
// to its right neighbour with rdma_cm and accepts its left neighbour. Reported like nccl-tests: algbw = bytes /
// time, busbw = algbw × 2(n-1)/n. Every rank checks its result against the element-wise sum.
// options: count (float32 elements, default 65536), iters (5), warmup (1), port.
// Data placement: each step's chunk lands in its own staging slot (2(n-1) slots per iteration parity), so a
// neighbour never overwrites data not yet reduced; the immediate carries (iteration, step).
import {SendFlags, WcFlags, WrOpcode} from '../rdma-constants.js'
import type {Wc} from '../verbs/index.js'
import type {WorkloadVm} from './api.js'
import {accept, checkWc, idleCq, connect, decodeRemote, disconnect, encodeRemote, listen, numOpt, runKey} from './rdma.js'
import {REMOTE_ALL_ATOMIC} from './pingpong.js'

/** Input element j of rank r: small integers, so float32 sums are exact. */
export function inputOf(rank: number, j: number): number {
  return ((rank + 1) * 3 + (j % 97)) % 1024
}

export default async function allreduce(vm: WorkloadVm, options: Record<string, unknown>): Promise<unknown> {
  const n = vm.members.length
  const r = vm.rank
  if (n < 2) throw new Error('allreduce needs at least 2 VMs')
  const iters = numOpt(options, 'iters', 5)
  const warmup = numOpt(options, 'warmup', 1)
  const port = numOpt(options, 'port', 18516)
  const chunk = Math.ceil(numOpt(options, 'count', 65536) / n) // elements per chunk
  const count = chunk * n
  const chunkBytes = chunk * 4
  const steps = 2 * (n - 1)
  const ctx = await vm.openDevice()
  const pd = await ctx.allocPd()
  const data = vm.alloc(count * 4)
  const stage = vm.alloc(2 * steps * chunkBytes) // [parity][step] slots
  const dmr = await pd.regMr(data, REMOTE_ALL_ATOMIC)
  const smr = await pd.regMr(stage, REMOTE_ALL_ATOMIC)
  const x = new Float32Array(data.mem.sab, data.offset, count)
  const st = new Float32Array(stage.mem.sab, stage.offset, 2 * steps * chunk)
  const scq = await ctx.createCq(64)
  const rcq = await ctx.createCq(4 * steps + 16)
  const cap = {maxSendWr: 16, maxRecvWr: 4 * steps + 8}
  const right = vm.members[(r + 1) % n]!
  const rightIp = vm.peers[right]
  if (!rightIp) throw new Error(`no address for ${right}`)

  // WRITE WITH IMMEDIATE consumes a receive WQE: keep two iterations' worth posted
  const RECV = {wrId: 0n, sgList: []}
  const l = listen(vm, port)
  await vm.publish(runKey(vm, 'allreduce-listening', r), true)
  await vm.waitFor(runKey(vm, 'allreduce-listening', (r + 1) % n), 60_000)
  const accepting = accept(l, {pd, sendCq: scq, recvCq: rcq, cap, privateData: encodeRemote(smr),
    beforeAccept: (qp) => {
      for (let i = 0; i < 2 * steps; i++) qp.postRecv(RECV)
    }})
  accepting.catch(() => undefined) // awaited below
  // every rank connects to its right neighbour at once (the CM owns a copy of each MAD, so concurrent
  // handshakes on one host do not disturb each other's private data)
  const toRight = await connect(vm, {ip: rightIp, port, pd, sendCq: scq, recvCq: scq, cap: {maxSendWr: 16, maxRecvWr: 1}})
  const fromLeft = await accepting
  l.id.destroy()
  const remote = decodeRemote(toRight.privateData)

  const arrived = new Map<number, Wc>()
  const waitImm = async (imm: number): Promise<void> => {
    const end = Date.now() + 60_000
    const since = performance.now()
    while (!arrived.has(imm)) {
      for (const wc of rcq.poll(16)) {
        checkWc(wc, 'allreduce receive')
        if (!(wc.wcFlags & WcFlags.WITH_IMM)) throw new Error('allreduce: a receive without immediate data')
        arrived.set(wc.immData, wc)
        fromLeft.qp.postRecv(RECV)
      }
      if (arrived.has(imm)) break
      if (Date.now() > end) throw new Error(`allreduce: rank ${r} timed out waiting for step ${imm & 255} of iteration ${imm >>> 8}`)
      await idleCq(rcq, since)
    }
    arrived.delete(imm)
  }
  let sent = 0
  let done = 0
  const waitSends = async (): Promise<void> => {
    const end = Date.now() + 60_000
    const since = performance.now()
    while (done < sent) {
      for (const wc of scq.poll(16)) {
        checkWc(wc, 'allreduce WRITE')
        done++
      }
      if (done >= sent) break
      if (Date.now() > end) throw new Error('allreduce: a WRITE did not complete')
      await idleCq(scq, since)
    }
  }
  const mod = (v: number) => ((v % n) + n) % n

  const times: number[] = []
  for (let it = 0; it < warmup + iters; it++) {
    for (let j = 0; j < count; j++) x[j] = inputOf(r, j)
    const parity = it & 1
    const t0 = vm.nowNs()
    for (let s = 0; s < steps; s++) {
      const reduce = s < n - 1
      const k = reduce ? s : s - (n - 1)
      // reduce-scatter step k: send chunk r-k, receive chunk r-k-1; allgather step k: send r+1-k, receive r-k
      const sendChunk = reduce ? mod(r - k) : mod(r + 1 - k)
      const recvChunk = reduce ? mod(r - k - 1) : mod(r - k)
      const slot = parity * steps + s
      const imm = ((it & 0xffffff) << 8) | s
      toRight.qp.postSend({wrId: sent, opcode: WrOpcode.RDMA_WRITE_WITH_IMM, sendFlags: SendFlags.SIGNALED, immData: imm,
        sgList: [{addr: dmr.addr + BigInt(sendChunk * chunkBytes), length: chunkBytes, lkey: dmr.lkey}],
        rdma: {remoteAddr: remote.remoteAddr + BigInt(slot * chunkBytes), rkey: remote.rkey}})
      sent++
      await waitImm(imm)
      const src = slot * chunk
      const dst = recvChunk * chunk
      if (reduce) for (let j = 0; j < chunk; j++) x[dst + j]! += st[src + j]!
      else for (let j = 0; j < chunk; j++) x[dst + j] = st[src + j]!
      await waitSends() // the chunk we sent may be overwritten by a later step
    }
    if (it >= warmup) times.push(vm.nowNs() - t0)
    for (let j = 0; j < count; j++) {
      let sum = 0
      for (let q = 0; q < n; q++) sum += inputOf(q, j)
      if (x[j] !== sum) throw new Error(`allreduce: rank ${r} element ${j} is ${x[j]}, expected ${sum} (iteration ${it})`)
    }
  }
  // everyone finished before anyone disconnects (a DREQ would flush a neighbour's last receives)
  await vm.publish(runKey(vm, 'allreduce-done', r), true)
  for (let q = 0; q < n; q++) await vm.waitFor(runKey(vm, 'allreduce-done', q), 60_000)
  await Promise.all([disconnect(toRight, true), disconnect(fromLeft, false)])
  const bytes = count * 4
  const sorted = [...times].sort((a, b) => a - b)
  const median = sorted[Math.floor(sorted.length / 2)] ?? Number.NaN
  const algbw = bytes / median // bytes per ns = GB/s
  return {
    rank: r, ranks: n, count, bytes, iters, verified: true,
    timeUs: median / 1000, algbwGBs: algbw, busbwGBs: (algbw * 2 * (n - 1)) / n, samplesNs: times,
  }
}
