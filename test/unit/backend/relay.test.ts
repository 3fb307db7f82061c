// freeflow's software relay (src/backend/relay.ts): a freeflow VM posts into shadow rings and polls a shadow CQ; the
// backend moves every WQE into the RNIC's rings and every CQE back. Two in-process RNICs on a loopback fabric, one
// backend each; the engine is pumped between event-loop turns (the relay runs on Atomics.waitAsync wake-ups).
import {MessageChannel, type MessagePort} from 'node:worker_threads'
import {afterEach, describe, expect, it} from 'vitest'
import {Backend} from '../../../src/backend/backend.js'
import {Access, Errno, Mtu, QpAttrMask as M, QpState, SendFlags, WcStatus, WrOpcode} from '../../../src/rdma-constants.js'
import {LoopbackFabric} from '../../../src/rnic/port.js'
import {runUntilIdle} from '../../../src/rnic/pump.js'
import {Rnic} from '../../../src/rnic/rnic.js'
import type {Vm} from '../../../src/topology/types.js'
import {type Cq, MessagePortChannel, openDevice, type Qp, serveRnic, type Wc, VmMemory} from '../../../src/verbs/index.js'

const ports: MessagePort[] = []
const backends: Array<{backend: Backend; vm: string}> = []
afterEach(() => {
  for (const b of backends.splice(0)) b.backend.detach(b.vm)
  for (const p of ports.splice(0)) p.close()
})

const WIRE = ['192.168.0.1', '192.168.0.2']
const VIP = ['10.0.0.1', '10.0.0.2']

function vm(i: number, mode: Vm['mode']): Vm {
  return {name: `v${i}`, index: i, tenant: 't', vni: 7, host: `h${i}`, mode, vip: VIP[i]!, deviceIp: VIP[i]!, wireIp: WIRE[i]!,
    gid: `::ffff:${VIP[i]}`, mac: '02:00:0a:00:00:01', securityGroups: [], memoryBytes: 1 << 20}
}

async function side(nic: Rnic, i: number, mode: Vm['mode']) {
  const backend = new Backend({hostGids: [WIRE[i]!], lookup: async (_vni, vip) => ({wireIp: WIRE[VIP.indexOf(vip)]!})})
  const toRnic = new MessageChannel()
  const virtio = new MessageChannel()
  ports.push(toRnic.port1, toRnic.port2, virtio.port1, virtio.port2)
  serveRnic(toRnic.port2, nic)
  const mem = new VmMemory(1 << 20)
  const v = vm(i, mode)
  backend.attach(v, virtio.port1, toRnic.port1, mem.sab)
  backends.push({backend, vm: v.name})
  const ctx = await openDevice(new MessagePortChannel(virtio.port2), {memory: mem})
  const pd = await ctx.allocPd()
  const cq = await ctx.createCq(64)
  const buf = mem.alloc(4096)
  const mr = await pd.regMr(buf, Access.LOCAL_WRITE | Access.REMOTE_WRITE)
  return {backend, nic, mem, ctx, pd, cq, buf, mr, stats: () => backend.stats()[v.name]!}
}
type Side = Awaited<ReturnType<typeof side>>

/** hyv has no VPC addressing: its AVs name the peer's wire address; masq/freeflow name the vIP (RConnrename). */
async function rcPair(a: Side, b: Side, cap = {maxSendWr: 8, maxRecvWr: 8}, addr = VIP): Promise<[Qp, Qp]> {
  const qa = await a.pd.createQp({type: 'RC', sendCq: a.cq, recvCq: a.cq, cap})
  const qb = await b.pd.createQp({type: 'RC', sendCq: b.cq, recvCq: b.cq, cap})
  for (const [q, peer, dgid] of [[qa, qb, `::ffff:${addr[1]}`], [qb, qa, `::ffff:${addr[0]}`]] as const) {
    await q.modify({qpState: QpState.INIT, pkeyIndex: 0, portNum: 1, qpAccessFlags: Access.REMOTE_WRITE}, M.STATE | M.PKEY_INDEX | M.PORT | M.ACCESS_FLAGS)
    await q.modify({qpState: QpState.RTR, pathMtu: Mtu[1024], destQpNum: peer.qpn, rqPsn: 0, maxDestRdAtomic: 1, minRnrTimer: 12,
      ahAttr: {dgid, sgidIndex: 0}}, M.STATE | M.AV | M.PATH_MTU | M.DEST_QPN | M.RQ_PSN | M.MAX_DEST_RD_ATOMIC | M.MIN_RNR_TIMER)
    await q.modify({qpState: QpState.RTS, sqPsn: 0, timeout: 14, retryCnt: 7, rnrRetry: 7, maxRdAtomic: 1},
      M.STATE | M.SQ_PSN | M.TIMEOUT | M.RETRY_CNT | M.RNR_RETRY | M.MAX_QP_RD_ATOMIC)
  }
  return [qa, qb]
}

async function twoSides(mode: Vm['mode'] = 'freeflow') {
  const fabric = new LoopbackFabric({})
  const nics = WIRE.map((ip, i) => new Rnic({name: `rxe${i}`, gids: [ip]}))
  for (const n of nics) fabric.attach(n)
  const a = await side(nics[0]!, 0, mode)
  const b = await side(nics[1]!, 1, mode)
  // pump the engines and let the relays (event-loop wake-ups) run in between, until `done` or a generous bound
  const pump = async (done: () => boolean) => {
    for (let i = 0; i < 5000 && !done(); i++) {
      runUntilIdle(nics, fabric)
      await new Promise((r) => setImmediate(r))
    }
    return done()
  }
  return {a, b, nics, pump}
}

/** Whether two SharedArrayBuffers (cloned across a port, so never identical objects) are the same memory. */
function sameMemory(x: SharedArrayBuffer, y: SharedArrayBuffer): boolean {
  const a = new Int32Array(x)
  const b = new Int32Array(y)
  const i = 15 // a spare word of the ring header / doorbell
  const old = Atomics.load(a, i)
  Atomics.store(a, i, old ^ 0x5a5a)
  const same = Atomics.load(b, i) === (old ^ 0x5a5a)
  Atomics.store(a, i, old)
  return same
}

function pollInto(cq: Cq, into: Wc[]): () => boolean {
  return () => {
    into.push(...cq.poll(16))
    return false
  }
}

describe('freeflow data relay', () => {
  it('every WQE and every CQE crosses the backend: N SENDs and N RECVs relayed, 2N CQEs relayed, data intact', async () => {
    const {a, b, nics, pump} = await twoSides()
    const [qa, qb] = await rcPair(a, b)
    // the VM's rings are shadows: the RNIC's own SQ and CQ are other buffers
    expect(sameMemory(qa.sq.sab, nics[0]!.qps.get(qa.qpn)!.sq.sab)).toBe(false)
    expect(sameMemory(qa.rq.sab, nics[0]!.qps.get(qa.qpn)!.rq.sab)).toBe(false)
    expect(sameMemory(a.cq.ring.sab, nics[0]!.qps.get(qa.qpn)!.scq.ring.sab)).toBe(false)
    expect(sameMemory(a.ctx.info.doorbell, nics[0]!.doorbellSab)).toBe(false)
    const N = 20
    const wcA: Wc[] = []
    const wcB: Wc[] = []
    const pollA = pollInto(a.cq, wcA)
    const pollB = pollInto(b.cq, wcB)
    for (let i = 0; i < N; i++) {
      qb.postRecv({wrId: 1000 + i, sgList: [{addr: b.buf.addr + BigInt(i * 16), length: 16, lkey: b.mr.lkey}]})
      a.buf.bytes.fill(i + 1, i * 16, i * 16 + 16)
      qa.postSend({wrId: i, opcode: WrOpcode.SEND, sendFlags: SendFlags.SIGNALED, sgList: [{addr: a.buf.addr + BigInt(i * 16), length: 16, lkey: a.mr.lkey}]})
      expect(await pump(() => (pollA(), pollB(), wcA.length === i + 1 && wcB.length === i + 1))).toBe(true)
    }
    expect(wcA.map((w) => [Number(w.wrId), w.status])).toEqual(Array.from({length: N}, (_, i) => [i, WcStatus.SUCCESS]))
    expect(wcB.map((w) => [Number(w.wrId), w.status, w.byteLen])).toEqual(Array.from({length: N}, (_, i) => [1000 + i, WcStatus.SUCCESS, 16]))
    for (let i = 0; i < N; i++) expect(b.buf.bytes[i * 16 + 15]).toBe(i + 1)
    expect(a.stats()).toMatchObject({wqesRelayed: N, cqesRelayed: N})
    expect(b.stats()).toMatchObject({wqesRelayed: N, cqesRelayed: N})
    expect(a.stats().doorbellsRelayed).toBeGreaterThan(0)
  })

  it('a reaped send completion frees its shadow SQ slot: a full SQ refills at once; unsignalled WRs retire with the next CQE', async () => {
    const {a, b, pump} = await twoSides()
    const [qa] = await rcPair(a, b, {maxSendWr: 4, maxRecvWr: 4})
    const remote = {remoteAddr: b.buf.addr, rkey: b.mr.rkey}
    const write = (i: number, signalled: boolean) => ({wrId: i, opcode: WrOpcode.RDMA_WRITE, sendFlags: signalled ? SendFlags.SIGNALED : 0,
      sgList: [{addr: a.buf.addr, length: 8, lkey: a.mr.lkey}], rdma: remote})
    const wcs: Wc[] = []
    const poll = pollInto(a.cq, wcs)
    for (let round = 0; round < 5; round++) {
      // three unsignalled WRITEs and one signalled fill the SQ; one CQE covers all four (rxe completes in order)
      qa.postSend([write(10 * round, false), write(10 * round + 1, false), write(10 * round + 2, false), write(10 * round + 3, true)])
      expect(() => qa.postSend(write(99, true))).toThrow(expect.objectContaining({errno: Errno.ENOMEM}))
      expect(await pump(() => (poll(), wcs.length === round + 1))).toBe(true)
      expect(wcs[round]).toMatchObject({wrId: BigInt(10 * round + 3), status: WcStatus.SUCCESS})
      expect(qa.sq.count()).toBe(0) // the whole SQ is free again for the VM
    }
    expect(a.stats()).toMatchObject({wqesRelayed: 20, cqesRelayed: 5})
  })

  it('masq, hyv: the data path stays direct (nothing relayed, the VM holds the RNIC\'s own rings)', async () => {
    for (const mode of ['masq', 'hyv'] as const) {
      const {a, b, nics, pump} = await twoSides(mode)
      const [qa, qb] = await rcPair(a, b, undefined, mode === 'hyv' ? WIRE : VIP)
      expect(sameMemory(qa.sq.sab, nics[0]!.qps.get(qa.qpn)!.sq.sab)).toBe(true)
      expect(sameMemory(a.cq.ring.sab, nics[0]!.qps.get(qa.qpn)!.scq.ring.sab)).toBe(true)
      qb.postRecv({wrId: 1, sgList: [{addr: b.buf.addr, length: 16, lkey: b.mr.lkey}]})
      qa.postSend({wrId: 2, opcode: WrOpcode.SEND, sendFlags: SendFlags.SIGNALED, sgList: [{addr: a.buf.addr, length: 16, lkey: a.mr.lkey}]})
      const wcs: Wc[] = []
      expect(await pump(() => (wcs.push(...a.cq.poll(1)), wcs.length === 1))).toBe(true)
      expect(a.stats()).toMatchObject({wqesRelayed: 0, cqesRelayed: 0, doorbellsRelayed: 0})
    }
  })
})
