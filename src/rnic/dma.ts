// Copies between VM memory (MR views) and frames, without allocating: Buffer.copy for bulk bytes, a loop for
// small ones (rxe_mr.c copy_data / rxe_mr_copy). Every MR, frame buffer and scratch here is a Buffer.

import type {RecvWqe, SendWqe} from './qp.js'

const SMALL = 64

export function copy(dst: Uint8Array, dOff: number, src: Buffer, sOff: number, n: number): void {
  if (n < SMALL) {
    for (let i = 0; i < n; i++) dst[dOff + i] = src[sOff + i]!
  } else {
    src.copy(dst, dOff, sOff, sOff + n)
  }
}

/**
 * Exact-length views over one scratch buffer, one per length, so the encoder gets `(view, 0, view.length)`
 * and never makes a subarray. Bounded by the largest MTU.
 */
export class Scratch {
  readonly buf: Buffer
  private readonly views: Array<Buffer | undefined>

  constructor(readonly max: number) {
    this.buf = Buffer.alloc(max)
    this.views = new Array(max + 1).fill(undefined)
  }

  view(len: number): Buffer {
    let v = this.views[len]
    if (v === undefined) {
      v = this.buf.subarray(0, len)
      this.views[len] = v
    }
    return v
  }
}

/** Gather `n` bytes of a send WQE at its DMA cursor into dst[0..n) and advance the cursor (copy_data). */
export function gather(wqe: SendWqe, dst: Buffer, n: number): void {
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
  at: number, src: Buffer, sOff: number, n: number): boolean {
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

export function scatterRecv(w: RecvWqe, at: number, src: Buffer, sOff: number, n: number): boolean {
  if (at + n > w.length) return false
  return scatter(w.sgeMr, w.sgeOff, w.sgeLen, w.numSge, at, src, sOff, n)
}
