// The scenario registry: every scenario in catalogue order, selectable with a glob (`C0*`, `C1[04]`, `c02`).

import type {Scenario} from './types.js'
import {c01} from './scenarios/c01-rkey-guess.js'
import {c02} from './scenarios/c02-cross-pd.js'
import {c03} from './scenarios/c03-bounds.js'
import {c04} from './scenarios/c04-access-flags.js'
import {c05} from './scenarios/c05-stale-keys.js'
import {c07} from './scenarios/c07-false-positive.js'
import {c09} from './scenarios/c09-forged-handles.js'
import {c10} from './scenarios/c10-injection.js'
import {c11} from './scenarios/c11-qpn-hijack.js'
import {c12} from './scenarios/c12-force-err.js'
import {c13} from './scenarios/c13-desync.js'
import {c14, c14b} from './scenarios/c14-qkey.js'
import {c16} from './scenarios/c16-on-path.js'
import {c15} from './scenarios/c15-pkey.js'
import {c22} from './scenarios/c22-foreign-lkey.js'
import {c23} from './scenarios/c23-qp-exhaustion.js'

export const SCENARIOS: readonly Scenario[] = [c01, c02, c03, c04, c05, c07, c09, c10, c11, c12, c13, c14, c14b, c15, c16, c22, c23]

/** Shell-style glob (* ? [..]) on the scenario id, case-insensitive; several globs separated by commas. */
export function globToRegExp(glob: string): RegExp {
  let re = ''
  let inClass = false
  for (const ch of glob) {
    if (inClass) {
      if (ch === ']') inClass = false
      re += ch === '\\' ? '\\\\' : ch
    } else if (ch === '*') re += '.*'
    else if (ch === '?') re += '.'
    else if (ch === '[') {
      inClass = true
      re += ch
    } else re += ch.replace(/[.+^${}()|\\/\]-]/g, '\\$&')
  }
  try {
    return new RegExp(`^${re}$`, 'i')
  } catch {
    return /(?!)/ // an unbalanced class matches nothing
  }
}

export function selectScenarios(globs: string | undefined, all: readonly Scenario[] = SCENARIOS): Scenario[] {
  if (!globs) return [...all]
  const res = globs.split(',').map((g) => globToRegExp(g.trim())).filter(Boolean)
  return all.filter((s) => res.some((r) => r.test(s.id) || r.test(s.catalogue)))
}
