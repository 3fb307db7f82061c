// The library behind `masq rules`: send a security-group change to a running lab's controller, which re-checks
// every tracked connection and has the hosts of both ends reset those the new rules no longer allow.
import {rpcCall} from './rpc.js'
import {readState} from './state.js'

export interface RulesResult {
  version: 1
  lab: string
  change: string
  rulesVersion: number
  resets: Array<{id: number; src: string; dst: string; port: number; reason: string}>
  hosts: Record<string, number | string>
  /** the controller's time from the change to the last host's reset reply */
  controllerMs: number
  /** wall-clock ms when the controller applied the change (to compare with when applications saw DISCONNECTED) */
  startedAt: number
  /** the command's round trip (what `masq rules` prints) */
  ms: number
}

export class RulesError extends Error {
  readonly exitCode = 1
}

export async function changeRules(ref: {name: string; labDir: string}, argv: string[]): Promise<RulesResult> {
  const state = readState(ref.labDir)
  const ctl = state?.processes.find((p) => p.role === 'controller')
  if (!state || !ctl) throw new RulesError(`lab ${ref.name} is not running (no controller in ${ref.labDir})`)
  const t0 = performance.now()
  let r: {version: number; resets: RulesResult['resets']; hosts: RulesResult['hosts']; ms: number; startedAt: number}
  try {
    r = await rpcCall(ctl.socket, 'changeRules', {argv}, 10_000)
  } catch (err) {
    throw new RulesError((err as Error).message)
  }
  return {version: 1, lab: state.lab, change: argv.join(' '), rulesVersion: r.version, resets: r.resets, hosts: r.hosts,
    controllerMs: r.ms, startedAt: r.startedAt, ms: performance.now() - t0}
}
