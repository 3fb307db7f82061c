// Built-in `bench-write`: RDMA WRITE between two VMs, perftest-style.
//   params.test = 'bw'  (default): the client keeps `txDepth` signaled WRITEs of `size` bytes (64 KiB) in flight for
//                       `durationMs` after a warm-up and reports MB/s (2^20 bytes per second, like perftest).
//   params.test = 'lat': write_lat ping-pong of `size` bytes (2): each side polls the last byte of its own buffer for
//                       the iteration number, then WRITEs it back; half the round trip is the reported latency.
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
  // perftest's defaults for bw: tx depth 128, CQ moderation 100
  const txDepth = Number(p.txDepth ?? (test === 'bw' ? 128 : 16))
  const cqModOpt = Number(p.cqMod ?? 100)
  const durationMs = Number(p.durationMs ?? 1000)
  const warmupMs = Number(p.warmupMs ?? 200)
  const iters = Number(p.iters ?? 2000)
  const warmupIters = Number(p.warmupIters ?? 200)
  const contract = p.contract === 1
  // contract, bw: a fixed message count unless a duration is given (perftest -n vs -D)
  const bwIters = contract && p.durationMs === undefined ? iters : 0
  const latDurationMs = contract && p.durationMs !== undefined ? durationMs : 0
  if (contract && p.connection !== undefined && p.connection !== 'RC') throw new Error(`bench-write runs RC only (asked for ${String(p.connection)})`)
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
      await vm.waitFor(doneKey(vm.peer!.name), contract ? 600_000 : durationMs + warmupMs + 30_000)
      return {role: 'server'}
    }
    // perftest's CQ moderation: every cqMod-th WRITE (and the last) is signaled; an RC completion covers every
    // WRITE posted before it on the QP (in order), so one CQE retires cqMod of them
    const cqMod = Math.max(1, Math.min(cqModOpt, txDepth))
    const signaledAt: number[] = [] // posting index of each signaled WRITE not yet completed, oldest first
    let done = 0
    let posted = 0
    let bytes = 0
    const t0 = performance.now()
    let tStart = 0
    let startDone = 0
    // iterations mode (contract): warm-up messages, then exactly bwIters stamped ones
    const total = bwIters ? warmupIters + bwIters : Number.POSITIVE_INFINITY
    const tposted: number[] = []
    const tcompleted: number[] = []
    const stamp = () => Math.round(performance.now() * 1e6)
    const end = bwIters ? Number.POSITIVE_INFINITY : t0 + warmupMs + durationMs
    const deadline = t0 + 600_000
    let now = t0
    let tEnd = 0
    let stopping = false // duration mode: time is up, the last WRITE posted must be a signaled one
    // pollCount returns how many CQEs it took (each one the oldest signaled WRITE still outstanding)
    const reap = (): number => {
      const n = cq.pollCount(txDepth, onError)
      if (n > 0) {
        done = signaledAt[n - 1]! + 1
        signaledAt.splice(0, n)
      }
      return n
    }
    const postOne = (signaled: boolean): boolean => {
      wr.sendFlags = signaled ? SendFlags.SIGNALED : 0
      if (!tryPost()) return false
      if (signaled) signaledAt.push(posted)
      if (bwIters && posted >= warmupIters) tposted.push(stamp())
      posted++
      return true
    }
    while (bwIters ? done < total : !stopping || done < posted) {
      if (!stopping) {
        while (posted - done < txDepth && posted < total) {
          if (!postOne(posted % cqMod === cqMod - 1 || posted === total - 1)) break
        }
      }
      const before = done
      const n = reap()
      if (bwIters && n > 0) {
        const t = stamp()
        for (let k = before; k < done; k++) if (k >= warmupIters) tcompleted.push(t)
      }
      if (errors) throw new Error(`a WRITE completed with an error (${errors})`)
      if (n === 0 || (done & 63) === 0 || bwIters) now = performance.now()
      if (now > deadline) throw new Error(`bench-write: ${done} of ${total} WRITEs completed in 600 s`)
      if (!tStart && (bwIters ? done >= warmupIters : now - t0 >= warmupMs)) {
        tStart = now
        startDone = done
      }
      if (!bwIters && !stopping && now >= end) {
        stopping = true
        tEnd = now
        bytes = (done - startDone) * size
        // the WRITEs after the last signaled one complete with a closing signaled WRITE (not counted)
        if (posted > 0 && signaledAt[signaledAt.length - 1] !== posted - 1) while (!postOne(true)) reap()
        continue
      }
      if (n === 0 && posted > done) waitCq(cq.ring, 5) // sleep until a completion: the RNIC threads need the cores
    }
    if (bwIters) {
      tEnd = now
      bytes = bwIters * size // the stamped ones; a CQE may cover warm-up and measured WRITEs at once
    }
    const seconds = (tEnd - tStart) / 1000
    const messages = bytes / size
    await vm.publish(doneKey(vm.vm.name), true)
    if (contract) {
      return {
        contract: 1, test, op: 'write', size, iterations: messages, bytes, device: ctx.info.name, mtu: 128 << ctx.info.maxMtu,
        ...(bwIters ? {tposted, tcompleted, cqMod} : {elapsedNs: Math.round((tEnd - tStart) * 1e6)}),
      }
    }
    return {test, size, txDepth, cqMod, messages, bytes, seconds, mbPerSec: bytes / seconds / 1048576, gbitsPerSec: (bytes * 8) / seconds / 1e9}
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
  // contract, -D: iteration bytes cycle 1..254 and the client ends the ping-pong with STOP (the buffer starts at 0)
  const STOP = 0xff
  // poll the byte like perftest, but sleep on the RNIC's DMA epoch after spinUs (ctx.waitMemory) so two polling VMs
  // do not starve the RNIC threads on a small machine; -D runs keep the plain spin because they must also see STOP
  const spinForever = p.spinForever === true || p.spinForever === 'true'
  const waitByte = (v: number): boolean => {
    if (!latDurationMs) {
      if (!ctx.waitMemory(rx, last, v, spinForever ? WAIT_MS * 1000 : Number(p.spinUs ?? 20), WAIT_MS)) {
        throw new Error(`write_lat: no WRITE from the peer (waiting for ${v})`)
      }
      return true
    }
    deadline = Date.now() + WAIT_MS
    let k = 0
    let b = 0
    while ((b = Atomics.load(rx, last)) !== v) {
      if (latDurationMs && b === STOP) return false
      if (++k === 1 << 16) {
        k = 0
        if (Date.now() > deadline) throw new Error(`write_lat: no WRITE from the peer (waiting for ${v})`)
      }
    }
    return true
  }
  const events = p.events === true || p.events === 'true' || p.events === 1
  const spinMs = Number(p.spinUs ?? 20) / 1000
  const RECVS = 64
  if (events) for (let i = 0; i < RECVS; i++) qp.postRecv({wrId: i})
  const latWr: SendWr = events ? {...wr, opcode: WrOpcode.RDMA_WRITE_WITH_IMM, immData: 0} : wr
  const waitImm = (v: number): boolean => {
    deadline = Date.now() + WAIT_MS
    const t0 = performance.now()
    let n = 0
    while ((n = rcq.pollCount(1, onError)) === 0) {
      if (performance.now() - t0 > spinMs) waitCq(rcq.ring, 50)
      if (Date.now() > deadline) throw new Error(`write_lat: no WRITE from the peer (waiting for ${v})`)
    }
    qp.postRecv({wrId: v})
    const b = Atomics.load(rx, last)
    if (latDurationMs && b === STOP) return false
    if (b !== v) throw new Error(`write_lat: the WRITE with immediate ${v} did not carry its byte`)
    return true
  }
  const wait = (v: number) => (events ? waitImm(v) : waitByte(v))
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
  const samplesNs: number[] = []
  let tMeasure = 0
  let measured = 0
  const latEnd = latDurationMs ? performance.now() + warmupMs + latDurationMs : 0
  for (let i = 0; latDurationMs ? true : i < total; i++) {
    const v = (i % (latDurationMs ? 254 : 255)) + 1
    if (client) {
      const t = performance.now()
      if (latDurationMs && t >= latEnd) {
        post(STOP) // tell the server to stop
        break
      }
      if (latDurationMs && !tMeasure && t >= latEnd - latDurationMs) tMeasure = t
      post(v)
      wait(v)
      const rtt = performance.now() - t
      if (latDurationMs ? tMeasure > 0 : i >= warmupIters) {
        measured++
        hist.record(rtt * 1000)
        if (contract) samplesNs.push(Math.round(rtt * 1e6))
      }
    } else {
      if (!wait(v)) break
      post(v)
    }
    if (errors) throw new Error(`a WRITE completed with an error (${errors})`)
  }
  if (!client) return {role: 'server'}
  if (contract) {
    return {
      contract: 1, test, op: 'write', size, iterations: measured, bytes: measured * size, device: ctx.info.name, mtu: 128 << ctx.info.maxMtu,
      ...(latDurationMs ? {elapsedNs: Math.round((performance.now() - tMeasure) * 1e6)} : {samplesNs}),
    }
  }
  const q = (x: number) => Math.round(hist.percentile(x) * 100) / 100
  return {
    test, size, iterations: iters, events,
    rttUs: {min: q(0), median: q(50), p99: q(99), max: q(100), mean: Math.round(hist.mean * 100) / 100},
    halfRttUs: {median: q(50) / 2, p99: q(99) / 2},
  }
}
