// A provider-traffic probe (issue 5: "provider-class traffic keeps ≥ 90% of its rate while a tenant floods"):
// the host's RNIC worker sends an open-loop stream of small IPv4/UDP frames marked with a DSCP (the provider's, by
// default) through its uplink to another host, whose downlink delivers them to that host's probe instead of the
// engine. The stream is paced on the fabric clock, so a late wake-up sends the frames it owes at once: the offered
// rate is exact over the run whatever the machine's load. UDP port 47002 is masq-internal, never RoCEv2's 4791.

import {type Clock, Timer} from './clock.js'
import {ipv4HeaderChecksum} from './dscp.js'
import type {FrameSink} from './port.js'

export const PROBE_PORT = 47002
const HDR = 42 // Ethernet 14 + IPv4 20 + UDP 8

export interface ProbeRun {srcIp: number; dstIp: number; dscp: number; len: number; count: number; intervalNs: number}
export interface ProbeCounters {sent: number; rxFrames: number; rxBytes: number}

export class FabricProbe {
  readonly counters: ProbeCounters = {sent: 0, rxFrames: 0, rxBytes: 0}
  private readonly frame = Buffer.alloc(1500)
  private readonly timer: Timer
  private len = 0
  private remaining = 0
  private nextAt = 0
  private intervalNs = 0
  private done: (() => void) | undefined

  constructor(private readonly clock: Clock, private readonly out: FrameSink) {
    this.timer = new Timer((now) => this.tick(now))
  }

  /** Send `count` frames of `len` bytes (60..1500), one every `intervalNs`; resolves when the last one was sent. */
  run(o: ProbeRun): Promise<{sent: number}> {
    if (this.remaining > 0) return Promise.reject(new Error('a probe is already running'))
    const len = Math.max(60, Math.min(1500, Math.floor(o.len)))
    const f = this.frame
    f.fill(0, 0, len)
    f.writeUInt16BE(0x0200, 0) // locally administered MACs, as the testbed's (02:00:a.b.c.d)
    f.writeUInt32BE(o.dstIp >>> 0, 2)
    f.writeUInt16BE(0x0200, 6)
    f.writeUInt32BE(o.srcIp >>> 0, 8)
    f.writeUInt16BE(0x0800, 12)
    f[14] = 0x45
    f[15] = (o.dscp & 0x3f) << 2
    f.writeUInt16BE(len - 14, 16)
    f[22] = 64
    f[23] = 17
    f.writeUInt32BE(o.srcIp >>> 0, 26)
    f.writeUInt32BE(o.dstIp >>> 0, 30)
    f.writeUInt16BE(PROBE_PORT, 34)
    f.writeUInt16BE(PROBE_PORT, 36)
    f.writeUInt16BE(len - 34, 38)
    f.writeUInt16BE(ipv4HeaderChecksum(f, 0), 24)
    this.len = len
    this.remaining = Math.max(0, Math.floor(o.count))
    this.intervalNs = Math.max(0, o.intervalNs)
    this.nextAt = this.clock.now()
    const sentBefore = this.counters.sent
    return new Promise((resolve) => {
      this.done = () => resolve({sent: this.counters.sent - sentBefore})
      this.tick(this.clock.now())
    })
  }

  private tick(now: number): void {
    while (this.remaining > 0 && this.nextAt <= now) {
      this.frame.writeUInt32BE(this.counters.sent >>> 0, HDR) // a sequence number, for captures
      this.out.transmit(this.frame, 0, this.len)
      this.counters.sent++
      this.remaining--
      this.nextAt += this.intervalNs
    }
    if (this.remaining > 0) {
      this.clock.arm(this.timer, this.nextAt)
    } else if (this.done) {
      const d = this.done
      this.done = undefined
      d()
    }
  }

  /** A frame delivered to this host: true (and counted) when it is a probe frame. Never throws. */
  onFrame(buf: Uint8Array, off: number, len: number): boolean {
    if (len < HDR || buf[off + 12] !== 0x08 || buf[off + 13] !== 0x00 || buf[off + 23] !== 17) return false
    if (((buf[off + 36]! << 8) | buf[off + 37]!) !== PROBE_PORT) return false
    this.counters.rxFrames++
    this.counters.rxBytes += len
    return true
  }
}
