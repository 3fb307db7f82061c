// Ingress demux (rxe_recv.c rxe_rcv + hdr_check): decode, then the header checks in rxe's order; every failure is
// a silent, counted drop. Requests go to the responder, responses to the completer.

import {QpType} from '../rdma-constants.js'
import {DECODE_STATUS_NAME, DecodeStatus, decodeFrame} from '../wire/frame.js'
import {Mask} from '../wire/opcodes.js'
import {completer} from './comp.js'
import {Counter, DropReason} from './counters.js'
import {responder} from './resp.js'
import type {Rnic} from './rnic.js'

// BTH opcode bits 7:5 → the QP type allowed to receive it (IBTA §9.2.1; rxe check_type_state).
const CLASS_QP_TYPE = [QpType.RC, QpType.UC, -1, QpType.UD, -1, -1, -1, -1]

export function rxeRcv(nic: Rnic, buf: Buffer, off: number, len: number): void {
  const pkt = nic.rxPkt
  const st = decodeFrame(buf, off, len, pkt)
  if (st !== DecodeStatus.OK) {
    nic.drops.inc(DECODE_STATUS_NAME[st] ?? `decode_${st}`)
    return
  }
  nic.portCounters.inc(Counter.RCVD_PKTS)
  if (!nic.hasGid(pkt.dstIp)) return nic.drops.inc(DropReason.DGID)
  if (pkt.tver !== 0) return nic.drops.inc(DropReason.TVER)
  if (pkt.destQp === 0) return nic.drops.inc(DropReason.QPN0)
  // QP1 owned by the host's MAD agent (src/rnic/gsi.ts); a verbs-owned QP1 takes the ordinary UD path below
  if (pkt.destQp === 1) return nic.gsi.receive(buf, pkt) // QP1 is the GSI path (src/rnic/gsi.ts)
  const qp = nic.qps.get(pkt.destQp)
  if (!qp) return nic.drops.inc(DropReason.NO_QP)
  // check_type_state
  if (CLASS_QP_TYPE[pkt.opcode >>> 5] !== qp.type) return nic.drops.inc(DropReason.QP_TYPE)
  if (pkt.mask & Mask.REQ ? !qp.respReady() : !qp.reqReady()) return nic.drops.inc(DropReason.QP_STATE)
  // check_addr: a connected QP accepts only its peer's address pair
  if (qp.type !== QpType.UD && (pkt.srcIp !== qp.av.dgidIp || pkt.dstIp !== qp.av.sgidIp)) {
    return nic.drops.inc(DropReason.ADDR)
  }
  // check_keys: P_Key table has the single default full-member key 0xFFFF
  if ((pkt.pkey & 0x7fff) !== 0x7fff) return nic.drops.inc(DropReason.PKEY)
  if (qp.type === QpType.UD && pkt.dethQkey !== qp.qkey) {
    qp.counters.inc(Counter.RCVD_PKTS)
    return nic.drops.inc(DropReason.QKEY)
  }
  qp.counters.inc(Counter.RCVD_PKTS)
  if (pkt.mask & Mask.REQ) responder(nic, qp, pkt)
  else completer(nic, qp, pkt)
}
