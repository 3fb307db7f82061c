// LabEnv: the attack suite over a real lab (host processes, RNIC workers, VM workers, the MasQ backend, the CM
// agents and the controller). Unlike InProcessEnv it is not an AttackEnv: VM memory and the data path live in
// other processes, so scenario steps run *inside* the VMs as workloads (src/attacks/lab/vm-steps.ts, started by
// the host agent's `run` RPC like `masq run`), and the suite observes from outside: object counts, drop counters
// and backend refusals over host RPC (attackObserve), the lab's audit.jsonl, the controller's rendezvous, and
// `masq rules` for live rule changes. T2 frames go out through the host agent's attackInject (attack-test labs).
import crypto from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {fileURLToPath} from 'node:url'
import {type AuditEntry, readAuditFile} from '../backend/audit.js'
import type {ResolvedPlan} from '../topology/types.js'
import type {StepRecord} from './lab/record.js'

export interface LabEnvOptions {
  /** a running lab (name or directory): attach to it, leave it running */
  lab?: string
  /** a topology file to bring up (default: the embedded attack-test topology) */
  topology?: string
  log?: (msg: string) => void
  /** aborts `up` (it rolls the lab back) */
  signal?: AbortSignal
}

export interface HostObservation {
  host: string
  objects: {pd: number; mr: number; cq: number; qp: number}
  port: Record<string, number>
  drops: Record<string, number>
  asyncEvents: Record<string, number>
  backend: Record<string, {commands: number; refused: number}>
}

/** The VM-side step module: dist/attacks/lab/vm-steps.js next to this file (or the .ts source under tsx). */
function stepModule(): string {
  const js = fileURLToPath(new URL('./lab/vm-steps.js', import.meta.url))
  if (fs.existsSync(js)) return js
  // under tsx/vitest (src/attacks): the built module if there is one, else the source (the VM loads it with tsx)
  const built = fileURLToPath(new URL('../../dist/attacks/lab/vm-steps.js', import.meta.url))
  return fs.existsSync(built) ? built : js.replace(/\.js$/, '.ts')
}

export class LabEnv {
  readonly kind = 'lab' as const
  readonly description: string
  private constructor(readonly plan: ResolvedPlan, readonly name: string, readonly labDir: string, readonly socketDir: string,
    private readonly sockets: Map<string, string>, private readonly controller: string, readonly owned: boolean,
    private readonly tmp: string | undefined, readonly log: (m: string) => void) {
    this.description = `lab ${name} (${plan.hosts.length} hosts, ${plan.vms.length} VMs, ${owned ? 'started by attack-test' : 'running'})`
  }

  /** Bring up the embedded attack-test lab (or `topology`), or attach to a running `lab`. */
  static async start(o: LabEnvOptions = {}): Promise<LabEnv> {
    const log = o.log ?? (() => undefined)
    const {readPlanFile, readState} = await import('../lab/state.js')
    if (o.lab) {
      const {resolveLab} = await import('../lab/resolve-lab.js')
      const ref = resolveLab(o.lab)
      const state = readState(ref.labDir)
      const plan = readPlanFile(ref.labDir)
      if (!state || !plan) throw new Error(`lab ${o.lab} is not running`)
      return LabEnv.fromState(plan, state, false, undefined, log)
    }
    let plan: ResolvedPlan
    let tmp: string | undefined
    let labDir: string
    if (o.topology) {
      const {loadPlan} = await import('../lab/plan-source.js')
      plan = await loadPlan(o.topology)
      labDir = path.join(path.dirname(path.resolve(o.topology)), `masq-${plan.name}-attack`)
    } else {
      const {attackPlan} = await import('./lab/topology.js')
      plan = await attackPlan()
      tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'masq-attack-'))
      labDir = path.join(tmp, `masq-${plan.name}`)
    }
    // a unique lab name: the registry refuses two running labs of one name (parallel runs, a user's own lab)
    plan = {...plan, name: `${plan.name}-${crypto.randomBytes(3).toString('hex')}`}
    ;(plan as {attackTest?: boolean}).attackTest = true // enables the host agents' T2 injector for this lab only
    const {up} = await import('../lab/lifecycle.js')
    log(`bringing up lab ${plan.name} (${plan.hosts.length} hosts, ${plan.vms.length} VMs)`)
    let r: Awaited<ReturnType<typeof up>>
    try {
      r = await up(plan, {labDir, renderer: 'silent', timeoutMs: 60_000, signal: o.signal})
    } catch (err) {
      if (tmp) fs.rmSync(tmp, {recursive: true, force: true})
      throw err
    }
    const state = readState(r.labDir)
    if (!state) throw new Error(`lab ${plan.name} has no state after up`)
    return LabEnv.fromState(plan, state, true, tmp, log)
  }

  private static fromState(plan: ResolvedPlan, state: import('../lab/state.js').LabState, owned: boolean, tmp: string | undefined, log: (m: string) => void): LabEnv {
    const sockets = new Map(state.processes.filter((p) => p.role === 'host').map((p) => [p.node, p.socket]))
    const ctl = state.processes.find((p) => p.role === 'controller')
    if (!ctl) throw new Error(`lab ${state.lab} has no controller`)
    return new LabEnv(plan, state.lab, state.labDir, state.socketDir, sockets, ctl.socket, owned, tmp, log)
  }

  hosts(): string[] {
    return this.plan.hosts.map((h) => h.name)
  }

  vm(name: string): ResolvedPlan['vms'][number] {
    const v = this.plan.vms.find((x) => x.name === name)
    if (!v) throw new Error(`lab ${this.name} has no VM ${name}`)
    return v
  }

  hostSocket(host: string): string {
    const s = this.sockets.get(host)
    if (!s) throw new Error(`lab ${this.name}: host ${host} is not running`)
    return s
  }

  get controllerSocket(): string {
    return this.controller
  }

  private async rpc<T>(socket: string, method: string, params: unknown, timeoutMs = 10_000): Promise<T> {
    const {rpcCall} = await import('../lab/rpc.js')
    return rpcCall<T>(socket, method, params, timeoutMs)
  }

  /** Run a scenario step inside `vm` (a workload through the host agent's `run` RPC); its StepRecord. */
  async step(vm: string, step: string, params: Record<string, unknown> = {}, timeoutMs = 60_000): Promise<StepRecord> {
    const host = this.vm(vm).host
    const r = await this.rpc<{ok: boolean; result?: StepRecord; error?: string}>(this.hostSocket(host), 'run',
      {vm, workload: stepModule(), role: 'single', runId: `attack-${step}-${crypto.randomBytes(4).toString('hex')}`, params: {...params, step}, timeoutMs},
      timeoutMs + 5000)
    if (!r.ok || !r.result) throw new Error(`step ${step} in ${vm} failed: ${r.error ?? 'no result'}`)
    return r.result
  }

  publish(key: string, value: unknown = true): Promise<unknown> {
    return this.rpc(this.controller, 'publish', {key, value})
  }

  /** The value published under `key` (waits up to timeoutMs for the first publication). */
  read<T>(key: string, timeoutMs = 10_000): Promise<T> {
    return this.rpc<T>(this.controller, 'waitFor', {key, timeoutMs}, timeoutMs + 5000)
  }

  observe(host: string): Promise<HostObservation> {
    return this.rpc<HostObservation>(this.hostSocket(host), 'attackObserve', {})
  }

  /** Audit entries (every process of the lab appends to audit.jsonl) at or after `sinceMs`. */
  audit(sinceMs = 0): AuditEntry[] {
    const file = path.join(this.labDir, 'audit.jsonl')
    if (!fs.existsSync(file)) return []
    return readAuditFile(file).entries.filter((e) => Date.parse(e.ts) >= sinceMs)
  }

  /** T2: `frame` leaves on `host`'s wire link (attack-test labs only). */
  injectFrame(host: string, frame: Uint8Array): Promise<unknown> {
    return this.rpc(this.hostSocket(host), 'attackInject', {frame: Buffer.from(frame).toString('hex')})
  }

  /** `masq rules` on this lab: argv as after the lab name (add|remove GROUP DIRECTION --group/--cidr/--ports). */
  async rules(argv: string[]): Promise<import('../lab/rules.js').RulesResult> {
    const {changeRules} = await import('../lab/rules.js')
    return changeRules({name: this.name, labDir: this.labDir}, argv)
  }

  async close(): Promise<void> {
    if (!this.owned) return
    const {down} = await import('../lab/lifecycle.js')
    await down({name: this.name, labDir: this.labDir}).catch((err: unknown) => this.log(`down ${this.name}: ${(err as Error).message}`))
    // the lab directory is attack-test's own: its registry entry goes with it
    const {forgetLab} = await import('../lab/registry.js')
    await forgetLab(this.name, this.labDir).catch(() => undefined)
    if (this.tmp) fs.rmSync(this.tmp, {recursive: true, force: true})
  }
}
