// Memory region (rxe_mr.c): a view on VM memory (a SharedArrayBuffer) with keys, access flags and a PD.
// Keys: lkey = (index << 8) | 8 random bits, rkey = lkey if any REMOTE_* flag else 0 (rxe_mr_init).
// Addresses stay as hi/lo uint32 on the hot path; offsets are computed in doubles, which is exact whenever the
// result can be in range, and bounds are checked without forming va + len (mr_check_range, no 64-bit wrap).

import {Access} from '../rdma-constants.js'

const TWO32 = 4294967296
export const REMOTE_ACCESS = Access.REMOTE_WRITE | Access.REMOTE_READ | Access.REMOTE_ATOMIC

export class Mr {
  readonly u8: Buffer
  readonly dv: DataView
  readonly iovaHi: number
  readonly iovaLo: number
  valid = true

  constructor(
    readonly index: number,
    readonly lkey: number,
    readonly rkey: number,
    readonly pdn: number,
    readonly access: number,
    readonly memory: SharedArrayBuffer,
    readonly offset: number,
    readonly length: number,
    readonly iova: bigint,
  ) {
    this.u8 = Buffer.from(memory, offset, length)
    this.dv = new DataView(memory, offset, length)
    this.iovaHi = Number((iova >> 32n) & 0xffffffffn)
    this.iovaLo = Number(iova & 0xffffffffn)
  }

  /** Byte offset of va inside the MR (may be negative or beyond length: callers range-check). */
  offsetOf(vaHi: number, vaLo: number): number {
    return (vaHi - this.iovaHi) * TWO32 + (vaLo - this.iovaLo)
  }

  /** mr_check_range: iova >= mr.iova && len <= mr.length && iova <= mr.iova + mr.length - len. */
  inRange(off: number, len: number): boolean {
    return off >= 0 && len <= this.length && off <= this.length - len
  }
}

/** Validate registration arguments (ib_check_mr_access + bounds of the backing memory). Returns an error text. */
export function checkMrInit(memory: SharedArrayBuffer, offset: number, length: number, iova: bigint, access: number): string | undefined {
  if (!(memory instanceof SharedArrayBuffer)) return 'memory must be a SharedArrayBuffer'
  if (!Number.isInteger(offset) || !Number.isInteger(length) || offset < 0 || length < 0) return 'bad offset/length'
  if (offset + length > memory.byteLength) return 'region outside the VM memory'
  if (typeof iova !== 'bigint' || iova < 0n || iova > 0xffffffffffffffffn) return 'iova must be a u64 bigint'
  if (iova + BigInt(length) > 0x10000000000000000n) return 'iova + length wraps 2^64'
  if (!Number.isInteger(access) || access < 0 || access > 0xffff) return 'bad access flags'
  // IB spec C10-31 / ib_check_mr_access: remote write or atomic requires local write.
  if (access & (Access.REMOTE_WRITE | Access.REMOTE_ATOMIC) && !(access & Access.LOCAL_WRITE)) {
    return 'REMOTE_WRITE/REMOTE_ATOMIC require LOCAL_WRITE'
  }
  return undefined
}

/** The MR table: index = key >> 8, cyclic allocation so a freed index is not reused at once. */
export class MrTable {
  private readonly table: Array<Mr | undefined>
  private next = 1
  count = 0

  constructor(readonly max: number) {
    this.table = new Array(max + 1).fill(undefined)
  }

  allocIndex(): number {
    for (let i = 0; i < this.max; i++) {
      const idx = ((this.next - 1 + i) % this.max) + 1
      if (!this.table[idx]) {
        this.next = (idx % this.max) + 1
        return idx
      }
    }
    return 0
  }

  set(mr: Mr): void {
    this.table[mr.index] = mr
    this.count++
  }

  byIndex(index: number): Mr | undefined {
    return this.table[index]
  }

  remove(index: number): void {
    const mr = this.table[index]
    if (mr) {
      mr.valid = false
      this.table[index] = undefined
      this.count--
    }
  }

  /** lookup_mr: exact key, same PD, all requested access bits, still valid. */
  lookup(pdn: number, access: number, key: number, remote: boolean): Mr | undefined {
    const mr = this.table[key >>> 8]
    if (!mr || !mr.valid) return undefined
    if ((remote ? mr.rkey : mr.lkey) !== key >>> 0) return undefined
    if (mr.pdn !== pdn || (mr.access & access) !== access) return undefined
    return mr
  }
}
