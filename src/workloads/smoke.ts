// Built-in `smoke`: two VMs on (usually) different hosts connect RC QPs through the controller's rendezvous, then
// the client runs SEND, RDMA WRITE and RDMA READ of several sizes (sub-MTU, one MTU, multi-MTU) against the server,
// and both sides verify the bytes. Result: one entry per operation, and ok when every one arrived intact.
import {SendFlags, WcStatus, WrOpcode} from '../rdma-constants.js'
import type {Cq, Wc} from '../verbs/index.js'
import {until, type WorkloadContext} from './api.js'
import {connectRc, REMOTE_ALL} from './connect.js'

const SIZES = [1, 64, 4096, 3 * 4096 + 7, 65536]
const REGIONS = 5 // send | recv | write target | read source | read destination
const STATUS_NAME = Object.fromEntries(Object.entries(WcStatus).map(([k, v]) => [v, k])) as Record<number, string>

export interface OpResult {op: 'SEND' | 'RDMA_WRITE' | 'RDMA_READ'; size: number; ok: boolean; us: number; status?: string; side: string}

/** Byte i of the payload of (op, size): both sides compute it, so the receiver can verify. */
function pattern(bytes: Uint8Array, seed: number): void {
  for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 31 + seed * 7 + (i >> 8)) & 255
}
function matches(bytes: Uint8Array, seed: number): boolean {
  for (let i = 0; i < bytes.length; i++) if (bytes[i] !== ((i * 31 + seed * 7 + (i >> 8)) & 255)) return false
  return true
}

async function completion(cq: Cq, timeoutMs: number, what: string): Promise<Wc> {
  let wc: Wc[] = []
  await until(() => (wc = cq.poll(1)).length > 0, timeoutMs, what)
  return wc[0]!
}

export default async function smoke(vm: WorkloadContext): Promise<unknown> {
  const timeoutMs = Number(vm.params.timeoutMs ?? 20_000)
  let sizes = SIZES
  while (sizes.length > 1 && REGIONS * sizes.reduce((a, b) => a + b, 0) > vm.memory.size - 4096) sizes = sizes.slice(0, -1)
  const offs: number[] = []
  let total = 0
  for (const s of sizes) {
    offs.push(total)
    total += s
  }
  const ctx = await vm.openDevice()
  const pd = await ctx.allocPd()
  const buf = vm.memory.alloc(REGIONS * total)
  const mr = await pd.regMr(buf, REMOTE_ALL)
  const cq = await ctx.createCq(64)
  const qp = await pd.createQp({type: 'RC', sendCq: cq, recvCq: cq, cap: {maxSendWr: 16, maxRecvWr: 16}})
  const region = (r: number, i: number) => ({off: r * total + offs[i]!, bytes: buf.bytes.subarray(r * total + offs[i]!, r * total + offs[i]! + sizes[i]!)})
  const addr = (base: bigint, r: number, i: number) => base + BigInt(r * total + offs[i]!)
  const sge = (r: number, i: number) => ({addr: addr(mr.addr, r, i), length: sizes[i]!, lkey: mr.lkey})
  sizes.forEach((s, i) => pattern(region(3, i).bytes, 300 + s)) // what the peer will READ from us
  const peer = await connectRc(vm, ctx, qp, mr)
  const key = (what: string, who = vm.vm.name) => `${vm.runId}/${what}/${who}`
  const ops: OpResult[] = []
  const side = vm.vm.name

  if (vm.role === 'server') {
    sizes.forEach((_, i) => qp.postRecv({wrId: i, sgList: [sge(1, i)]}))
    await vm.publish(key('recv-ready'), true)
    for (let k = 0; k < sizes.length; k++) {
      const wc = await completion(cq, timeoutMs, 'a SEND')
      const i = Number(wc.wrId)
      const ok = wc.status === WcStatus.SUCCESS && wc.byteLen === sizes[i] && matches(region(1, i).bytes, 100 + sizes[i]!)
      ops.push({op: 'SEND', size: sizes[i] ?? -1, ok, us: 0, status: STATUS_NAME[wc.status], side})
    }
    await vm.waitFor(key('writes-done', vm.peer!.name), timeoutMs)
    sizes.forEach((s, i) => ops.push({op: 'RDMA_WRITE', size: s, ok: matches(region(2, i).bytes, 200 + s), us: 0, side}))
    await vm.publish(key('verified'), ops)
    return {ok: ops.every((o) => o.ok), ops}
  }

  // client: wait until the server's receives are posted (else RNR retries, which work but slow the smoke down)
  await vm.waitFor(key('recv-ready', vm.peer!.name), timeoutMs)
  const peerAddr = BigInt(peer.addr)
  const run = async (op: OpResult['op'], i: number, post: () => void, verify: () => boolean): Promise<boolean> => {
    const t0 = performance.now()
    post()
    const wc = await completion(cq, timeoutMs, `${op} of ${sizes[i]} bytes`)
    const ok = wc.status === WcStatus.SUCCESS && verify()
    ops.push({op, size: sizes[i]!, ok, us: Math.round((performance.now() - t0) * 1000), status: STATUS_NAME[wc.status], side})
    return ok
  }
  let ok = true
  for (let i = 0; i < sizes.length && ok; i++) {
    pattern(region(0, i).bytes, 100 + sizes[i]!)
    ok = await run('SEND', i, () => qp.postSend({wrId: i, opcode: WrOpcode.SEND, sendFlags: SendFlags.SIGNALED, sgList: [sge(0, i)]}), () => true)
  }
  for (let i = 0; i < sizes.length && ok; i++) {
    pattern(region(0, i).bytes, 200 + sizes[i]!)
    ok = await run('RDMA_WRITE', i, () => qp.postSend({wrId: i, opcode: WrOpcode.RDMA_WRITE, sendFlags: SendFlags.SIGNALED, sgList: [sge(0, i)],
      rdma: {remoteAddr: addr(peerAddr, 2, i), rkey: peer.rkey}}), () => true)
  }
  await vm.publish(key('writes-done'), ok)
  for (let i = 0; i < sizes.length && ok; i++) {
    region(4, i).bytes.fill(0)
    ok = await run('RDMA_READ', i, () => qp.postSend({wrId: i, opcode: WrOpcode.RDMA_READ, sendFlags: SendFlags.SIGNALED, sgList: [sge(4, i)],
      rdma: {remoteAddr: addr(peerAddr, 3, i), rkey: peer.rkey}}), () => matches(region(4, i).bytes, 300 + sizes[i]!))
  }
  const server = ok ? await vm.waitFor<OpResult[]>(key('verified', vm.peer!.name), timeoutMs) : []
  const all = [...ops, ...server]
  return {ok: ok && all.every((o) => o.ok), mtu: 128 << ctx.info.maxMtu, ops: all}
}
