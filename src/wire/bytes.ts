// Big-endian field access on plain Uint8Arrays (no DataView: making one per buffer would allocate on the hot path).
// Every protocol byte in src/wire goes through these, so byte order lives in one place.

export function rd16(b: Uint8Array, o: number): number {
  return (b[o]! << 8) | b[o + 1]!
}
export function rd24(b: Uint8Array, o: number): number {
  return (b[o]! << 16) | (b[o + 1]! << 8) | b[o + 2]!
}
export function rd32(b: Uint8Array, o: number): number {
  return ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0
}
export function rd32le(b: Uint8Array, o: number): number {
  return (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24)) >>> 0
}
export function wr16(b: Uint8Array, o: number, v: number): void {
  b[o] = v >>> 8
  b[o + 1] = v
}
export function wr24(b: Uint8Array, o: number, v: number): void {
  b[o] = v >>> 16
  b[o + 1] = v >>> 8
  b[o + 2] = v
}
export function wr32(b: Uint8Array, o: number, v: number): void {
  b[o] = v >>> 24
  b[o + 1] = v >>> 16
  b[o + 2] = v >>> 8
  b[o + 3] = v
}
export function wr32le(b: Uint8Array, o: number, v: number): void {
  b[o] = v
  b[o + 1] = v >>> 8
  b[o + 2] = v >>> 16
  b[o + 3] = v >>> 24
}
export function rd64(b: Uint8Array, o: number): bigint {
  return (BigInt(rd32(b, o)) << 32n) | BigInt(rd32(b, o + 4))
}
export function wr64(b: Uint8Array, o: number, v: bigint): void {
  wr32(b, o, Number((v >> 32n) & 0xffffffffn))
  wr32(b, o + 4, Number(v & 0xffffffffn))
}
/** Small copies (headers) by loop: cheaper than making a subarray view for TypedArray.set. */
export function copyBytes(dst: Uint8Array, dOff: number, src: Uint8Array, sOff: number, n: number): void {
  for (let i = 0; i < n; i++) dst[dOff + i] = src[sOff + i]!
}
export function toHex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex')
}
export function fromHex(s: string): Uint8Array {
  return new Uint8Array(Buffer.from(s.replace(/[^0-9a-fA-F]/g, ''), 'hex'))
}
