// Start-up time of the built CLI (run `npm run build` first): median of N runs of `masq --help` and
// `masq validate examples/two-host.yaml`, plus `node -e 0` as the floor. Target: --help < 400 ms median.
// Usage: npx tsx bench/startup.ts [runs=20]
import {spawnSync} from 'node:child_process'
import {fileURLToPath} from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
const runs = Number(process.argv[2] ?? 20)

function measure(args: string[]): {median: number; min: number; max: number} {
  const times: number[] = []
  for (let i = 0; i < runs; i++) {
    const t0 = process.hrtime.bigint()
    const r = spawnSync(process.execPath, args, {cwd: root, stdio: 'ignore'})
    const t1 = process.hrtime.bigint()
    if (r.status !== 0) throw new Error(`${args.join(' ')} exited ${r.status}`)
    times.push(Number(t1 - t0) / 1e6)
  }
  times.sort((a, b) => a - b)
  const mid = times.length >> 1
  const median = times.length % 2 ? times[mid] : (times[mid - 1] + times[mid]) / 2
  return {median, min: times[0], max: times[times.length - 1]}
}

const rows: [string, string[]][] = [
  ['node -e 0', ['-e', '0']],
  ['masq --help', ['bin/run.js', '--help']],
  ['masq validate examples/two-host.yaml', ['bin/run.js', 'validate', 'examples/two-host.yaml']],
  ['masq validate --json (multi-tenant)', ['bin/run.js', 'validate', 'examples/multi-tenant.yaml', '--json']],
]
console.log(`runs per command: ${runs}`)
for (const [name, args] of rows) {
  const m = measure(args)
  console.log(`${name.padEnd(40)} median ${m.median.toFixed(0).padStart(4)} ms  (min ${m.min.toFixed(0)}, max ${m.max.toFixed(0)})`)
}
