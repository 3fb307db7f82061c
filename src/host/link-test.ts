// linkTest: pushes N IPv4/UDP frames over the wire to a peer host's RNIC worker, which counts them and answers
// the last one with an ack carrying the count: a real measurement of the emulated socket path.
// UDP ports 47000/47001 are masq-internal (not RoCEv2's 4791), so these frames never reach the RNIC engine.
import {randomInt} from 'node:crypto'
import {performance} from 'node:perf_hooks'
import {FLUSH_BYTES, WIRE_MAX_FRAME, ipv4ToU32, type WireLink} from '../lab/wire-link.js'

export const LINKTEST_PORT = 47000
export const LINKTEST_ACK_PORT = 47001
const HDR = 42 // Ethernet 14 + IPv4 20 + UDP 8
export const LINKTEST_MIN_FRAME = HDR + 16

export interface Station {mac: string; underlay: string}
export interface LinkTestResult {peer: number; frames: number; size: number; batchBytes: number; delivered: number; bytes: number; seconds: number; mbPerSec: number; framesPerSec: number}

function writeMac(buf: Buffer, off: number, mac: string): void {
  mac.split(':').forEach((h, i) => (buf[off + i] = parseInt(h, 16)))
}

export function buildUdpFrame(buf: Buffer, size: number, src: Station, dst: Station, dport: number): void {
  buf.fill(0, 0, HDR)
  writeMac(buf, 0, dst.mac)
  writeMac(buf, 6, src.mac)
  buf.writeUInt16BE(0x0800, 12)
  buf[14] = 0x45
  buf.writeUInt16BE(size - 14, 16)
  buf[22] = 64 // TTL
  buf[23] = 17 // UDP
  buf.writeUInt32BE(ipv4ToU32(src.underlay), 26)
  buf.writeUInt32BE(ipv4ToU32(dst.underlay), 30)
  buf.writeUInt16BE(dport, 34)
  buf.writeUInt16BE(dport, 36)
  buf.writeUInt16BE(size - 34, 38)
}

export class LinkTester {
  rxFrames = 0
  private readonly rx = new Map<number, number>()
  private readonly waiting = new Map<number, (count: number) => void>()
  private readonly ack = Buffer.alloc(LINKTEST_MIN_FRAME)

  constructor(private readonly link: WireLink, private readonly self: number, private readonly stations: Station[]) {}

  async run(peer: number, frames: number, size: number, timeoutMs = 60_000, batchBytes?: number): Promise<LinkTestResult> {
    if (!(peer >= 0 && peer < this.stations.length) || peer === this.self) throw new Error(`linkTest needs another host, got ${peer}`)
    size = Math.max(LINKTEST_MIN_FRAME, Math.min(size, WIRE_MAX_FRAME))
    await this.link.waitConnected(peer, Math.min(timeoutMs, 10_000))
    const buf = Buffer.alloc(size)
    buildUdpFrame(buf, size, this.stations[this.self], this.stations[peer], LINKTEST_PORT)
    const testId = randomInt(1, 0x7fffffff)
    buf.writeUInt32BE(testId, HDR)
    buf.writeUInt32BE(frames, HDR + 8)
    buf.writeUInt32BE(this.self, HDR + 12)
    let timer: NodeJS.Timeout | undefined
    const acked = new Promise<number>((resolve, reject) => {
      this.waiting.set(testId, resolve)
      timer = setTimeout(() => reject(new Error(`linkTest: no ack from host ${peer} within ${timeoutMs} ms`)), timeoutMs)
    })
    const savedBatch = this.link.flushBytes
    if (batchBytes) this.link.flushBytes = Math.max(size + 4, Math.min(batchBytes, FLUSH_BYTES))
    const t0 = performance.now()
    try {
      for (let seq = 0; seq < frames; seq++) {
        buf.writeUInt32BE(seq, HDR + 4)
        while (!this.link.transmit(buf, 0, size)) await this.link.drain(peer)
        if ((seq & 31) === 31 && this.link.backlog(peer) > 1 << 20) await this.link.drain(peer)
      }
      const delivered = await acked
      const seconds = (performance.now() - t0) / 1000
      return {peer, frames, size, batchBytes: this.link.flushBytes, delivered, bytes: delivered * size, seconds, mbPerSec: (delivered * size) / 1e6 / seconds, framesPerSec: delivered / seconds}
    } finally {
      this.link.flushBytes = savedBatch
      clearTimeout(timer)
      this.waiting.delete(testId)
    }
  }

  /** Handles linkTest frames; returns false for anything else (left to the RNIC engine). */
  onFrame(buf: Buffer, off: number, len: number): boolean {
    if (len < LINKTEST_MIN_FRAME || buf.readUInt16BE(off + 12) !== 0x0800 || buf[off + 23] !== 17) return false
    const dport = buf.readUInt16BE(off + 36)
    if (dport === LINKTEST_PORT) {
      this.rxFrames++
      const id = buf.readUInt32BE(off + HDR)
      const seq = buf.readUInt32BE(off + HDR + 4)
      const total = buf.readUInt32BE(off + HDR + 8)
      const from = buf.readUInt32BE(off + HDR + 12)
      const n = (this.rx.get(id) ?? 0) + 1
      if (seq + 1 < total) {
        this.rx.set(id, n)
        return true
      }
      this.rx.delete(id)
      if (from < this.stations.length && from !== this.self) {
        buildUdpFrame(this.ack, this.ack.length, this.stations[this.self], this.stations[from], LINKTEST_ACK_PORT)
        this.ack.writeUInt32BE(id, HDR)
        this.ack.writeUInt32BE(n, HDR + 4)
        this.link.transmit(this.ack, 0, this.ack.length)
      }
      return true
    }
    if (dport === LINKTEST_ACK_PORT) {
      this.waiting.get(buf.readUInt32BE(off + HDR))?.(buf.readUInt32BE(off + HDR + 4))
      return true
    }
    return false
  }
}
