// Is a running lab's process still there? Before `masq run` starts a workload it checks the processes the run
// needs (the hosts of both VMs and the controller, which carries the rendezvous): first the recorded pid and start
// time (/proc), then a `ping` on the control socket. A dead host is reported at once, by name, instead of a
// 20 s rendezvous timeout later.
import {isOurs} from './proc.js'
import {rpcCall} from './rpc.js'
import type {LabState, ProcRecord} from './state.js'

export type Liveness = {node: string; pid: number; alive: true} | {node: string; pid: number; alive: false; reason: string}

/** One process: gone (not ours any more) or not answering ping within timeoutMs. */
export async function probe(rec: ProcRecord, timeoutMs = 2000): Promise<Liveness> {
  if (!isOurs(rec.pid, rec.startTime)) return {node: rec.node, pid: rec.pid, alive: false, reason: 'is not running (it exited or was killed)'}
  try {
    await rpcCall(rec.socket, 'ping', {}, timeoutMs)
    return {node: rec.node, pid: rec.pid, alive: true}
  } catch (err) {
    return {node: rec.node, pid: rec.pid, alive: false, reason: `does not answer on its control socket (${(err as Error).message})`}
  }
}

/** Probe the named processes of a lab (all of them if none are named), in parallel. */
export async function probeLab(state: LabState, nodes?: Array<string | undefined>, timeoutMs = 2000): Promise<Liveness[]> {
  const want = nodes?.filter((n): n is string => n !== undefined)
  const recs = want ? state.processes.filter((p) => want.includes(p.node)) : state.processes
  return Promise.all(recs.map((r) => probe(r, timeoutMs)))
}

/** A message naming every dead process, with what to do about it; undefined if all are alive. */
export function describeDead(lab: string, results: Liveness[]): string | undefined {
  const dead = results.filter((r): r is Extract<Liveness, {alive: false}> => !r.alive)
  if (!dead.length) return undefined
  const what = dead.map((r) => `${r.node === 'controller' ? 'the controller' : `host ${r.node}`} (pid ${r.pid}) ${r.reason}`).join('; ')
  return `lab ${lab} is degraded: ${what}. See \`masq status --lab ${lab}\` and \`masq logs --lab ${lab}\`; \`masq down --lab ${lab}\` then \`masq up\` restarts it`
}

/** Throws makeError(message) if any of the named processes is dead (the caller's error type keeps its exit code). */
export async function assertAlive(state: LabState, nodes: Array<string | undefined>, makeError: (message: string) => Error): Promise<void> {
  const msg = describeDead(state.lab, await probeLab(state, nodes))
  if (msg) throw makeError(msg)
}
