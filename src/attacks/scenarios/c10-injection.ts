// C10: RoCEv2 frames injected from a compromised host (T2; ReDMArk A1). rxe's hdr_check drops a frame whose
// source/destination address pair is not the QP's (check_addr), a QPN that does not exist, a bad P_Key or ICRC;
// the responder ignores a PSN that is ahead (one NAK) or behind (duplicate). With the peer's address spoofed and
// the right QPN, PSN and rkey nothing in the RNIC can tell the frame from the peer's: that probe is exposed.

import {Opcode} from '../../wire/opcodes.js'
import type {Scenario} from '../types.js'
import {inject, injectionTarget} from './injection-setup.js'

export const EXPOSED_T2 = 'RoCEv2 has no source authentication (ReDMArk V8): a T2 with the QPN, PSN, rkey and spoofed peer address is indistinguishable from the peer; only underlay ingress filtering of UDP 4791 (M8) or packet authentication (M6) stops it'

export const c10: Scenario = {
  id: 'C10', catalogue: 'C10', title: 'injected RoCEv2 frames with guessed QPN/PSN (raw-frame injector)', attackerModel: 'T2', needs: ['frame-injection'],
  async run(env, ctx) {
    const t = await injectionTarget(env, ctx)
    const payload = new Uint8Array(64).fill(0xa1)
    const w = {dstIp: t.svcIp, va: t.targetMr.addr, rkey: t.targetMr.rkey, payload}
    const record = (name: string, expected: string, o: Awaited<ReturnType<typeof inject>>, ok: boolean, exposed?: string) =>
      ctx.probe({name, want: 'denied', expected, observed: o.summary, ok, exposed})

    let o = await inject(env, t, [{...w, srcIp: t.injectorIp, destQp: t.qb.qpn, psn: t.ePsn}])
    record('right QPN/PSN from the T2 host\'s own address', 'drop addr_mismatch, nothing placed', o, !o.placed && o.drops.addr_mismatch === 1 && o.responderState === 'RTS')
    const sweep = Array.from({length: 16}, (_, i) => t.qb.qpn - 8 + i).filter((q) => q > 1)
    o = await inject(env, t, sweep.map((q) => ({...w, srcIp: t.injectorIp, destQp: q, psn: t.ePsn})))
    record(`QPN sweep ${sweep[0]}..${sweep.at(-1)} from the T2 host`, 'every frame dropped (no_such_qp / addr_mismatch)', o,
      !o.placed && Object.values(o.drops).reduce((a, b) => a + b, 0) === sweep.length && o.responderState === 'RTS')
    o = await inject(env, t, [{...w, srcIp: t.peerIp, destQp: t.qb.qpn, psn: t.ePsn}], true)
    record('spoofed peer address, bad ICRC', 'drop BAD_ICRC', o, !o.placed && o.drops.BAD_ICRC === 1 && o.responderState === 'RTS')
    o = await inject(env, t, [{...w, srcIp: t.peerIp, destQp: t.qb.qpn, psn: t.ePsn, pkey: 0x8001}])
    record('spoofed peer address, foreign P_Key', 'drop bad_pkey', o, !o.placed && o.drops.bad_pkey === 1 && o.responderState === 'RTS')
    o = await inject(env, t, [{...w, srcIp: t.peerIp, destQp: t.qb.qpn, psn: t.ePsn + 100}])
    record('spoofed peer address, PSN ahead', 'not executed (NAK PSN sequence error), QP RTS', o, !o.placed && o.responderState === 'RTS')
    o = await inject(env, t, [{...w, srcIp: t.peerIp, destQp: t.qb.qpn, psn: t.ePsn - 1}])
    record('spoofed peer address, PSN behind', 'duplicate: re-ACKed, not executed', o, !o.placed && o.responderState === 'RTS')
    o = await inject(env, t, [{...w, srcIp: t.peerIp, destQp: t.qb.qpn, psn: t.ePsn, opcode: Opcode.UC_RDMA_WRITE_ONLY}])
    record('spoofed peer address, UC opcode on an RC QP', 'drop opcode_qp_type', o, !o.placed && o.drops.opcode_qp_type === 1)
    // the full ReDMArk A1: spoofed peer address, right QPN, PSN swept up to the expected one, valid rkey
    const psns = [t.ePsn - 3, t.ePsn - 2, t.ePsn - 1, t.ePsn].map((p) => (p + 0x1000000) & 0xffffff)
    o = await inject(env, t, psns.map((psn) => ({...w, srcIp: t.peerIp, destQp: t.qb.qpn, psn})))
    record('spoofed peer address + right QPN/PSN/rkey (A1)', 'not placed', o, !o.placed, EXPOSED_T2)
    if (o.placed) ctx.log(`A1 placed ${t.target.bytes.subarray(0, 64).every((b) => b === 0xa1) ? 'all 64 attacker bytes' : 'bytes'} in the sacrificial MR`)
  },
}
