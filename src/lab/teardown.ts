// Stopping a lab process: `shutdown` RPC -> wait -> SIGTERM to its process group -> wait -> SIGKILL.
// Every signal is preceded by a start-time check (pid reuse); nothing is ever killed by name.
import {isOurs, waitFor} from './proc.js'
import {rpcCall} from './rpc.js'
import type {ProcRecord} from './state.js'

export type StopOutcome = 'not-running' | 'graceful' | 'terminated' | 'killed' | 'survived'

export interface TeardownOptions {graceMs?: number; termMs?: number; skipRpc?: boolean}

function signalGroup(rec: ProcRecord, sig: NodeJS.Signals): void {
  if (!isOurs(rec.pid, rec.startTime)) return
  try {
    process.kill(-rec.pgid, sig)
  } catch {}
}

export async function stopProcess(rec: ProcRecord, opts: TeardownOptions = {}): Promise<StopOutcome> {
  const graceMs = opts.graceMs ?? 3000
  const termMs = opts.termMs ?? 1500
  const gone = () => !isOurs(rec.pid, rec.startTime)
  if (gone()) return 'not-running'
  if (!opts.skipRpc) {
    try {
      await rpcCall(rec.socket, 'shutdown', {}, Math.min(graceMs, 1000))
      if (await waitFor(gone, graceMs)) return 'graceful'
    } catch {
      if (gone()) return 'graceful'
    }
  }
  signalGroup(rec, 'SIGTERM')
  if (await waitFor(gone, termMs)) return 'terminated'
  signalGroup(rec, 'SIGKILL')
  if (await waitFor(gone, 2000)) return 'killed'
  return 'survived'
}

/** Stop all, hosts first (they may still talk to the controller), in parallel within a role. */
export async function stopAll(recs: ProcRecord[], opts: TeardownOptions = {}): Promise<Map<string, StopOutcome>> {
  const out = new Map<string, StopOutcome>()
  for (const role of ['host', 'controller'] as const) {
    const group = recs.filter((r) => r.role === role)
    const results = await Promise.all(group.map((r) => stopProcess(r, opts)))
    group.forEach((r, i) => out.set(r.node, results[i]))
  }
  return out
}
