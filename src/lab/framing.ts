// Incremental parser for u32 big-endian length-prefixed frames on a byte stream (control RPC and the wire).
// A read may hold part of a frame, several frames, or both: complete frames inside a chunk are handed out in
// place (no copy); only a frame that straddles reads is assembled in a carry buffer that is reused.
// Oversize lengths are skipped byte-for-byte so the stream resyncs; the parser never throws on input.

export type FrameHandler = (buf: Buffer, off: number, len: number) => void

export interface FramingStats {frames: number; oversize: number; bytes: number}

export class FrameParser {
  readonly stats: FramingStats = {frames: 0, oversize: 0, bytes: 0}
  private carry: Buffer
  private carryLen = 0
  private skip = 0 // bytes of an oversize frame still to discard

  constructor(
    private readonly onFrame: FrameHandler,
    private readonly maxFrame: number,
    private readonly onOversize: (len: number) => void = () => {},
    initialCarry = 64 * 1024,
  ) {
    this.carry = Buffer.allocUnsafe(Math.min(initialCarry, maxFrame + 4))
  }

  /** Bytes buffered of an incomplete frame. */
  get pending(): number {
    return this.carryLen
  }

  push(chunk: Buffer): void {
    this.stats.bytes += chunk.length
    let pos = 0
    const end = chunk.length
    if (this.skip > 0) {
      const n = Math.min(this.skip, end)
      this.skip -= n
      pos = n
    }
    if (this.carryLen > 0) pos = this.drainCarry(chunk, pos)
    // Fast path: whole frames inside this chunk, delivered without copying.
    while (pos < end) {
      if (this.skip > 0) {
        const n = Math.min(this.skip, end - pos)
        this.skip -= n
        pos += n
        continue
      }
      if (end - pos < 4) break
      const len = chunk.readUInt32BE(pos)
      if (len > this.maxFrame) {
        this.stats.oversize++
        this.onOversize(len)
        this.skip = len
        pos += 4
        continue
      }
      if (end - pos - 4 < len) break
      this.stats.frames++
      this.onFrame(chunk, pos + 4, len)
      pos += 4 + len
    }
    if (pos < end && this.skip === 0) this.stash(chunk, pos, end)
  }

  private stash(chunk: Buffer, from: number, to: number): void {
    const n = to - from
    this.ensure(this.carryLen + n)
    chunk.copy(this.carry, this.carryLen, from, to)
    this.carryLen += n
  }

  private ensure(size: number): void {
    if (size <= this.carry.length) return
    let cap = this.carry.length
    while (cap < size) cap *= 2
    const next = Buffer.allocUnsafe(Math.min(cap, this.maxFrame + 4))
    this.carry.copy(next, 0, 0, this.carryLen)
    this.carry = next
  }

  // Complete the frame started in a previous read; returns the new position in chunk.
  private drainCarry(chunk: Buffer, pos: number): number {
    const end = chunk.length
    if (this.carryLen < 4) {
      const need = Math.min(4 - this.carryLen, end - pos)
      this.stash(chunk, pos, pos + need)
      pos += need
      if (this.carryLen < 4) return pos
    }
    const len = this.carry.readUInt32BE(0)
    if (len > this.maxFrame) {
      this.stats.oversize++
      this.onOversize(len)
      this.carryLen = 0
      const n = Math.min(len, end - pos)
      this.skip = len - n
      return pos + n
    }
    const need = Math.min(4 + len - this.carryLen, end - pos)
    this.stash(chunk, pos, pos + need)
    pos += need
    if (this.carryLen === 4 + len) {
      this.carryLen = 0
      this.stats.frames++
      this.onFrame(this.carry, 4, len)
    }
    return pos
  }
}

/**
 * The wire link's receive side: a socket reads straight into `buf` (net.Socket `onread`, so no Buffer is
 * allocated per read) and frames are handed out in place. Records are u32 length + frame + zero padding to a
 * multiple of 4 (padRecord), and the stream starts at FRAME_ALIGN - 4 of the buffer, so every frame begins at
 * 2 mod 4: a RoCEv2 payload after its 42 + 12 + extension-header bytes is then word-aligned for the copy into a
 * SharedArrayBuffer (src/rnic/dma.ts). A frame cut by the end of a read is moved to the front (at most one
 * frame: a memmove) before the next read. Oversize lengths are counted and their records skipped; never throws.
 */
export class InPlaceReader {
  readonly buf: Buffer
  private start = STREAM_AT
  private end = STREAM_AT
  private skip = 0

  constructor(
    size: number,
    private readonly onFrame: FrameHandler,
    private readonly maxFrame: number,
    private readonly onOversize: (len: number) => void = () => {},
  ) {
    this.buf = Buffer.allocUnsafeSlow(Math.max(size, 2 * (padRecord(maxFrame) + STREAM_AT)))
  }

  /** Where the next read goes (the onread buffer). */
  next(): Buffer {
    return this.buf.subarray(this.end)
  }

  /** `n` bytes were read into next(). */
  push(n: number): void {
    const b = this.buf
    let end = this.end + n
    let pos = this.start
    if (this.skip > 0) {
      const k = Math.min(this.skip, end - pos)
      this.skip -= k
      pos += k
    }
    while (this.skip === 0 && end - pos >= 4) {
      const len = b.readUInt32BE(pos)
      if (len > this.maxFrame) {
        this.onOversize(len)
        const k = Math.min(padRecord(len), end - pos)
        this.skip = padRecord(len) - k
        pos += k
        continue
      }
      const rec = padRecord(len)
      if (end - pos < rec) break
      this.onFrame(b, pos + 4, len)
      pos += rec
    }
    if (this.skip > 0 || pos === end) {
      pos = end = STREAM_AT // everything consumed: read from the front again
    } else if (b.length - end < padRecord(this.maxFrame)) {
      b.copy(b, STREAM_AT, pos, end) // at most one partial record
      end = STREAM_AT + (end - pos)
      pos = STREAM_AT
    }
    this.start = pos
    this.end = end
  }
}

/** Frames start at 2 mod 4 in InPlaceReader.buf (Ethernet + IPv4 + UDP = 42 bytes puts the BTH on a word). */
export const FRAME_ALIGN = 2
const STREAM_AT = FRAME_ALIGN // records start at 2 mod 4, so their frames (after the u32 length) do too

/** Bytes a record of a `len`-byte frame takes on the wire link: u32 length, frame, padding to 4. */
export function padRecord(len: number): number {
  return (4 + len + 3) & ~3
}
