// Independent byte builder for expected values in codec tests (never uses the encoder under test).
export class ByteList {
  private readonly bytes: number[] = []
  u8(...v: number[]): this { for (const x of v) this.bytes.push(x & 0xff); return this }
  u16(v: number): this { return this.u8(v >>> 8, v) }
  u24(v: number): this { return this.u8(v >>> 16, v >>> 8, v) }
  u32(v: number): this { return this.u8(v >>> 24, v >>> 16, v >>> 8, v) }
  u64(v: bigint): this { return this.u32(Number(v >> 32n)).u32(Number(v & 0xffffffffn)) }
  zeros(n: number): this { for (let i = 0; i < n; i++) this.bytes.push(0); return this }
  add(b: ArrayLike<number>): this { for (let i = 0; i < b.length; i++) this.bytes.push(b[i]! & 0xff); return this }
  ascii(s: string): this { for (const c of s) this.bytes.push(c.charCodeAt(0)); return this }
  get length(): number { return this.bytes.length }
  build(): Uint8Array { return new Uint8Array(this.bytes) }
}
