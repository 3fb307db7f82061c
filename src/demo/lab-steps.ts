// The demo's steps on its running lab, through the same libraries as `masq run` and `masq rules`:
// verified traffic in each VPC, a cross-tenant connect that is refused, and a live rule change that resets a
// connection. Each returns narrative lines and figures; a failed check throws a DemoStepError with the lines so far.
import path from 'node:path'
import {fileURLToPath} from 'node:url'
import {plural} from '../cli/plural.js'
import {RejReason} from '../rdma-constants.js'
import {rpcCall} from '../lab/rpc.js'
import {changeRules} from '../lab/rules.js'
import {runWorkload, type RunResult} from '../lab/run.js'
import {readState} from '../lab/state.js'
import type {ResolvedPlan} from '../topology/types.js'

export interface LabRef {name: string; labDir: string}
export interface StepOutput {lines: string[]; data: Record<string, unknown>}

export class DemoStepError extends Error {
  constructor(message: string, readonly lines: string[] = [], readonly data: Record<string, unknown> = {}) {
    super(message)
  }
}

/** The demo's rdma_cm workload, next to this file (.js when built, .ts under tsx: the loader takes both). */
export const CM_HOLD = path.join(path.dirname(fileURLToPath(import.meta.url)), `cm-hold${path.extname(fileURLToPath(import.meta.url))}`)

const REJ_NAME = Object.fromEntries(Object.entries(RejReason).map(([k, v]) => [v, `IB_CM_REJ_${k}`])) as Record<number, string>
const REJ_MEANING: Record<number, string> = {
  [RejReason.INVALID_SERVICE_ID]: 'nobody listens at that address and port in this VPC',
  [RejReason.PRIMARY_REMOTE_GID_REJECTED]: 'a security group refuses the connection',
  [RejReason.NO_RESOURCES]: 'the tenant\'s connection-setup rate is exceeded',
}
export const rejText = (status: number) => `REJECTED, reason ${status} (${REJ_NAME[status] ?? 'unknown'}: ${REJ_MEANING[status] ?? 'see the IB CM reject reasons'})`

const failures = (r: RunResult) => [r.client, r.server].flatMap((s) => (s?.error ? [`${s.vm}: ${s.error}`] : [])).join('; ') || 'the workload reported a failure'

const fmtSize = (b: number) => (b >= 1024 ? `${b / 1024} KiB` : `${b} B`)

/** One tenant per pair: the first two VMs of each tenant, on different hosts when there are. */
export function tenantPairs(plan: ResolvedPlan): Array<{tenant: string; client: string; server: string; clientHost: string; serverHost: string; serverIp: string}> {
  const out = []
  for (const t of plan.tenants) {
    const vms = plan.vms.filter((v) => v.tenant === t.name)
    const a = vms[0]
    const b = vms.find((v) => v.host !== a?.host) ?? vms[1]
    if (a && b) out.push({tenant: t.name, client: a.name, server: b.name, clientHost: a.host, serverHost: b.host, serverIp: b.deviceIp})
  }
  return out
}

/** SEND, RDMA WRITE, RDMA READ and atomic FETCH_AND_ADD with the `bw` built-in (rdma_cm, every byte verified),
 *  both tenants at once on the same virtual addresses and port. */
export async function trafficStep(ref: LabRef, plan: ResolvedPlan, o: {iters: number; size: number}): Promise<StepOutput> {
  const pairs = tenantPairs(plan)
  const lines: string[] = []
  const data: Record<string, unknown> = {}
  for (const p of pairs) lines.push(`${p.tenant}: ${p.client} (${p.clientHost}) connects with rdma_cm to ${p.server} (${p.serverHost}) at ${p.serverIp}:18518, inside VPC ${p.tenant}`)
  for (const op of ['send', 'write', 'read', 'atomic'] as const) {
    const size = op === 'atomic' ? 8 : o.size
    const runs = await Promise.all(pairs.map((p) => runWorkload(ref, {workload: 'bw', vm: p.client, peer: p.server, params: {op, size, iters: o.iters, txDepth: 16}, timeoutMs: 60_000})))
    const parts: string[] = []
    for (const [i, r] of runs.entries()) {
      const p = pairs[i]!
      if (!r.ok) throw new DemoStepError(`${op} in ${p.tenant} failed: ${failures(r)}`, lines, data)
      const c = r.client.result as {verified: number; mbPerSec: number; msgRateMpps: number}
      data[`${p.tenant}.${op}`] = {size, verified: c.verified, mbPerSec: round(c.mbPerSec), mpps: round(c.msgRateMpps, 4)}
      parts.push(`${p.tenant} ${c.verified} × ${fmtSize(size)} verified, ${op === 'atomic' ? `${Math.round(c.msgRateMpps * 1e6)} ops/s` : `${c.mbPerSec.toFixed(1)} MB/s`}`)
    }
    const what = {send: 'SEND', write: 'RDMA WRITE', read: 'RDMA READ', atomic: 'atomic FETCH_AND_ADD'}[op]
    lines.push(`${what.padEnd(20)} ${parts.join('; ')}`)
  }
  lines.push('both tenants used the same vIPs (10.0.0.x) at the same time; each received only its own bytes')
  lines.push('(these short runs include each connection\'s warm-up: the bench step below measures speed)')
  return {lines, data}
}

/** A VM of one tenant connects to the address and port where a VM of the other tenant listens. */
export async function isolationStep(ref: LabRef, plan: ResolvedPlan): Promise<StepOutput> {
  const [victim, attacker] = tenantPairs(plan)
  if (!victim || !attacker) throw new DemoStepError('the topology needs two tenants with two VMs each')
  const port = 7001
  const r = await runWorkload(ref, {workload: CM_HOLD, vm: attacker.client, peer: victim.server, params: {mode: 'reject', port, tag: `iso-${Date.now()}`}, timeoutMs: 60_000})
  const c = r.client.result as {event?: string; status?: number} | undefined
  const s = r.server?.result as {requests?: number} | undefined
  const lines = [`${victim.server} (tenant ${victim.tenant}) listens at ${victim.serverIp}:${port}; ${attacker.client} (tenant ${attacker.tenant}) connects to ${victim.serverIp}:${port}`]
  const data = {attacker: attacker.client, victim: victim.server, event: c?.event, status: c?.status, requestsAtVictim: s?.requests}
  if (!r.ok || c?.event !== 'REJECTED') throw new DemoStepError(`the cross-tenant connect was not refused: ${c?.event ?? failures(r)}`, lines, data)
  lines.push(`${attacker.client}: ${rejText(c.status!)}: ${victim.serverIp} in VPC ${attacker.tenant} is ${attacker.server}, not ${victim.server}`)
  lines.push(`${victim.server} saw ${plural(s?.requests ?? 0, 'connection request')}: nothing crossed from ${attacker.tenant} to ${victim.tenant}`)
  return {lines, data}
}

/** Hold a connection, remove the rule that allows it (it is reset), see a new connect refused, re-add, reconnect. */
export async function rulesStep(ref: LabRef, plan: ResolvedPlan, signal?: AbortSignal): Promise<StepOutput> {
  const [p] = tenantPairs(plan)
  const sg = plan.vms.find((v) => v.name === p?.server)?.securityGroups[0]
  if (!p || !sg) throw new DemoStepError('the topology needs a tenant with two VMs in a security group')
  const ctl = readState(ref.labDir)?.processes.find((x) => x.role === 'controller')
  if (!ctl) throw new DemoStepError(`lab ${ref.name} has no controller`)
  const rule = [sg, 'ingress', '--group', sg]
  const lines: string[] = []
  const data: Record<string, unknown> = {group: sg}
  const tag = `hold-${Date.now()}`
  const held = runWorkload(ref, {workload: CM_HOLD, vm: p.client, peer: p.server, params: {mode: 'hold', port: 7002, tag, holdMs: 30_000}, timeoutMs: 60_000})
  // both ends ESTABLISHED (the workload publishes these keys through the controller's rendezvous)
  const connected = Promise.all(['client', 'server'].map((side) => rpcCall(ctl.socket, 'waitFor', {key: `${tag}/${side}/connected`, timeoutMs: 30_000}, 35_000)))
  const first = await Promise.race([connected.then(() => undefined), held])
  if (first) throw new DemoStepError(`the connection to hold failed: ${failures(first)}`, lines, data)
  lines.push(`${p.client} → ${p.server} connected (port 7002) and tracked by the controller (RConntrack)`)
  if (signal?.aborted) throw new DemoStepError('interrupted', lines, data)
  const removed = await changeRules(ref, ['remove', ...rule])
  const h = await held
  const ends = [h.client, h.server].map((s) => s?.result as {event?: string; disconnectedAt?: number; flushed?: number} | undefined)
  const seenMs = Math.max(...ends.map((e) => e?.disconnectedAt ?? Infinity)) - removed.startedAt
  data.remove = {resets: removed.resets.length, controllerMs: round(removed.controllerMs), disconnectedAfterMs: seenMs, flushed: ends.map((e) => e?.flushed ?? 0)}
  lines.push(`masq rules remove ${rule.join(' ')}: ${plural(removed.resets.length, 'connection')} reset by the controller in ${removed.controllerMs.toFixed(1)} ms`)
  if (!h.ok || ends.some((e) => e?.event !== 'DISCONNECTED')) throw new DemoStepError(`the held connection was not reset: ${failures(h)}`, lines, data)
  lines.push(`both applications got RDMA_CM_EVENT_DISCONNECTED ${seenMs} ms after the change (target ≤ 100 ms); their QPs are in ERR ` +
    `(${ends.map((e) => e?.flushed ?? 0).join(' + ')} receive WRs flushed with IBV_WC_WR_FLUSH_ERR)`)
  const refused = await runWorkload(ref, {workload: CM_HOLD, vm: p.client, peer: p.server, params: {mode: 'reject', port: 7003, tag: `deny-${Date.now()}`}, timeoutMs: 60_000})
  const rc = refused.client.result as {event?: string; status?: number} | undefined
  data.whileRemoved = {event: rc?.event, status: rc?.status}
  if (!refused.ok || rc?.event !== 'REJECTED') throw new DemoStepError(`a connect without the rule was not refused: ${rc?.event ?? failures(refused)}`, lines, data)
  lines.push(`a new connect while the rule is gone: ${rejText(rc.status!)}`)
  const added = await changeRules(ref, ['add', ...rule])
  const again = await runWorkload(ref, {workload: CM_HOLD, vm: p.client, peer: p.server, params: {mode: 'once', port: 7004, tag: `again-${Date.now()}`}, timeoutMs: 60_000})
  data.readded = {ok: again.ok, rulesVersion: added.rulesVersion}
  if (!again.ok) throw new DemoStepError(`reconnecting after the rule came back failed: ${failures(again)}`, lines, data)
  lines.push(`masq rules add ${rule.join(' ')}: a new connect works again (SEND verified)`)
  return {lines, data}
}

export const round = (v: number, digits = 1) => Math.round(v * 10 ** digits) / 10 ** digits
