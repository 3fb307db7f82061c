// CRC-32 (IEEE 802.3, reflected 0xEDB88320) with zlib's chaining semantics: crc32Update(crc32Update(0, a), b)
// equals zlib.crc32(a ‖ b) | 0. Short runs are summed in JS over (buf, start, end): no subarray and no native-call
// overhead (~0.1-0.2 µs per native call); long runs go to @node-rs/crc32 (crc32fast, PCLMULQDQ: 7-9 GB/s here,
// 0.44-0.58 µs per 4 KiB frame against 1.05-1.24 µs for node:zlib's crc32 in the same run), or to node:zlib's
// crc32 (3-4 GB/s) where that package has no binary for the platform. Both give the same IEEE CRC-32.
// Values are signed int32 so V8 never boxes them (a uint32 above 2^31 returned from a call that is not inlined
// becomes a 16-byte HeapNumber); callers apply `>>> 0` at the final use.
import {createRequire} from 'node:module'
import {crc32 as zlibCrc32} from 'node:zlib'

type Crc32 = (b: Uint8Array, initial: number) => number
function nativeCrc32(): {fn: Crc32; impl: 'node-rs' | 'zlib'} {
  if (process.env.MASQ_CRC !== 'zlib') {
    try {
      const m = createRequire(import.meta.url)('@node-rs/crc32') as {crc32: (b: Uint8Array, initial?: number) => number}
      if (m.crc32(new Uint8Array([0x61]), 0) === zlibCrc32(new Uint8Array([0x61]), 0)) return {fn: m.crc32, impl: 'node-rs'}
    } catch {} // no prebuilt binary for this platform: zlib's
  }
  return {fn: zlibCrc32 as Crc32, impl: 'zlib'}
}
const NATIVE = nativeCrc32()
const crc32 = NATIVE.fn
/** Which native CRC-32 long runs use (MASQ_CRC=zlib forces node:zlib, for A/B runs). */
export const CRC_IMPL = NATIVE.impl

const TABLE = new Int32Array(256 * 8) // slicing-by-8: TABLE[t*256 + n] = CRC of byte n followed by t zero bytes
for (let n = 0; n < 256; n++) {
  let c = n
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1
  TABLE[n] = c
}
for (let n = 0; n < 256; n++) {
  for (let t = 1; t < 8; t++) TABLE[t * 256 + n] = (TABLE[(t - 1) * 256 + n]! >>> 8) ^ TABLE[TABLE[(t - 1) * 256 + n]! & 0xff]!
}

/** Below this many bytes the JS loop beats a native zlib.crc32 call (measured here with slicing-by-8: break-even about 192-256 B). */
export const NATIVE_CRC_MIN = 192

// A one-entry cache of the last view handed to zlib: repeated frames in the same buffer slot allocate nothing.
// (It keeps the last buffer reachable; the RNIC's tx/rx buffers live as long as the RNIC anyway.)
let viewBuf: Uint8Array | null = null
let viewStart = 0
let viewEnd = 0
let view: Uint8Array = new Uint8Array(0)

function jsCrc(crc: number, b: Uint8Array, start: number, end: number): number {
  let c = ~crc
  let i = start
  for (; i + 8 <= end; i += 8) {
    c ^= b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24)
    c = TABLE[1792 + (c & 0xff)]! ^ TABLE[1536 + ((c >>> 8) & 0xff)]! ^ TABLE[1280 + ((c >>> 16) & 0xff)]! ^
      TABLE[1024 + (c >>> 24)]! ^ TABLE[768 + b[i + 4]!]! ^ TABLE[512 + b[i + 5]!]! ^ TABLE[256 + b[i + 6]!]! ^
      TABLE[b[i + 7]!]!
  }
  for (; i < end; i++) c = TABLE[(c ^ b[i]!) & 0xff]! ^ (c >>> 8)
  return ~c
}

/** Continues `crc` (int32 or uint32) over b[start, end); returns int32. */
export function crc32Update(crc: number, b: Uint8Array, start: number, end: number): number {
  if (end - start < NATIVE_CRC_MIN) return jsCrc(crc, b, start, end)
  if (b !== viewBuf || start !== viewStart || end !== viewEnd) {
    viewBuf = b
    viewStart = start
    viewEnd = end
    view = start === 0 && end === b.length ? b : b.subarray(start, end)
  }
  return crc32(view, crc >>> 0) | 0
}

/** Continues `crc` over b[start, start+n) with each byte OR-ed with orMask[k] (0xFF = masked to all ones). */
export function crc32Masked(crc: number, b: Uint8Array, start: number, orMask: Uint8Array, n: number): number {
  let c = ~crc
  let k = 0
  for (; k + 8 <= n; k += 8) {
    const i = start + k
    c ^= (b[i]! | orMask[k]!) | ((b[i + 1]! | orMask[k + 1]!) << 8) | ((b[i + 2]! | orMask[k + 2]!) << 16) |
      ((b[i + 3]! | orMask[k + 3]!) << 24)
    c = TABLE[1792 + (c & 0xff)]! ^ TABLE[1536 + ((c >>> 8) & 0xff)]! ^ TABLE[1280 + ((c >>> 16) & 0xff)]! ^
      TABLE[1024 + (c >>> 24)]! ^ TABLE[768 + (b[i + 4]! | orMask[k + 4]!)]! ^
      TABLE[512 + (b[i + 5]! | orMask[k + 5]!)]! ^ TABLE[256 + (b[i + 6]! | orMask[k + 6]!)]! ^
      TABLE[b[i + 7]! | orMask[k + 7]!]!
  }
  for (; k < n; k++) c = TABLE[(c ^ (b[start + k]! | orMask[k]!)) & 0xff]! ^ (c >>> 8)
  return ~c
}
