// Attack-suite benchmark: the whole in-process suite (victim workload + every scenario), repeated.
//   npx tsx bench/attack.ts [--runs N] [--json]
// Target (issue 8): the full suite in under 3 minutes on the default topology; in process it should take about a
// second, so that it can run on every CI pass.

import {InProcessEnv} from '../src/attacks/inprocess-env.js'
import {SCENARIOS} from '../src/attacks/registry.js'
import {runSuite} from '../src/attacks/runner.js'

const json = process.argv.includes('--json')
const runsArg = process.argv.indexOf('--runs')
const runs = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 3
const perScenario = new Map<string, number[]>()
const totals: number[] = []
let victimRounds = 0
for (let i = 0; i < runs; i++) {
  const env = new InProcessEnv({seed: i + 1})
  const t0 = performance.now()
  const s = await runSuite(env, SCENARIOS, {seed: i + 1})
  totals.push(performance.now() - t0)
  victimRounds = s.victim.verified
  for (const r of s.results) perScenario.set(r.id, [...(perScenario.get(r.id) ?? []), r.durationMs])
  await env.close()
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
const out = {
  runs, suiteMsMedian: Math.round(median(totals)), suiteMsMax: Math.round(Math.max(...totals)), victimRoundsPerSuite: victimRounds,
  scenarioMsMedian: Object.fromEntries([...perScenario].map(([id, xs]) => [id, median(xs)])),
}
if (json) process.stdout.write(JSON.stringify(out) + '\n')
else {
  console.log(`attack suite (in process), ${runs} runs: median ${out.suiteMsMedian} ms, max ${out.suiteMsMax} ms; victim ${victimRounds} verified rounds per suite`)
  for (const [id, ms] of Object.entries(out.scenarioMsMedian)) console.log(`  ${id.padEnd(5)} ${String(ms).padStart(5)} ms`)
}
