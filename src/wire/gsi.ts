// CM MADs on the wire: a UD SEND ONLY to QP1 (the GSI) with DETH Q_Key 0x80010000 and source QP 1
// (IBTA §13.5; rxe/ib_mad send them exactly so), 256-byte MAD as the payload.
import {GSI_QKEY} from '../rdma-constants.js'
import {FrameEncoder} from './frame.js'
import {MAD_SIZE} from './mad.js'
import {Mask, Opcode} from './opcodes.js'
import {PacketView} from './packet.js'

export const GSI_QPN = 1

/** Sets the BTH/DETH fields of `pkt` for a MAD to the peer's QP1 (addresses, ports, PSN are left as they are). */
export function prepareMadPacket(pkt: PacketView): PacketView {
  pkt.opcode = Opcode.UD_SEND_ONLY
  pkt.destQp = GSI_QPN
  pkt.dethQkey = GSI_QKEY
  pkt.dethSrcQp = GSI_QPN
  pkt.pkey = 0xffff
  pkt.ackReq = 0
  pkt.se = 0
  return pkt
}

/** Encodes `mad` (256 bytes) as a UD SEND ONLY to QP1 into out[off…); returns the frame length. */
export function encodeMadFrame(enc: FrameEncoder, out: Uint8Array, off: number, pkt: PacketView,
  mad: Uint8Array): number {
  prepareMadPacket(pkt)
  return enc.encodeInto(out, off, pkt, mad, 0, MAD_SIZE)
}

/** The MAD inside a decoded frame, or null when the frame is not a full MAD to/from the GSI. */
export function madOfFrame(buf: Uint8Array, pkt: PacketView): Uint8Array | null {
  if ((pkt.mask & Mask.DETH) === 0 || pkt.destQp !== GSI_QPN || pkt.payloadLen < MAD_SIZE) return null
  return buf.subarray(pkt.payloadOff, pkt.payloadOff + MAD_SIZE)
}
