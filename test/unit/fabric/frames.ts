// Test frames: Ethernet | IPv4 (DSCP in TOS, valid header checksum) | UDP 4791 | payload whose first bytes carry a
// source id and a sequence number, so that sinks can tell frames apart.
import {ipv4HeaderChecksum} from '../../../src/fabric/dscp.js'
import type {Fabric} from '../../../src/topology/types.js'

export const PAYLOAD_OFF = 14 + 20 + 8

export function makeFrame(len: number, dscp: number, src = 0, seq = 0, buf: Uint8Array = new Uint8Array(len)): Uint8Array {
  buf.fill(0, 0, len)
  buf[12] = 0x08
  buf[13] = 0x00
  buf[14] = 0x45
  buf[15] = dscp << 2
  buf[16] = (len - 14) >> 8
  buf[17] = (len - 14) & 0xff
  buf[22] = 64
  buf[23] = 17
  buf.set([10, 0, 0, 1, 10, 0, 0, 2], 26)
  buf[36] = 0x12
  buf[37] = 0xb7 // 4791
  const c = ipv4HeaderChecksum(buf, 0)
  buf[24] = c >> 8
  buf[25] = c & 0xff
  setTag(buf, src, seq)
  return buf
}

export function setTag(buf: Uint8Array, src: number, seq: number): void {
  const v = new DataView(buf.buffer, buf.byteOffset)
  v.setUint16(PAYLOAD_OFF, src)
  v.setUint32(PAYLOAD_OFF + 2, seq)
}

export function tagOf(buf: Uint8Array, off: number): {src: number; seq: number} {
  const v = new DataView(buf.buffer, buf.byteOffset + off)
  return {src: v.getUint16(PAYLOAD_OFF), seq: v.getUint32(PAYLOAD_OFF + 2)}
}

/** Records what reaches it: (time, src, seq, len). */
export class Recorder {
  times: number[] = []
  srcs: number[] = []
  seqs: number[] = []
  lens: number[] = []
  constructor(private readonly now: () => number) {}
  transmit(frame: Uint8Array, off: number, len: number): void {
    const t = tagOf(frame, off)
    this.times.push(this.now())
    this.srcs.push(t.src)
    this.seqs.push(t.seq)
    this.lens.push(len)
  }
  receive(frame: Uint8Array, off: number, len: number): void {
    this.transmit(frame, off, len)
  }
  bytesFrom(src: number, fromNs = -Infinity, toNs = Infinity): number {
    let b = 0
    for (let i = 0; i < this.times.length; i++) if (this.srcs[i] === src && this.times[i]! >= fromNs && this.times[i]! < toNs) b += this.lens[i]!
    return b
  }
}

export function fabric(over: Partial<Fabric> = {}): Fabric {
  const dscpPriority = new Array<number>(64).fill(1)
  dscpPriority[48] = 0 // provider class
  return {
    mtu: 4096,
    linkRateBps: 10e9,
    delayNs: 0,
    bufferBytes: 1 << 20,
    dscpPriority,
    priorities: 2,
    impairments: {loss: 0, duplicate: 0, reorder: 0, jitterNs: 0, seed: 1},
    capture: false,
    ...over,
  }
}
