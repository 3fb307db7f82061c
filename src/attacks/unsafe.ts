// MASQ_UNSAFE_TEST=skip-pd-check[,skip-bounds-check]: builds the in-process RNICs with a protection check off so
// the CLI can prove its oracles fail (test/e2e). Honoured only when NODE_ENV=test; ignored in every other run.

import type {RnicUnsafe} from '../rnic/rnic.js'

const SWITCHES: Record<string, keyof RnicUnsafe> = {'skip-pd-check': 'skipPdCheck', 'skip-bounds-check': 'skipBoundsCheck'}

export function unsafeFromEnv(env: NodeJS.ProcessEnv): RnicUnsafe | undefined {
  if (env.NODE_ENV !== 'test' || !env.MASQ_UNSAFE_TEST) return undefined
  const out: RnicUnsafe = {}
  for (const name of env.MASQ_UNSAFE_TEST.split(',').map((s) => s.trim())) {
    const key = SWITCHES[name]
    if (!key) throw new Error(`MASQ_UNSAFE_TEST: unknown switch "${name}" (known: ${Object.keys(SWITCHES).join(', ')})`)
    out[key] = true
  }
  return Object.keys(out).length ? out : undefined
}
