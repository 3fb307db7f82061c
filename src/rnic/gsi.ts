// The GSI (QP1) path of the RNIC. QP1 has exactly one owner per port, as in the kernel where ib_mad owns it:
// either the host's CM agent (onMad: MADs go to the handler, send() puts them on the wire from QP1) or a verbs
// consumer that created it with createQp({gsi: true}) (then it is an ordinary UD QP in the QP table). Both see
// the same checks: UD SEND ONLY to QP1 with the GSI Q_Key 0x80010000 (rxe check_keys), same drop counters.

import {GSI_QKEY} from '../rdma-constants.js'
import {encodeMadFrame, GSI_QPN, madOfFrame} from '../wire/gsi.js'
import {FRAME_OVERHEAD} from '../wire/frame.js'
import {MAD_SIZE} from '../wire/mad.js'
import {PacketView} from '../wire/packet.js'
import {Counter, DropReason} from './counters.js'
import {ringDoorbell} from './queue.js'
import type {Rnic} from './rnic.js'
import {setMac, udpSrcPort} from './tx.js'

export interface MadSource {
  srcIp: number
  dstIp: number
  srcQp: number
  pkey: number
}
export type MadHandler = (mad: Uint8Array, from: MadSource) => void

// a wrong Q_Key on QP1 is the same violation whoever owns QP1 (one counter, rxe check_keys)
export const GsiDrop = {QKEY: DropReason.QKEY, NOT_MAD: 'gsi_not_mad', NO_AGENT: 'gsi_no_agent'} as const

export class Gsi {
  private handler: MadHandler | undefined
  private readonly pkt = new PacketView()
  private readonly buf = Buffer.alloc(FRAME_OVERHEAD + 64 + MAD_SIZE)

  constructor(private readonly nic: Rnic) {}

  get onMad(): MadHandler | undefined {
    return this.handler
  }

  /** Attaches the host's MAD agent to QP1 (QP1 is always the RNIC's GSI path: createQp({gsi}) is EPERM). */
  set onMad(h: MadHandler | undefined) {
    this.handler = h
  }

  /** A frame whose BTH dest QP is 1 (called from the receive demux). The MAD view is only valid during the call. */
  receive(buf: Uint8Array, pkt: PacketView): void {
    const mad = madOfFrame(buf, pkt)
    if (!mad) return this.nic.drops.inc(GsiDrop.NOT_MAD)
    if ((pkt.pkey & 0x7fff) !== 0x7fff) return this.nic.drops.inc(DropReason.PKEY) // as recv.ts check_keys
    if (pkt.dethQkey !== GSI_QKEY) return this.nic.drops.inc(GsiDrop.QKEY)
    if (!this.handler) return this.nic.drops.inc(GsiDrop.NO_AGENT)
    this.handler(mad, {srcIp: pkt.srcIp, dstIp: pkt.dstIp, srcQp: pkt.dethSrcQp, pkey: pkt.pkey})
  }

  /** Sends a 256-byte MAD from QP1 at srcIp to QP1 at dstIp (own buffers: safe while the engine is mid-packet). */
  send(srcIp: number, dstIp: number, dscp: number, mad: Uint8Array): void {
    const p = this.pkt
    setMac(p.dstMac, dstIp)
    setMac(p.srcMac, srcIp)
    p.srcIp = srcIp
    p.dstIp = dstIp
    p.dscp = dscp & 0x3f
    p.ecn = 0
    p.ttl = 64
    p.ipId = this.nic.ipId = (this.nic.ipId + 1) & 0xffff
    p.srcPort = udpSrcPort(GSI_QPN)
    p.migReq = 0
    p.tver = 0
    p.fecn = 0
    p.becn = 0
    p.psn = 0
    const n = encodeMadFrame(this.nic.encoder, this.buf, 0, p, mad)
    this.nic.portCounters.inc(Counter.SENT_PKTS)
    // busy while on the wire: an answer cut through the fabric is queued for a later poll, not delivered into
    // the caller's stack (rnic.ts busy())
    const wasSending = this.nic.inMadSend
    this.nic.inMadSend = true
    try {
      this.nic.port?.transmit(this.buf, 0, n)
    } finally {
      this.nic.inMadSend = wasSending
    }
    // like ib_mad posting on QP1: ring the doorbell so an event-loop driver wakes up and moves the frame on
    ringDoorbell(this.nic.doorbell)
  }
}
