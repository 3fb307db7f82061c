// The MasQ backend's control path (DESIGN §1 "hybrid virtualization"): every control verb of a hyv/masq/freeflow
// VM arrives here over its virtio channel, is checked against what that VM owns, and is executed on the RNIC
// worker over the VM's command port. The backend keeps per-VM ownership of PDs, CQs, QPs and MRs, so a VM can
// never name another VM's objects (they share one RNIC). Policy (quotas, RConnrename, RConntrack) plugs in at
// `check` / after `forward`. In freeflow mode the doorbell is relayed too: the VM rings a shadow doorbell that
// this thread forwards, so every posted WQE crosses the backend (FreeFlow's software relay).
import type {MessagePort} from 'node:worker_threads'
import {Errno} from '../rdma-constants.js'
import {DOORBELL_WORDS} from '../rnic/queue.js'
import {isRnicError, type RnicError} from '../rnic/rnic.js'
import {MessagePortChannel, type CommandName} from '../verbs/channel.js'
import type {Vm} from '../topology/types.js'

interface AtomicsWaitAsync {
  waitAsync(a: Int32Array, i: number, v: number): {async: false; value: string} | {async: true; value: Promise<string>}
}
const waitAsync = (Atomics as unknown as AtomicsWaitAsync).waitAsync.bind(Atomics)

interface Owned {pds: Set<number>; cqs: Set<number>; qps: Set<number>; mrs: Set<number>}

export interface BackendVmStats {commands: number; refused: number; doorbellsRelayed: number}

class VmSession {
  readonly owned: Owned = {pds: new Set(), cqs: new Set(), qps: new Set(), mrs: new Set()}
  readonly stats: BackendVmStats = {commands: 0, refused: 0, doorbellsRelayed: 0}
  private readonly rnic: MessagePortChannel
  private relay: {shadow: Int32Array; real: Int32Array} | undefined
  closed = false

  constructor(readonly vm: Vm, private readonly virtio: MessagePort, rnicPort: MessagePort, private readonly memory: SharedArrayBuffer,
    private readonly relayDoorbell: boolean) {
    this.rnic = new MessagePortChannel(rnicPort)
    virtio.on('message', (m: {id?: unknown; cmd?: unknown; args?: unknown}) => {
      if (typeof m?.id !== 'number') return
      void this.handle(String(m.cmd) as CommandName, Array.isArray(m.args) ? m.args : []).then((result) => virtio.postMessage({id: m.id, result}))
    })
  }

  private refuse(errno: number, message: string): RnicError {
    this.stats.refused++
    return {errno, message}
  }

  /** Ownership check of the handles a command names; undefined when allowed. */
  private check(cmd: CommandName, args: any[]): RnicError | undefined {
    const o = this.owned
    const a = args[0]
    const mine = (set: Set<number>, v: unknown, what: string) =>
      typeof v === 'number' && set.has(v) ? undefined : this.refuse(Errno.EINVAL, `${cmd}: no ${what} ${String(v)} in this VM`)
    switch (cmd) {
      case 'deviceInfo': case 'allocPd': case 'createCq': return undefined
      case 'deallocPd': return mine(o.pds, a, 'PD')
      case 'regMr': return mine(o.pds, a?.pdn, 'PD')
      case 'deregMr': return mine(o.mrs, a, 'MR')
      case 'destroyCq': return mine(o.cqs, a, 'CQ')
      case 'createQp':
        if (a?.gsi) return this.refuse(Errno.EPERM, 'createQp: QP1 belongs to the host CM agent')
        return mine(o.pds, a?.pdn, 'PD') ?? mine(o.cqs, a?.sendCqn, 'CQ') ?? mine(o.cqs, a?.recvCqn, 'CQ')
      case 'modifyQp': case 'queryQp': case 'destroyQp': return mine(o.qps, a, 'QP')
      default: return this.refuse(Errno.EINVAL, `unknown command ${String(cmd)}`)
    }
  }

  async handle(cmd: CommandName, args: any[]): Promise<unknown> {
    this.stats.commands++
    const denied = this.check(cmd, args)
    if (denied) return denied
    // A VM registers its own memory only: the backend names the buffer, whatever the VM sent.
    if (cmd === 'regMr') args = [{...args[0], memory: this.memory}]
    const result: any = await (this.rnic.call as (c: CommandName, ...a: unknown[]) => Promise<unknown>)(cmd, ...args)
    if (isRnicError(result)) return result
    const o = this.owned
    switch (cmd) {
      case 'allocPd': o.pds.add(result.pdn); break
      case 'deallocPd': o.pds.delete(args[0]); break
      case 'regMr': o.mrs.add(result.mrIndex); break
      case 'deregMr': o.mrs.delete(args[0]); break
      case 'createCq': o.cqs.add(result.cqn); break
      case 'destroyCq': o.cqs.delete(args[0]); break
      case 'createQp': o.qps.add(result.qpn); break
      case 'destroyQp': o.qps.delete(args[0]); break
      case 'deviceInfo':
        if (this.relayDoorbell) return {...result, doorbell: this.startRelay(result.doorbell)}
        break
    }
    return result
  }

  /** freeflow: hand the VM a shadow doorbell and forward every ring to the real one from this thread. */
  private startRelay(real: SharedArrayBuffer): SharedArrayBuffer {
    if (this.relay) return this.relay.shadow.buffer as SharedArrayBuffer
    const shadow = new Int32Array(new SharedArrayBuffer(DOORBELL_WORDS * 4))
    this.relay = {shadow, real: new Int32Array(real)}
    const arm = (seen: number) => {
      if (this.closed) return
      const r = waitAsync(shadow, 0, seen)
      const next = () => {
        const now = Atomics.load(shadow, 0)
        this.stats.doorbellsRelayed++
        Atomics.add(this.relay!.real, 0, 1)
        Atomics.notify(this.relay!.real, 0)
        arm(now)
      }
      if (!r.async) next()
      else void r.value.then(next)
    }
    arm(0)
    return shadow.buffer as SharedArrayBuffer
  }

  close(): void {
    this.closed = true
    if (this.relay) {
      Atomics.add(this.relay.shadow, 0, 1) // release the pending wait
      Atomics.notify(this.relay.shadow, 0)
    }
    this.virtio.close()
  }
}

export class Backend {
  private readonly sessions = new Map<string, VmSession>()

  /** Serve a VM's virtio channel; `rnicPort` is its command port to the RNIC worker. */
  attach(vm: Vm, virtio: MessagePort, rnicPort: MessagePort, memory: SharedArrayBuffer): void {
    this.sessions.set(vm.name, new VmSession(vm, virtio, rnicPort, memory, vm.mode === 'freeflow'))
  }

  detach(vm: string): void {
    this.sessions.get(vm)?.close()
    this.sessions.delete(vm)
  }

  stats(): Record<string, BackendVmStats & {pds: number; cqs: number; qps: number; mrs: number}> {
    return Object.fromEntries([...this.sessions].map(([n, s]) => [n, {
      ...s.stats, pds: s.owned.pds.size, cqs: s.owned.cqs.size, qps: s.owned.qps.size, mrs: s.owned.mrs.size,
    }]))
  }
}
