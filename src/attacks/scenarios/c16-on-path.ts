// C16: on-path eavesdropping and tampering (T3; ReDMArk V8). RoCEv2 carries payload, rkeys and addresses in clear
// and protects frames only with the ICRC, a public CRC: a tamperer that does not fix it is dropped (BAD_ICRC) and the
// sender's retransmission repairs the data, one that recomputes it goes unnoticed. Out of scope without packet
// authentication or encryption (sRDMA, IPsec; M6): exposed, never blocked.

import {decodeFrame, DecodeStatus, icrc} from '../../wire/frame.js'
import {PacketView} from '../../wire/packet.js'
import {oneSided} from '../ops.js'
import type {Scenario} from '../types.js'
import {injectionTarget} from './injection-setup.js'

const NO_CRYPTO = 'RoCEv2 has no encryption or packet authentication (ReDMArk V8): only IPsec/sRDMA-style protection (M6) stops an on-path attacker'

export const c16: Scenario = {
  id: 'C16', catalogue: 'C16', title: 'on-path eavesdropping and tampering', attackerModel: 'T3', needs: ['on-path'],
  async run(env, ctx) {
    const t = await injectionTarget(env, ctx)
    const host = t.svc.vm.host
    const pv = new PacketView()
    // WRITE requests of the sacrificial connection only; the suite's victim is never touched
    const mine = (f: Uint8Array) => decodeFrame(f, 0, f.length, pv) === DecodeStatus.OK && pv.destQp === t.qb.qpn && pv.payloadLen > 0 && pv.rethRkey !== 0
    const write = async (byte: number) => {
      t.peer.buf.bytes.fill(byte, 0, 256)
      const st = await oneSided(env, t.qa, t.peer.cq, 'write', t.peer.mr, t.targetMr.addr, t.targetMr.rkey, 256)
      return {st, intact: t.target.bytes.subarray(0, 256).every((b) => b === byte)}
    }
    // 1. eavesdrop
    let seen: string | undefined
    env.setOnPath((f) => {
      if (!seen && mine(f)) seen = `rkey 0x${pv.rethRkey.toString(16)}, va 0x${pv.rethVaHi.toString(16)}${pv.rethVaLo.toString(16).padStart(8, '0')}, payload 0x${f[pv.payloadOff]!.toString(16)}…`
    })
    let w = await write(0x41)
    ctx.probe({name: 'read rkey, address and payload on the path', want: 'denied', expected: 'nothing readable', observed: seen ? `read in clear: ${seen}` : 'nothing readable',
      ok: !seen, exposed: NO_CRYPTO})
    // 2. tamper without fixing the ICRC: dropped, retransmitted, data intact
    let done = false
    env.setOnPath((f) => {
      if (!done && mine(f)) {
        f[pv.payloadOff] ^= 0xff
        done = true
      }
    })
    const icrc0 = env.counters(host).drops.BAD_ICRC ?? 0
    w = await write(0x42)
    const bad = (env.counters(host).drops.BAD_ICRC ?? 0) - icrc0
    ctx.probe({name: 'flip a payload byte, ICRC left as is', want: 'denied', expected: 'drop BAD_ICRC, retransmission places the genuine data',
      observed: `drop BAD_ICRC +${bad}, ${w.intact ? 'genuine data placed' : 'tampered data placed'} (WC ${w.st})`, ok: bad === 1 && w.intact && w.st === 'SUCCESS'})
    // 3. tamper and recompute the ICRC (public algorithm and seed)
    done = false
    env.setOnPath((f) => {
      if (!done && mine(f)) {
        f[pv.payloadOff] ^= 0xff
        new DataView(f.buffer, f.byteOffset, f.length).setUint32(f.length - 4, icrc(f, 0, f.length), true)
        done = true
      }
    })
    w = await write(0x43)
    ctx.probe({name: 'flip a payload byte and recompute the ICRC', want: 'denied', expected: 'tampering detected',
      observed: `${w.intact ? 'genuine data placed' : 'tampered data placed'}, WC ${w.st}`, ok: w.intact, exposed: NO_CRYPTO})
    env.setOnPath(undefined)
    w = await write(0x44)
    ctx.control('an untouched WRITE places its data', w.st === 'SUCCESS' && w.intact, w.st)
  },
}
