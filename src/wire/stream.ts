// Framing on the wire channel (Unix stream sockets between RNIC workers): every Ethernet frame is preceded by its
// length as a big-endian u16, as RFC 4571 frames RTP over TCP. The reassembler never assumes that one read is one
// frame: it delivers frames straight out of the chunk when it can and keeps only the remainder.

export const STREAM_PREFIX = 2
export const MAX_STREAM_FRAME = 0xffff

/** Writes the u16 length prefix for a frame of `len` bytes at out[off]. Throws RangeError above 65535. */
export function writeLengthPrefix(out: Uint8Array, off: number, len: number): void {
  if (len < 0 || len > MAX_STREAM_FRAME) throw new RangeError(`frame of ${len} bytes cannot be length-prefixed`)
  out[off] = len >>> 8
  out[off + 1] = len & 0xff
}

/** Called per complete frame; buf[off, off+len) is only valid during the call. */
export type FrameSink = (buf: Uint8Array, off: number, len: number) => void

export class FrameReassembler {
  private buf: Uint8Array
  private start = 0
  private end = 0

  constructor(initialBytes = 16384) {
    this.buf = new Uint8Array(Math.max(initialBytes, STREAM_PREFIX))
  }

  /** Bytes held back waiting for the rest of a frame. */
  get pending(): number {
    return this.end - this.start
  }

  /** Feeds one chunk as read from the socket; returns how many frames were delivered. */
  push(chunk: Uint8Array, sink: FrameSink): number {
    let frames = 0
    let pos = 0
    if (this.end > this.start) {
      // Complete the held-back frame first, copying only the bytes it needs.
      while (pos < chunk.length) {
        const have = this.end - this.start
        const need = have < STREAM_PREFIX ? STREAM_PREFIX : STREAM_PREFIX + this.frameLen()
        if (have >= need) break
        const take = Math.min(need - have, chunk.length - pos)
        this.append(chunk, pos, take)
        pos += take // once the prefix is complete, the next pass sizes the frame
      }
      const have = this.end - this.start
      if (have < STREAM_PREFIX || have < STREAM_PREFIX + this.frameLen()) return 0
      sink(this.buf, this.start + STREAM_PREFIX, this.frameLen())
      frames++
      this.start = this.end = 0
    }
    // Whole frames straight out of the chunk (zero copy).
    while (chunk.length - pos >= STREAM_PREFIX) {
      const len = (chunk[pos]! << 8) | chunk[pos + 1]!
      if (chunk.length - pos < STREAM_PREFIX + len) break
      sink(chunk, pos + STREAM_PREFIX, len)
      frames++
      pos += STREAM_PREFIX + len
    }
    if (pos < chunk.length) this.append(chunk, pos, chunk.length - pos)
    return frames
  }

  private frameLen(): number {
    return (this.buf[this.start]! << 8) | this.buf[this.start + 1]!
  }

  private append(src: Uint8Array, off: number, n: number): void {
    if (this.end + n > this.buf.length) {
      const held = this.end - this.start
      if (held + n <= this.buf.length) {
        this.buf.copyWithin(0, this.start, this.end) // compact in place before growing
      } else {
        let size = this.buf.length * 2
        while (size < held + n) size *= 2
        const grown = new Uint8Array(size)
        grown.set(this.buf.subarray(this.start, this.end))
        this.buf = grown
      }
      this.start = 0
      this.end = held
    }
    this.buf.set(off === 0 && n === src.length ? src : src.subarray(off, off + n), this.end)
    this.end += n
  }
}
