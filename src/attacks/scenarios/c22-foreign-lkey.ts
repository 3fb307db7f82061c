// C22 (the part an RNIC decides): WQEs that name another tenant's lkey. A gather from it fails locally
// (LOC_PROT_ERR: the lkey's MR is not in the QP's PD), so nothing of the victim leaves; a receive WQE scattering
// into it makes the SEND fail (the responder NAKs, the sender sees REM_OP_ERR) and nothing lands.

import {Access, WrOpcode} from '../../rdma-constants.js'
import {postAndWait, statusName} from '../ops.js'
import type {Scenario} from '../types.js'
import {connect, endpoint} from './common.js'

export const c22: Scenario = {
  id: 'C22', catalogue: 'C22', title: 'WQEs with another tenant\'s lkey (gather and scatter)', attackerModel: 'T1', needs: ['rnic-checks'],
  async run(env, ctx) {
    const v = ctx.victim
    // red-2 shares the victim's RNIC (host B); the canary's lkey equals its rkey (rxe)
    const atk = await endpoint(env, 'red-2')
    const peer = await endpoint(env, 'red-1')
    const sink = peer.vm.memory.alloc(4096, 4096)
    const sinkMr = await peer.pd.regMr(sink, Access.LOCAL_WRITE | Access.REMOTE_WRITE)
    const [qa, qb] = await connect(env, atk, peer)
    const status = (wc: Awaited<ReturnType<typeof postAndWait>>) => (wc ? (wc.status < 0 ? `errno ${-wc.status}` : statusName(wc.status)) : 'NO_COMPLETION')
    let wc = await postAndWait(env, qa, atk.cq, {opcode: WrOpcode.RDMA_WRITE, sgList: [{addr: v.canaryAddr, length: 64, lkey: v.canaryRkey}],
      rdma: {remoteAddr: sinkMr.addr, rkey: sinkMr.rkey}})
    ctx.probe({name: 'RDMA WRITE gathering from the victim canary\'s lkey', want: 'denied', expected: 'LOC_PROT_ERR, nothing sent',
      observed: `${status(wc)}, ${sink.bytes.some((b) => b !== 0) ? 'bytes reached the attacker' : 'nothing sent'}`, ok: status(wc) === 'LOC_PROT_ERR' && sink.bytes.every((b) => b === 0)})
    await qa.destroy()
    await qb.destroy()
    // scatter: the attacker's receive WQE points at the canary; its own peer sends into it
    const [sa, sb] = await connect(env, peer, atk)
    sb.postRecv({wrId: 7n, sgList: [{addr: v.canaryAddr, length: 64, lkey: v.canaryRkey}]})
    peer.buf.bytes.fill(0xee, 0, 64)
    wc = await postAndWait(env, sa, peer.cq, {opcode: WrOpcode.SEND, sgList: [{addr: peer.mr.addr, length: 64, lkey: peer.mr.lkey}]})
    await env.settle()
    const recv = atk.cq.poll(4)
    ctx.probe({name: 'receive WQE scattering into the victim canary\'s lkey', want: 'denied', expected: 'sender REM_OP_ERR, receive not completed successfully',
      observed: `sender ${status(wc)}, receiver ${recv.map((r) => statusName(r.status)).join('/') || 'no CQE'}`,
      ok: status(wc) === 'REM_OP_ERR' && recv.every((r) => r.status !== 0)})
    await sa.destroy()
    await sb.destroy()
    // positive control: the same WQEs with the attacker's own keys work
    const [ca, cb] = await connect(env, atk, peer)
    atk.buf.bytes.fill(0x5a, 0, 64)
    wc = await postAndWait(env, ca, atk.cq, {opcode: WrOpcode.RDMA_WRITE, sgList: [{addr: atk.mr.addr, length: 64, lkey: atk.mr.lkey}], rdma: {remoteAddr: sinkMr.addr, rkey: sinkMr.rkey}})
    ctx.control('RDMA WRITE gathering from its own lkey succeeds', status(wc) === 'SUCCESS' && sink.bytes[0] === 0x5a, status(wc))
    cb.postRecv({wrId: 8n, sgList: [{addr: peer.mr.addr + 1024n, length: 64, lkey: peer.mr.lkey}]})
    wc = await postAndWait(env, ca, atk.cq, {opcode: WrOpcode.SEND, sgList: [{addr: atk.mr.addr, length: 64, lkey: atk.mr.lkey}]})
    ctx.control('SEND into a receive WQE with its own lkey succeeds', status(wc) === 'SUCCESS' && peer.buf.bytes[1024] === 0x5a, status(wc))
    await ca.destroy()
    await cb.destroy()
  },
}
