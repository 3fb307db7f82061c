import {writeFileSync} from 'node:fs'
import {Args, Flags} from '@oclif/core'
import {BaseCommand} from '../cli/base-command.js'
import type {SuiteResult} from '../attacks/runner.js'

type ListResult = {version: 1; scenarios: Array<{id: string; catalogue: string; title: string; attackerModel: string; needs: string[]}>}

export default class AttackTest extends BaseCommand {
  static override summary = 'Run the tenant-isolation attack suite with three-part oracles (the scenarios implemented so far: --list; the catalogue numbers them C01-C34).'
  static override description = `Each scenario records its primary signal (WC status, errno, drop counter), the victim invariants (canary and guard hashes, victim QPs in RTS completing checksummed traffic, objects back to baseline, audit log) and a positive control. Verdicts: blocked (all three hold), expected behaviour (a false-positive guard, C07), exposed (software cannot block it; the reason is given), LEAKED, error, skipped (the env lacks a capability).

Where each scenario runs: RNIC-level scenarios (memory protection, injection, on-path) in process; the ones that need the MasQ backend, the CM agents and the controller (C09, C11, C14b, C17, C19, C20, C21, C23, C25, C26) against a real lab: the embedded attack-test lab (brought up and torn down), the given topology, or a running lab (--lab). --in-process skips the lab (backend scenarios then report skipped, exit 3). --quick runs a representative subset (C02, C03, C07, C12 in process; C09, C11, C14b, C17, C20 in the lab).

Exit status: 0 all blocked / expected / documented exposed, 1 any LEAKED or error, 2 nothing ran, 3 warnings only (skips).

Tests only: with NODE_ENV=test, MASQ_UNSAFE_TEST=skip-pd-check[,skip-bounds-check] builds the RNICs with that protection check switched off, to prove that the oracles report LEAKED. It is ignored otherwise.`
  static override examples = [
    '<%= config.bin %> <%= command.id %>',
    "<%= config.bin %> <%= command.id %> --scenario 'C0*' --junit results.xml",
    '<%= config.bin %> <%= command.id %> --list',
  ]
  static override args = {topology: Args.string({description: 'topology file for the lab part (default: the embedded attack-test lab)'})}
  static override enableJsonFlag = true
  static override flags = {
    scenario: Flags.string({description: 'only scenarios whose id matches this glob (comma-separated globs allowed, e.g. "C0*,C14")'}),
    list: Flags.boolean({description: 'list the scenarios and exit'}),
    junit: Flags.string({description: 'also write JUnit XML to this file'}),
    seed: Flags.integer({description: 'seed for guesses and payloads', default: 1}),
    quick: Flags.boolean({description: 'a representative subset (about 10 s)'}),
    lab: Flags.string({description: 'run the lab scenarios on this running lab (name or directory) instead of bringing one up'}),
    'in-process': Flags.boolean({description: 'no lab: only the in-process environment', exclusive: ['lab']}),
  }

  public async run(): Promise<SuiteResult | ListResult> {
    const {args, flags} = await this.parse(AttackTest)
    const {selectScenarios} = await import('../attacks/registry.js')
    const {LAB_SCENARIOS} = await import('../attacks/lab/scenarios.js')
    const inLab = new Set(LAB_SCENARIOS.map((s) => s.id))
    const lab = selectScenarios(flags.scenario, LAB_SCENARIOS.map((s) => ({...s, needs: ['lab' as const]})) as never[])
    const scenarios = [...selectScenarios(flags.scenario).filter((s) => !inLab.has(s.id)), ...lab] as Array<{id: string; catalogue: string; title: string; attackerModel: string; needs: string[]}>
    if (flags.list) {
      const {formatTable} = await import('../lab/table.js')
      this.log(formatTable(['SCENARIO', 'MODEL', 'WHERE', 'TITLE'], scenarios.map((s) => [s.id, s.attackerModel, s.needs.includes('lab') ? 'lab' : `in process${s.needs.length > 1 ? ` (${s.needs.filter((n) => n !== 'rnic-checks').join(',')})` : ''}`, s.title])))
      return {version: 1, scenarios: scenarios.map((s) => ({id: s.id, catalogue: s.catalogue, title: s.title, attackerModel: s.attackerModel, needs: [...s.needs]}))}
    }
    const {runAttackSuite} = await import('../attacks/suite.js')
    const {formatSuiteTable, toJunit, verdictLabel} = await import('../attacks/report.js')
    const {unsafeFromEnv, unsafeSwitches} = await import('../attacks/unsafe.js')
    const unsafe = unsafeFromEnv(process.env)
    const switches = unsafeSwitches(process.env)
    if (switches.length) this.logToStderr(`⚠ MASQ_UNSAFE_TEST: ${switches.join(', ')} switched off (test only)`)
    if (scenarios.length === 0) this.logToStderr(`no scenario matches ${flags.scenario}`)
    const suite = await runAttackSuite({
      quick: flags.quick, lab: flags.lab, topology: args.topology, inProcessOnly: flags['in-process'], scenario: flags.scenario, seed: flags.seed, unsafe,
      log: (m) => this.logToStderr(m),
      onResult: (r) => this.logToStderr(`${r.id.padEnd(5)} ${verdictLabel(r.verdict)}${r.verdict === 'blocked' ? '' : r.reason ? `: ${r.reason.slice(0, 160)}` : ''} (${r.durationMs} ms)`),
    })
    if (flags.junit) writeFileSync(flags.junit, toJunit(suite))
    this.log(formatSuiteTable(suite))
    process.exitCode = suite.exitCode
    return suite
  }
}
