// A small key-value store served over one-sided RDMA READ (the Pilaf / FaRM pattern):
//   server (rank 1): registers a hash table as an MR and hands {addr, rkey} to the client in the private data of
//                    rdma_accept; applies PUTs that arrive as SENDs and acknowledges each with a SEND.
//   client (rank 0): GET = one RDMA READ of the key's probe window (no server CPU involved); PUT = SEND + ack.
// Bucket (64 B): u32 version | u8 used | u8 keyLen | u8 valLen | pad | key[24] | value[28] | u32 version.
// The server makes the version odd while it writes a bucket (a seqlock); a reader retries a torn or odd bucket.
//
//   masq run <lab> examples/workloads/kv-store.ts --vm A --peer B      (A is the client, B the server)
import {accept, connect, disconnect, listen, peerIp, pollCq, runKey, SendFlags, WrOpcode, type Connection,
  type Cq, type Mr, type Region, type WorkloadVm, decodeRemote, encodeRemote, CmEvent, WcStatus} from '../../src/workloads/sdk.js'

export const BUCKETS = 1024
export const BUCKET = 64
export const PROBE = 8 // linear probing window: one READ fetches it whole
const KEY_MAX = 24
const VAL_MAX = 28
const MSG = 64
const PORT = 7471
const enc = new TextEncoder()
const dec = new TextDecoder()

/** FNV-1a, 32 bits. */
export function hash(key: Uint8Array): number {
  let h = 0x811c9dc5
  for (const b of key) h = Math.imul(h ^ b, 0x01000193) >>> 0
  return h % BUCKETS
}

/** Find `key` in a probe window (PROBE buckets); undefined = not there, 'retry' = a bucket was being written. */
export function findInWindow(win: Uint8Array, key: Uint8Array): Uint8Array | undefined | 'retry' {
  const v = new DataView(win.buffer, win.byteOffset, win.byteLength)
  for (let i = 0; i < PROBE; i++) {
    const o = i * BUCKET
    const v0 = v.getUint32(o, true)
    if (v0 & 1 || v0 !== v.getUint32(o + 60, true)) return 'retry'
    if (!win[o + 4]) return undefined // an empty bucket ends the probe
    const kl = win[o + 5]!
    if (kl === key.length && win.subarray(o + 8, o + 8 + kl).every((b, j) => b === key[j])) {
      return win.slice(o + 32, o + 32 + win[o + 6]!)
    }
  }
  return undefined
}

/** The server's side of the table. */
class Table {
  constructor(readonly bytes: Uint8Array) {}
  put(key: Uint8Array, val: Uint8Array): number {
    const v = new DataView(this.bytes.buffer, this.bytes.byteOffset, this.bytes.byteLength)
    const h = hash(key)
    for (let i = 0; i < PROBE; i++) {
      const o = (h + i) * BUCKET
      const b = this.bytes
      const same = b[o + 4] && b[o + 5] === key.length && b.subarray(o + 8, o + 8 + key.length).every((x, j) => x === key[j])
      if (b[o + 4] && !same) continue
      const ver = v.getUint32(o, true)
      v.setUint32(o, ver + 1, true) // odd: being written
      v.setUint32(o + 60, ver + 1, true)
      b[o + 4] = 1
      b[o + 5] = key.length
      b[o + 6] = val.length
      b.fill(0, o + 8, o + 60)
      b.set(key, o + 8)
      b.set(val, o + 32)
      v.setUint32(o + 60, ver + 2, true)
      v.setUint32(o, ver + 2, true)
      return 0
    }
    return 1 // the probe window is full
  }
}

/** A client of the store: GET by RDMA READ, PUT by SEND. */
export class KvClient {
  private readonly remote: {remoteAddr: bigint; rkey: number}
  constructor(private readonly c: Connection, private readonly cq: Cq, private readonly mr: Mr, private readonly buf: Region) {
    this.remote = decodeRemote(c.privateData)
  }

  async get(key: string): Promise<string | undefined> {
    const k = enc.encode(key)
    const win = this.buf.bytes.subarray(0, PROBE * BUCKET)
    for (let attempt = 0; attempt < 100; attempt++) {
      this.c.qp.postSend({wrId: 1, opcode: WrOpcode.RDMA_READ, sendFlags: SendFlags.SIGNALED,
        sgList: [{addr: this.buf.addr, length: PROBE * BUCKET, lkey: this.mr.lkey}],
        rdma: {remoteAddr: this.remote.remoteAddr + BigInt(hash(k) * BUCKET), rkey: this.remote.rkey}})
      await pollCq(this.cq, 1, `GET ${key}`)
      const found = findInWindow(win, k)
      if (found !== 'retry') return found && dec.decode(found)
    }
    throw new Error(`GET ${key}: the bucket kept changing`)
  }

  async put(key: string, value: string): Promise<void> {
    const k = enc.encode(key)
    const v = enc.encode(value)
    if (k.length > KEY_MAX || v.length > VAL_MAX) throw new Error(`PUT ${key}: key ≤ ${KEY_MAX} and value ≤ ${VAL_MAX} bytes`)
    const out = this.buf.bytes.subarray(PROBE * BUCKET, PROBE * BUCKET + MSG)
    out.fill(0)
    out.set([1, k.length, v.length])
    out.set(k, 4)
    out.set(v, 4 + k.length)
    const off = BigInt(PROBE * BUCKET)
    this.c.qp.postRecv({wrId: 3, sgList: [{addr: this.buf.addr + off + BigInt(MSG), length: MSG, lkey: this.mr.lkey}]})
    this.c.qp.postSend({wrId: 2, opcode: WrOpcode.SEND, sendFlags: SendFlags.SIGNALED,
      sgList: [{addr: this.buf.addr + off, length: MSG, lkey: this.mr.lkey}]})
    await pollCq(this.cq, 2, `PUT ${key}`) // the SEND and the server's ack
    const status = this.buf.bytes[PROBE * BUCKET + MSG]
    if (status !== 0) throw new Error(`PUT ${key}: the server answered ${status} (1 = probe window full)`)
  }

  close(): Promise<void> {
    return disconnect(this.c, true)
  }
}

/** Connect to the store on `ip` (used by this module's client and by kv-client.ts). */
export async function openKv(vm: WorkloadVm, ip: string): Promise<KvClient> {
  const ctx = await vm.openDevice()
  const pd = await ctx.allocPd()
  const buf = vm.alloc(PROBE * BUCKET + 2 * MSG)
  const mr = await pd.regMr(buf, 1) // IBV_ACCESS_LOCAL_WRITE: READ results and acks land here
  const cq = await ctx.createCq(16)
  const c = await connect(vm, {ip, port: PORT, pd, sendCq: cq, recvCq: cq, cap: {maxSendWr: 4, maxRecvWr: 4}})
  return new KvClient(c, cq, mr, buf)
}

/** Serve one client until it disconnects. Returns the number of PUTs applied. */
export async function serveKv(vm: WorkloadVm): Promise<number> {
  const ctx = await vm.openDevice()
  const pd = await ctx.allocPd()
  const table = vm.alloc((BUCKETS + PROBE) * BUCKET) // PROBE spare buckets: a window never wraps
  const tmr = await pd.regMr(table, 1 | 4) // IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_READ
  const msgs = vm.alloc(2 * MSG)
  const mmr = await pd.regMr(msgs, 1)
  const cq = await ctx.createCq(16)
  const l = listen(vm, PORT)
  await vm.publish(runKey(vm, 'kv-listening'), true)
  const recvWr = {wrId: 1, sgList: [{addr: msgs.addr, length: MSG, lkey: mmr.lkey}]}
  const c = await accept(l, {pd, sendCq: cq, recvCq: cq, cap: {maxSendWr: 4, maxRecvWr: 4}, privateData: encodeRemote(tmr),
    beforeAccept: (qp) => qp.postRecv(recvWr)})
  l.id.destroy()
  const t = new Table(table.bytes)
  let gone = false
  const disconnected = c.events.expect(c.id, CmEvent.DISCONNECTED, 3_600_000).then(() => (gone = true))
  let puts = 0
  while (!gone) {
    for (const wc of cq.poll(4)) {
      if (wc.status === WcStatus.WR_FLUSH_ERR) gone = true // the client disconnected: the QP is in ERR
      if (gone) break
      if (wc.status !== WcStatus.SUCCESS) throw new Error(`kv server: work completion status ${wc.status}`)
      if (wc.wrId !== 1n) continue // our ack's completion
      const m = msgs.bytes
      const kl = m[1]!
      const vl = m[2]!
      const status = m[0] === 1 && kl <= KEY_MAX && vl <= VAL_MAX ? t.put(m.slice(4, 4 + kl), m.slice(4 + kl, 4 + kl + vl)) : 2
      if (status === 0) puts++
      c.qp.postRecv(recvWr)
      m[MSG] = status
      c.qp.postSend({wrId: 2, opcode: WrOpcode.SEND, sendFlags: SendFlags.SIGNALED, sgList: [{addr: msgs.addr + BigInt(MSG), length: 1, lkey: mmr.lkey}]})
    }
    await cq.wait(5)
  }
  await disconnected
  await c.qp.destroy()
  c.id.destroy()
  return puts
}

/** The workload: rank 1 serves, rank 0 runs a short self-checking session. options.keys: how many keys (20). */
export default async function kvStore(vm: WorkloadVm, options: {keys?: number}): Promise<unknown> {
  if (vm.rank !== 0) return {role: 'server', puts: await serveKv(vm)}
  await vm.waitFor(runKey(vm, 'kv-listening'), 60_000)
  const kv = await openKv(vm, peerIp(vm))
  const n = Number(options.keys ?? 20)
  for (let i = 0; i < n; i++) await kv.put(`key-${i}`, `value-${i * i}`)
  let hits = 0
  for (let i = 0; i < n; i++) if ((await kv.get(`key-${i}`)) === `value-${i * i}`) hits++
  await kv.put('key-0', 'changed')
  const changed = await kv.get('key-0')
  const missing = await kv.get('no-such-key')
  await kv.close()
  return {ok: hits === n && changed === 'changed' && missing === undefined, keys: n, hits, changed, missing: missing ?? null}
}
