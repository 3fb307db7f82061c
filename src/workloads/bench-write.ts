// Built-in `bench-write`: RDMA WRITE between two VMs, perftest-style.
//   params.test = 'bw'  (default): the client keeps `txDepth` (128) WRITEs of `size` bytes (64 KiB) in flight for
//                       `durationMs` after a warm-up and reports MB/s (2^20 bytes per second, like perftest). Like
//                       perftest's --cq-mod, only every `cqMod`-th WRITE (txDepth/2) is signaled, and they are
//                       posted cqMod at a time with one doorbell: one VM wake-up per cqMod messages, not per message.
//   params.test = 'lat': write_lat ping-pong of `size` bytes (2): each side polls the last byte of its own buffer for
//                       the iteration number, then WRITEs it back; half the round trip is the reported latency.
//                       The poll spins params.spinUs (20), then sleeps until the RNIC places WRITE data
//                       (Context.waitMemory); params.spinForever restores pure spinning.
//                       With params.events (perftest -e) each WRITE carries an immediate and the peer sleeps on
//                       its receive CQ (after a short spin) instead of spinning on the byte: on a machine with
//                       fewer cores than busy threads, a spinning VM takes the core its RNIC thread needs.
import {Errno, SendFlags, WcStatus, WrOpcode} from '../rdma-constants.js'
import {Histogram} from '../bench/histogram.js'
import type {SendWr} from '../verbs/index.js'
import {waitCq, type WorkloadContext} from './api.js'
import {connectRc, REMOTE_ALL} from './connect.js'

export default async function benchWrite(vm: WorkloadContext): Promise<unknown> {
  const p = vm.params
  const test = p.test === 'lat' ? 'lat' : 'bw'
  const size = Number(p.size ?? (test === 'lat' ? 2 : 65536))
  const txDepth = Number(p.txDepth ?? (test === 'bw' ? 128 : 16))
  const cqMod = Math.max(1, Math.min(Number(p.cqMod ?? Math.ceil(txDepth / 2)), txDepth))
  const durationMs = Number(p.durationMs ?? 1000)
  const warmupMs = Number(p.warmupMs ?? 200)
  const iters = Number(p.iters ?? 2000)
  const warmupIters = Number(p.warmupIters ?? 200)
  const ctx = await vm.openDevice()
  const pd = await ctx.allocPd()
  const buf = vm.memory.alloc(2 * size) // [0, size): what we send; [size, 2*size): what the peer writes into
  const mr = await pd.regMr(buf, REMOTE_ALL)
  const cq = await ctx.createCq(Math.max(64, 2 * txDepth))
  const rcq = await ctx.createCq(128)
  const qp = await pd.createQp({type: 'RC', sendCq: cq, recvCq: rcq, cap: {maxSendWr: Math.max(txDepth, 16), maxRecvWr: 64}})
  const peer = await connectRc(vm, ctx, qp, mr, 'bench')
  const remote = {remoteAddr: BigInt(peer.addr) + BigInt(size), rkey: peer.rkey}
  const sg = [{addr: mr.addr, length: size, lkey: mr.lkey}]
  const wr: SendWr = {wrId: 0, opcode: WrOpcode.RDMA_WRITE, sendFlags: SendFlags.SIGNALED, sgList: sg, rdma: remote}
  const doneKey = (who: string) => `${vm.runId}/bench-done/${who}`
  let errors = 0
  const onError = (_w: number, st: number) => {
    if (st !== WcStatus.SUCCESS) errors++
  }

  // The RNIC frees an SQ slot just after it writes the CQE (another thread): a full SQ right after a completion is
  // normal, not an error; retry on the next pass.
  const tryPost = (): boolean => {
    try {
      qp.postSend(test === 'lat' ? latWr : wr)
      return true
    } catch (e) {
      if ((e as {errno?: number}).errno === Errno.ENOMEM) return false
      throw e
    }
  }

  if (test === 'bw') {
    if (vm.role === 'server') {
      await vm.waitFor(doneKey(vm.peer!.name), durationMs + warmupMs + 30_000)
      return {role: 'server'}
    }
    const unsignaled: SendWr = {...wr, sendFlags: 0}
    const batch = Array.from({length: cqMod}, (_, i) => (i === cqMod - 1 ? wr : unsignaled))
    const tryPostBatch = (): boolean => {
      try {
        qp.postSend(batch)
        return true
      } catch (e) {
        if ((e as {errno?: number}).errno === Errno.ENOMEM) return false
        throw e
      }
    }
    let inflight = 0 // WRITEs posted and not yet retired (a signaled completion retires its whole batch)
    let done = 0
    let bytes = 0
    const t0 = performance.now()
    let tStart = 0
    let startDone = 0
    const end = t0 + warmupMs + durationMs
    let now = t0
    while (now < end) {
      while (inflight + cqMod <= txDepth && tryPostBatch()) inflight += cqMod
      const n = cq.pollCount(txDepth, onError) * cqMod
      inflight -= n
      done += n
      if (errors) throw new Error(`a WRITE completed with an error (${errors})`)
      now = performance.now()
      if (!tStart && now - t0 >= warmupMs) {
        tStart = now
        startDone = done
      }
      if (n === 0 && inflight > 0) waitCq(cq.ring, 5) // sleep until a completion: the RNIC threads need the cores
    }
    const seconds = (now - tStart) / 1000
    bytes = (done - startDone) * size
    while (inflight > 0) {
      const n = cq.pollCount(txDepth, onError) * cqMod
      inflight -= n
      done += n
      if (n === 0) await new Promise((r) => setImmediate(r))
    }
    await vm.publish(doneKey(vm.vm.name), true)
    // totalBytes: every WRITE of the run, warm-up and drain included (what the hosts' CPU time is spent on)
    return {test, size, txDepth, cqMod, messages: bytes / size, bytes, totalBytes: done * size, seconds, mbPerSec: bytes / seconds / 1048576, gbitsPerSec: (bytes * 8) / seconds / 1e9}
  }

  // write_lat: the last byte of each buffer carries the iteration number (mod 256, never 0 after start)
  const tx = buf.bytes.subarray(0, size)
  const rx = buf.bytes.subarray(size, 2 * size)
  const last = size - 1
  const hist = new Histogram({significantDigits: 3})
  const total = warmupIters + iters
  // a peer silent for this long is gone (per wait: a whole run on a loaded machine may take much longer)
  const WAIT_MS = Number(p.waitMs ?? 20_000)
  let deadline = 0
  const spinUs = Number(p.spinUs ?? 20)
  const spinMs = spinUs / 1000
  // poll the byte like perftest, but sleep on the RNIC's DMA epoch after spinUs (params.spinForever: pure spinning)
  const spinForever = p.spinForever === true || p.spinForever === 'true'
  const waitByte = (v: number) => {
    if (!ctx.waitMemory(rx, last, v, spinForever ? WAIT_MS * 1000 : spinUs, WAIT_MS)) {
      throw new Error(`write_lat: no WRITE from the peer (waiting for ${v})`)
    }
  }
  const events = p.events === true || p.events === 'true' || p.events === 1
  const RECVS = 64
  if (events) for (let i = 0; i < RECVS; i++) qp.postRecv({wrId: i})
  const latWr: SendWr = events ? {...wr, opcode: WrOpcode.RDMA_WRITE_WITH_IMM, immData: 0} : wr
  const waitImm = (v: number) => {
    deadline = Date.now() + WAIT_MS
    const t0 = performance.now()
    let n = 0
    while ((n = rcq.pollCount(1, onError)) === 0) {
      if (performance.now() - t0 > spinMs) waitCq(rcq.ring, 50)
      if (Date.now() > deadline) throw new Error(`write_lat: no WRITE from the peer (waiting for ${v})`)
    }
    qp.postRecv({wrId: v})
    if (Atomics.load(rx, last) !== v) throw new Error(`write_lat: the WRITE with immediate ${v} did not carry its byte`)
  }
  const post = (v: number) => {
    tx[last] = v
    latWr.immData = v
    cq.pollCount(16, onError)
    while (!tryPost()) cq.pollCount(16, onError)
  }
  const client = vm.role === 'client'
  // both sides must be in RTS and polling before the first WRITE: one more rendezvous
  await vm.publish(`${vm.runId}/lat-ready/${vm.vm.name}`, true)
  await vm.waitFor(`${vm.runId}/lat-ready/${vm.peer!.name}`)
  for (let i = 0; i < total; i++) {
    const v = (i % 255) + 1
    if (client) {
      const t = performance.now()
      post(v)
      if (events) waitImm(v)
      else waitByte(v)
      if (i >= warmupIters) hist.record((performance.now() - t) * 1000)
    } else {
      if (events) waitImm(v)
      else waitByte(v)
      post(v)
    }
    if (errors) throw new Error(`a WRITE completed with an error (${errors})`)
  }
  if (!client) return {role: 'server'}
  const q = (x: number) => Math.round(hist.percentile(x) * 100) / 100
  return {
    test, size, iterations: iters, events,
    rttUs: {min: q(0), median: q(50), p99: q(99), max: q(100), mean: Math.round(hist.mean * 100) / 100},
    halfRttUs: {median: q(50) / 2, p99: q(99) / 2},
  }
}
