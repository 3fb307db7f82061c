// Per-VM handle tables (DESIGN §1: the backend owns every PD, MR, CQ and QP; catalogue C09).
// A VM names its objects by small integers from its own table, allocated lowest-free from 0 like uverbs'
// per-file xarray (rdma_core.c alloc_uobj). Lookups follow rdma_lookup_get_uobject: a number not in the
// VM's table is ENOENT, a handle of another object type is EINVAL. Another VM's handle is simply not in
// this VM's table, so it can never reach another VM's object. Every refusal is audited.
// Destroying an object that others still use is EBUSY (ib_dealloc_pd / ib_destroy_cq with usecnt > 0).
import {Errno} from '../rdma-constants.js'
import type {AuditSink} from './audit.js'

export const OBJECT_KINDS = ['pd', 'mr', 'cq', 'qp', 'cmId', 'ah'] as const
export type ObjectKind = (typeof OBJECT_KINDS)[number]

export type HandleError = {ok: false; errno: number; code: 'ENOENT' | 'EINVAL' | 'EBUSY'; message: string}
export type LookupResult = {ok: true; ref: number} | HandleError
export type CreateResult = {ok: true; handle: number} | HandleError
export type DestroyResult = {ok: true; ref: number} | HandleError

interface Entry {kind: ObjectKind; ref: number; parents: number[]; users: number}

const MAX_HANDLE = 0xffffffff

class VmTable {
  readonly entries = new Map<number, Entry>()
  private readonly free: number[] = [] // ascending
  private next = 0

  alloc(): number {
    return this.free.length > 0 ? this.free.shift()! : this.next++
  }

  release(h: number): void {
    let i = this.free.length
    while (i > 0 && this.free[i - 1] > h) i--
    this.free.splice(i, 0, h)
  }
}

export class Handles {
  private readonly tables = new Map<string, VmTable>()
  private readonly tenantOf = new Map<string, string>()
  readonly refusals = {ENOENT: 0, EINVAL: 0, EBUSY: 0}

  constructor(private readonly audit?: AuditSink) {}

  addVm(vm: string, tenant: string): void {
    if (!this.tables.has(vm)) this.tables.set(vm, new VmTable())
    this.tenantOf.set(vm, tenant)
  }

  /** `parents` are this VM's handles the new object depends on (an MR's PD, a QP's PD and CQs) */
  create(vm: string, kind: ObjectKind, ref: number, parents: readonly {handle: unknown; kind: ObjectKind}[] = []): CreateResult {
    const t = this.tables.get(vm)
    if (!t) return this.refuse(vm, 'ENOENT', `no handle table for VM "${vm}"`, {op: 'create', kind})
    const ps: number[] = []
    for (const p of parents) {
      const r = this.lookup(vm, p.handle, p.kind)
      if (!r.ok) return r
      ps.push(p.handle as number)
    }
    const h = t.alloc()
    t.entries.set(h, {kind, ref, parents: ps, users: 0})
    for (const p of ps) t.entries.get(p)!.users++
    return {ok: true, handle: h}
  }

  lookup(vm: string, handle: unknown, kind: ObjectKind): LookupResult {
    const t = this.tables.get(vm)
    if (!t) return this.refuse(vm, 'ENOENT', `no handle table for VM "${vm}"`, {op: 'lookup', kind})
    if (typeof handle !== 'number' || !Number.isInteger(handle) || handle < 0 || handle > MAX_HANDLE) {
      return this.refuse(vm, 'EINVAL', `${kind} handle ${String(handle)} is not a handle number`, {op: 'lookup', kind, handle: String(handle)})
    }
    const e = t.entries.get(handle)
    if (!e) return this.refuse(vm, 'ENOENT', `${kind} handle ${handle} is not one of ${vm}'s objects`, {op: 'lookup', kind, handle})
    if (e.kind !== kind) {
      return this.refuse(vm, 'EINVAL', `handle ${handle} of ${vm} is a ${e.kind}, not a ${kind}`, {op: 'lookup', kind, handle, actual: e.kind})
    }
    return {ok: true, ref: e.ref}
  }

  destroy(vm: string, handle: unknown, kind: ObjectKind): DestroyResult {
    const r = this.lookup(vm, handle, kind)
    if (!r.ok) return r
    const t = this.tables.get(vm)!
    const e = t.entries.get(handle as number)!
    if (e.users > 0) {
      // EBUSY is the VM's own ordering mistake, not an attack: counted, not audited
      this.refusals.EBUSY++
      return {ok: false, errno: Errno.EBUSY, code: 'EBUSY', message: `${kind} handle ${handle} is still used by ${e.users} object${e.users > 1 ? 's' : ''}`}
    }
    for (const p of e.parents) t.entries.get(p)!.users--
    t.entries.delete(handle as number)
    t.release(handle as number)
    return {ok: true, ref: e.ref}
  }

  /** VM crash or teardown: every object, dependents before what they depend on, for the backend to destroy */
  destroyAll(vm: string): {kind: ObjectKind; ref: number}[] {
    const t = this.tables.get(vm)
    if (!t) return []
    const out: {kind: ObjectKind; ref: number}[] = []
    const order: ObjectKind[] = ['cmId', 'qp', 'ah', 'mr', 'cq', 'pd']
    for (const kind of order) for (const e of t.entries.values()) if (e.kind === kind) out.push({kind, ref: e.ref})
    this.tables.delete(vm)
    this.tenantOf.delete(vm)
    return out
  }

  count(vm: string, kind?: ObjectKind): number {
    const t = this.tables.get(vm)
    if (!t) return 0
    let n = 0
    for (const e of t.entries.values()) if (kind === undefined || e.kind === kind) n++
    return n
  }

  private refuse(vm: string, code: 'ENOENT' | 'EINVAL', message: string, detail: Record<string, unknown>): HandleError {
    this.refusals[code]++
    this.audit?.record({tenant: this.tenantOf.get(vm) ?? '?', vm}, 'handle', {...detail, errno: Errno[code], message})
    return {ok: false, errno: Errno[code], code, message}
  }
}
