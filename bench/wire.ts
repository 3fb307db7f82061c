// The raw Unix-socket ceiling of this machine: `npx tsx bench/wire.ts [--json] [--duration MS] [--iters N]`.
import {formatWireLimit, measureWireLimit} from '../src/bench/wire-limit.js'

const args = process.argv.slice(2)
const opt = (name: string): number | undefined => {
  const i = args.indexOf(name)
  return i >= 0 ? Number(args[i + 1]) : undefined
}
process.stderr.write('measuring the wire limit (two node processes over a unix socket)...\n')
const w = await measureWireLimit({durationMs: opt('--duration'), iterations: opt('--iters')})
process.stdout.write(args.includes('--json') ? JSON.stringify(w, null, 2) + '\n' : formatWireLimit(w))
