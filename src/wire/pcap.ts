// Classic pcap files (LINKTYPE_ETHERNET). The writer appends buffered records with fs.writeSync on an fd;
// the reader accepts µs and ns magic in both byte orders; mergePcaps orders records by timestamp (stable).
import {closeSync, openSync, readFileSync, writeSync} from 'node:fs'
import {performance} from 'node:perf_hooks'
import {WireError} from './errors.js'

export const PCAP_MAGIC_US = 0xa1b2c3d4
export const PCAP_MAGIC_NS = 0xa1b23c4d
export const LINKTYPE_ETHERNET = 1
export const PCAP_SNAPLEN = 65535
const GLOBAL_HDR = 24
const RECORD_HDR = 16

export interface PcapRecord {
  tsNs: bigint
  data: Uint8Array
  origLen: number
}
export interface PcapFile {
  linktype: number
  nanos: boolean
  snaplen: number
  records: PcapRecord[]
  truncated: boolean // the last record was cut short (e.g. a capture still being written); it is left out
}

// Wall clock in ns, monotonic after construction (hrtime offset from one Date.now() sample).
const BASE_WALL_NS = BigInt(Date.now()) * 1_000_000n
const BASE_HR_NS = process.hrtime.bigint()
export function wallClockNs(): bigint {
  return BASE_WALL_NS + (process.hrtime.bigint() - BASE_HR_NS)
}

/** Nanosecond pcap writer; records are buffered and written with fs.writeSync (host order = little endian). */
export class PcapWriter {
  private readonly fd: number
  private readonly buf: Buffer
  private pos = 0
  private closed = false
  records = 0

  constructor(readonly path: string, bufferBytes = 1 << 20) {
    this.fd = openSync(path, 'w')
    this.buf = Buffer.allocUnsafe(Math.max(bufferBytes, GLOBAL_HDR + RECORD_HDR + PCAP_SNAPLEN))
    const b = this.buf
    b.writeUInt32LE(PCAP_MAGIC_NS, 0)
    b.writeUInt16LE(2, 4)
    b.writeUInt16LE(4, 6)
    b.writeInt32LE(0, 8) // thiszone
    b.writeUInt32LE(0, 12) // sigfigs
    b.writeUInt32LE(PCAP_SNAPLEN, 16)
    b.writeUInt32LE(LINKTYPE_ETHERNET, 20)
    this.pos = GLOBAL_HDR
  }

  /** Appends data[off, off+len) with a timestamp given as seconds + nanoseconds (no BigInt on this path). */
  writeAt(sec: number, nsec: number, data: Uint8Array, off = 0, len = data.length - off): void {
    if (this.closed) throw new Error(`pcap ${this.path} is closed`)
    const incl = Math.min(len, PCAP_SNAPLEN)
    if (this.pos + RECORD_HDR + incl > this.buf.length) this.flush()
    const b = this.buf
    b.writeUInt32LE(sec >>> 0, this.pos)
    b.writeUInt32LE(nsec >>> 0, this.pos + 4)
    b.writeUInt32LE(incl, this.pos + 8)
    b.writeUInt32LE(len, this.pos + 12)
    this.pos += RECORD_HDR
    b.set(off === 0 && incl === data.length ? data : data.subarray(off, off + incl), this.pos)
    this.pos += incl
    this.records++
  }

  /** Appends a record stamped with the wall clock (µs resolution, no BigInt: for the capture hot path). */
  writeNow(data: Uint8Array, off = 0, len = data.length - off): void {
    const ms = performance.timeOrigin + performance.now()
    const sec = Math.floor(ms / 1000)
    this.writeAt(sec, Math.floor((ms - sec * 1000) * 1e6), data, off, len)
  }

  /** Appends a record stamped `tsNs` (default: now). */
  write(data: Uint8Array, off = 0, len = data.length - off, tsNs: bigint = wallClockNs()): void {
    this.writeAt(Number(tsNs / 1_000_000_000n), Number(tsNs % 1_000_000_000n), data, off, len)
  }

  flush(): void {
    let done = 0
    while (done < this.pos) done += writeSync(this.fd, this.buf, done, this.pos - done)
    this.pos = 0
  }

  close(): void {
    if (this.closed) return
    this.flush()
    closeSync(this.fd)
    this.closed = true
  }
}

/** Parses a classic pcap (µs or ns magic, either byte order). Throws WireError on a file that is not pcap. */
export function readPcap(buf: Uint8Array): PcapFile {
  if (buf.length < GLOBAL_HDR) throw new WireError('PCAP_SHORT', `pcap shorter than its ${GLOBAL_HDR}-byte header`)
  const v = new DataView(buf.buffer, buf.byteOffset, buf.byteLength)
  let le: boolean
  let nanos: boolean
  const mLe = v.getUint32(0, true)
  const mBe = v.getUint32(0, false)
  if (mLe === PCAP_MAGIC_US || mLe === PCAP_MAGIC_NS) {
    le = true
    nanos = mLe === PCAP_MAGIC_NS
  } else if (mBe === PCAP_MAGIC_US || mBe === PCAP_MAGIC_NS) {
    le = false
    nanos = mBe === PCAP_MAGIC_NS
  } else {
    throw new WireError('PCAP_MAGIC', `not a pcap file (magic 0x${mBe.toString(16)})`)
  }
  const snaplen = v.getUint32(16, le)
  const linktype = v.getUint32(20, le) & 0x0fffffff // upper bits: FCS length flags
  const records: PcapRecord[] = []
  const unit = nanos ? 1n : 1000n
  let p = GLOBAL_HDR
  let truncated = false
  while (p < buf.length) {
    if (p + RECORD_HDR > buf.length) { truncated = true; break }
    const sec = v.getUint32(p, le)
    const frac = v.getUint32(p + 4, le)
    const incl = v.getUint32(p + 8, le)
    const origLen = v.getUint32(p + 12, le)
    if (p + RECORD_HDR + incl > buf.length) { truncated = true; break }
    records.push({
      tsNs: BigInt(sec) * 1_000_000_000n + BigInt(frac) * unit,
      data: buf.subarray(p + RECORD_HDR, p + RECORD_HDR + incl),
      origLen,
    })
    p += RECORD_HDR + incl
  }
  return {linktype, nanos, snaplen, records, truncated}
}

/** Merges pcaps into one ns pcap ordered by timestamp; ties keep input order. Returns the record count. */
export function mergePcaps(inputs: readonly string[], outPath: string): number {
  const all: Array<{r: PcapRecord; file: number; idx: number}> = []
  inputs.forEach((path, file) => {
    readPcap(readFileSync(path)).records.forEach((r, idx) => all.push({r, file, idx}))
  })
  all.sort((a, b) => (a.r.tsNs < b.r.tsNs ? -1 : a.r.tsNs > b.r.tsNs ? 1 : a.file - b.file || a.idx - b.idx))
  const w = new PcapWriter(outPath)
  try {
    for (const {r} of all) w.write(r.data, 0, r.data.length, r.tsNs)
  } finally {
    w.close()
  }
  return all.length
}
