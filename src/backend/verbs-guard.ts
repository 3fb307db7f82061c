// Control-path refusals the MasQ backend makes on behalf of the kernel gates it bypasses (reference
// rdma-security.md §1.2): raw QPs (C10), controlled Q_Keys (C14), and any destination other than the peer
// the connection was set up with (C11, C21). Each check returns a value; refusals are audited.
import {Errno, QpAttrMask, QpType} from '../rdma-constants.js'
import type {AuditContext, AuditKind, AuditSink} from './audit.js'
import {checkTenantQkey} from './qkey.js'

export type GuardResult = {ok: true} | {ok: false; errno: number; code: 'EPERM' | 'EINVAL'; kind: AuditKind; message: string}

const ALLOWED_QP_TYPES: ReadonlySet<number> = new Set([QpType.RC, QpType.UC, QpType.UD])
const QP_TYPE_NAME: Record<number, string> = Object.fromEntries(Object.entries(QpType).map(([k, v]) => [v, k]))

/** what connection tracking admitted for one local QP: the remote QPN and the peer's virtual GID */
export interface TrackedPeer {
  peerQpn: number
  peerGid: string // the peer VM's GID as the tenant sees it (::ffff:vIP), before RConnrename
}

export class VerbsGuard {
  readonly refusals = new Map<AuditKind, number>()

  constructor(private readonly audit?: AuditSink) {}

  /** create_qp: RC, UC, UD only. RAW_PACKET needs CAP_NET_RAW in uverbs create_qp; tenants never get it. */
  checkQpType(ctx: AuditContext, type: number): GuardResult {
    if (ALLOWED_QP_TYPES.has(type)) return {ok: true}
    const name = QP_TYPE_NAME[type] ?? `type ${type}`
    const kind: AuditKind = type === QpType.RAW_PACKET ? 'raw-qp' : 'qp-type'
    return this.refuse(ctx, kind, 'EPERM', `${name} QPs are not available to tenants (RC, UC and UD only)`, {qpType: type})
  }

  checkQkey(ctx: AuditContext, qkey: unknown): GuardResult {
    const r = checkTenantQkey(qkey)
    return r.ok ? {ok: true} : this.refuse(ctx, 'qkey', r.code, r.message, {qkey: typeof qkey === 'number' ? qkey : String(qkey)})
  }

  /** RTR (or any modify naming a destination QPN): only the peer that connection tracking admitted */
  checkDestQpn(ctx: AuditContext, peer: TrackedPeer | undefined, qpn: unknown): GuardResult {
    if (typeof qpn !== 'number' || !Number.isInteger(qpn) || qpn < 0 || qpn > 0xffffff) {
      return this.refuse(ctx, 'dest-qpn', 'EINVAL', `destination QPN ${String(qpn)} is not a 24-bit value`, {qpn: String(qpn)})
    }
    if (!peer) return this.refuse(ctx, 'dest-qpn', 'EPERM', `no connection was set up for this QP: destination QPN ${qpn} refused`, {qpn})
    if (qpn !== peer.peerQpn) {
      return this.refuse(ctx, 'dest-qpn', 'EPERM', `destination QPN ${qpn} is not the connected peer's (${peer.peerQpn})`, {qpn, expected: peer.peerQpn})
    }
    return {ok: true}
  }

  /** the address vector's dgid must be the tracked peer's virtual GID (compared as 16 bytes) */
  checkDgid(ctx: AuditContext, peer: TrackedPeer | undefined, dgid: unknown): GuardResult {
    const got = parseGid(dgid)
    if (!got) return this.refuse(ctx, 'dgid', 'EINVAL', `dgid ${String(dgid)} is not a GID`, {dgid: String(dgid)})
    if (!peer) return this.refuse(ctx, 'dgid', 'EPERM', `no connection was set up for this QP: dgid ${formatGid(got)} refused`, {dgid: formatGid(got)})
    const want = parseGid(peer.peerGid)
    if (!want || !sameBytes(got, want)) {
      return this.refuse(ctx, 'dgid', 'EPERM', `dgid ${formatGid(got)} is not the connected peer ${peer.peerGid}`, {dgid: formatGid(got), expected: peer.peerGid})
    }
    return {ok: true}
  }

  /**
   * modify_qp: every attribute that names a destination or a key is checked, in any state transition
   * (an RTS->RTS or SQD->RTS modify may not re-point a QP either: C21). Alternate paths are refused: masq
   * does not translate APM paths, so they cannot be admitted.
   */
  checkModifyQp(ctx: AuditContext, peer: TrackedPeer | undefined, attr: ModifyQpAttr, mask: number): GuardResult {
    if (mask & QpAttrMask.ALT_PATH) {
      return this.refuse(ctx, 'dgid', 'EINVAL', 'alternate paths (APM) are not supported for tenant QPs', {mask})
    }
    if (mask & QpAttrMask.QKEY) {
      const r = this.checkQkey(ctx, attr.qkey)
      if (!r.ok) return r
    }
    if (mask & QpAttrMask.DEST_QPN) {
      const r = this.checkDestQpn(ctx, peer, attr.destQpNum)
      if (!r.ok) return r
    }
    if (mask & QpAttrMask.AV) {
      const r = this.checkDgid(ctx, peer, attr.ahAttr?.grh?.dgid)
      if (!r.ok) return r
    }
    return {ok: true}
  }

  private refuse(ctx: AuditContext, kind: AuditKind, code: 'EPERM' | 'EINVAL', message: string, detail: Record<string, unknown>): GuardResult {
    this.refusals.set(kind, (this.refusals.get(kind) ?? 0) + 1)
    this.audit?.record(ctx, kind, {...detail, errno: Errno[code], message})
    return {ok: false, errno: Errno[code], code, kind, message}
  }
}

/** the subset of ibv_qp_attr the guard reads (camelCase, as the workload API names it) */
export interface ModifyQpAttr {
  qpState?: number
  qkey?: number
  destQpNum?: number
  ahAttr?: {grh?: {dgid?: string | Uint8Array}}
}

// ---------------------------------------------------------------- GIDs

/** "::ffff:10.0.0.2", any IPv6 text form, or 16 bytes -> 16 bytes; null for anything else (never throws) */
export function parseGid(v: unknown): Uint8Array | null {
  if (v instanceof Uint8Array) return v.length === 16 ? v : null
  if (typeof v !== 'string' || v.length > 45) return null
  let s = v.toLowerCase()
  const out = new Uint8Array(16)
  // a trailing dotted quad stands for the last two groups
  const quad = /^(.*:)(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s)
  if (quad) {
    const o = quad.slice(2).map(Number)
    if (o.some((x) => x > 255)) return null
    s = `${quad[1]}${((o[0] << 8) | o[1]).toString(16)}:${((o[2] << 8) | o[3]).toString(16)}`
  }
  const halves = s.split('::')
  if (halves.length > 2) return null
  const groups = (h: string) => (h === '' ? [] : h.split(':'))
  const head = groups(halves[0])
  const tail = halves.length === 2 ? groups(halves[1]) : []
  const missing = 8 - head.length - tail.length
  if (halves.length === 1 ? missing !== 0 : missing < 1) return null
  const all = [...head, ...Array<string>(halves.length === 2 ? missing : 0).fill('0'), ...tail]
  for (let i = 0; i < 8; i++) {
    if (!/^[0-9a-f]{1,4}$/.test(all[i])) return null
    const n = parseInt(all[i], 16)
    out[2 * i] = n >> 8
    out[2 * i + 1] = n & 255
  }
  return out
}

/** IPv4-mapped GIDs print as ::ffff:a.b.c.d (how masq names vBond GIDs), others as 8 full groups */
export function formatGid(g: Uint8Array): string {
  const mapped = g.subarray(0, 10).every((b) => b === 0) && g[10] === 0xff && g[11] === 0xff
  if (mapped) return `::ffff:${g[12]}.${g[13]}.${g[14]}.${g[15]}`
  const parts: string[] = []
  for (let i = 0; i < 16; i += 2) parts.push(((g[i] << 8) | g[i + 1]).toString(16).padStart(4, '0'))
  return parts.join(':')
}

const sameBytes = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && a.every((x, i) => x === b[i])

/** the peer one end of a tracked connection may address (`localVm` is that end's VM) */
export function trackedPeerOf(
  conn: {srcVm: string; dstVm: string; srcVip: string; dstVip: string; srcQpn: number; dstQpn: number},
  localVm: string,
): TrackedPeer | undefined {
  if (localVm === conn.srcVm) return {peerQpn: conn.dstQpn, peerGid: `::ffff:${conn.dstVip}`}
  if (localVm === conn.dstVm) return {peerQpn: conn.srcQpn, peerGid: `::ffff:${conn.srcVip}`}
  return undefined
}
