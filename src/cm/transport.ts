// How the CM engine reaches the wire: a MadTransport sends a 256-byte MAD to a peer host's QP1 and hands every
// received MAD to one handler. RnicMadTransport is the adapter for the emulated RNIC's GSI path.

import type {MadSource} from '../rnic/gsi.js'
import type {Rnic} from '../rnic/rnic.js'

export interface MadSendOptions {
  srcIp: number // wire (host) address the MAD leaves from
  dscp?: number
}
export type MadReceive = (mad: Uint8Array, from: MadSource) => void

export interface MadTransport {
  send(dstIp: number, mad: Uint8Array, opts: MadSendOptions): void
  onMad(handler: MadReceive): void
}

export class RnicMadTransport implements MadTransport {
  constructor(private readonly nic: Rnic) {}

  send(dstIp: number, mad: Uint8Array, opts: MadSendOptions): void {
    this.nic.sendMad(opts.srcIp, dstIp, opts.dscp ?? 0, mad)
  }

  onMad(handler: MadReceive): void {
    this.nic.gsi.onMad = handler
  }
}
