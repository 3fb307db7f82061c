// Built-in `ud`: datagrams over UD QPs found with rdma_cm RDMA_PS_UDP (SIDR: the server's UD QPN and Q_Key come
// back in ESTABLISHED's ud param). The client sends `count` datagrams of `size` bytes; the server echoes each
// one to the sender's QPN (from the work completion) with the Q_Key it learned. UD is unreliable, so the client
// re-sends a datagram whose echo does not come back within `retryMs`; every echo is checked byte for byte.
// options: count (200), size (1024, ≤ MTU), retryMs (20), port.
import {PortSpace, RDMA_UDP_QKEY, SendFlags, WrOpcode} from '../rdma-constants.js'
import type {WorkloadVm} from './api.js'
import {CmEvents, checkWc, numOpt, peerIp, pollCq, runKey} from './rdma.js'
import {requireCm} from './api.js'
import {CmEvent} from '../rdma-constants.js'

const GRH = 40 // a UD receive buffer starts with 40 bytes of GRH
const pat = (seq: number, k: number) => (k < 4 ? (seq >>> (8 * k)) & 255 : (seq * 17 + k * 5) & 255)

export default async function ud(vm: WorkloadVm, options: Record<string, unknown>): Promise<unknown> {
  const count = numOpt(options, 'count', 200)
  const size = Math.max(4, numOpt(options, 'size', 1024))
  const retryMs = numOpt(options, 'retryMs', 20)
  const port = numOpt(options, 'port', 18519)
  const server = vm.rank !== 0
  const cm = requireCm(vm)
  const ctx = await vm.openDevice()
  if (size > 128 << ctx.info.maxMtu) throw new Error(`ud: size ${size} > MTU ${128 << ctx.info.maxMtu}`)
  const pd = await ctx.allocPd()
  const RECVS = 32
  const rbuf = vm.alloc(RECVS * (GRH + size))
  const sbuf = vm.alloc(size)
  const rmr = await pd.regMr(rbuf, 1)
  const smr = await pd.regMr(sbuf, 0)
  const scq = await ctx.createCq(64)
  const rcq = await ctx.createCq(RECVS + 8)
  const cap = {maxSendWr: 16, maxRecvWr: RECVS}
  const events = new CmEvents(cm, cm.createEventChannel())
  const recv = (i: number) => ({wrId: i, sgList: [{addr: rbuf.addr + BigInt(i * (GRH + size)), length: GRH + size, lkey: rmr.lkey}]})
  const payload = (i: number) => rbuf.bytes.subarray(i * (GRH + size) + GRH, (i + 1) * (GRH + size))
  const sg = [{addr: sbuf.addr, length: size, lkey: smr.lkey}]
  const key = runKey(vm, 'ud-listening')

  if (server) {
    const lid = cm.createId(events.channel, null, PortSpace.UDP)
    lid.bindAddr({ip: vm.ip, port})
    lid.listen()
    await vm.publish(key, true)
    const req = await events.expect(lid, CmEvent.CONNECT_REQUEST)
    const qp = await req.id.createQp(pd, {sendCq: scq, recvCq: rcq, cap})
    for (let i = 0; i < RECVS; i++) qp.postRecv(recv(i))
    const ah = pd.createAh(req.param.ud!.ahAttr)
    await req.id.accept({})
    let echoed = 0
    let stop = false
    void vm.waitFor(runKey(vm, 'ud-done'), 600_000).then(() => (stop = true), () => (stop = true))
    // A SIDR_REP can be lost too: the client's SIDR_REQ retry may then come after the CM forgot the answered
    // request (cm.c drops the remote SIDR entry once it sends the REP; our engine keeps the answer only for its
    // short timewait) and arrive as a new CONNECT_REQUEST. Answer it as udaddy does: the same UD QP (qp_num).
    const others: Array<{destroy(): void}> = []
    void (async () => {
      while (!stop) {
        const again = await events.expect(lid, CmEvent.CONNECT_REQUEST, 1000).catch(() => undefined)
        if (!again || stop) continue
        others.push(again.id)
        await again.id.accept({qpNum: qp.qpn}).catch(() => undefined)
      }
    })()
    while (!stop) {
      for (const wc of rcq.poll(8)) {
        checkWc(wc, 'ud receive')
        const i = Number(wc.wrId)
        const p = payload(i)
        if (wc.byteLen !== GRH + size) throw new Error(`ud: a datagram of ${wc.byteLen - GRH} bytes, expected ${size}`)
        sbuf.bytes.set(p)
        qp.postRecv(recv(i))
        for (const s of scq.poll(16)) checkWc(s, 'ud echo')
        qp.postSend({wrId: echoed++, opcode: WrOpcode.SEND, sendFlags: SendFlags.SIGNALED, sgList: sg,
          ud: {ah, remoteQpn: wc.srcQp, remoteQkey: RDMA_UDP_QKEY}})
        await pollCq(scq, 1, 'ud echo')
      }
      await rcq.wait(5)
    }
    for (const o of others) o.destroy()
    req.id.destroy()
    lid.destroy()
    await qp.destroy()
    return {role: 'server', echoed}
  }

  await vm.waitFor(key, 60_000)
  const id = cm.createId(events.channel, null, PortSpace.UDP)
  id.resolveAddr(undefined, {ip: peerIp(vm), port})
  await events.expect(id, CmEvent.ADDR_RESOLVED)
  id.resolveRoute()
  await events.expect(id, CmEvent.ROUTE_RESOLVED)
  const qp = await id.createQp(pd, {sendCq: scq, recvCq: rcq, cap})
  for (let i = 0; i < RECVS; i++) qp.postRecv(recv(i))
  await id.connect({})
  const est = await events.expect(id, CmEvent.ESTABLISHED)
  const u = est.param.ud!
  const ah = pd.createAh(u.ahAttr)
  let retransmits = 0
  let received = 0
  const t0 = vm.nowNs()
  for (let seq = 0; seq < count; seq++) {
    for (let k = 0; k < size; k++) sbuf.bytes[k] = pat(seq, k)
    let got = false
    while (!got) {
      qp.postSend({wrId: seq, opcode: WrOpcode.SEND, sendFlags: SendFlags.SIGNALED, sgList: sg,
        ud: {ah, remoteQpn: u.qpNum, remoteQkey: u.qkey}})
      await pollCq(scq, 1, `ud datagram ${seq}`)
      const end = performance.now() + retryMs
      while (!got && performance.now() < end) {
        for (const wc of rcq.poll(8)) {
          checkWc(wc, 'ud echo receive')
          const i = Number(wc.wrId)
          const p = payload(i)
          const s = p[0]! | (p[1]! << 8) | (p[2]! << 16) | (p[3]! << 24)
          for (let k = 0; k < size; k++) if (p[k] !== pat(s, k)) throw new Error(`ud: echo of datagram ${s} is corrupted at byte ${k}`)
          received++
          if (s === seq) got = true // an older duplicate echo is fine, just not the one we wait for
          qp.postRecv(recv(i))
        }
        if (!got) await rcq.wait(2)
      }
      if (!got) retransmits++
    }
  }
  const elapsedNs = vm.nowNs() - t0
  await vm.publish(runKey(vm, 'ud-done'), true)
  id.destroy()
  await qp.destroy()
  // like perftest's UD tests, report what was lost (a datagram or its echo) rather than fail on it
  const sent = count + retransmits
  return {datagrams: count, size, verified: count, retransmits, sent, received, lost: sent - received, qkey: u.qkey, remoteQpn: u.qpNum,
    roundTripsPerSec: count / (elapsedNs / 1e9), elapsedNs}
}
