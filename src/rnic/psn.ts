// 24-bit modular PSN arithmetic (rxe_hdr.h psn_compare: the sign of a 24-bit difference, shifted into an s32).

export const PSN_MASK = 0xffffff

export function psnCompare(a: number, b: number): number {
  return ((a - b) << 8) >> 8
}

export function psnAdd(a: number, n: number): number {
  return (a + n) & PSN_MASK
}
