// Address helpers: IPv4 as a uint32 (10.0.0.1 = 0x0a000001), MACs as 6 bytes, RoCEv2 GIDs as IPv4-mapped IPv6
// (`::ffff:a.b.c.d`, rdma_ip2gid / ipv6_addr_set_v4mapped).

export function ipToU32(ip: string): number {
  const parts = ip.split('.')
  if (parts.length !== 4) throw new RangeError(`not an IPv4 address: ${ip}`)
  let v = 0
  for (const p of parts) {
    const n = Number(p)
    if (!/^\d{1,3}$/.test(p) || n > 255) throw new RangeError(`not an IPv4 address: ${ip}`)
    v = v * 256 + n
  }
  return v >>> 0
}

export function u32ToIp(n: number): string {
  return `${(n >>> 24) & 255}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`
}

export function macFromString(mac: string): Uint8Array {
  const parts = mac.split(/[:-]/)
  if (parts.length !== 6 || parts.some(p => !/^[0-9a-fA-F]{1,2}$/.test(p))) throw new RangeError(`not a MAC: ${mac}`)
  return new Uint8Array(parts.map(p => parseInt(p, 16)))
}

export function macToString(mac: Uint8Array): string {
  return Array.from(mac.subarray(0, 6), b => b.toString(16).padStart(2, '0')).join(':')
}

/** '::ffff:10.0.0.1' (or a bare '10.0.0.1') → '10.0.0.1'; throws on a GID that is not IPv4-mapped. */
export function gidToIp(gid: string): string {
  const m = /^(?:0{0,4}:){0,5}:?ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(gid) ?? /^(\d{1,3}(?:\.\d{1,3}){3})$/.exec(gid)
  if (!m) throw new RangeError(`not an IPv4-mapped GID: ${gid}`)
  return u32ToIp(ipToU32(m[1]!))
}

export function ipToGid(ip: string): string {
  return `::ffff:${u32ToIp(ipToU32(ip))}`
}

/** Writes the 16-byte IPv4-mapped GID of `ip` (uint32) at `off`. */
export function writeGid(out: Uint8Array, off: number, ip: number): void {
  for (let i = 0; i < 10; i++) out[off + i] = 0
  out[off + 10] = 0xff
  out[off + 11] = 0xff
  out[off + 12] = ip >>> 24
  out[off + 13] = ip >>> 16
  out[off + 14] = ip >>> 8
  out[off + 15] = ip
}

/** The IPv4 (uint32) inside a 16-byte GID, or -1 when it is not IPv4-mapped. */
export function readGidIp(b: Uint8Array, off: number): number {
  for (let i = 0; i < 10; i++) if (b[off + i] !== 0) return -1
  if (b[off + 10] !== 0xff || b[off + 11] !== 0xff) return -1
  return ((b[off + 12]! << 24) | (b[off + 13]! << 16) | (b[off + 14]! << 8) | b[off + 15]!) >>> 0
}
