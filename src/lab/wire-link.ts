// The host-to-host wire, used inside a host's RNIC worker: a full mesh of Unix stream sockets (each host dials
// every other one and reads what that peer sends on the socket it dialed) carrying Ethernet frames as records
// (u32 length, frame, zero padding to 4 bytes). It is the RNIC engine's Port: transmit(frame, off, len) routes by
// destination IPv4 (bytes 30..33 of the Ethernet frame) and coalesces frames into a reused send buffer per
// peer, written once it passes flushBytes, at the end of a batch (the owner's engine pass: beginBatch/endBatch),
// else on setImmediate; reads land in one reused buffer per peer and frames are handed out in place, at 2 mod 4,
// to onFrame(buf, off, len) — the buffer is only valid during the call.
import fs from 'node:fs'
import net from 'node:net'
import {FrameParser, InPlaceReader, padRecord, type FrameHandler} from './framing.js'

export interface Port {
  transmit(frame: Uint8Array, off: number, len: number): boolean
  onFrame: FrameHandler
}

export const WIRE_COUNTERS = [
  'txFrames', 'txBytes', 'txWrites', 'txNoRoute', 'txDropped', 'txRunt',
  'rxFrames', 'rxBytes', 'rxReads', 'rxOversize', 'rxBadHello', 'loopback', 'connects',
] as const
export type WireCounter = (typeof WIRE_COUNTERS)[number]
export const wireCounterIndex = Object.fromEntries(WIRE_COUNTERS.map((n, i) => [n, i])) as Record<WireCounter, number>

const HELLO_MAGIC = 0x4d51574c // "MQWL"
// 64 KiB (the raw ceiling's write size): the peer starts on a burst after 16 MTU frames, not 64, so encoding
// and decoding overlap on two cores; the extra write() calls cost ~1 us each
export const FLUSH_BYTES = 64 * 1024
const BUF_BYTES = FLUSH_BYTES + 80 * 1024 // one max frame past the flush mark still fits
const RX_BYTES = 512 * 1024 // per peer: a read may take several writes' worth
const MAX_BACKLOG = 8 * 1024 * 1024 // bytes queued in the socket before transmit drops (a full NIC queue)
export const WIRE_MAX_FRAME = 64 * 1024
export const ACK_HOLD_US = 30 // bench:wire: the guest's reply to a WRITE is posted ~5-15 us after its data lands

// A plain RoCEv2 RC ACKNOWLEDGE (BTH opcode 0x11, AETH syndrome ACK): Ethernet 14 + IPv4 20 (no options, as the
// engine encodes) + UDP 8, then BTH at 42 and AETH at 54.
function isPlainAck(f: Uint8Array, off: number, len: number): boolean {
  return len >= 58 && f[off + 23] === 17 && f[off + 36] === 0x12 && f[off + 37] === 0xb7 && f[off + 42] === 0x11 &&
    (f[off + 54]! & 0xe0) === 0
}
const NO_BATCH = process.env.MASQ_WIRE_BATCH === '0' // A/B switch for bench:wire: flush on setImmediate only

export function ipv4ToU32(ip: string): number {
  const p = ip.split('.').map(Number)
  return ((p[0] << 24) | (p[1] << 16) | (p[2] << 8) | p[3]) >>> 0
}

export interface WireLinkOptions {
  index: number
  sockets: string[] // wire socket path per host index
  routes: Array<[string, number]> // IPv4 address -> host index
  counters?: Float64Array // may live on a SharedArrayBuffer the host agent reads
}

class Peer {
  socket: net.Socket | undefined // we write to the peer on the socket it dialed
  rx: net.Socket | undefined // and read from it on the one we dialed
  buf: Buffer = Buffer.allocUnsafe(BUF_BYTES)
  fill = 0
  scheduled = false
  held = false // staged bytes are only held ACKs (ackHoldUs)
  heldAt = 0
  readonly pool: Buffer[] = []
  waiters: Array<() => void> = []
}

export class WireLink implements Port {
  onFrame: FrameHandler = () => {}
  /** Coalesced bytes per peer that trigger an immediate write (else the write waits for setImmediate). */
  flushBytes = FLUSH_BYTES
  /**
   * How long a plain ACK may wait in the staging buffer for another frame to the same peer (0: never). The
   * responder's ACK for a WRITE then leaves in one socket write with the reply the guest posts a few µs later:
   * one write and one wake-up of the peer instead of two. Frames, their order and the protocol are unchanged
   * (rxe still ACKs every AckReq packet); only the moment of the socket write moves, as with a NIC's TX batching.
   * The owner's loop calls releaseHeld() after each pass and before it sleeps, and keeps polling while holding.
   */
  ackHoldUs = ACK_HOLD_US
  /** Called when a frame starts being held: the owner must run releaseHeld() soon. */
  onHold: () => void = () => {}
  readonly counters: Float64Array
  private readonly routes = new Map<number, number>()
  private readonly peers: Peer[]
  private server: net.Server | undefined
  private closed = false
  private readonly inbound = new Set<net.Socket>()
  private batchDepth = 0
  private dirty: number[] = [] // peers with staged bytes and no write scheduled yet
  private held: number[] = [] // peers whose staged bytes are held ACKs only

  constructor(private readonly opts: WireLinkOptions) {
    this.counters = opts.counters ?? new Float64Array(WIRE_COUNTERS.length)
    for (const [ip, host] of opts.routes) this.routes.set(ipv4ToU32(ip), host)
    this.peers = opts.sockets.map(() => new Peer())
  }

  private count(c: WireCounter, n = 1): void {
    this.counters[wireCounterIndex[c]] += n
  }

  async start(): Promise<void> {
    const path = this.opts.sockets[this.opts.index]
    try {
      fs.unlinkSync(path)
    } catch {}
    const server = net.createServer((s) => this.accept(s))
    this.server = server
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(path, () => resolve())
    })
    for (let j = 0; j < this.peers.length; j++) if (j !== this.opts.index) this.dial(j, 5)
  }

  isConnected(peer: number): boolean {
    const p = this.peers[peer]
    return p?.socket !== undefined && p.rx !== undefined
  }

  /** Resolves when the link to `peer` is up (or rejects after timeoutMs). */
  waitConnected(peer: number, timeoutMs: number): Promise<void> {
    const p = this.peers[peer]
    if (!p) return Promise.reject(new Error(`no host ${peer}`))
    if (this.isConnected(peer)) return Promise.resolve()
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`wire link to host ${peer} not up after ${timeoutMs} ms`)), timeoutMs)
      p.waiters.push(() => {
        clearTimeout(t)
        resolve()
      })
    })
  }

  /** Bytes accepted for `peer` but not yet handed to the kernel. */
  backlog(peer: number): number {
    const p = this.peers[peer]
    return p ? p.fill + (p.socket?.writableLength ?? 0) : 0
  }

  /** Wait until the socket to `peer` has drained (honour backpressure). */
  async drain(peer: number): Promise<void> {
    const s = this.peers[peer]?.socket
    if (!s || !s.writableNeedDrain) return
    await new Promise<void>((resolve) => {
      const done = () => {
        s.off('drain', done)
        s.off('close', done)
        resolve()
      }
      s.on('drain', done)
      s.on('close', done)
    })
  }

  hostOf(ip: number): number | undefined {
    return this.routes.get(ip)
  }

  transmit(frame: Uint8Array, off: number, len: number): boolean {
    if (len < 34) {
      this.count('txRunt')
      return false
    }
    const dst = ((frame[off + 30] << 24) | (frame[off + 31] << 16) | (frame[off + 32] << 8) | frame[off + 33]) >>> 0
    const host = this.routes.get(dst)
    if (host === undefined) {
      this.count('txNoRoute')
      return false
    }
    if (host === this.opts.index) {
      // Same host: deliver asynchronously so the engine is never re-entered from its own transmit.
      const copy = Buffer.from(frame.subarray(off, off + len))
      this.count('loopback')
      setImmediate(() => this.onFrame(copy, 0, len))
      return true
    }
    const p = this.peers[host]
    if (p.fill + (p.socket?.writableLength ?? 0) + len > MAX_BACKLOG) {
      this.count('txDropped')
      return false
    }
    const rec = padRecord(len)
    if (p.fill + rec > p.buf.length) this.flush(host)
    if (p.fill + rec > p.buf.length) {
      // not connected yet and the staging buffer is full
      this.count('txDropped')
      return false
    }
    const b = p.buf
    b.writeUInt32BE(len, p.fill)
    b.set(frame.subarray(off, off + len), p.fill + 4)
    for (let i = p.fill + 4 + len; i < p.fill + rec; i++) b[i] = 0
    p.fill += rec
    this.count('txFrames')
    this.count('txBytes', len)
    if (p.fill >= this.flushBytes) this.flush(host)
    else if (p.scheduled) {
      // rides with the write already scheduled for this peer
    } else if (this.ackHoldUs > 0 && isPlainAck(frame, off, len)) {
      if (!p.held) {
        p.held = true
        p.heldAt = performance.now()
        this.held.push(host)
        this.onHold()
      }
    } else {
      p.scheduled = true
      // inside a batch the frames of this round go out in one write at endBatch, without an event-loop turn
      if (this.batchDepth > 0) this.dirty.push(host)
      else setImmediate(() => this.flushScheduled(host))
    }
    return true
  }

  /** Frames transmitted until the matching endBatch are written together when it ends (batches nest). */
  beginBatch(): void {
    if (NO_BATCH) return
    this.batchDepth++
  }

  endBatch(): void {
    if (NO_BATCH || --this.batchDepth > 0) return
    const d = this.dirty
    for (let i = 0; i < d.length; i++) this.flushScheduled(d[i]!)
    d.length = 0
  }

  /** Write the held ACKs that waited ackHoldUs (all of them when force); returns how many peers still hold. */
  releaseHeld(force: boolean): number {
    const h = this.held
    if (h.length === 0) return 0
    const limit = performance.now() - this.ackHoldUs / 1000
    let keep = 0
    for (let i = 0; i < h.length; i++) {
      const p = this.peers[h[i]!]!
      if (!p.held) continue // flushed with another frame meanwhile
      if (force || p.heldAt <= limit) this.flush(h[i]!)
      else h[keep++] = h[i]!
    }
    h.length = keep
    return keep
  }

  private flushScheduled(host: number): void {
    this.peers[host]!.scheduled = false
    this.flush(host)
  }

  private flush(host: number): void {
    const p = this.peers[host]
    p.held = false
    if (!p.socket || p.fill === 0) return // staged until the link is up (attach flushes)
    const b = p.buf
    this.count('txWrites')
    // The socket holds b until the write completes; stage into another buffer meanwhile and recycle b after.
    p.socket.write(b.subarray(0, p.fill), () => {
      if (p.pool.length < 4) p.pool.push(b)
    })
    p.buf = p.pool.pop() ?? Buffer.allocUnsafe(BUF_BYTES)
    p.fill = 0
  }

  // Our side of each pair is two sockets: the one we dial carries what the peer sends us (read in place through
  // `onread`, which only a dialed socket offers), the one the peer dials carries what we send it.
  private dial(j: number, delay: number): void {
    if (this.closed) return
    const p = this.peers[j]!
    const reader = new InPlaceReader(RX_BYTES, (buf, off, len) => this.receive(buf, off, len), WIRE_MAX_FRAME,
      () => this.count('rxOversize'))
    const s = net.createConnection({
      path: this.opts.sockets[j]!,
      onread: {
        buffer: () => reader.next(),
        callback: (n: number) => {
          this.count('rxReads')
          reader.push(n)
          return true
        },
      },
    })
    s.once('error', () => {
      s.destroy()
      setTimeout(() => this.dial(j, Math.min(delay * 2, 200)), delay).unref()
    })
    s.once('connect', () => {
      s.removeAllListeners('error')
      s.on('error', () => {})
      const hello = Buffer.alloc(12)
      hello.writeUInt32BE(8, 0)
      hello.writeUInt32BE(HELLO_MAGIC, 4)
      hello.writeUInt32BE(this.opts.index, 8)
      s.write(hello)
      p.rx?.destroy()
      p.rx = s
      s.on('close', () => {
        if (p.rx !== s) return
        p.rx = undefined
        this.dial(j, 5) // the peer restarted (or the link flapped): dial again
      })
      this.linkUp(j)
    })
  }

  private accept(s: net.Socket): void {
    this.inbound.add(s)
    s.on('error', () => {})
    s.on('close', () => this.inbound.delete(s))
    let peer = -1
    const parser = new FrameParser(
      (buf, off, len) => {
        if (peer >= 0) return // the peer sends us nothing on this socket after its hello
        const j = len === 8 && buf.readUInt32BE(off) === HELLO_MAGIC ? buf.readUInt32BE(off + 4) : -1
        if (j < 0 || j >= this.peers.length || j === this.opts.index) {
          this.count('rxBadHello')
          s.destroy()
          return
        }
        peer = j
        this.attachTx(j, s)
      },
      WIRE_MAX_FRAME,
      () => this.count('rxOversize'),
    )
    s.on('data', (c: Buffer) => {
      if (peer < 0) parser.push(c)
    })
  }

  private attachTx(j: number, s: net.Socket): void {
    const p = this.peers[j]!
    p.socket?.destroy()
    p.socket = s
    s.setNoDelay?.(true)
    s.on('close', () => {
      if (p.socket === s) p.socket = undefined // the peer dials again
    })
    this.linkUp(j)
    this.flush(j)
  }

  private linkUp(j: number): void {
    const p = this.peers[j]!
    if (!p.socket || !p.rx) return
    this.count('connects')
    const waiters = p.waiters
    p.waiters = []
    for (const w of waiters) w()
  }

  private receive(buf: Buffer, off: number, len: number): void {
    this.count('rxFrames')
    this.count('rxBytes', len)
    this.onFrame(buf, off, len)
  }

  async close(): Promise<void> {
    this.closed = true
    for (const p of this.peers) {
      p.socket?.destroy()
      p.rx?.destroy()
    }
    for (const s of this.inbound) s.destroy()
    const server = this.server
    if (server) await new Promise<void>((r) => server.close(() => r()))
    try {
      fs.unlinkSync(this.opts.sockets[this.opts.index])
    } catch {}
  }
}
