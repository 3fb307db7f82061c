// The demo's own rdma_cm workload (run by path through `masq run`'s library, like any user module): the server
// (--peer) listens, the client (--vm) connects and SENDs its tenant's name, which the server checks.
// params.mode:
//   once    connect, one verified SEND, disconnect
//   hold    connect, one verified SEND, then keep the connection until rdma_cm reports DISCONNECTED (a rule
//           change reset it) or `holdMs` passes; report when it happened and how many receive WRs were flushed
//   reject  the connect must fail: report the event and its status (for REJECTED, the IB CM reject reason); the
//           server reports how many CONNECT_REQUESTs reached it (none, when isolation holds)
// params: port, tag (rendezvous key prefix; `<tag>/connected` is published once both ends are ESTABLISHED),
// dst (the address the client connects to; default the peer's), holdMs (30000).
import {CmEvent, WcStatus} from '../rdma-constants.js'
import {accept, CmError, connect, listen, pollCq, type Connection} from '../workloads/rdma.js'
import type {WorkloadVm} from '../workloads/api.js'
import {Access, SendFlags, WrOpcode} from '../rdma-constants.js'

const RECVS = 4

export default async function cmHold(vm: WorkloadVm, o: Record<string, unknown>): Promise<unknown> {
  const mode = String(o.mode ?? 'once')
  const port = Number(o.port ?? 7000)
  const tag = String(o.tag ?? vm.runId)
  const holdMs = Number(o.holdMs ?? 30_000)
  const ctx = await vm.openDevice()
  const pd = await ctx.allocPd()
  const cq = await ctx.createCq(32)
  const buf = vm.alloc(4096)
  const mr = await pd.regMr(buf, Access.LOCAL_WRITE)
  const cap = {maxSendWr: 8, maxRecvWr: RECVS + 2}
  const postRecvs = (c: {postRecv: Connection['qp']['postRecv']}) => {
    for (let i = 0; i < RECVS; i++) c.postRecv({wrId: 100 + i, sgList: [{addr: mr.addr + BigInt(1024 + i * 64), length: 64, lkey: mr.lkey}]})
  }
  let c: Connection
  if (vm.rank === 1) {
    const l = listen(vm, port)
    await vm.publish(`${tag}/listening`, true)
    if (mode === 'reject') {
      await vm.waitFor(`${tag}/client-done`, 60_000)
      // anything that reached us would be queued by now (the client's attempt has ended)
      const requests = await l.events.next((e) => e.event === CmEvent.CONNECT_REQUEST, 'a CONNECT_REQUEST', 200).then(() => 1, () => 0)
      l.id.destroy()
      return {ok: requests === 0, requests}
    }
    c = await accept(l, {pd, sendCq: cq, recvCq: cq, cap, beforeAccept: (qp) => postRecvs(qp)})
    const [wc] = await pollCq(cq, 1, 'the tenant tag')
    const got = new TextDecoder().decode(buf.bytes.subarray(1024, 1024 + wc!.byteLen))
    if (got !== `tenant:${vm.vm.tenant}`) throw new Error(`received ${JSON.stringify(got)}: another tenant's bytes`)
  } else {
    await vm.waitFor(`${tag}/listening`, 60_000)
    const ip = String(o.dst ?? vm.peers[vm.members[1]!])
    try {
      c = await connect(vm, {ip, port, pd, sendCq: cq, recvCq: cq, cap, timeoutMs: 20_000})
    } catch (err) {
      if (mode !== 'reject' || !(err instanceof CmError) || !err.event) {
        if (mode === 'reject') await vm.publish(`${tag}/client-done`, true)
        throw err
      }
      await vm.publish(`${tag}/client-done`, true)
      return {ok: true, event: err.event.name, status: err.event.status, dst: ip, port}
    }
    if (mode === 'reject') {
      await vm.publish(`${tag}/client-done`, true)
      return {ok: false, event: 'ESTABLISHED', dst: ip, port}
    }
    postRecvs(c.qp)
    const n = new TextEncoder().encodeInto(`tenant:${vm.vm.tenant}`, buf.bytes).written
    c.qp.postSend({wrId: 1, opcode: WrOpcode.SEND, sendFlags: SendFlags.SIGNALED, sgList: [{addr: mr.addr, length: n, lkey: mr.lkey}]})
    await pollCq(cq, 1, 'the SEND')
  }
  const result: Record<string, unknown> = {ok: true, qpn: c.qp.qpn, local: c.id.localAddr, peer: c.id.peerAddr}
  if (mode !== 'hold') {
    if (vm.rank === 0) await c.id.disconnect()
    await c.events.expect(c.id, CmEvent.DISCONNECTED, 30_000)
    c.id.destroy()
    return result
  }
  await vm.publish(`${tag}/${vm.rank === 0 ? 'client' : 'server'}/connected`, true)
  try {
    await c.events.expect(c.id, CmEvent.DISCONNECTED, holdMs)
  } catch (err) {
    await c.id.disconnect().catch(() => {})
    return {...result, ok: false, error: `no reset within ${holdMs} ms: ${(err as Error).message}`}
  }
  const disconnectedAt = Date.now()
  // the QP is in ERR: the receive WRs still posted come back flushed
  let flushed = 0
  const end = Date.now() + 2000
  while (flushed === 0 && Date.now() < end) {
    for (const wc of cq.poll(16)) if (wc.status === WcStatus.WR_FLUSH_ERR) flushed++
    if (flushed === 0) await cq.wait(20)
  }
  c.id.destroy()
  return {...result, event: 'DISCONNECTED', disconnectedAt, flushed}
}
