// Control verbs travel over a ControlChannel: in process, direct calls to an Rnic; in step 3, a MessagePort to
// the MasQ backend. Arguments and results are structured-cloneable.

import type {Rnic} from '../rnic/rnic.js'

export type CommandName = 'deviceInfo' | 'allocPd' | 'deallocPd' | 'regMr' | 'deregMr' | 'createCq' | 'destroyCq' |
  'createQp' | 'modifyQp' | 'queryQp' | 'destroyQp'
export type RnicCommands = Pick<Rnic, CommandName>

export interface ControlChannel {
  call<K extends CommandName>(cmd: K, ...args: Parameters<RnicCommands[K]>): Promise<ReturnType<RnicCommands[K]>>
  /**
   * An object this channel's device created by another route (rdma_create_qp batched into the rdma_cm request to
   * the backend, src/cm/remote.ts): a channel that tracks what it created records it as if it had made the call,
   * and a wrapper passes it on to the channel it wraps.
   */
  adopt?(kind: 'qp', handle: number): void
}

export class InProcessChannel implements ControlChannel {
  constructor(readonly rnic: Rnic) {}

  async call<K extends CommandName>(cmd: K, ...args: Parameters<RnicCommands[K]>): Promise<ReturnType<RnicCommands[K]>> {
    const fn = this.rnic[cmd] as (...a: unknown[]) => ReturnType<RnicCommands[K]>
    return fn.apply(this.rnic, args)
  }
}

/** The subset of MessagePort both node:worker_threads ports and web MessagePorts offer. */
export interface PortLike {
  postMessage(msg: unknown): void
  on(event: 'message', fn: (msg: unknown) => void): unknown
  off?(event: 'message', fn: (msg: unknown) => void): unknown
}

interface Request {
  id: number
  cmd: CommandName
  args: unknown[]
}
interface Response {
  id: number
  result: unknown
}

const COMMANDS: ReadonlySet<string> = new Set<CommandName>(['deviceInfo', 'allocPd', 'deallocPd', 'regMr', 'deregMr',
  'createCq', 'destroyCq', 'createQp', 'modifyQp', 'queryQp', 'destroyQp'])

/** Client side of a control channel over a MessagePort (the VM frontend end). */
export class MessagePortChannel implements ControlChannel {
  private nextId = 1
  private readonly pending = new Map<number, (r: unknown) => void>()

  constructor(private readonly port: PortLike) {
    port.on('message', (m: unknown) => {
      const r = m as Response
      const done = this.pending.get(r?.id)
      if (done) {
        this.pending.delete(r.id)
        done(r.result)
      }
    })
  }

  call<K extends CommandName>(cmd: K, ...args: Parameters<RnicCommands[K]>): Promise<ReturnType<RnicCommands[K]>> {
    const id = this.nextId++
    return new Promise((resolve) => {
      this.pending.set(id, resolve as (r: unknown) => void)
      this.port.postMessage({id, cmd, args} satisfies Request)
    })
  }
}

/** Server side: answer control verbs from `port` with `rnic` (the MasQ backend will interpose its checks here). */
export function serveRnic(port: PortLike, rnic: Rnic): () => void {
  const fn = (m: unknown) => {
    const q = m as Request
    if (typeof q?.id !== 'number') return
    let result: unknown
    if (!COMMANDS.has(q.cmd) || !Array.isArray(q.args)) {
      result = {errno: 22, message: `unknown command ${String(q.cmd)}`}
    } else {
      try {
        result = (rnic[q.cmd] as (...a: unknown[]) => unknown).apply(rnic, q.args)
      } catch (e) {
        // a malformed argument object from a tenant must not take the RNIC down
        result = {errno: 22, message: `bad arguments for ${q.cmd}: ${(e as Error).message}`}
      }
    }
    port.postMessage({id: q.id, result} satisfies Response)
  }
  port.on('message', fn)
  return () => port.off?.('message', fn)
}

/**
 * A ControlChannel that remembers what it created and can release what is left: a VM runs one workload after
 * another, and like a process exit closing its uverbs file (the kernel destroys what the process still holds), the
 * end of a run destroys its QPs, MRs, CQs and PDs, so quotas and RNIC tables do not fill up run after run.
 */
export class TrackingChannel implements ControlChannel {
  private readonly held = {qp: new Set<number>(), mr: new Set<number>(), cq: new Set<number>(), pd: new Set<number>()}

  constructor(private readonly inner: ControlChannel) {}

  async call<K extends CommandName>(cmd: K, ...args: Parameters<RnicCommands[K]>): Promise<ReturnType<RnicCommands[K]>> {
    const r = await this.inner.call(cmd, ...args)
    const ok = typeof r === 'object' && r !== null && typeof (r as {errno?: unknown}).errno !== 'number'
    if (!ok) return r
    const x = r as {pdn?: number; cqn?: number; qpn?: number; mrIndex?: number}
    const a = args[0] as number
    switch (cmd) {
      case 'allocPd': this.held.pd.add(x.pdn!); break
      case 'createCq': this.held.cq.add(x.cqn!); break
      case 'createQp': this.held.qp.add(x.qpn!); break
      case 'regMr': this.held.mr.add(x.mrIndex!); break
      case 'deallocPd': this.held.pd.delete(a); break
      case 'destroyCq': this.held.cq.delete(a); break
      case 'destroyQp': this.held.qp.delete(a); break
      case 'deregMr': this.held.mr.delete(a); break
    }
    return r
  }

  adopt(kind: 'qp', handle: number): void {
    this.held[kind].add(handle)
    this.inner.adopt?.(kind, handle)
  }

  /** Objects still held, per kind. */
  get counts(): {qp: number; mr: number; cq: number; pd: number} {
    return {qp: this.held.qp.size, mr: this.held.mr.size, cq: this.held.cq.size, pd: this.held.pd.size}
  }

  /** Destroy what is left, children first (QPs, then MRs and CQs, then PDs); failures are ignored. */
  async releaseAll(): Promise<number> {
    let n = 0
    const order: Array<[keyof TrackingChannel['held'], CommandName]> = [['qp', 'destroyQp'], ['mr', 'deregMr'], ['cq', 'destroyCq'], ['pd', 'deallocPd']]
    for (const [kind, cmd] of order) {
      for (const h of [...this.held[kind]]) {
        const r = await (this.inner.call as (c: CommandName, ...a: unknown[]) => Promise<unknown>)(cmd, h).catch(() => undefined)
        if (!(typeof r === 'object' && r !== null && typeof (r as {errno?: unknown}).errno === 'number')) n++
        this.held[kind].delete(h)
      }
    }
    return n
  }
}
