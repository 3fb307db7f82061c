// Copies between VM memory (MR views) and frames, without allocating: Buffer.copy for bulk bytes, a loop for
// small ones (rxe_mr.c copy_data / rxe_mr_copy). Every MR, frame buffer and scratch here is a Buffer.

import type {RecvWqe, SendWqe} from './qp.js'

// below this a byte loop is cheaper than finding word views
const SMALL = 256

// V8 copies a Uint8Array into or out of a SharedArrayBuffer byte by byte (relaxed atomics): ~2 us for 4 KiB here,
// against ~0.4 us for a loop over Int32Array views. VM memory is a SharedArrayBuffer, so bulk copies whose source
// and destination share the same alignment mod 4 go word-wise; frames are placed so that payloads are aligned.
const i32Views = new WeakMap<ArrayBufferLike, Int32Array>()
function i32Of(b: ArrayBufferLike): Int32Array {
  let v = i32Views.get(b)
  if (v === undefined) {
    v = new Int32Array(b, 0, b.byteLength >>> 2)
    i32Views.set(b, v)
  }
  return v
}

/** dst[dOff, dOff+n) = src[sOff, sOff+n), allocation-free, fast for SharedArrayBuffer-backed views. */
export function copy(dst: Uint8Array, dOff: number, src: Uint8Array, sOff: number, n: number): void {
  if (n < SMALL) {
    for (let i = 0; i < n; i++) dst[dOff + i] = src[sOff + i]!
    return
  }
  const da = dst.byteOffset + dOff
  const sa = src.byteOffset + sOff
  if (((da - sa) & 3) !== 0) {
    // misaligned: a byte loop still beats V8's relaxed byte copy when a SharedArrayBuffer is involved
    // (Buffer#copy would allocate a view per call in Node 20)
    if (n > 2048 && !(dst.buffer instanceof SharedArrayBuffer) && !(src.buffer instanceof SharedArrayBuffer)) {
      dst.set(src.subarray(sOff, sOff + n), dOff)
    } else {
      for (let i = 0; i < n; i++) dst[dOff + i] = src[sOff + i]!
    }
    return
  }
  // bytes up to the first word boundary, then words, then the tail
  const head = (4 - (da & 3)) & 3
  for (let i = 0; i < head; i++) dst[dOff + i] = src[sOff + i]!
  const words = (n - head) >>> 2
  const dw = i32Of(dst.buffer)
  const sw = i32Of(src.buffer)
  const d0 = (da + head) >>> 2
  const s0 = (sa + head) >>> 2
  dw.set(wordView(sw, s0, words), d0)
  for (let i = head + words * 4; i < n; i++) dst[dOff + i] = src[sOff + i]!
}

// Int32Array.set is a word-wise copy even for shared memory, but needs a source view of the exact range. Views
// are cached direct-mapped by (buffer, offset, length): workloads reuse their buffers and frames reuse their
// slots, so the steady state allocates nothing.
const CACHE = 512
const cBuf: Array<Int32Array | undefined> = new Array(CACHE).fill(undefined)
const cOff = new Float64Array(CACHE)
const cLen = new Float64Array(CACHE)
const cView: Array<Int32Array | undefined> = new Array(CACHE).fill(undefined)

function wordView(w: Int32Array, off: number, len: number): Int32Array {
  const k = (Math.imul(off, 0x9e3779b1) ^ len) >>> 23
  if (cBuf[k] === w && cOff[k] === off && cLen[k] === len) return cView[k]!
  const v = w.subarray(off, off + len)
  cBuf[k] = w
  cOff[k] = off
  cLen[k] = len
  cView[k] = v
  return v
}

/** A Buffer over its own ArrayBuffer (byteOffset 0), so word alignment is known. */
export function alignedBuffer(n: number): Buffer {
  return Buffer.from(new ArrayBuffer((n + 7) & ~7), 0, n)
}

/**
 * Exact-length views over a scratch buffer, one per (alignment, length), so the encoder gets `(view, 0, len)`
 * and never makes a subarray; the view starts at the same offset mod 4 as the VM bytes copied into it.
 */
export class Scratch {
  readonly buf: Buffer
  private readonly views: Array<Array<Buffer | undefined>>

  constructor(readonly max: number) {
    this.buf = alignedBuffer(max + 4)
    this.views = [0, 1, 2, 3].map(() => new Array(max + 1).fill(undefined))
  }

  view(len: number, align = 0): Buffer {
    const row = this.views[align & 3]!
    let v = row[len]
    if (v === undefined) {
      v = this.buf.subarray(align & 3, (align & 3) + len)
      row[len] = v
    }
    return v
  }
}

/** Stage VM bytes (an MR) into an exact-length scratch view for the encoder: one fast word copy. */
export function stage(scratch: Scratch, src: Uint8Array, sOff: number, n: number): Buffer {
  const v = scratch.view(n, src.byteOffset + sOff)
  copy(v, 0, src, sOff, n)
  return v
}

/** Gather `n` bytes of a send WQE at its DMA cursor into dst[0..n) and advance the cursor (copy_data). */
export function gather(wqe: SendWqe, dst: Uint8Array, n: number): void {
  if (wqe.isInline) {
    const start = wqe.length - wqe.resid
    for (let i = 0; i < n; i++) dst[i] = wqe.inline[start + i]!
    wqe.resid -= n
    return
  }
  let done = 0
  while (done < n) {
    const avail = wqe.sgeLen[wqe.curSge]! - wqe.sgeOffset
    const k = avail < n - done ? avail : n - done
    if (k > 0) copy(dst, done, wqe.sgeMr[wqe.curSge]!.u8, wqe.sgeOff[wqe.curSge]! + wqe.sgeOffset, k)
    done += k
    wqe.sgeOffset += k
    if (wqe.sgeOffset === wqe.sgeLen[wqe.curSge]) {
      wqe.curSge++
      wqe.sgeOffset = 0
    }
  }
  wqe.resid -= n
}

/** Move a send WQE's DMA cursor forward without copying (advance_dma_data). */
export function advance(wqe: SendWqe, n: number): void {
  wqe.resid -= n
  if (wqe.isInline) return
  while (n > 0 && wqe.curSge < wqe.numSge) {
    const avail = wqe.sgeLen[wqe.curSge]! - wqe.sgeOffset
    const k = avail < n ? avail : n
    wqe.sgeOffset += k
    n -= k
    if (wqe.sgeOffset === wqe.sgeLen[wqe.curSge]) {
      wqe.curSge++
      wqe.sgeOffset = 0
    }
  }
}

export function rewind(wqe: SendWqe): void {
  wqe.resid = wqe.length
  wqe.curSge = 0
  wqe.sgeOffset = 0
}

/** Scatter src[sOff, sOff+n) into SGEs starting at message offset `at`; false if the SGEs are too short. */
export function scatter(sgeMr: SendWqe['sgeMr'], sgeOff: Float64Array, sgeLen: Float64Array, numSge: number,
  at: number, src: Uint8Array, sOff: number, n: number): boolean {
  let i = 0
  while (i < numSge && at >= sgeLen[i]!) {
    at -= sgeLen[i]!
    i++
  }
  while (n > 0) {
    if (i >= numSge) return false
    const k = Math.min(sgeLen[i]! - at, n)
    if (k > 0) copy(sgeMr[i]!.u8, sgeOff[i]! + at, src, sOff, k)
    sOff += k
    n -= k
    at = 0
    i++
  }
  return true
}

export function scatterRecv(w: RecvWqe, at: number, src: Uint8Array, sOff: number, n: number): boolean {
  if (at + n > w.length) return false
  return scatter(w.sgeMr, w.sgeOff, w.sgeLen, w.numSge, at, src, sOff, n)
}
