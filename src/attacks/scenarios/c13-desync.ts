// C13: connection hijack by PSN desync (ReDMArk §5.1). One injected packet with the right PSN moves the
// responder's expected PSN, so the genuine peer's next packet is taken for a duplicate: ACKed, never executed, and
// the peer sees SUCCESS for data that was silently lost. Off-path frames (wrong source address) cannot do it;
// with the peer's address spoofed it is exposed, and detectable through rxe's DUP_REQ counter.

import {oneSided} from '../ops.js'
import type {Scenario} from '../types.js'
import {EXPOSED_T2} from './c10-injection.js'
import {inject, injectionTarget} from './injection-setup.js'

export const c13: Scenario = {
  id: 'C13', catalogue: 'C13', title: 'PSN desync: genuine packets taken for duplicates', attackerModel: 'T2', needs: ['frame-injection'],
  async run(env, ctx) {
    const t = await injectionTarget(env, ctx)
    const host = t.svc.vm.host
    const genuine = async (byte: number) => {
      t.peer.buf.bytes.fill(byte, 0, 64)
      const st = await oneSided(env, t.qa, t.peer.cq, 'write', t.peer.mr, t.targetMr.addr, t.targetMr.rkey, 64)
      return {st, placed: t.target.bytes[0] === byte && t.target.bytes[63] === byte}
    }
    const junk = {dstIp: t.svcIp, va: t.targetMr.addr + 1024n, rkey: t.targetMr.rkey, payload: new Uint8Array(8).fill(0xc3)}
    let psn = t.ePsn
    // off path: the frame is dropped, the PSN does not move, the genuine WRITE lands
    await inject(env, t, [{...junk, srcIp: t.injectorIp, destQp: t.qb.qpn, psn}])
    let g = await genuine(0x31)
    psn++
    ctx.probe({name: 'off-path frame with the right PSN, then a genuine WRITE', want: 'denied', expected: 'genuine WRITE placed',
      observed: `${g.placed ? 'placed' : 'NOT placed (desync)'}, genuine WC ${g.st}`, ok: g.st === 'SUCCESS' && g.placed})
    const dup0 = env.counters(host).port.DUP_REQ ?? 0
    await inject(env, t, [{...junk, srcIp: t.peerIp, destQp: t.qb.qpn, psn}])
    g = await genuine(0x32)
    ctx.probe({name: 'spoofed peer frame with the right PSN, then a genuine WRITE', want: 'denied', expected: 'genuine WRITE placed',
      observed: `${g.placed ? 'placed' : 'NOT placed (desync: ACKed as a duplicate)'}, genuine WC ${g.st}`, ok: g.st === 'SUCCESS' && g.placed, exposed: EXPOSED_T2})
    const dups = (env.counters(host).port.DUP_REQ ?? 0) - dup0
    ctx.invariant('a desync is visible in the DUP_REQ counter (rxe_hw_counters)', g.placed || dups > 0, `DUP_REQ +${dups}`)
  },
}
