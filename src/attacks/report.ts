// Suite output: the human table (stdout), the versioned JSON document and JUnit XML (one testcase per scenario:
// LEAKED → <failure>, error → <error>, skipped → <skipped/>; exposed and expected pass with their reason).

import {formatTable} from '../lab/table.js'
import type {SuiteResult} from './runner.js'
import type {ScenarioResult, Verdict} from './types.js'

const VERDICT_LABEL: Record<Verdict, string> = {
  blocked: 'blocked', expected: 'expected behaviour', exposed: 'exposed', LEAKED: 'LEAKED', error: 'error', skipped: 'skipped',
}

export function verdictLabel(v: Verdict): string {
  return VERDICT_LABEL[v]
}

function clip(s: string, n: number): string {
  return s.length > n ? `${s.slice(0, n - 1)}…` : s
}

export function formatSuiteTable(s: SuiteResult): string {
  const rows = s.results.map((r) => [r.id, clip(r.title, 48), r.attackerModel, clip(r.signal, 56), verdictLabel(r.verdict)])
  const lines = [`env: ${s.env}`, formatTable(['SCENARIO', 'TITLE', 'MODEL', 'SIGNAL', 'VERDICT'], rows), '']
  for (const r of s.results) {
    if (r.verdict === 'blocked' || !r.reason) continue
    lines.push(`${r.id} ${verdictLabel(r.verdict)}: ${clip(r.reason, 400)}`)
  }
  const t = s.totals
  lines.push(`${s.results.length} scenarios: ${t.blocked} blocked, ${t.expected} expected behaviour, ${t.exposed} exposed, ${t.LEAKED} LEAKED, ` +
    `${t.error} error, ${t.skipped} skipped; victim: ${s.victim.verified} rounds verified, ${s.victim.failures.length} failures; ${(s.durationMs / 1000).toFixed(1)} s`)
  return lines.join('\n')
}

function esc(s: string): string {
  return s.replace(/[<>&"']/g, (c) => ({'<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;'})[c]!)
    // XML 1.0 forbids most control characters even when escaped
    // eslint-disable-next-line no-control-regex
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, '')
}

function details(r: ScenarioResult): string {
  const lines = [`attacker model ${r.attackerModel}; catalogue ${r.catalogue}`]
  for (const p of r.probes) lines.push(`probe ${p.ok ? 'ok ' : 'BAD'} ${p.name}: expected ${p.expected}; observed ${p.observed}${p.exposed ? ` (exposed: ${p.exposed})` : ''}`)
  for (const c of r.invariants) lines.push(`invariant ${c.ok === 'n/a' ? 'n/a' : c.ok ? 'ok ' : 'BAD'} ${c.name}${c.detail ? `: ${c.detail}` : ''}`)
  for (const c of r.controls) lines.push(`control ${c.ok ? 'ok ' : 'BAD'} ${c.name}${c.detail ? `: ${c.detail}` : ''}`)
  for (const l of r.log) lines.push(`log ${l}`)
  return lines.join('\n')
}

export function toJunit(s: SuiteResult): string {
  const t = s.totals
  const out = ['<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="masq attack-test" tests="${s.results.length}" failures="${t.LEAKED}" errors="${t.error}" skipped="${t.skipped}" time="${(s.durationMs / 1000).toFixed(3)}">`,
    `  <testsuite name="${esc(`attack-test (${s.env})`)}" tests="${s.results.length}" failures="${t.LEAKED}" errors="${t.error}" skipped="${t.skipped}" time="${(s.durationMs / 1000).toFixed(3)}">`]
  for (const r of s.results) {
    const name = `${r.id} ${r.title}`
    out.push(`    <testcase classname="attack.${esc(r.catalogue)}" name="${esc(name)}" time="${(r.durationMs / 1000).toFixed(3)}">`)
    if (r.verdict === 'LEAKED') out.push(`      <failure message="${esc(`LEAKED: ${r.reason ?? ''}`)}" type="LEAKED">${esc(details(r))}</failure>`)
    else if (r.verdict === 'error') out.push(`      <error message="${esc(r.reason ?? 'error')}" type="error">${esc(details(r))}</error>`)
    else if (r.verdict === 'skipped') out.push(`      <skipped message="${esc(r.reason ?? '')}"/>`)
    else out.push(`      <system-out>${esc(`verdict: ${verdictLabel(r.verdict)}${r.reason ? ` (${r.reason})` : ''}\n${details(r)}`)}</system-out>`)
    out.push('    </testcase>')
  }
  out.push('  </testsuite>', '</testsuites>', '')
  return out.join('\n')
}
