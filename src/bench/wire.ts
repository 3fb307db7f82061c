// Entry point of `npm run bench:wire` (node dist/bench/wire.js) and `npx tsx bench/wire.ts`:
// print the wire limit of this machine. Flags: --json, --duration MS, --iters N.
import {pathToFileURL} from 'node:url'
import {formatWireLimit, measureWireLimit} from './wire-limit.js'

export async function main(args: readonly string[] = process.argv.slice(2)): Promise<void> {
  const opt = (name: string): number | undefined => {
    const i = args.indexOf(name)
    const v = i >= 0 ? Number(args[i + 1]) : Number.NaN
    return Number.isFinite(v) && v > 0 ? v : undefined
  }
  process.stderr.write('measuring the wire limit (two node processes over a unix socket)...\n')
  const w = await measureWireLimit({durationMs: opt('--duration'), iterations: opt('--iters')})
  process.stdout.write(args.includes('--json') ? JSON.stringify(w, null, 2) + '\n' : formatWireLimit(w))
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main()
