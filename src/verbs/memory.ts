// VM memory: one SharedArrayBuffer mapped at a base virtual address. Buffers are regions of it; an MR is a view
// on it, so the RNIC reads and writes the VM's memory directly.

export type U64 = bigint | number

export interface Region {
  mem: VmMemory
  offset: number
  length: number
  addr: bigint // virtual address of the first byte
  bytes: Uint8Array
}

export class VmMemory {
  readonly sab: SharedArrayBuffer
  readonly u8: Uint8Array
  private brk = 0

  constructor(readonly size: number, readonly base: bigint = 0x7f0000000000n) {
    this.sab = new SharedArrayBuffer(size)
    this.u8 = new Uint8Array(this.sab)
  }

  /** Bump allocator (regions are never freed: a VM's buffers live as long as the VM). */
  alloc(length: number, align = 64): Region {
    const offset = Math.ceil(this.brk / align) * align
    if (offset + length > this.size) throw new RangeError(`VmMemory: ${length} bytes do not fit`)
    this.brk = offset + length
    return this.region(offset, length)
  }

  region(offset: number, length: number): Region {
    return {mem: this, offset, length, addr: this.base + BigInt(offset), bytes: new Uint8Array(this.sab, offset, length)}
  }
}

export function hi32(v: U64): number {
  return typeof v === 'bigint' ? Number((v >> 32n) & 0xffffffffn) : Math.floor(v / 4294967296) >>> 0
}
export function lo32(v: U64): number {
  return typeof v === 'bigint' ? Number(v & 0xffffffffn) : v >>> 0
}
