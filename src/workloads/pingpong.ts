// Built-in `pingpong`: latency of SEND / RDMA WRITE / RDMA READ / ATOMIC between two VMs connected with rdma_cm,
// perftest semantics (ib_{send,write,read,atomic}_lat): send and write are ping-pongs (the report halves the
// round trip), read and atomic are request-response (the full round trip). Every message is verified.
// options: op (send|write|read|atomic, default write), size (2; atomic 8), iters (1000), warmup (100), port.
// The client (rank 0) returns raw samples for src/bench/collect.ts (RawLat) and a perftest latency row.
import {latReport, type PerftestVerb} from '../bench/perftest-stats.js'
import {SendFlags, WrOpcode} from '../rdma-constants.js'
import type {Cq, Mr, Qp, Region} from '../verbs/index.js'
import type {WorkloadVm} from './api.js'
import {accept, checkWc, connect, decodeRemote, disconnect, encodeRemote, listen, numOpt, peerIp, pollCq, runKey, waitUntil} from './rdma.js'

export const OPS: readonly PerftestVerb[] = ['send', 'write', 'read', 'atomic']
export const REMOTE_ALL_ATOMIC = 1 | 2 | 4 | 8 // IBV_ACCESS_LOCAL_WRITE | REMOTE_WRITE | REMOTE_READ | REMOTE_ATOMIC

export function parseOp(v: unknown, def: PerftestVerb = 'write'): PerftestVerb {
  const op = (v ?? def) as PerftestVerb
  if (!OPS.includes(op)) throw new Error(`option op: one of ${OPS.join(', ')} (got ${String(v)})`)
  return op
}

/** Payload of iteration i: a pattern, and a non-zero tag in the last byte (write_lat polls it). */
export function fillPayload(b: Uint8Array, i: number): void {
  const n = b.length
  for (let k = 0; k < n - 1; k++) b[k] = (i * 31 + k * 7 + 1) & 255
  b[n - 1] = tagOf(i)
}
export function payloadOk(b: Uint8Array, i: number): boolean {
  const n = b.length
  for (let k = 0; k < n - 1; k++) if (b[k] !== ((i * 31 + k * 7 + 1) & 255)) return false
  return b[n - 1] === tagOf(i)
}
const tagOf = (i: number) => (i % 255) + 1

interface Side {qp: Qp; scq: Cq; rcq: Cq; mr: Mr; tx: Region; rx: Region; remote: {remoteAddr: bigint; rkey: number}}

export default async function pingpong(vm: WorkloadVm, options: Record<string, unknown>): Promise<unknown> {
  const op = parseOp(options.op)
  const size = op === 'atomic' ? 8 : numOpt(options, 'size', 2)
  const iters = numOpt(options, 'iters', 1000)
  const warmup = numOpt(options, 'warmup', 100)
  const port = numOpt(options, 'port', 18515)
  if (size < 1 || iters < 3) throw new Error('pingpong: size ≥ 1 and iters ≥ 3')
  const total = warmup + iters
  const server = vm.rank !== 0
  const ctx = await vm.openDevice()
  const pd = await ctx.allocPd()
  const stride = Math.ceil(size / 64) * 64
  const buf = vm.alloc(2 * stride)
  const tx = buf.mem.region(buf.offset, size)
  const rx = buf.mem.region(buf.offset + stride, size)
  const mr = await pd.regMr(buf, REMOTE_ALL_ATOMIC)
  const scq = await ctx.createCq(64)
  const rcq = await ctx.createCq(64)
  const cap = {maxSendWr: 32, maxRecvWr: 32}
  const RECVS = 16
  const recvWr = {wrId: 0n, sgList: [{addr: rx.addr, length: size, lkey: mr.lkey}]}
  const postRecvs = (qp: Qp) => {
    if (op === 'send') for (let i = 0; i < RECVS; i++) qp.postRecv(recvWr)
  }
  // the peer gets {addr, rkey} of our rx region: in REQ private data one way, REP private data the other
  const mine = encodeRemote(mr, stride)
  const key = runKey(vm, 'pingpong-listening')

  let conn
  if (server) {
    const l = listen(vm, port)
    if (op === 'read') fillPayload(rx.bytes, 0) // what READs fetch; for atomic, rx (zeroed) is the counter
    await vm.publish(key, true)
    conn = await accept(l, {pd, sendCq: scq, recvCq: rcq, cap, privateData: mine, beforeAccept: postRecvs})
    l.id.destroy()
  } else {
    await vm.waitFor(key, 60_000)
    conn = await connect(vm, {ip: peerIp(vm), port, pd, sendCq: scq, recvCq: rcq, cap, privateData: mine})
    postRecvs(conn.qp)
  }
  const side: Side = {qp: conn.qp, scq, rcq, mr, tx, rx, remote: decodeRemote(conn.privateData)}
  // both sides must have posted their receives before the first SEND (else an RNR wait)
  await vm.publish(runKey(vm, 'pingpong-ready', vm.rank), true)
  await vm.waitFor(runKey(vm, 'pingpong-ready', server ? 0 : 1), 60_000)

  if (server) {
    if (op === 'send' || op === 'write') await echo(side, op, size, total)
    // Nobody disconnects before both sides' last sends are acknowledged: on a lossy fabric a lost ACK leaves a
    // delivered message unacknowledged for a retransmit timeout, and a DREQ would flush it (WR_FLUSH_ERR).
    await vm.publish(runKey(vm, 'pingpong-drained', vm.rank), true)
    await vm.waitFor(runKey(vm, 'pingpong-drained', 0), 120_000)
    await disconnect(conn, false, 120_000)
    return {role: 'server', op, size, verified: op === 'send' || op === 'write' ? total : 0}
  }
  const samplesNs = await measure(vm, side, op, size, total)
  await waitUntil(() => (reap(scq), conn.qp.sq.producer() === conn.qp.sq.consumer()), 'the last message to complete')
  await vm.publish(runKey(vm, 'pingpong-drained', vm.rank), true)
  await vm.waitFor(runKey(vm, 'pingpong-drained', 1), 120_000)
  await disconnect(conn, true)
  const measured = samplesNs.slice(warmup)
  const row = latReport(measured, {size, verb: op})
  return {op, size, iters, warmup, verified: total, raw: {op, size, samplesNs: measured}, lat: row}
}

/** Client: time `total` round trips, checking every reply. */
async function measure(vm: WorkloadVm, s: Side, op: PerftestVerb, size: number, total: number): Promise<number[]> {
  const samples: number[] = []
  const sg = [{addr: s.tx.addr, length: size, lkey: s.mr.lkey}]
  const rsg = [{addr: s.rx.addr, length: size, lkey: s.mr.lkey}]
  const counter = new DataView(s.tx.bytes.buffer, s.tx.bytes.byteOffset, 8)
  for (let i = 0; i < total; i++) {
    reap(s.scq)
    const t0 = vm.nowNs()
    if (op === 'send' || op === 'write') {
      fillPayload(s.tx.bytes, i)
      s.qp.postSend(op === 'send'
        ? {wrId: i, opcode: WrOpcode.SEND, sendFlags: SendFlags.SIGNALED, sgList: sg}
        : {wrId: i, opcode: WrOpcode.RDMA_WRITE, sendFlags: SendFlags.SIGNALED, sgList: sg, rdma: s.remote})
      await arrival(s, op, i)
    } else if (op === 'read') {
      s.rx.bytes.fill(0)
      s.qp.postSend({wrId: i, opcode: WrOpcode.RDMA_READ, sendFlags: SendFlags.SIGNALED, sgList: rsg, rdma: s.remote})
      await pollCq(s.scq, 1, 'RDMA READ')
      if (!payloadOk(s.rx.bytes, 0)) throw new Error(`RDMA READ ${i}: the data read differs from the server's buffer`)
    } else {
      s.qp.postSend({wrId: i, opcode: WrOpcode.ATOMIC_FETCH_AND_ADD, sendFlags: SendFlags.SIGNALED, sgList: sg,
        atomic: {remoteAddr: s.remote.remoteAddr, compareAdd: 1n, rkey: s.remote.rkey}})
      await pollCq(s.scq, 1, 'ATOMIC FETCH_AND_ADD')
      const old = counter.getBigUint64(0, true)
      if (old !== BigInt(i)) throw new Error(`ATOMIC FETCH_AND_ADD ${i}: fetched ${old}, expected ${i}`)
    }
    samples.push(vm.nowNs() - t0)
  }
  return samples
}

/** Server: wait for each message, check it, send it back the same way. */
async function echo(s: Side, op: 'send' | 'write', size: number, total: number): Promise<void> {
  const sg = [{addr: s.tx.addr, length: size, lkey: s.mr.lkey}]
  for (let i = 0; i < total; i++) {
    await arrival(s, op, i)
    reap(s.scq)
    s.tx.bytes.set(s.rx.bytes)
    s.qp.postSend(op === 'send'
      ? {wrId: i, opcode: WrOpcode.SEND, sendFlags: SendFlags.SIGNALED, sgList: sg}
      : {wrId: i, opcode: WrOpcode.RDMA_WRITE, sendFlags: SendFlags.SIGNALED, sgList: sg, rdma: s.remote})
  }
  await waitUntil(() => (reap(s.scq), s.qp.sq.producer() === s.qp.sq.consumer()), 'the last reply to complete')
}

/** Message i has arrived in rx (a receive completion for SEND, the tag byte for WRITE) and is intact. */
async function arrival(s: Side, op: 'send' | 'write', i: number): Promise<void> {
  const last = s.rx.bytes.length - 1
  const tag = tagOf(i)
  if (op === 'send') {
    const [wc] = await pollCq(s.rcq, 1, `SEND ${i}`)
    if (wc!.byteLen !== s.rx.bytes.length) throw new Error(`SEND ${i}: ${wc!.byteLen} bytes, expected ${s.rx.bytes.length}`)
    s.qp.postRecv({wrId: BigInt(i), sgList: [{addr: s.rx.addr, length: s.rx.length, lkey: s.mr.lkey}]})
  } else {
    await waitUntil(() => Atomics.load(s.rx.bytes, last) === tag, `RDMA WRITE ${i}`)
  }
  if (!payloadOk(s.rx.bytes, i)) throw new Error(`${op.toUpperCase()} ${i}: the payload arrived corrupted`)
}

/** Consume send completions, failing on an error status. */
function reap(cq: Cq): void {
  for (const wc of cq.poll(16)) checkWc(wc, 'send queue')
}
