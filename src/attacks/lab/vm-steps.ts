// Scenario steps that run inside a lab VM (a workload module, started by the host agent's `run` RPC exactly like
// `masq run`): the attacker's and the victim's verbs and rdma_cm calls go through the VM's real frontend, virtio
// channel, MasQ backend and CM agent. `params.step` names the step; each returns a StepRecord (probes,
// invariants, controls, data). Every object a step creates is released when it returns (a process exit), so the
// host's object counts come back to their baseline. Rendezvous keys are prefixed with `params.tag`.
import {Access, CmEvent, QpAttrMask as M, QpState, QpType, SendFlags, WcStatus, WrOpcode} from '../../rdma-constants.js'
import {isRnicError} from '../../rnic/rnic.js'
import {type CommandName, type ControlChannel} from '../../verbs/channel.js'
import {type Context, type Cq, type Mr, openDevice, type Pd, type Qp, type Region, VerbsError} from '../../verbs/index.js'
import {completeContext, type WorkloadContext, type WorkloadVm} from '../../workloads/api.js'
import {accept, CmEvents, connect, EVENT_NAMES, listen, waitUntil} from '../../workloads/rdma.js'
import {checksum, errnoName, errnoOf, qpState, sha256, statusName} from '../ops.js'
import {StepRecorder} from './record.js'

type Step = (vm: WorkloadVm, rec: StepRecorder, dev: Device) => Promise<void>

const RTR_MASK = M.STATE | M.AV | M.PATH_MTU | M.DEST_QPN | M.RQ_PSN | M.MAX_DEST_RD_ATOMIC | M.MIN_RNR_TIMER
const INIT_MASK = M.STATE | M.PKEY_INDEX | M.PORT | M.ACCESS_FLAGS
const CAP = {maxSendWr: 16, maxRecvWr: 16, maxSendSge: 1, maxRecvSge: 1}
const DENIED = new Set(['EINVAL', 'ENOENT', 'EPERM'])
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** A control channel that remembers what it created, so the step releases it like a process exit (QPs first). */
class Tracking implements ControlChannel {
  private readonly made: Array<{kind: 'pd' | 'mr' | 'cq' | 'qp'; id: number}> = []
  constructor(readonly inner: ControlChannel) {}

  async call<K extends CommandName>(cmd: K, ...args: any[]): Promise<any> {
    const r = await (this.inner.call as (c: string, ...a: unknown[]) => Promise<any>)(cmd, ...args)
    if (isRnicError(r)) return r
    const drop = (kind: string, id: unknown) => {
      const i = this.made.findIndex((c) => c.kind === kind && c.id === id)
      if (i >= 0) this.made.splice(i, 1)
    }
    switch (cmd) {
      case 'allocPd': this.made.push({kind: 'pd', id: r.pdn}); break
      case 'regMr': this.made.push({kind: 'mr', id: r.mrIndex}); break
      case 'createCq': this.made.push({kind: 'cq', id: r.cqn}); break
      case 'createQp': this.made.push({kind: 'qp', id: r.qpn}); break
      case 'deallocPd': drop('pd', args[0]); break
      case 'deregMr': drop('mr', args[0]); break
      case 'destroyCq': drop('cq', args[0]); break
      case 'destroyQp': drop('qp', args[0]); break
    }
    return r
  }

  /** a QP rdma_create_qp made through the CM request (ControlChannel.adopt) is released like one made here */
  adopt(kind: 'qp', handle: number): void {
    this.made.push({kind, id: handle})
    this.inner.adopt?.(kind, handle)
  }

  async release(): Promise<void> {
    const cmd = {qp: 'destroyQp', mr: 'deregMr', cq: 'destroyCq', pd: 'deallocPd'} as const
    for (const kind of ['qp', 'mr', 'cq', 'pd'] as const) {
      for (const c of this.made.filter((x) => x.kind === kind)) await this.inner.call(cmd[kind] as 'destroyQp', c.id).catch(() => undefined)
    }
    this.made.length = 0
  }
}

/** The step's device: a verbs context whose objects are released at the end, and the raw channel (forged calls). */
class Device {
  private tracking?: Tracking
  ctx!: Context
  constructor(private readonly vm: WorkloadVm) {}

  async open(): Promise<Context> {
    const base = await this.vm.openDevice()
    this.tracking = new Tracking(base.channel)
    this.ctx = await openDevice(this.tracking, {memory: this.vm.memory})
    return this.ctx
  }
  get channel(): ControlChannel {
    return this.tracking!
  }
  release(): Promise<void> {
    return this.tracking?.release() ?? Promise.resolve()
  }
}

interface Ep {ctx: Context; pd: Pd; cq: Cq; buf: Region; mr: Mr}

async function ep(dev: Device, vm: WorkloadVm, bytes = 8192, access: number = Access.LOCAL_WRITE): Promise<Ep> {
  const ctx = await dev.open()
  const pd = await ctx.allocPd()
  const cq = await ctx.createCq(64)
  const buf = vm.alloc(bytes, 4096)
  return {ctx, pd, cq, buf, mr: await pd.regMr(buf, access)}
}

const errnoText = (e: unknown): string => (e instanceof VerbsError ? errnoName(e.errno) : e instanceof Error ? e.message : String(e))

/**
 * rdma_cm connect attempt (rdma_cm.7's active side): the first event that is not a step forward (ADDR_ERROR,
 * REJECTED, ...) or ESTABLISHED. A refused attempt releases its QP (rdma_destroy_qp) and id, as an application would.
 */
async function tryConnect(vm: WorkloadVm, e: Ep, ip: string, port: number, timeoutMs = 20_000): Promise<{event: string; status: number; qp?: Qp}> {
  const cm = vm.cm!
  const events = new CmEvents(cm, cm.createEventChannel())
  const id = cm.createId(events.channel, null)
  let qp: Qp | undefined
  const step = async (want: number) => {
    const ev = await events.next((x) => x.id === id, EVENT_NAMES[want]!, timeoutMs)
    return ev.event === want ? undefined : {event: ev.name, status: ev.status}
  }
  try {
    id.resolveAddr(undefined, {ip, port})
    const a = await step(CmEvent.ADDR_RESOLVED)
    if (a) return a
    id.resolveRoute()
    const r = await step(CmEvent.ROUTE_RESOLVED)
    if (r) return r
    qp = await id.createQp(e.pd, {sendCq: e.cq, recvCq: e.cq, cap: CAP})
    await id.connect({responderResources: 4, initiatorDepth: 4, retryCount: 7, rnrRetryCount: 7})
    const c = await step(CmEvent.ESTABLISHED)
    if (c) return c
    return {event: 'ESTABLISHED', status: 0, qp}
  } catch (err) {
    return {event: `error: ${(err as Error).message}`, status: -1}
  } finally {
    const failed = !(qp && (await qpState(qp)) === 'RTS')
    if (failed) {
      await qp?.destroy().catch(() => undefined)
      id.destroy()
    }
  }
}

async function pollOne(cq: Cq, timeoutMs = 10_000): Promise<number | undefined> {
  const end = Date.now() + timeoutMs
  while (Date.now() < end) {
    const wc = cq.poll(1)
    if (wc.length) return wc[0]!.status
    await cq.wait(5)
  }
  return undefined
}

// ---------------------------------------------------------------------------------------------------------------
// The victim: blue2 serves (canary MR with guard bytes, checksummed receives), blue1 drives RC traffic to it.
// Both publish their status under <tag>/victim/{server,client} after every round until <tag>/victim/stop.

const DATA_BYTES = 3000
const GUARD = 256
const CANARY = 4096

const victimServer: Step = async (vm, rec, dev) => {
  const tag = String(vm.params.tag)
  const e = await ep(dev, vm, 8192)
  const dst = vm.alloc(DATA_BYTES, 4096)
  const dstMr = await e.pd.regMr(dst, Access.LOCAL_WRITE | Access.REMOTE_WRITE)
  const before = vm.alloc(GUARD, 4096)
  const canary = vm.alloc(CANARY, 1)
  const after = vm.alloc(GUARD, 1)
  for (const r of [before, canary, after]) for (let i = 0; i < r.length; i++) r.bytes[i] = (Math.random() * 256) | 0
  const canaryMr = await e.pd.regMr(canary, Access.LOCAL_WRITE | Access.REMOTE_WRITE | Access.REMOTE_READ | Access.REMOTE_ATOMIC)
  const l = listen(vm, Number(vm.params.port))
  let stop = false
  void vm.waitFor(`${tag}/victim/stop`, 3_600_000).then(() => (stop = true), () => (stop = true))
  const blob = new Uint8Array(12)
  new DataView(blob.buffer).setBigUint64(0, dst.addr)
  new DataView(blob.buffer).setUint32(8, dstMr.rkey)
  const post = (qp: Qp) => qp.postRecv({wrId: 1n, sgList: [{addr: e.buf.addr, length: 64, lkey: e.mr.lkey}]})
  await vm.publish(`${tag}/victim/listening`, true)
  const c = await accept(l, {pd: e.pd, sendCq: e.cq, recvCq: e.cq, cap: CAP, privateData: blob, beforeAccept: (qp) => post(qp)})
  const hashes = () => ({canary: sha256(canary.bytes), guards: sha256(before.bytes) + sha256(after.bytes)})
  const status = {verified: 0, failures: [] as string[], qpState: 'RTS', qpn: c.qp.qpn, pdn: e.pd.pdn, cqn: e.cq.cqn,
    canaryIndex: canaryMr.index, canaryRkey: canaryMr.rkey, canaryAddr: String(canaryMr.addr), ...hashes()}
  await vm.publish(`${tag}/victim/server`, status)
  let seq = 0
  while (!stop) {
    const wc = e.cq.poll(1)[0]
    if (!wc) {
      await e.cq.wait(20)
      continue
    }
    if (wc.wrId === 3n && wc.status === WcStatus.SUCCESS) continue // an ack went out
    if (wc.status !== WcStatus.SUCCESS) {
      status.failures.push(`${wc.wrId === 3n ? 'ack' : 'receive'} ${seq}: ${statusName(wc.status)}`)
      status.qpState = await qpState(c.qp)
      await vm.publish(`${tag}/victim/server`, {...status, ...hashes()})
      break
    }
    const dv = new DataView(e.buf.bytes.buffer, e.buf.bytes.byteOffset, 8)
    const got = dv.getUint32(0)
    const crc = dv.getUint32(4)
    if (got !== seq || crc !== checksum(dst.bytes)) status.failures.push(`round ${seq}: checksum mismatch (seq ${got})`)
    else status.verified++
    seq++
    post(c.qp)
    // the ack lets the client WRITE the next round: it must not overwrite data that is not verified yet
    c.qp.postSend({wrId: 3n, opcode: WrOpcode.SEND, sendFlags: SendFlags.SIGNALED, sgList: [{addr: e.buf.addr + 128n, length: 4, lkey: e.mr.lkey}]})
    status.qpState = await qpState(c.qp)
    await vm.publish(`${tag}/victim/server`, {...status, ...hashes()})
  }
  rec.data = {...status, ...hashes()}
}

const victimClient: Step = async (vm, rec, dev) => {
  const tag = String(vm.params.tag)
  const e = await ep(dev, vm, DATA_BYTES + 64)
  let stop = false
  void vm.waitFor(`${tag}/victim/stop`, 3_600_000).then(() => (stop = true), () => (stop = true))
  await vm.waitFor(`${tag}/victim/listening`, 30_000)
  const c = await connect(vm, {ip: String(vm.params.dst), port: Number(vm.params.port), pd: e.pd, sendCq: e.cq, recvCq: e.cq, cap: CAP})
  const dv = new DataView(c.privateData.buffer, c.privateData.byteOffset, 12)
  const remote = {addr: dv.getBigUint64(0), rkey: dv.getUint32(8)}
  const data = e.buf.bytes.subarray(0, DATA_BYTES)
  const msg = e.buf.addr + BigInt(DATA_BYTES)
  const status = {rounds: 0, failures: [] as string[], qpState: 'RTS', qpn: c.qp.qpn}
  const pace = Number(vm.params.paceMs ?? 20)
  for (let seq = 0; !stop; seq++) {
    for (let i = 0; i < DATA_BYTES; i++) data[i] = (Math.random() * 256) | 0
    new DataView(e.buf.bytes.buffer, e.buf.bytes.byteOffset + DATA_BYTES, 8).setUint32(0, seq)
    new DataView(e.buf.bytes.buffer, e.buf.bytes.byteOffset + DATA_BYTES, 8).setUint32(4, checksum(data))
    c.qp.postRecv({wrId: 4n, sgList: [{addr: msg + 16n, length: 16, lkey: e.mr.lkey}]}) // the server's ack
    c.qp.postSend([
      {wrId: 1n, opcode: WrOpcode.RDMA_WRITE, sgList: [{addr: e.buf.addr, length: DATA_BYTES, lkey: e.mr.lkey}], rdma: {remoteAddr: remote.addr, rkey: remote.rkey}},
      {wrId: 2n, opcode: WrOpcode.SEND, sendFlags: SendFlags.SIGNALED, sgList: [{addr: msg, length: 8, lkey: e.mr.lkey}]},
    ])
    let st = await pollOne(e.cq, 10_000)
    if (st === WcStatus.SUCCESS) st = await pollOne(e.cq, 10_000)
    if (st !== WcStatus.SUCCESS) {
      status.failures.push(`round ${seq}: ${st === undefined ? 'no completion' : statusName(st)}`)
      status.qpState = await qpState(c.qp)
      await vm.publish(`${tag}/victim/client`, status)
      break
    }
    status.rounds++
    status.qpState = await qpState(c.qp)
    await vm.publish(`${tag}/victim/client`, status)
    await sleep(pace)
  }
  rec.data = status
}

// ---------------------------------------------------------------------------------------------------------------
// C09: forged / foreign handles. The attacker's table is empty when it forges (so a victim's handle number cannot
// be one of its own); its own objects come after, for the positive control.

const c09: Step = async (vm, rec, dev) => {
  const v = vm.params.victim as {qpn: number; pdn: number; cqn: number; canaryIndex: number}
  const ctx = await dev.open()
  const ch = dev.channel
  const region = vm.alloc(4096, 4096)
  const cap = {...CAP, maxInlineData: 0}
  const mem = {memory: new SharedArrayBuffer(8), offset: region.offset, length: 4096, iova: region.addr, access: Access.LOCAL_WRITE}
  const attempts: Array<[string, () => Promise<unknown>]> = [
    ['query_qp(victim QPN)', () => ch.call('queryQp', v.qpn)],
    ['reg_mr in the victim PD', () => ch.call('regMr', {...mem, pdn: v.pdn})],
    ['create_qp in the victim PD on the victim CQ', () => ch.call('createQp', {pdn: v.pdn, type: QpType.RC, sendCqn: v.cqn, recvCqn: v.cqn, cap})],
    ['modify_qp(victim QPN → ERR)', () => ch.call('modifyQp', v.qpn, {qpState: QpState.ERR}, M.STATE)],
    ['dereg_mr(victim canary)', () => ch.call('deregMr', v.canaryIndex)],
    ['destroy_qp(victim QPN)', () => ch.call('destroyQp', v.qpn)],
    ['destroy_cq(victim CQ)', () => ch.call('destroyCq', v.cqn)],
    ['dealloc_pd(victim PD)', () => ch.call('deallocPd', v.pdn)],
    ['dealloc_pd(2^32-1)', () => ch.call('deallocPd', 0xffffffff)],
    ['reg_mr with a string PD handle', () => ch.call('regMr', {...mem, pdn: 'x' as unknown as number})],
  ]
  for (const [name, fn] of attempts) {
    const r = await fn()
    const got = isRnicError(r) ? errnoName(r.errno) : 'OK'
    rec.probe({name, want: 'denied', expected: 'EINVAL/ENOENT/EPERM, no side effect', observed: got, ok: DENIED.has(got)})
  }
  // positive control: the same verbs on its own handles work
  const pd = await ctx.allocPd()
  const cq = await ctx.createCq(8)
  const own = await pd.createQp({type: 'RC', sendCq: cq, recvCq: cq, cap: CAP})
  rec.control('query_qp on its own QP succeeds', (await errnoOf(own.query())) === 'OK')
  rec.control('reg_mr in its own PD succeeds', (await errnoOf(pd.regMr(region, Access.LOCAL_WRITE))) === 'OK')
}

// C11: modify_qp(RTR) naming the victim's QPN behind a vIP of the attacker's own VPC on the victim's host. The
// probe stops at RTR: it never sends to the victim's QP.
const c11: Step = async (vm, rec, dev) => {
  const v = vm.params.victim as {qpn: number}
  const via = String(vm.params.via) // a vIP of the attacker's VPC that lives on the victim's host
  const e = await ep(dev, vm)
  const init = async () => {
    const qp = await e.pd.createQp({type: 'RC', sendCq: e.cq, recvCq: e.cq, cap: CAP})
    await qp.modify({qpState: QpState.INIT, pkeyIndex: 0, portNum: 1, qpAccessFlags: 0}, INIT_MASK)
    return qp
  }
  const rtr = (destQpNum: number) => ({qpState: QpState.RTR, pathMtu: 3, destQpNum, rqPsn: 0, maxDestRdAtomic: 1, minRnrTimer: 12,
    ahAttr: {dgid: `::ffff:${via}`, sgidIndex: 0}})
  for (const [name, qpn] of [['the victim\'s QPN', v.qpn], ['a neighbouring QPN', (v.qpn + 1) & 0xffffff]] as const) {
    const qp = await init()
    const got = await errnoOf(qp.modify(rtr(qpn), RTR_MASK))
    rec.probe({name: `modify_qp RTR to ${name} via ${via}`, want: 'denied', expected: 'EPERM/EINVAL (no such peer QP at that vIP)', observed: got,
      ok: got === 'EPERM' || got === 'EINVAL'})
    // the re-point variant: a QP connected to its own peer may not be re-pointed at the victim afterwards
    await qp.destroy()
  }
  const peer = vm.params.peerQpn
  if (typeof peer === 'number') {
    const qp = await init()
    const got = await errnoOf(qp.modify(rtr(peer), RTR_MASK))
    rec.control('modify_qp RTR to its own peer\'s QP succeeds', got === 'OK', got)
    const again = await errnoOf(qp.modify({destQpNum: v.qpn}, M.DEST_QPN))
    rec.probe({name: 're-point a connected QP at the victim\'s QPN', want: 'denied', expected: 'EPERM', observed: again, ok: again === 'EPERM'})
  }
}

/** Native verbs instead of rdma_cm: modify_qp(RTR) with ah.dgid = ::ffff:params.dst (C17's second form). */
const rtrTo: Step = async (vm, rec, dev) => {
  const e = await ep(dev, vm)
  const qp = await e.pd.createQp({type: 'RC', sendCq: e.cq, recvCq: e.cq, cap: CAP})
  await qp.modify({qpState: QpState.INIT, pkeyIndex: 0, portNum: 1, qpAccessFlags: 0}, INIT_MASK)
  const got = await errnoOf(qp.modify({qpState: QpState.RTR, pathMtu: 3, destQpNum: Number(vm.params.qpn ?? 0x123), rqPsn: 0, maxDestRdAtomic: 1,
    minRnrTimer: 12, ahAttr: {dgid: `::ffff:${String(vm.params.dst)}`, sgidIndex: 0}}, RTR_MASK))
  rec.data = {errno: got}
}

/** A QP that the peer step (`qp-holder`) created and published, for C11's positive control. */
const qpHolder: Step = async (vm, rec, dev) => {
  const e = await ep(dev, vm)
  const qp = await e.pd.createQp({type: 'RC', sendCq: e.cq, recvCq: e.cq, cap: CAP})
  await qp.modify({qpState: QpState.INIT, pkeyIndex: 0, portNum: 1, qpAccessFlags: 0}, INIT_MASK)
  await vm.publish(`${vm.params.tag}/holder`, {qpn: qp.qpn})
  await vm.waitFor(`${vm.params.tag}/holder-done`, 60_000)
  rec.data = {qpn: qp.qpn}
}

// C14b: a controlled Q_Key (bit 31) on a UD QP, and the GSI Q_Key; a raw packet QP and QP1.
const c14b: Step = async (vm, rec, dev) => {
  const e = await ep(dev, vm)
  for (const qkey of [0x80010000, 0x80000000, 0xffffffff]) {
    const ud = await e.pd.createQp({type: 'UD', sendCq: e.cq, recvCq: e.cq, cap: CAP})
    const got = await errnoOf(ud.modify({qpState: QpState.INIT, pkeyIndex: 0, portNum: 1, qkey}, M.STATE | M.PKEY_INDEX | M.PORT | M.QKEY))
    rec.probe({name: `modify_qp(qkey 0x${qkey.toString(16)})`, want: 'denied', expected: 'EPERM', observed: got, ok: got === 'EPERM'})
    await ud.destroy()
  }
  const raw = await dev.channel.call('createQp', {pdn: e.pd.pdn, type: 8 as number, sendCqn: e.cq.cqn, recvCqn: e.cq.cqn, cap: {...CAP, maxInlineData: 0}})
  const rawGot = isRnicError(raw) ? errnoName(raw.errno) : 'OK'
  rec.probe({name: 'create_qp(RAW_PACKET)', want: 'denied', expected: 'EPERM', observed: rawGot, ok: rawGot === 'EPERM'})
  const gsi = await errnoOf(e.pd.createQp({type: 'UD', sendCq: e.cq, recvCq: e.cq, cap: CAP, gsi: true}))
  rec.probe({name: 'create_qp(QP1 / GSI)', want: 'denied', expected: 'EPERM', observed: gsi, ok: gsi === 'EPERM'})
  const ok = await e.pd.createQp({type: 'UD', sendCq: e.cq, recvCq: e.cq, cap: CAP})
  const got = await errnoOf(ok.modify({qpState: QpState.INIT, pkeyIndex: 0, portNum: 1, qkey: 0x11111111}, M.STATE | M.PKEY_INDEX | M.PORT | M.QKEY))
  rec.control('a non-controlled Q_Key (0x11111111) is accepted', got === 'OK', got)
}

// ---------------------------------------------------------------------------------------------------------------
// rdma_cm steps: a listener that counts what reaches it, and a client that tries to connect.

/** Listens on params.port; counts CONNECT_REQUESTs (accepting them when params.accept) until <tag>/listener-done. */
const listener: Step = async (vm, rec, dev) => {
  const tag = String(vm.params.tag)
  const e = await ep(dev, vm)
  const l = listen(vm, Number(vm.params.port))
  let requests = 0
  let accepted = 0
  const done = vm.waitFor(`${tag}/listener-done`, 120_000).then(() => true, () => true)
  await vm.publish(`${tag}/listening`, true)
  const received: string[] = []
  for (;;) {
    const next = l.events.next((x) => x.listenId === l.id && x.event === CmEvent.CONNECT_REQUEST, 'CONNECT_REQUEST', 120_000).catch(() => undefined)
    const first = await Promise.race([done.then(() => 'done' as const), next])
    if (first === 'done' || first === undefined) break
    requests++
    if (!vm.params.accept) {
      first.id.reject()
      continue
    }
    const qp = await first.id.createQp(e.pd, {sendCq: e.cq, recvCq: e.cq, cap: CAP})
    qp.postRecv({wrId: 9n, sgList: [{addr: e.buf.addr, length: 64, lkey: e.mr.lkey}]})
    await first.id.accept({})
    await l.events.expect(first.id, CmEvent.ESTABLISHED, 20_000).catch(() => undefined)
    accepted++
    if (vm.params.quiet) continue // connection-setup floods send nothing
    const st = await pollOne(e.cq, 10_000)
    if (st === WcStatus.SUCCESS) received.push(new TextDecoder().decode(e.buf.bytes.subarray(0, 64)).replace(/\0.*$/s, ''))
    await vm.publish(`${tag}/received/${accepted}`, received.at(-1) ?? null)
  }
  rec.data = {requests, accepted, received}
}

/** Tries to connect to params.dst:port; on ESTABLISHED it SENDs "<tenant>:<vm>" and reports the outcome. */
const client: Step = async (vm, rec, dev) => {
  const tag = String(vm.params.tag)
  if (vm.params.waitListener) await vm.waitFor(`${tag}/listening`, 30_000)
  const e = await ep(dev, vm)
  const r = await tryConnect(vm, e, String(vm.params.dst), Number(vm.params.port))
  let sent = false
  if (r.qp) {
    e.buf.bytes.set(new TextEncoder().encode(`${vm.vm.tenant}:${vm.vm.name}`))
    r.qp.postSend({wrId: 1n, opcode: WrOpcode.SEND, sendFlags: SendFlags.SIGNALED, sgList: [{addr: e.buf.addr, length: 32, lkey: e.mr.lkey}]})
    sent = (await pollOne(e.cq)) === WcStatus.SUCCESS
  }
  rec.data = {event: r.event, status: r.status, sent}
}

// C20: a held connection that the suite watches while it changes the rules.
const holder: Step = async (vm, rec, dev) => {
  const tag = String(vm.params.tag)
  await vm.waitFor(`${tag}/listening`, 30_000)
  const e = await ep(dev, vm)
  const c = await connect(vm, {ip: String(vm.params.dst), port: Number(vm.params.port), pd: e.pd, sendCq: e.cq, recvCq: e.cq, cap: CAP})
  await vm.publish(`${tag}/held`, {qpn: c.qp.qpn})
  const ev = await c.events.next((x) => x.id === c.id, 'DISCONNECTED', 60_000).catch(() => undefined)
  const at = Date.now()
  // a WR posted after the reset must not complete with success (flushed)
  c.qp.postSend({wrId: 7n, opcode: WrOpcode.SEND, sendFlags: SendFlags.SIGNALED, sgList: [{addr: e.buf.addr, length: 8, lkey: e.mr.lkey}]})
  const st = await pollOne(e.cq, 5000)
  rec.data = {event: ev ? EVENT_NAMES[ev.event] : 'none', at, state: await qpState(c.qp), afterReset: st === undefined ? 'none' : statusName(st)}
}

// C21: path-changing modifies on a QP that rdma_cm connected to an allowed peer (RTS→RTS): a new destination
// QPN, a new address vector, an alternate path. None may take effect; the QP keeps its peer and still works.
const repoint: Step = async (vm, rec, dev) => {
  const tag = String(vm.params.tag)
  await vm.waitFor(`${tag}/listening`, 30_000)
  const e = await ep(dev, vm)
  const c = await connect(vm, {ip: String(vm.params.dst), port: Number(vm.params.port), pd: e.pd, sendCq: e.cq, recvCq: e.cq, cap: CAP})
  const before = await c.qp.query()
  const victimQpn = Number(vm.params.victimQpn)
  const other = `::ffff:${String(vm.params.other)}`
  const tries: Array<[string, Record<string, unknown>, number]> = [
    ['RTS→RTS dest_qp_num = the victim\'s QPN', {qpState: QpState.RTS, destQpNum: victimQpn}, M.STATE | M.DEST_QPN],
    ['RTS→RTS address vector to another vIP', {qpState: QpState.RTS, ahAttr: {dgid: other, sgidIndex: 0}}, M.STATE | M.AV],
    ['RTS→RTS alternate path (APM) to another vIP', {qpState: QpState.RTS, altAhAttr: {dgid: other, sgidIndex: 0}, altPortNum: 1, altTimeout: 14},
      M.STATE | M.ALT_PATH],
    ['dest_qp_num and AV together', {destQpNum: victimQpn, ahAttr: {dgid: other, sgidIndex: 0}}, M.DEST_QPN | M.AV],
  ]
  for (const [name, attr, mask] of tries) {
    const got = await errnoOf(c.qp.modify(attr as never, mask))
    rec.probe({name, want: 'denied', expected: 'EPERM/EINVAL', observed: got, ok: got === 'EPERM' || got === 'EINVAL'})
  }
  const after = await c.qp.query()
  rec.invariant('the QP still names its connected peer (backend query)', after.destQpNum === before.destQpNum && after.ahAttr?.dgid === before.ahAttr?.dgid,
    `dest QPN ${before.destQpNum} → ${after.destQpNum}, dgid ${before.ahAttr?.dgid} → ${after.ahAttr?.dgid}`)
  const ok = await errnoOf(c.qp.modify({qpState: QpState.RTS, minRnrTimer: 14}, M.STATE | M.MIN_RNR_TIMER))
  rec.control('an RTS→RTS modify that changes no path (min_rnr_timer) succeeds', ok === 'OK', ok)
  e.buf.bytes.set(new TextEncoder().encode(`${vm.vm.tenant}:${vm.vm.name}`))
  c.qp.postSend({wrId: 1n, opcode: WrOpcode.SEND, sendFlags: SendFlags.SIGNALED, sgList: [{addr: e.buf.addr, length: 32, lkey: e.mr.lkey}]})
  const st = await pollOne(e.cq)
  rec.control('the connection still carries a SEND to its own peer', st === WcStatus.SUCCESS, st === undefined ? 'no completion' : statusName(st))
}

// C18: a source address the VM does not own: rdma_bind_addr to another VM's vIP, a foreign sgid_index.
const spoof: Step = async (vm, rec, dev) => {
  const cm = vm.cm!
  const events = new CmEvents(cm, cm.createEventChannel())
  // the VM's rdma_cm proxy sends bind to the host's CM and reports its error asynchronously (remote.ts asyncErrors)
  const async = (cm as unknown as {asyncErrors?: {count: number; last?: {errno: number; message: string}}}).asyncErrors ?? {count: 0}
  const bind = async (ip: string): Promise<string> => {
    const id = cm.createId(events.channel, null)
    const n0 = async.count
    try {
      id.bindAddr({ip, port: 0})
      await waitUntil(() => async.count > n0 || id.localAddr !== undefined, 'rdma_bind_addr', 5000)
      return async.count > n0 ? (async.last?.errno === 99 ? 'EADDRNOTAVAIL' : `errno ${async.last?.errno}`) : 'OK'
    } catch (err) {
      return (err as Error).message
    } finally {
      id.destroy()
    }
  }
  for (const ip of (vm.params.foreign as string[]) ?? []) {
    const got = await bind(ip)
    rec.probe({name: `rdma_bind_addr(${ip}) (not this VM's)`, want: 'denied', expected: 'EADDRNOTAVAIL', observed: got, ok: got !== 'OK'})
  }
  const ownGot = await bind(vm.ip)
  rec.control(`rdma_bind_addr(${vm.ip}) (its own vIP) succeeds`, ownGot === 'OK', ownGot)
  // native verbs: sgid_index 1.. names another VF's / the host's address; the backend programs the VM's own
  const e = await ep(dev, vm)
  const qp = await e.pd.createQp({type: 'RC', sendCq: e.cq, recvCq: e.cq, cap: CAP})
  await qp.modify({qpState: QpState.INIT, pkeyIndex: 0, portNum: 1, qpAccessFlags: 0}, INIT_MASK)
  const holder = vm.params.peerQpn as number
  const got = await errnoOf(qp.modify({qpState: QpState.RTR, pathMtu: 3, destQpNum: holder, rqPsn: 0, maxDestRdAtomic: 1, minRnrTimer: 12,
    ahAttr: {dgid: `::ffff:${String(vm.params.peer)}`, sgidIndex: 5}}, RTR_MASK))
  const q = got === 'OK' ? await qp.query() : undefined
  const sgid = q?.ahAttr?.sgidIndex
  rec.probe({name: 'modify_qp(RTR) with sgid_index 5 (not its own)', want: 'denied', expected: 'refused, or overridden with the VM\'s own sgid index',
    observed: got === 'OK' ? `accepted, sgid_index programmed ${String(sgid)}` : got, ok: got !== 'OK' || sgid !== 5})
}

// C26: a sink that accepts one connection and exposes a 1 MiB MR for WRITEs, and a writer that floods it.
const sink: Step = async (vm, rec, dev) => {
  const tag = String(vm.params.tag)
  const e = await ep(dev, vm)
  const l = listen(vm, Number(vm.params.port))
  await vm.publish(`${tag}/listening`, true)
  const mem = vm.alloc(1 << 20, 4096)
  const mr = await e.pd.regMr(mem, Access.LOCAL_WRITE | Access.REMOTE_WRITE)
  const blob = new Uint8Array(12)
  new DataView(blob.buffer).setBigUint64(0, mem.addr)
  new DataView(blob.buffer).setUint32(8, mr.rkey)
  await accept(l, {pd: e.pd, sendCq: e.cq, recvCq: e.cq, cap: CAP, privateData: blob})
  await vm.waitFor(`${tag}/sink-done`, 120_000)
}

const bulk: Step = async (vm, rec, dev) => {
  const tag = String(vm.params.tag)
  await vm.waitFor(`${tag}/listening`, 30_000)
  const e = await ep(dev, vm, 1 << 16)
  const c = await connect(vm, {ip: String(vm.params.dst), port: Number(vm.params.port), pd: e.pd, sendCq: e.cq, recvCq: e.cq, cap: CAP})
  const dv = new DataView(c.privateData.buffer, c.privateData.byteOffset, 12)
  const remote = {addr: dv.getBigUint64(0), rkey: dv.getUint32(8)}
  if (vm.params.startKey) await vm.waitFor(String(vm.params.startKey), 30_000)
  const size = 1 << 16
  let bytes = 0
  let outstanding = 0
  const errors: string[] = []
  const t0 = performance.now()
  const end = t0 + Number(vm.params.ms ?? 1000)
  while ((performance.now() < end || outstanding > 0) && errors.length === 0) {
    while (outstanding < 4 && performance.now() < end) {
      c.qp.postSend({wrId: 1n, opcode: WrOpcode.RDMA_WRITE, sendFlags: SendFlags.SIGNALED, sgList: [{addr: e.buf.addr, length: size, lkey: e.mr.lkey}],
        rdma: {remoteAddr: remote.addr, rkey: remote.rkey}})
      outstanding++
    }
    const wcs = e.cq.poll(8)
    for (const wc of wcs) {
      outstanding--
      if (wc.status !== WcStatus.SUCCESS) errors.push(statusName(wc.status))
      else bytes += size
    }
    if (wcs.length === 0) await e.cq.wait(2)
  }
  const ms = performance.now() - t0
  rec.data = {bytes, ms, bps: (bytes * 8) / (ms / 1000), errors}
}

// C23: create QPs until the quota refuses one; keep them until <tag>/release.
const exhaust: Step = async (vm, rec, dev) => {
  const e = await ep(dev, vm)
  const limit = e.ctx.info.limits.maxQp
  const qps: Qp[] = []
  let errno = 'none'
  for (let i = 0; i <= limit; i++) {
    try {
      qps.push(await e.pd.createQp({type: 'RC', sendCq: e.cq, recvCq: e.cq, cap: {maxSendWr: 1, maxRecvWr: 1, maxSendSge: 1, maxRecvSge: 1}}))
    } catch (err) {
      errno = errnoText(err)
      break
    }
  }
  rec.data = {created: qps.length, errno, deviceLimit: limit}
  await vm.publish(`${vm.params.tag}/exhausted`, rec.data)
  await vm.waitFor(`${vm.params.tag}/release`, 60_000).catch(() => undefined)
  for (const q of qps) await q.destroy().catch(() => undefined)
}

// C25: a control-verb flood (create/destroy QP, reg/dereg MR, modify cycles) for params.ms; counts refusals.
const flood: Step = async (vm, rec, dev) => {
  const e = await ep(dev, vm)
  const end = Date.now() + Number(vm.params.ms ?? 2000)
  let verbs = 0
  const errnos: Record<string, number> = {}
  const region = vm.alloc(4096, 4096)
  while (Date.now() < end) {
    for (const fn of [
      async () => (await e.pd.createQp({type: 'RC', sendCq: e.cq, recvCq: e.cq, cap: CAP})).destroy(),
      async () => (await e.pd.regMr(region, Access.LOCAL_WRITE)).dereg(),
      async () => (await e.ctx.allocPd()).dealloc(),
    ]) {
      verbs += 2
      try {
        await fn()
      } catch (err) {
        const n = errnoText(err)
        errnos[n] = (errnos[n] ?? 0) + 1
      }
    }
  }
  rec.data = {verbs, errnos, ms: Number(vm.params.ms ?? 2000)}
}

/** Connection setups one after another for params.n times (or until params.ms): latencies and outcomes. */
const setups: Step = async (vm, rec, dev) => {
  const tag = String(vm.params.tag)
  await vm.waitFor(`${tag}/listening`, 30_000)
  const e = await ep(dev, vm)
  const n = Number(vm.params.n ?? 5)
  const lat: number[] = []
  const outcomes: Record<string, number> = {}
  for (let i = 0; i < n; i++) {
    const t0 = performance.now()
    const r = await tryConnect(vm, e, String(vm.params.dst), Number(vm.params.port))
    lat.push(performance.now() - t0)
    const key = r.event === 'REJECTED' ? `REJECTED(${r.status})` : r.event
    outcomes[key] = (outcomes[key] ?? 0) + 1
    if (r.qp) await r.qp.destroy().catch(() => undefined)
    if (vm.params.gapMs) await sleep(Number(vm.params.gapMs))
  }
  rec.data = {lat, outcomes}
}

// ---------------------------------------------------------------------------------------------------------------
// Fuzzing the virtio control channel from inside a VM: random and mutated commands straight on the channel.

const fuzzVirtio: Step = async (vm, rec, dev) => {
  const ctx = await dev.open()
  const ch = dev.channel as unknown as {call(cmd: string, ...a: unknown[]): Promise<unknown>}
  let seed = Number(vm.params.seed ?? 1) >>> 0
  const rnd = () => {
    seed = (seed + 0x6d2b79f5) >>> 0
    let t = seed
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  const cmds = ['deviceInfo', 'allocPd', 'deallocPd', 'createCq', 'destroyCq', 'regMr', 'deregMr', 'createQp', 'destroyQp', 'queryQp', 'modifyQp',
    'bogus', '__proto__', 'constructor', '']
  const values = (): unknown => {
    const k = Math.floor(rnd() * 12)
    return [undefined, null, -1, 0, 1, 0xffffffff, 2 ** 53, Number.NaN, 'x'.repeat(Math.floor(rnd() * 100)), {}, [], {pdn: 0, length: 2 ** 40, offset: -5, type: 8, qkey: 0x80010000}][k]
  }
  const n = Number(vm.params.n ?? 300)
  let refused = 0
  let accepted = 0
  for (let i = 0; i < n; i++) {
    const cmd = cmds[Math.floor(rnd() * cmds.length)]!
    const args = Array.from({length: Math.floor(rnd() * 4)}, values)
    try {
      const r = await ch.call(cmd, ...args)
      if (isRnicError(r)) refused++
      else accepted++
    } catch {
      refused++
    }
  }
  // the device still works for this VM afterwards (once what the fuzz created is released: quotas are real)
  await dev.release()
  const pd = await errnoOf((await dev.open()).allocPd())
  rec.data = {n, refused, accepted, afterwards: pd}
}

const STEPS: Record<string, Step> = {
  'victim-server': victimServer, 'victim-client': victimClient, c09, c11, 'rtr-to': rtrTo, 'qp-holder': qpHolder, c14b, listener, client, holder, exhaust, flood,
  setups, repoint, spoof, sink, bulk, 'fuzz-virtio': fuzzVirtio,
}

export default async function attackStep(raw: WorkloadContext): Promise<unknown> {
  const vm = completeContext(raw)
  const name = String(vm.params.step)
  const step = STEPS[name]
  if (!step) throw new Error(`attack step ${name} is not one of ${Object.keys(STEPS).join(', ')}`)
  // concurrent runs on one VM share its memory from offset 0: the suite gives each its own window
  if (vm.params.skip) vm.memory.alloc(Number(vm.params.skip))
  const rec = new StepRecorder(vm.vm.name, name)
  const dev = new Device(vm)
  try {
    await step(vm, rec, dev)
  } finally {
    await dev.release()
  }
  return rec.toJSON()
}
