// The victim workload in a lab: blue2 serves a canary MR with guard bytes and verifies checksummed rounds that
// blue1 WRITEs and SENDs to it over an rdma_cm connection, both running as VM workloads for the whole suite and
// publishing their status after every round. Before a scenario the suite takes a snapshot; after it, it waits for
// fresh verified rounds and compares (NL-std i and iii).
import crypto from 'node:crypto'
import type {LabEnv} from '../lab-env.js'
import type {Check} from '../types.js'
import type {StepRecord} from './record.js'

export interface ServerStatus {
  verified: number
  failures: string[]
  qpState: string
  qpn: number
  pdn: number
  cqn: number
  canaryIndex: number
  canaryRkey: number
  canaryAddr: string
  canary: string
  guards: string
}
export interface ClientStatus {rounds: number; failures: string[]; qpState: string; qpn: number}

/** What the attacker is assumed to know (the catalogue's preconditions: handles, QPN and keys leak). */
export interface LabVictimTarget {vm: string; host: string; peerVm: string; peerHost: string; qpn: number; pdn: number; cqn: number; canaryIndex: number; canaryRkey: number; canaryAddr: string}

/** Memory the victim's runs own in blue1/blue2: other steps on those VMs start above it. */
export const VICTIM_MEMORY = 16 << 20
export const VICTIM_PORT = 7001

export class LabVictim {
  private readonly tag = `victim-${crypto.randomBytes(4).toString('hex')}`
  private runs: Promise<Array<StepRecord | Error>> | undefined
  private snap?: {server: ServerStatus; client: ClientStatus}
  server?: ServerStatus
  client?: ClientStatus

  constructor(private readonly env: LabEnv, readonly serverVm = 'blue2', readonly clientVm = 'blue1') {}

  async start(): Promise<void> {
    const e = this.env
    const long = 3_600_000
    this.runs = Promise.all([
      e.step(this.serverVm, 'victim-server', {tag: this.tag, port: VICTIM_PORT}, long).catch((err: Error) => err),
      e.step(this.clientVm, 'victim-client', {tag: this.tag, port: VICTIM_PORT, dst: e.vm(this.serverVm).vip}, long).catch((err: Error) => err),
    ])
    await this.waitRounds(1, 60_000)
  }

  private async read(): Promise<void> {
    this.server = await this.env.read<ServerStatus>(`${this.tag}/victim/server`, 30_000)
    this.client = await this.env.read<ClientStatus>(`${this.tag}/victim/client`, 30_000)
  }

  /** Wait until the server verified `n` more rounds than `from` (or failed). */
  private async waitRounds(n: number, timeoutMs: number, from = 0): Promise<boolean> {
    const end = Date.now() + timeoutMs
    for (;;) {
      await this.read()
      if (this.server!.verified >= from + n) return true
      if (this.server!.failures.length || this.client!.failures.length || Date.now() > end) return false
      await new Promise((r) => setTimeout(r, 50))
    }
  }

  target(): LabVictimTarget {
    const s = this.server!
    return {vm: this.serverVm, host: this.env.vm(this.serverVm).host, peerVm: this.clientVm, peerHost: this.env.vm(this.clientVm).host,
      qpn: s.qpn, pdn: s.pdn, cqn: s.cqn, canaryIndex: s.canaryIndex, canaryRkey: s.canaryRkey, canaryAddr: s.canaryAddr}
  }

  async begin(): Promise<void> {
    await this.read()
    this.snap = {server: structuredClone(this.server!), client: structuredClone(this.client!)}
  }

  /** NL-std (i) canary and guards unchanged, (iii) both QPs RTS and fresh verified rounds, no failed completion. */
  async check(): Promise<Check[]> {
    const s0 = this.snap!.server
    const fresh = await this.waitRounds(2, 20_000, s0.verified)
    const s = this.server!
    const c = this.client!
    const fails = [...s.failures.slice(s0.failures.length), ...c.failures.slice(this.snap!.client.failures.length)]
    return [
      {name: 'victim canary hash unchanged', ok: s.canary === s0.canary, detail: `${s0.canary} → ${s.canary}`},
      {name: 'victim guard bytes unchanged', ok: s.guards === s0.guards},
      {name: 'victim QPs still RTS', ok: s.qpState === 'RTS' && c.qpState === 'RTS', detail: `${c.qpState}/${s.qpState}`},
      {name: 'victim traffic verified (checksums)', ok: fresh && fails.length === 0,
        detail: `${s.verified - s0.verified} rounds verified during the scenario${fails.length ? `; ${fails.join('; ')}` : ''}`},
    ]
  }

  async stop(): Promise<{verified: number; failures: string[]; qpStates: string[]}> {
    await this.read().catch(() => undefined)
    await this.env.publish(`${this.tag}/victim/stop`, true).catch(() => undefined)
    const done = await this.runs
    for (const r of done ?? []) if (r instanceof Error) this.server?.failures.push(r.message)
    return this.summary()
  }

  summary(): {verified: number; failures: string[]; qpStates: string[]} {
    return {verified: this.server?.verified ?? 0, failures: [...(this.server?.failures ?? []), ...(this.client?.failures ?? [])],
      qpStates: [this.client?.qpState ?? '?', this.server?.qpState ?? '?']}
  }
}
