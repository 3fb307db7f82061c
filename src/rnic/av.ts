// Address vector (rxe_av.c): GRH fields of the path plus the IPv4 addresses they map to (rdma_gid2ip).

export interface AhAttr {
  dgid: string // '10.0.0.2' or '::ffff:10.0.0.2'
  sgidIndex?: number
  trafficClass?: number
  hopLimit?: number
  flowLabel?: number
}

export class Av {
  dgidIp = 0
  sgidIp = 0
  sgidIndex = 0
  trafficClass = 0
  hopLimit = 64
  flowLabel = 0
}

/** IPv4 dotted quad or IPv4-mapped GID to uint32; undefined when malformed. */
export function parseGidIp(s: string): number | undefined {
  const m = /^(?:::ffff:)?(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/i.exec(s.trim())
  if (!m) return undefined
  let v = 0
  for (let i = 1; i <= 4; i++) {
    const o = Number(m[i])
    if (o > 255) return undefined
    v = v * 256 + o
  }
  return v >>> 0
}

export function ipString(ip: number): string {
  return `${ip >>> 24}.${(ip >>> 16) & 255}.${(ip >>> 8) & 255}.${ip & 255}`
}

/** Fill an Av from attributes; returns an error text (rxe_av_chk_attr) without touching av on failure. */
export function avFromAttr(av: Av, attr: AhAttr, gids: ReadonlyArray<number | undefined>): string | undefined {
  const dgid = typeof attr?.dgid === 'string' ? parseGidIp(attr.dgid) : undefined
  if (dgid === undefined) return 'ah_attr.dgid must be an IPv4 address or ::ffff:IPv4 GID'
  const sgidIndex = attr.sgidIndex ?? 0
  const sgid = gids[sgidIndex]
  if (!Number.isInteger(sgidIndex) || sgid === undefined) return `invalid sgid index ${sgidIndex}`
  const tc = attr.trafficClass ?? 0
  const hop = attr.hopLimit ?? 64
  if (!Number.isInteger(tc) || tc < 0 || tc > 255) return 'bad traffic_class'
  if (!Number.isInteger(hop) || hop < 0 || hop > 255) return 'bad hop_limit'
  av.dgidIp = dgid
  av.sgidIp = sgid
  av.sgidIndex = sgidIndex
  av.trafficClass = tc
  av.hopLimit = hop
  av.flowLabel = attr.flowLabel ?? 0
  return undefined
}

export function avToAttr(av: Av): AhAttr {
  return {dgid: `::ffff:${ipString(av.dgidIp)}`, sgidIndex: av.sgidIndex, trafficClass: av.trafficClass, hopLimit: av.hopLimit, flowLabel: av.flowLabel}
}
