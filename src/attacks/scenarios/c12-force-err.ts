// C12: DoS by forcing a victim QP into ERR with one injected packet (ReDMArk A2: a WRITE with rkey + 1). Protocol
// errors are recoverable (PSN ahead → one NAK; behind → duplicate) and misaddressed frames are dropped, so those
// probes are blocked; a frame with the spoofed peer address and the right PSN triggers a class C error on the
// responder (rxe goto_error), which software cannot prevent once injection is possible: exposed.

import {deltaString} from '../inject.js'
import {oneSided} from '../ops.js'
import type {Scenario} from '../types.js'
import {EXPOSED_T2} from './c10-injection.js'
import {inject, injectionTarget} from './injection-setup.js'

export const c12: Scenario = {
  id: 'C12', catalogue: 'C12', title: 'forcing a victim QP into ERR with an injected bad-rkey frame', attackerModel: 'T2', needs: ['frame-injection'],
  async run(env, ctx) {
    const t = await injectionTarget(env, ctx)
    const bad = {dstIp: t.svcIp, va: t.targetMr.addr, rkey: (t.targetMr.rkey + 1) >>> 0, payload: new Uint8Array(16).fill(0xb2)}
    const rec = (name: string, expected: string, o: Awaited<ReturnType<typeof inject>>, ok: boolean, exposed?: string) =>
      ctx.probe({name, want: 'denied', expected, observed: `responder QP ${o.responderState}, ${deltaString(o.drops)}`, ok, exposed})
    let o = await inject(env, t, [{...bad, srcIp: t.injectorIp, destQp: t.qb.qpn, psn: t.ePsn}])
    rec('bad rkey from the T2 host\'s own address', 'drop addr_mismatch, responder QP RTS', o, o.drops.addr_mismatch === 1 && o.responderState === 'RTS')
    o = await inject(env, t, [{...bad, srcIp: t.peerIp, destQp: t.qb.qpn, psn: t.ePsn + 7}])
    rec('bad rkey, spoofed peer address, PSN ahead', 'recoverable (NAK sequence), responder QP RTS', o, o.responderState === 'RTS')
    o = await inject(env, t, [{...bad, srcIp: t.peerIp, destQp: t.qb.qpn, psn: t.ePsn - 1}])
    rec('bad rkey, spoofed peer address, duplicate PSN', 'recoverable (duplicate), responder QP RTS', o, o.responderState === 'RTS')
    // after the recoverable errors the genuine peer still works: the connection was not harmed
    t.peer.buf.bytes.fill(0x22, 0, 64)
    const st = await oneSided(env, t.qa, t.peer.cq, 'write', t.peer.mr, t.targetMr.addr, t.targetMr.rkey, 64)
    ctx.control('the genuine peer\'s WRITE still succeeds after the blocked injections', st === 'SUCCESS' && t.target.bytes[0] === 0x22, st)
    o = await inject(env, t, [{...bad, srcIp: t.peerIp, destQp: t.qb.qpn, psn: t.ePsn + 1}])
    rec('bad rkey, spoofed peer address, right PSN (A2)', 'responder QP stays RTS', o, o.responderState === 'RTS', EXPOSED_T2)
  },
}
