// MASQ_UNSAFE_TEST=skip-pd-check[,skip-bounds-check][,skip-qp-owner-check]: switches a protection check off so
// the suite can prove its oracles fail (tests). The first two build the in-process RNICs without the PD / bounds
// check; skip-qp-owner-check is read by the lab's host processes (src/backend/backend.ts), which inherit the
// environment. Honoured only when NODE_ENV=test; ignored in every other run.

import type {RnicUnsafe} from '../rnic/rnic.js'

const SWITCHES: Record<string, keyof RnicUnsafe | 'backend'> = {
  'skip-pd-check': 'skipPdCheck', 'skip-bounds-check': 'skipBoundsCheck', 'skip-qp-owner-check': 'backend',
}

/** The switches that are on (NODE_ENV=test only); unknown names are an error. */
export function unsafeSwitches(env: NodeJS.ProcessEnv): string[] {
  if (env.NODE_ENV !== 'test' || !env.MASQ_UNSAFE_TEST) return []
  const names = env.MASQ_UNSAFE_TEST.split(',').map((s) => s.trim()).filter(Boolean)
  for (const name of names) {
    if (!SWITCHES[name]) throw new Error(`MASQ_UNSAFE_TEST: unknown switch "${name}" (known: ${Object.keys(SWITCHES).join(', ')})`)
  }
  return names
}

export function unsafeFromEnv(env: NodeJS.ProcessEnv): RnicUnsafe | undefined {
  const out: RnicUnsafe = {}
  for (const name of unsafeSwitches(env)) {
    const key = SWITCHES[name]!
    if (key !== 'backend') out[key] = true
  }
  return Object.keys(out).length ? out : undefined
}
