import {writeFileSync} from 'node:fs'
import {Flags} from '@oclif/core'
import {BaseCommand} from '../cli/base-command.js'
import type {SuiteResult} from '../attacks/runner.js'

type ListResult = {version: 1; scenarios: Array<{id: string; catalogue: string; title: string; attackerModel: string; needs: string[]}>}

export default class AttackTest extends BaseCommand {
  static override summary = 'Run the tenant-isolation attack suite with three-part oracles (the scenarios implemented so far: --list; the catalogue numbers them C01-C34).'
  static override description = `Each scenario records its primary signal (WC status, errno, drop counter), the victim invariants (canary and guard hashes, victim QPs in RTS completing checksummed traffic, objects back to baseline, audit log) and a positive control. Verdicts: blocked (all three hold), expected behaviour (a false-positive guard, C07), exposed (software cannot block it; the reason is given), LEAKED, error, skipped (the env lacks a capability).

Runs in process for now: env: in-process (RNIC checks only; lab mode comes with the MasQ backend).

Exit status: 0 all blocked / expected / documented exposed, 1 any LEAKED or error, 2 nothing ran, 3 warnings only (skips).

Tests only: with NODE_ENV=test, MASQ_UNSAFE_TEST=skip-pd-check[,skip-bounds-check] builds the RNICs with that protection check switched off, to prove that the oracles report LEAKED. It is ignored otherwise.`
  static override examples = [
    '<%= config.bin %> <%= command.id %>',
    "<%= config.bin %> <%= command.id %> --scenario 'C0*' --junit results.xml",
    '<%= config.bin %> <%= command.id %> --list',
  ]
  static override enableJsonFlag = true
  static override flags = {
    scenario: Flags.string({description: 'only scenarios whose id matches this glob (comma-separated globs allowed, e.g. "C0*,C14")'}),
    list: Flags.boolean({description: 'list the scenarios and exit'}),
    junit: Flags.string({description: 'also write JUnit XML to this file'}),
    seed: Flags.integer({description: 'seed for guesses and payloads', default: 1}),
  }

  public async run(): Promise<SuiteResult | ListResult> {
    const {flags} = await this.parse(AttackTest)
    const {selectScenarios} = await import('../attacks/registry.js')
    const scenarios = selectScenarios(flags.scenario)
    if (flags.list) {
      const {formatTable} = await import('../lab/table.js')
      this.log(formatTable(['SCENARIO', 'MODEL', 'NEEDS', 'TITLE'], scenarios.map((s) => [s.id, s.attackerModel, s.needs.join(','), s.title])))
      return {version: 1, scenarios: scenarios.map((s) => ({id: s.id, catalogue: s.catalogue, title: s.title, attackerModel: s.attackerModel, needs: [...s.needs]}))}
    }
    const {InProcessEnv} = await import('../attacks/inprocess-env.js')
    const {runSuite} = await import('../attacks/runner.js')
    const {formatSuiteTable, toJunit, verdictLabel} = await import('../attacks/report.js')
    const {unsafeFromEnv} = await import('../attacks/unsafe.js')
    const unsafe = unsafeFromEnv(process.env)
    if (unsafe) this.logToStderr(`⚠ MASQ_UNSAFE_TEST: RNIC built with ${Object.keys(unsafe).join(', ')} (test only)`)
    const env = new InProcessEnv({seed: flags.seed, unsafe})
    if (scenarios.length === 0) this.logToStderr(`no scenario matches ${flags.scenario}`)
    const suite = await runSuite(env, scenarios, {
      seed: flags.seed,
      onResult: (r) => this.logToStderr(`${r.id.padEnd(5)} ${verdictLabel(r.verdict)}${r.verdict === 'blocked' ? '' : r.reason ? `: ${r.reason.slice(0, 160)}` : ''} (${r.durationMs} ms)`),
    })
    await env.close()
    if (flags.junit) writeFileSync(flags.junit, toJunit(suite))
    this.log(formatSuiteTable(suite))
    process.exitCode = suite.exitCode
    return suite
  }
}
