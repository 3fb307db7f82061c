// RConntrack (DESIGN §1): the controller's table of live connections, and their re-evaluation after a
// security-group change.
//
// Stateful semantics: a connection is checked once, in the direction it was established (src connected to
// dst's port); once admitted, both ends may issue any operation over it (the group governs establishment,
// not op direction; reference §6). After a rule change every live connection is checked again as if it
// were being established now. Those the new rules would not admit are reset (QPs to ERR on both ends,
// flushed work requests, DISCONNECTED): that is MasQ's behaviour. AWS security groups differ: a tracked
// connection survives a rule change until it times out; only stateless network ACLs cut immediately.
// docs/security-groups.md explains the difference.
import type {Vm} from '../topology/types.js'
import {evaluate, type DenyReason, type SgState} from './security-groups.js'

export interface ConnectionInit {
  tenant: string
  vni: number
  srcVm: string // the active side (rdma_connect)
  dstVm: string // the passive side (rdma_listen / rdma_accept)
  srcVip: string
  dstVip: string
  port: number // the rdma_cm port the destination listened on
  srcHost: string
  dstHost: string
  srcQpn: number
  dstQpn: number
  establishedAt: number // ms since the epoch (or the caller's clock)
}

export interface Connection extends ConnectionInit {
  readonly id: number
}

export interface Violation {
  conn: Connection
  reason: DenyReason | 'vm-gone'
  message: string
}

export type VmResolver = (name: string) => Vm | undefined

export class ConnTrack {
  private nextId = 1
  private readonly conns = new Map<number, Connection>()
  readonly counters = {added: 0, removed: 0, reset: 0}

  add(init: ConnectionInit): Connection {
    const conn: Connection = Object.freeze({...init, id: this.nextId++})
    this.conns.set(conn.id, conn)
    this.counters.added++
    return conn
  }

  /** orderly teardown (DREQ/DREP, destroy): the connection leaves the table */
  remove(id: number): Connection | undefined {
    const c = this.conns.get(id)
    if (!c) return undefined
    this.conns.delete(id)
    this.counters.removed++
    return c
  }

  get(id: number): Connection | undefined {
    return this.conns.get(id)
  }

  get size(): number {
    return this.conns.size
  }

  list(): Connection[] {
    return [...this.conns.values()]
  }

  /** connections with `vm` at either end */
  ofVm(vm: string): Connection[] {
    return this.list().filter((c) => c.srcVm === vm || c.dstVm === vm)
  }

  /** connections with an end on `host` (what that host's backend must reset) */
  ofHost(host: string): Connection[] {
    return this.list().filter((c) => c.srcHost === host || c.dstHost === host)
  }

  /** the connection whose QP `qpn` lives on `host` */
  byQpn(host: string, qpn: number): Connection | undefined {
    for (const c of this.conns.values()) {
      if ((c.srcHost === host && c.srcQpn === qpn) || (c.dstHost === host && c.dstQpn === qpn)) return c
    }
    return undefined
  }

  /**
   * Exactly the live connections that `sg` would no longer admit at establishment. Pure: the table is not
   * changed; the controller pushes the resets to both hosts, then calls reset().
   */
  reevaluate(sg: SgState, vmOf: VmResolver): Violation[] {
    const out: Violation[] = []
    for (const conn of this.conns.values()) {
      const src = vmOf(conn.srcVm)
      const dst = vmOf(conn.dstVm)
      if (!src || !dst) {
        out.push({conn, reason: 'vm-gone', message: `${src ? conn.dstVm : conn.srcVm} no longer exists`})
        continue
      }
      const d = evaluate(sg, {src, dst, port: conn.port})
      if (!d.allowed) out.push({conn, reason: d.reason, message: d.message})
    }
    return out
  }

  /** bookkeeping after the resets were pushed: the connections leave the table and are counted */
  reset(ids: readonly number[]): Connection[] {
    const out: Connection[] = []
    for (const id of ids) {
      const c = this.conns.get(id)
      if (!c) continue
      this.conns.delete(id)
      this.counters.reset++
      out.push(c)
    }
    return out
  }
}
