// Built-in `bw`: throughput of SEND / RDMA WRITE / RDMA READ / ATOMIC over `qps` RC connections made with rdma_cm
// (ib_{send,write,read,atomic}_bw): the client keeps `txDepth` WRs in flight per QP for `iters` WRs per QP (perftest
// -n; after `warmupIters` unstamped ones), or for `durationMs` (-D). CQ moderation as perftest's: every `cqMod`-th WR
// of a QP and its last one are signaled (cqMod at most txDepth), and one RC completion retires every earlier WR of its
// QP. Stamps per WR go to src/bench/collect.ts (RawBw); an unsignaled WR takes the stamp of the completion that
// covers it.
// Verification: SEND payloads are checked by the server as they arrive; WRITE targets are checked by the server
// at the end; READ results are checked by the client on every completion; every FETCH_AND_ADD value is unique
// and the final counter equals the number of atomics.
// READ and atomic checks run when the covering completion arrives (RC completes a QP's WRs in order, so the data of
// every WR it covers is in place).
// options: op (default write), size (65536; atomic 8), qps (1), txDepth (32), cqMod (100, perftest's), rxDepth (SEND:
// 512 like perftest, at least 2 x txDepth, at most 4 MiB of buffers per QP), iters (200), warmupIters (0), durationMs,
// port, spinUs (0: poll an empty CQ this long before sleeping on it; 20/100 measured no better at 2 B on 2 cores).
import {Errno, QpAttrMask, SendFlags, WcFlags, WrOpcode} from '../rdma-constants.js'
import type {RecvWr, SendWr, Wc} from '../verbs/index.js'
import type {WorkloadVm} from './api.js'
import {REMOTE_ALL_ATOMIC, parseOp} from './pingpong.js'
import {accept, checkWc, type Connection, connect, decodeRemote, disconnect, encodeRemote, listen, numOpt, peerIp, pollCq, runKey, sleepCq} from './rdma.js'

const DONE_IMM = 0xd0e
/** Byte k of slot s: the slot number first, so a receiver can check a payload without knowing its order. */
const pat = (s: number, k: number) => (k === 0 ? s & 255 : (s * 13 + k * 7) & 255)

export default async function bw(vm: WorkloadVm, options: Record<string, unknown>): Promise<unknown> {
  const op = parseOp(options.op)
  const size = op === 'atomic' ? 8 : numOpt(options, 'size', 65536)
  const qps = numOpt(options, 'qps', 1)
  const txDepth = numOpt(options, 'txDepth', 32)
  const iters = numOpt(options, 'iters', 200)
  // perftest: CQ moderation 100 by default, never above the tx depth (a full SQ with no signaled WR would not drain)
  const cqMod = Math.max(1, Math.min(numOpt(options, 'cqMod', 100), txDepth))
  const warmupIters = numOpt(options, 'warmupIters', 0)
  const durationMs = numOpt(options, 'durationMs', 0)
  const port = numOpt(options, 'port', 18518)
  const spinMs = numOpt(options, 'spinUs', 0) / 1000
  const server = vm.rank !== 0
  // perftest's rx depth for SEND is 512; at least twice the tx depth, and at most 4 MiB of receive buffers per QP
  const rxDepth = numOpt(options, 'rxDepth', Math.max(2 * txDepth, Math.min(512, Math.floor((4 << 20) / Math.max(1, size)))))
  // buffers per QP; for SEND one per posted receive: two receives on one buffer would let a later message land
  // there before the server has checked (and cleared) the earlier one
  const slots = op === 'send' ? rxDepth : txDepth
  const ctx = await vm.openDevice()
  const pd = await ctx.allocPd()
  const region = vm.alloc(qps * slots * size + 64)
  const mr = await pd.regMr(region, REMOTE_ALL_ATOMIC)
  const ctl = vm.alloc(64) // [0,8) done message out, [8,16) reply in, [16,24) counter read-back
  const cmr = await pd.regMr(ctl, REMOTE_ALL_ATOMIC)
  const cv = new DataView(ctl.bytes.buffer, ctl.bytes.byteOffset, 64)
  const scq = await ctx.createCq(qps * txDepth + 16)
  const rcq = await ctx.createCq(qps * rxDepth + 16)
  const cap = {maxSendWr: txDepth + 4, maxRecvWr: rxDepth + 4}
  const slotAddr = (q: number, s: number) => region.addr + BigInt((q * slots + s) * size)
  const slotBytes = (q: number, s: number) => region.bytes.subarray((q * slots + s) * size, (q * slots + s + 1) * size)
  const fill = (b: Uint8Array, s: number) => {
    for (let k = 0; k < b.length; k++) b[k] = pat(s, k)
  }
  const check = (b: Uint8Array, s: number) => {
    for (let k = 0; k < b.length; k++) if (b[k] !== pat(s, k)) return false
    return true
  }
  // one receive WR per slot, built once and reposted as it is
  const recvWrs: RecvWr[][] = Array.from({length: qps}, (_, q) => Array.from({length: slots}, (_, s) => ({wrId: q * slots + s, sgList: [{addr: Number(slotAddr(q, s)), length: size, lkey: mr.lkey}]})))
  const recvSlot = (q: number, s: number) => recvWrs[q]![s]!
  const ctlRecv = {wrId: 0xffffff, sgList: [{addr: ctl.addr + 8n, length: 8, lkey: cmr.lkey}]}
  const key = runKey(vm, 'bw-listening')

  if (server) {
    for (let q = 0; q < qps; q++) for (let s = 0; s < slots; s++) fill(slotBytes(q, s), s) // what READs fetch
    if (op === 'atomic') region.bytes.fill(0)
    const l = listen(vm, port)
    await vm.publish(key, true)
    const conns: Connection[] = []
    for (let q = 0; q < qps; q++) {
      conns.push(await accept(l, {pd, sendCq: scq, recvCq: rcq, cap, privateData: encodeRemote(mr, q * slots * size),
        beforeAccept: (qp) => {
          if (op === 'send') for (let i = 0; i < rxDepth; i++) qp.postRecv(recvSlot(q, i))
          else qp.postRecv(ctlRecv)
        }}))
    }
    l.id.destroy()
    // perftest's MIN_RNR_TIMER (12: 0.64 ms) on the QPs that take SENDs, instead of rdma_cm's 0 (655 ms): a server
    // that falls rxDepth messages behind (descheduled on a loaded machine) then costs the sender 0.64 ms, not 0.66 s
    if (op === 'send') for (const c of conns) if (!c.disconnected) await c.qp.modify({minRnrTimer: 12}, QpAttrMask.MIN_RNR_TIMER)
    const qpIndex = new Map(conns.map((c, q) => [c.qp.qpn, q]))
    let received = 0
    let done: Wc | undefined
    let last = performance.now()
    let lastYield = last
    while (!done) {
      const wcs = rcq.poll(32)
      for (const wc of wcs) {
        checkWc(wc, 'bw receive')
        // the final message: its count in the control buffer, or (op send, whose data SENDs carry no immediate and
        // whose receive slots may be 2 bytes) in the immediate itself
        if (wc.wcFlags & WcFlags.WITH_IMM && (op === 'send' || wc.immData === DONE_IMM)) {
          done = wc
          if (op === 'send') cv.setUint32(8, wc.immData >>> 0, true)
          continue
        }
        const q = qpIndex.get(wc.qpNum)!
        const s = Number(wc.wrId) % slots
        const b = slotBytes(q, s)
        if (wc.byteLen !== size || !check(b, b[0]!)) throw new Error(`bw: SEND ${received} arrived corrupted`)
        b.fill(0)
        received++
        conns[q]!.qp.postRecv(recvSlot(q, s))
      }
      if (done) break
      const t = performance.now()
      if (wcs.length) last = t
      else if (t - last > 120_000) throw new Error(`bw: nothing received for 120 s (${received} ${op === 'send' ? 'SENDs' : 'messages'} so far)`)
      if (t - lastYield > 50) {
        lastYield = t
        await new Promise((r) => setImmediate(r)) // the VM's own messages, now and then
      } else if (!wcs.length && t - last >= spinMs) {
        const w = sleepCq(rcq, 5)
        if (w) await w
      }
    }
    // the client's final message carries how many WRs it posted; check what one-sided ops left behind
    const total = cv.getUint32(8, true)
    let ok = true
    if (op === 'write') for (let q = 0; q < qps; q++) for (let s = 0; s < Math.min(slots, Math.floor(total / qps)); s++) ok &&= check(slotBytes(q, s), s)
    if (op === 'send') ok = received === total
    if (op === 'atomic') {
      let sum = 0n
      for (let q = 0; q < qps; q++) sum += new DataView(region.bytes.buffer, region.bytes.byteOffset + q * slots * size, 8).getBigUint64(0, true)
      ok = sum === BigInt(total)
    }
    cv.setUint32(0, ok ? 1 : 0, true)
    const doneQp = conns.find((c) => c.qp.qpn === done!.qpNum)!.qp
    doneQp.postSend({wrId: 1, opcode: WrOpcode.SEND, sendFlags: SendFlags.SIGNALED, sgList: [{addr: ctl.addr, length: 8, lkey: cmr.lkey}]})
    await pollCq(scq, 1, 'bw verdict')
    // the side that sends the last message disconnects, once it is acknowledged: a client that disconnected on
    // receiving the verdict could flush the verdict SEND here while its ACK is still lost and being retried
    for (const c of conns) await disconnect(c, true)
    if (!ok) throw new Error(`bw: the server found the ${op} data wrong`)
    return {role: 'server', op, verified: op === 'send' ? received : total}
  }

  await vm.waitFor(key, 60_000)
  const ip = peerIp(vm)
  const conns: Connection[] = []
  for (let q = 0; q < qps; q++) conns.push(await connect(vm, {ip, port, pd, sendCq: scq, recvCq: rcq, cap}))
  conns[0]!.qp.postRecv(ctlRecv)
  const remotes = conns.map((c) => decodeRemote(c.privateData))
  if (op === 'write' || op === 'send') for (let q = 0; q < qps; q++) for (let s = 0; s < slots; s++) fill(slotBytes(q, s), s)
  // One WR object per (QP, slot), built once: a post only sets its wr_id and flags. Addresses as numbers, so that
  // writing a WQE splits no BigInt. wr_id = per-QP index * qps + QP: a CQE names its QP and its place in it.
  const wrs: SendWr[][] = conns.map((_, q) => Array.from({length: slots}, (_, s): SendWr => {
    const sgList = [{addr: Number(slotAddr(q, s)), length: size, lkey: mr.lkey}]
    const r = remotes[q]!
    const remoteAddr = Number(r.remoteAddr) + s * size
    switch (op) {
      case 'send': return {wrId: 0, opcode: WrOpcode.SEND, sendFlags: 0, sgList}
      case 'write': return {wrId: 0, opcode: WrOpcode.RDMA_WRITE, sendFlags: 0, sgList, rdma: {remoteAddr, rkey: r.rkey}}
      case 'read': return {wrId: 0, opcode: WrOpcode.RDMA_READ, sendFlags: 0, sgList, rdma: {remoteAddr, rkey: r.rkey}}
      default: return {wrId: 0, opcode: WrOpcode.ATOMIC_FETCH_AND_ADD, sendFlags: 0, sgList, atomic: {remoteAddr: Number(r.remoteAddr), compareAdd: 1, rkey: r.rkey}}
    }
  }))
  // the server posts its receives before accepting: safe to start
  const perQp = durationMs > 0 ? Infinity : warmupIters + iters
  const measured = durationMs > 0 ? 0 : qps * iters
  const tposted = new Array<number>(measured).fill(0)
  const tcompleted = new Array<number>(measured).fill(0)
  // per QP: WRs posted, WRs completed (an RC CQE retires every WR of its QP up to its own), per-QP index of the last
  // signaled WR posted, and for each slot the stamp index of the WR in it (-1: warm-up, not stamped)
  const postedOn = new Array<number>(qps).fill(0)
  const doneOn = new Array<number>(qps).fill(0)
  const lastSignaled = new Array<number>(qps).fill(-1)
  const stampOf = conns.map(() => new Int32Array(slots).fill(-1))
  const fetched = new Set<number>()
  let posted = 0
  let stamped = 0
  let completed = 0
  let cqes = 0 // send completions reaped: one per signaled WR
  const t0 = vm.nowNs()
  const end = durationMs > 0 ? t0 + durationMs * 1e6 : Infinity
  let stopping = false // duration mode: time is up; each QP's last WR must be a signaled one
  let lastCqe = performance.now()
  let lastYield = lastCqe
  // perftest: every cq_mod-th WR of a QP and its last one are signaled (the post stamp is taken at the post)
  const postOne = (q: number, signaled: boolean, now: number): boolean => {
    const n = postedOn[q]!
    const s = n % slots
    if (op === 'read') slotBytes(q, s).fill(0)
    const wr = wrs[q]![s]!
    wr.wrId = n * qps + q
    wr.sendFlags = signaled ? SendFlags.SIGNALED : 0
    try {
      conns[q]!.qp.postSend(wr)
    } catch (e) {
      // the RNIC frees SQ slots just after it writes the CQE that retires them (another thread): retry next pass
      if ((e as {errno?: number}).errno === Errno.ENOMEM) return false
      throw e
    }
    if (signaled) lastSignaled[q] = n
    if (n >= warmupIters && stamped < measured) {
      stampOf[q]![s] = stamped
      tposted[stamped++] = now
    } else stampOf[q]![s] = -1
    postedOn[q] = n + 1
    posted++
    return true
  }
  for (;;) {
    const now = vm.nowNs()
    if (!stopping && now >= end) stopping = true
    let more = false
    let full = false
    for (let q = 0; q < qps; q++) {
      while (!stopping && postedOn[q]! - doneOn[q]! < txDepth && postedOn[q]! < perQp) {
        const n = postedOn[q]!
        if (!postOne(q, n % cqMod === cqMod - 1 || n === perQp - 1, now)) {
          full = true
          break
        }
      }
      if (stopping && lastSignaled[q]! !== postedOn[q]! - 1) {
        // -D: close the QP's run with a signaled WR that retires the unsignaled ones before it (counted like them)
        if (postedOn[q]! - doneOn[q]! < txDepth && !postOne(q, true, now)) full = true
        more = true
      }
      if (!stopping && postedOn[q]! < perQp) more = true
    }
    const wcs = scq.poll(16)
    const tc = wcs.length ? vm.nowNs() : 0
    cqes += wcs.length
    for (const wc of wcs) {
      checkWc(wc, `bw ${op}`)
      const id = Number(wc.wrId)
      const q = id % qps
      const last = (id - q) / qps
      for (let n = doneOn[q]!; n <= last; n++) {
        const s = n % slots
        const k = stampOf[q]![s]!
        if (k >= 0) tcompleted[k] = tc
        if (op === 'read' && !check(slotBytes(q, s), s)) throw new Error(`bw: RDMA READ ${n} on QP ${q} returned wrong data`)
        if (op === 'atomic') {
          const v = Number(new DataView(region.bytes.buffer, region.bytes.byteOffset + (q * slots + s) * size, 8).getBigUint64(0, true))
          if (fetched.has(v * qps + q)) throw new Error(`bw: FETCH_AND_ADD returned ${v} twice on QP ${q}`)
          fetched.add(v * qps + q)
        }
      }
      completed += last + 1 - doneOn[q]!
      doneOn[q] = last + 1
    }
    if (!more && completed === posted) break
    const t = performance.now()
    if (wcs.length) lastCqe = t
    else if (t - lastCqe > 60_000) throw new Error(`bw: no ${op} completion for 60 s (${completed} of ${posted} posted WRs completed)`)
    if (t - lastYield > 50) {
      lastYield = t
      await new Promise((r) => setImmediate(r)) // let the VM's own messages through now and then
    } else if (!wcs.length && !full && posted > completed && t - lastCqe >= spinMs) {
      // nothing to post until a completion: sleep on the CQ (perftest busy-polls; here the RNIC threads need the core)
      const w = sleepCq(scq, 5)
      if (w) await w
    }
  }
  const elapsedNs = vm.nowNs() - t0
  // tell the server we are done (and how many WRs), wait for its verdict
  cv.setUint32(0, posted, true)
  conns[0]!.qp.postSend({wrId: 0, opcode: WrOpcode.SEND_WITH_IMM, immData: op === 'send' ? posted : DONE_IMM, sendFlags: SendFlags.SIGNALED,
    sgList: [{addr: ctl.addr, length: op === 'send' ? Math.min(8, size) : 8, lkey: cmr.lkey}]})
  // The verdict proves the server got the done message; that SEND's own completion is not awaited: when its ACK is
  // lost, the server can get our ACK of the verdict and disconnect before the retry, flushing it (harmlessly).
  await pollCq(rcq, 1, 'bw verdict')
  if (cv.getUint32(8, true) !== 1) throw new Error(`bw: the server found the ${op} data wrong`)
  for (const c of conns) await disconnect(c, false)
  // iterations mode: the stamped WRs (warm-up excluded) over their own span, as collect.ts computes it
  const n = durationMs > 0 ? posted : measured
  const span = durationMs > 0 || n === 0 ? elapsedNs : tcompleted[n - 1]! - tposted[0]!
  return {
    op, size, qps, txDepth, cqMod, cqes, iterations: n, verified: posted, elapsedNs,
    mbPerSec: (n * size) / (span / 1e9) / 1048576, msgRateMpps: n / (span / 1e9) / 1e6,
    raw: durationMs > 0 ? {op, size, iters: posted, elapsedNs, cqMod} : {op, size, tposted, tcompleted, cqMod},
  }
}
