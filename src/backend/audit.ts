// The lab's audit log (issue 5 item 8): every denial (quota, rule, handle, Q_Key, raw QP, destination QPN,
// connect rate, injected frame ...) with the tenant and the VM, as JSON lines appended synchronously to a
// file (one small write per entry, so a crash loses nothing already reported) and kept in a bounded
// in-memory ring for queries. Counters per kind survive ring eviction.
import {closeSync, openSync, readFileSync, writeSync} from 'node:fs'

export const AUDIT_KINDS = [
  'quota', // a quota charge refused (C23, C24)
  'rule', // a connection refused by the security groups or by VPC isolation (C17, C20)
  'reset', // a live connection reset after a rule change (C20d)
  'handle', // an unknown, foreign or mistyped object handle (C09)
  'qkey', // a controlled Q_Key (bit 31) requested (C14)
  'raw-qp', // a RAW_PACKET QP requested (C10)
  'qp-type', // any other QP type a tenant may not have
  'dest-qpn', // a destination QPN other than the connected peer's (C11)
  'dgid', // an address vector naming another peer than the tracked one (C11, C21)
  'connect-rate', // connection setups over the tenant's rate (C01, C25)
  'injected-frame', // a frame dropped because no tenant may have sent it (C10, C12)
] as const
export type AuditKind = (typeof AUDIT_KINDS)[number]

export interface AuditContext {
  tenant: string
  vm: string
  host?: string // defaults to the log's host
}

export interface AuditEntry {
  ts: string // ISO 8601, ms
  lab: string
  host: string
  tenant: string
  vm: string
  kind: AuditKind
  detail: Record<string, unknown>
}

/** what the backend libraries write to; AuditLog is one, tests may pass their own */
export interface AuditSink {
  record(ctx: AuditContext, kind: AuditKind, detail: Record<string, unknown>): void
}

export interface AuditQuery {
  tenant?: string
  vm?: string
  kind?: AuditKind
  since?: number | Date // inclusive, ms since the epoch
  limit?: number // the newest `limit` matches
}

export interface AuditLogOptions {
  lab: string
  host?: string // the process writing ('controller' or a host name)
  file?: string // append JSON lines here
  capacity?: number // ring size, default 4096
  clock?: () => number // ms since the epoch
}

export class AuditLog implements AuditSink {
  private readonly lab: string
  private readonly host: string
  private readonly clock: () => number
  private readonly capacity: number
  private readonly ring: AuditEntry[] = []
  private readonly times: number[] = []
  private head = 0 // index of the oldest entry once the ring is full
  private fd: number | undefined
  private readonly perKind = new Map<AuditKind, number>()
  writeErrors = 0

  constructor(opts: AuditLogOptions) {
    this.lab = opts.lab
    this.host = opts.host ?? 'controller'
    this.clock = opts.clock ?? Date.now
    this.capacity = Math.max(1, opts.capacity ?? 4096)
    if (opts.file !== undefined) this.fd = openSync(opts.file, 'a', 0o644)
  }

  record(ctx: AuditContext, kind: AuditKind, detail: Record<string, unknown>): AuditEntry {
    const now = this.clock()
    const entry: AuditEntry = {
      ts: new Date(now).toISOString(), lab: this.lab, host: ctx.host ?? this.host, tenant: ctx.tenant, vm: ctx.vm, kind, detail,
    }
    this.perKind.set(kind, (this.perKind.get(kind) ?? 0) + 1)
    if (this.ring.length < this.capacity) {
      this.ring.push(entry)
      this.times.push(now)
    } else {
      this.ring[this.head] = entry
      this.times[this.head] = now
      this.head = (this.head + 1) % this.capacity
    }
    if (this.fd !== undefined) {
      try {
        writeSync(this.fd, JSON.stringify(entry) + '\n')
      } catch {
        this.writeErrors++ // a full disk must not take the backend down; the ring still has it
      }
    }
    return entry
  }

  /** oldest first */
  query(q: AuditQuery = {}): AuditEntry[] {
    const since = q.since instanceof Date ? q.since.getTime() : q.since
    const out: AuditEntry[] = []
    for (let i = 0; i < this.ring.length; i++) {
      const j = (this.head + i) % this.ring.length
      const e = this.ring[j]
      if (q.tenant !== undefined && e.tenant !== q.tenant) continue
      if (q.vm !== undefined && e.vm !== q.vm) continue
      if (q.kind !== undefined && e.kind !== q.kind) continue
      if (since !== undefined && this.times[j] < since) continue
      out.push(e)
    }
    return q.limit !== undefined && out.length > q.limit ? out.slice(out.length - q.limit) : out
  }

  /** denials per kind since the log was opened (every kind present, zero included) */
  counters(): Record<AuditKind, number> {
    return Object.fromEntries(AUDIT_KINDS.map((k) => [k, this.perKind.get(k) ?? 0])) as Record<AuditKind, number>
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd)
    this.fd = undefined
  }
}

/** Read an audit file back; a torn or foreign line is counted, never thrown. */
export function readAuditFile(path: string): {entries: AuditEntry[]; bad: number} {
  const entries: AuditEntry[] = []
  let bad = 0
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (line === '') continue
    try {
      const e = JSON.parse(line) as Partial<AuditEntry>
      const ok = typeof e === 'object' && e !== null && typeof e.ts === 'string' && typeof e.tenant === 'string'
        && typeof e.vm === 'string' && (AUDIT_KINDS as readonly string[]).includes(e.kind as string)
      if (ok) entries.push(e as AuditEntry)
      else bad++
    } catch {
      bad++
    }
  }
  return {entries, bad}
}
