// Shared-memory rings between a VM (provider, src/verbs) and the RNIC engine: SQ, RQ and CQ live in
// SharedArrayBuffers so that data verbs need no message (rxe_queue.h: producer/consumer indexes in shared memory).
// Indexes are free-running uint32 counters; slot = counter & (size - 1). The producer writes a slot, then publishes
// it with Atomics.store on the producer word (a release the consumer's Atomics.load acquires).

export const RING_PRODUCER = 0
export const RING_CONSUMER = 1
export const RING_SIZE = 2
export const RING_FLAGS = 3
export const RING_SLOT_WORDS = 4
export const RING_HEADER_WORDS = 16 // 64 bytes: producer and consumer words stay off the slots' cache lines

// Send WQE slot (uint32 words).
export const SQ_WRID_HI = 0
export const SQ_WRID_LO = 1
export const SQ_OPCODE = 2 // WrOpcode
export const SQ_FLAGS = 3 // SendFlags
export const SQ_IMM = 4 // imm_data (host order value of the big-endian wire field) or invalidate rkey
export const SQ_RADDR_HI = 5
export const SQ_RADDR_LO = 6
export const SQ_RKEY = 7
export const SQ_CMP_HI = 8 // atomic compare_add
export const SQ_CMP_LO = 9
export const SQ_SWAP_HI = 10
export const SQ_SWAP_LO = 11
export const SQ_UD_QPN = 12
export const SQ_UD_QKEY = 13
export const SQ_AH_IP = 14 // destination GID as IPv4 uint32
export const SQ_AH_TCLASS = 15
export const SQ_AH_HOP = 16
export const SQ_NUM_SGE = 17
export const SQ_INLINE_LEN = 18
export const SQ_SGE = 20 // then 4 words per SGE: addr hi, addr lo, length, lkey
export const SGE_WORDS = 4

// Receive WQE slot.
export const RQ_WRID_HI = 0
export const RQ_WRID_LO = 1
export const RQ_NUM_SGE = 2
export const RQ_SGE = 4

// CQE slot, the fields of struct ibv_wc.
export const CQE_WRID_HI = 0
export const CQE_WRID_LO = 1
export const CQE_STATUS = 2
export const CQE_OPCODE = 3
export const CQE_VENDOR_ERR = 4
export const CQE_BYTE_LEN = 5
export const CQE_IMM = 6
export const CQE_QP_NUM = 7
export const CQE_SRC_QP = 8
export const CQE_WC_FLAGS = 9
export const CQE_PKEY_INDEX = 10
export const CQE_SLID = 11
export const CQE_SL = 12
export const CQE_DLID_PATH_BITS = 13
export const CQE_WORDS = 16

export function sqSlotWords(maxSge: number, maxInline: number): number {
  return SQ_SGE + SGE_WORDS * maxSge + ((maxInline + 3) >>> 2)
}
export function rqSlotWords(maxSge: number): number {
  return RQ_SGE + SGE_WORDS * Math.max(1, maxSge)
}

export function roundPow2(n: number): number {
  let p = 1
  while (p < n) p *= 2
  return p
}

/** A view on one ring; both sides construct it from the same SharedArrayBuffer. */
export class Ring {
  readonly i32: Int32Array
  readonly u32: Uint32Array
  readonly u8: Uint8Array
  readonly size: number
  readonly mask: number
  readonly slotWords: number

  constructor(readonly sab: SharedArrayBuffer) {
    this.i32 = new Int32Array(sab)
    this.u32 = new Uint32Array(sab)
    this.u8 = new Uint8Array(sab)
    this.size = this.i32[RING_SIZE]!
    this.mask = this.size - 1
    this.slotWords = this.i32[RING_SLOT_WORDS]!
  }

  static create(size: number, slotWords: number): Ring {
    const n = roundPow2(Math.max(1, size))
    const sab = new SharedArrayBuffer((RING_HEADER_WORDS + n * slotWords) * 4)
    const i32 = new Int32Array(sab)
    i32[RING_SIZE] = n
    i32[RING_SLOT_WORDS] = slotWords
    return new Ring(sab)
  }

  /** Word index of the slot for a free-running counter. */
  slot(counter: number): number {
    return RING_HEADER_WORDS + (counter & this.mask) * this.slotWords
  }

  producer(): number {
    return Atomics.load(this.i32, RING_PRODUCER) >>> 0
  }
  consumer(): number {
    return Atomics.load(this.i32, RING_CONSUMER) >>> 0
  }
  publish(producer: number): void {
    Atomics.store(this.i32, RING_PRODUCER, producer | 0)
  }
  release(consumer: number): void {
    Atomics.store(this.i32, RING_CONSUMER, consumer | 0)
  }
  count(): number {
    return (this.producer() - this.consumer()) >>> 0
  }
  full(): boolean {
    return this.count() >= this.size
  }
  reset(): void {
    Atomics.store(this.i32, RING_PRODUCER, 0)
    Atomics.store(this.i32, RING_CONSUMER, 0)
  }
}

/** Per-RNIC doorbell: word 0 is a global counter every poster bumps (Atomics.add + Atomics.notify). */
export const DOORBELL_WORDS = 16
// Words 1 and 2: the emulator's MONITOR/MWAIT. A guest that polls its memory for an RDMA WRITE (perftest
// write_lat) would spin on a core the RNIC threads need; instead it arms DMA_WAITERS and sleeps on DMA_EPOCH,
// which the responder bumps after every WRITE payload it places (and notifies only when someone waits).
export const DMA_EPOCH = 1
export const DMA_WAITERS = 2
/** The responder placed WRITE data in guest memory: wake guests that wait for memory to change. */
export function dmaWritten(db: Int32Array): void {
  Atomics.add(db, DMA_EPOCH, 1)
  if (Atomics.load(db, DMA_WAITERS) !== 0) Atomics.notify(db, DMA_EPOCH)
}
/**
 * The guest's side of DMA_EPOCH: block the calling thread until bytes[index] === value; false after timeoutMs.
 * Spins for spinUs, then sleeps on the epoch in bounded slices (a wake-up lost between the check and the wait
 * costs one slice at most). Atomics.wait: only for a thread that does not run the engine itself.
 */
export function waitDmaByte(db: Int32Array, bytes: Uint8Array, index: number, value: number, spinUs: number, timeoutMs: number): boolean {
  if (Atomics.load(bytes, index) === value) return true
  const t0 = performance.now()
  const spinMs = spinUs / 1000
  for (let k = 0; Atomics.load(bytes, index) !== value; k++) {
    if ((k & 63) !== 0) continue
    const el = performance.now() - t0
    if (el > timeoutMs) return false
    if (el < spinMs) continue
    Atomics.add(db, DMA_WAITERS, 1)
    const epoch = Atomics.load(db, DMA_EPOCH)
    if (Atomics.load(bytes, index) !== value) Atomics.wait(db, DMA_EPOCH, epoch, 2)
    Atomics.sub(db, DMA_WAITERS, 1)
  }
  return true
}
export function ringDoorbell(db: Int32Array): void {
  Atomics.add(db, 0, 1)
  Atomics.notify(db, 0)
}
