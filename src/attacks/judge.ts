// The verdict from the three oracles (rdma-security.md §1 item 7, §8): blocked only if the primary signal,
// every victim invariant and the positive control all hold.

import type {Check, Probe, Verdict} from './types.js'

export function judge(probes: Probe[], invariants: Check[], controls: Check[]): {verdict: Verdict; reason?: string} {
  const leaked = probes.filter((p) => p.want === 'denied' && !p.ok && !p.exposed)
  const broken = invariants.filter((c) => c.ok === false)
  if (leaked.length || broken.length) {
    const why = [...leaked.map((p) => `${p.name}: expected ${p.expected}, observed ${p.observed}`), ...broken.map((c) => `invariant broken: ${c.name}${c.detail ? ` (${c.detail})` : ''}`)]
    return {verdict: 'LEAKED', reason: why.join('; ')}
  }
  if (probes.length === 0) return {verdict: 'error', reason: 'no primary signal recorded'}
  const failedControl = controls.filter((c) => c.ok === false)
  if (controls.filter((c) => c.ok === true).length === 0 || failedControl.length) {
    return {verdict: 'error', reason: `positive control failed: ${failedControl.map((c) => `${c.name}${c.detail ? ` (${c.detail})` : ''}`).join('; ') || 'none recorded'}`}
  }
  // a false-positive guard that was denied: the RNIC is stricter than the spec; not a leak, but wrong
  const strict = probes.filter((p) => p.want === 'success' && !p.ok)
  if (strict.length) return {verdict: 'error', reason: strict.map((p) => `${p.name}: expected ${p.expected} (IBA), observed ${p.observed}`).join('; ')}
  const exposed = probes.filter((p) => p.want === 'denied' && !p.ok && p.exposed)
  if (exposed.length) return {verdict: 'exposed', reason: [...new Set(exposed.map((p) => p.exposed!))].join('; ')}
  if (probes.every((p) => p.want === 'success')) return {verdict: 'expected', reason: 'expected behaviour (not a bypass)'}
  return {verdict: 'blocked'}
}

/** One line for the table: the distinct observed signals of the probes. */
export function signalSummary(probes: Probe[]): string {
  const counts = new Map<string, number>()
  // the first clause of each observation (the WC status, errno or 'nothing placed'); details stay in the probes
  for (const p of probes) {
    const head = p.observed.split(',')[0]!.replace(/ after \d+ misses.*/, '')
    counts.set(head, (counts.get(head) ?? 0) + 1)
  }
  return [...counts].map(([s, n]) => (n > 1 ? `${s} ×${n}` : s)).join(', ')
}
