// Built-in `bw`: throughput of SEND / RDMA WRITE / RDMA READ / ATOMIC over `qps` RC connections made with rdma_cm
// (ib_{send,write,read,atomic}_bw): the client keeps `txDepth` signaled WRs in flight per QP for `iters` WRs per QP
// (perftest -n), or for `durationMs` (-D). Stamps per WR go to src/bench/collect.ts (RawBw).
// Verification: SEND payloads are checked by the server as they arrive; WRITE targets are checked by the server
// at the end; READ results are checked by the client on every completion; every FETCH_AND_ADD value is unique
// and the final counter equals the number of atomics.
// options: op (default write), size (65536; atomic 8), qps (1), txDepth (32), iters (200), durationMs, port.
import {SendFlags, WcFlags, WrOpcode} from '../rdma-constants.js'
import type {Wc} from '../verbs/index.js'
import type {WorkloadVm} from './api.js'
import {REMOTE_ALL_ATOMIC, parseOp} from './pingpong.js'
import {accept, checkWc, type Connection, connect, decodeRemote, disconnect, encodeRemote, idleCq, listen, numOpt, peerIp, pollCq, runKey} from './rdma.js'

const DONE_IMM = 0xd0e
/** Byte k of slot s: the slot number first, so a receiver can check a payload without knowing its order. */
const pat = (s: number, k: number) => (k === 0 ? s & 255 : (s * 13 + k * 7) & 255)

export default async function bw(vm: WorkloadVm, options: Record<string, unknown>): Promise<unknown> {
  const op = parseOp(options.op)
  const size = op === 'atomic' ? 8 : numOpt(options, 'size', 65536)
  const qps = numOpt(options, 'qps', 1)
  const txDepth = numOpt(options, 'txDepth', 32)
  const iters = numOpt(options, 'iters', 200)
  const durationMs = numOpt(options, 'durationMs', 0)
  const port = numOpt(options, 'port', 18518)
  if (op === 'send' && size < 8) throw new Error('bw: op send needs size ≥ 8 (the final message carries a count)')
  const server = vm.rank !== 0
  const slots = txDepth // per QP
  const rxDepth = 2 * txDepth
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
  const recvSlot = (q: number, s: number) => ({wrId: q * slots + s, sgList: [{addr: slotAddr(q, s), length: size, lkey: mr.lkey}]})
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
          if (op === 'send') for (let i = 0; i < rxDepth; i++) qp.postRecv(recvSlot(q, i % slots))
          else qp.postRecv(ctlRecv)
        }}))
    }
    l.id.destroy()
    const qpIndex = new Map(conns.map((c, q) => [c.qp.qpn, q]))
    let received = 0
    let done: Wc | undefined
    const since = performance.now()
    while (!done) {
      for (const wc of rcq.poll(32)) {
        checkWc(wc, 'bw receive')
        if (wc.wcFlags & WcFlags.WITH_IMM && wc.immData === DONE_IMM) {
          done = wc
          // the count: in the control buffer, or (op send) in the data slot the message landed in
          if (op === 'send') cv.setUint32(8, new DataView(region.bytes.buffer, region.bytes.byteOffset + (Number(wc.wrId) % (qps * slots)) * size, 4).getUint32(0, true), true)
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
      if (!done) await idleCq(rcq, since)
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
    // Nobody disconnects before both sides' last sends are acknowledged: on a lossy fabric a lost ACK leaves a
    // delivered message unacknowledged for a retransmit timeout, and a DREQ would flush it (WR_FLUSH_ERR).
    await vm.publish(runKey(vm, 'bw-drained', vm.rank), true)
    await vm.waitFor(runKey(vm, 'bw-drained', 0), 60_000)
    for (const c of conns) await disconnect(c, false)
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
  // the server posts its receives before accepting: safe to start
  const tposted: number[] = []
  const tcompleted: number[] = []
  const inflight = new Array<number>(qps).fill(0)
  const fetched = new Set<bigint>()
  let posted = 0
  let completed = 0
  const perQp = durationMs > 0 ? Infinity : iters
  const postedOn = new Array<number>(qps).fill(0)
  const t0 = vm.nowNs()
  const end = durationMs > 0 ? t0 + durationMs * 1e6 : Infinity
  let since = performance.now()
  const wrFor = (q: number, n: number) => {
    const s = n % slots
    const sg = [{addr: slotAddr(q, s), length: size, lkey: mr.lkey}]
    const wrId = posted
    const r = remotes[q]!
    switch (op) {
      case 'send': return {wrId, opcode: WrOpcode.SEND, sendFlags: SendFlags.SIGNALED, sgList: sg}
      case 'write': return {wrId, opcode: WrOpcode.RDMA_WRITE, sendFlags: SendFlags.SIGNALED, sgList: sg, rdma: {remoteAddr: r.remoteAddr + BigInt(s * size), rkey: r.rkey}}
      case 'read': return {wrId, opcode: WrOpcode.RDMA_READ, sendFlags: SendFlags.SIGNALED, sgList: sg, rdma: {remoteAddr: r.remoteAddr + BigInt(s * size), rkey: r.rkey}}
      default: return {wrId, opcode: WrOpcode.ATOMIC_FETCH_AND_ADD, sendFlags: SendFlags.SIGNALED, sgList: sg, atomic: {remoteAddr: r.remoteAddr, compareAdd: 1n, rkey: r.rkey}}
    }
  }
  const slotOf = new Map<number, [number, number]>() // wrId → [qp, slot]
  for (;;) {
    const now = vm.nowNs()
    let more = false
    for (let q = 0; q < qps; q++) {
      while (inflight[q]! < txDepth && postedOn[q]! < perQp && now < end) {
        if (op === 'read') slotBytes(q, postedOn[q]! % slots).fill(0)
        conns[q]!.qp.postSend(wrFor(q, postedOn[q]!))
        slotOf.set(posted, [q, postedOn[q]! % slots])
        tposted[posted++] = now
        postedOn[q]!++
        inflight[q]!++
      }
      if (postedOn[q]! < perQp && now < end) more = true
    }
    const wcs = scq.poll(64)
    const tc = wcs.length ? vm.nowNs() : 0
    for (const wc of wcs) {
      checkWc(wc, `bw ${op}`)
      const id = Number(wc.wrId)
      const [q, s] = slotOf.get(id)!
      slotOf.delete(id)
      inflight[q]!--
      completed++
      tcompleted[id] = tc
      if (op === 'read' && !check(slotBytes(q, s), s)) throw new Error(`bw: RDMA READ ${id} returned wrong data`)
      if (op === 'atomic') {
        const v = new DataView(region.bytes.buffer, region.bytes.byteOffset + (q * slots + s) * size, 8).getBigUint64(0, true)
        const k = (BigInt(q) << 48n) | v
        if (fetched.has(k)) throw new Error(`bw: FETCH_AND_ADD returned ${v} twice on QP ${q}`)
        fetched.add(k)
      }
    }
    if (wcs.length) since = performance.now()
    if (!more && completed === posted) break
    if (!wcs.length) await idleCq(scq, since)
  }
  const elapsedNs = vm.nowNs() - t0
  // tell the server we are done (and how many WRs), wait for its verdict
  cv.setUint32(0, posted, true)
  conns[0]!.qp.postSend({wrId: 0, opcode: WrOpcode.SEND_WITH_IMM, immData: DONE_IMM, sendFlags: SendFlags.SIGNALED,
    sgList: [{addr: ctl.addr, length: 8, lkey: cmr.lkey}]})
  await pollCq(scq, 1, 'bw done message')
  await pollCq(rcq, 1, 'bw verdict')
  if (cv.getUint32(8, true) !== 1) throw new Error(`bw: the server found the ${op} data wrong`)
  await vm.publish(runKey(vm, 'bw-drained', vm.rank), true) // the done message and the verdict both completed
  await vm.waitFor(runKey(vm, 'bw-drained', 1), 60_000) // and the server's verdict was acknowledged
  for (const c of conns) await disconnect(c, true)
  const bytes = posted * size
  return {
    op, size, qps, txDepth, iterations: posted, verified: posted, elapsedNs,
    mbPerSec: bytes / (elapsedNs / 1e9) / 1048576, msgRateMpps: posted / (elapsedNs / 1e9) / 1e6,
    raw: durationMs > 0 ? {op, size, iters: posted, elapsedNs} : {op, size, tposted, tcompleted},
  }
}
