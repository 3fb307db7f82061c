import {Args, Flags} from '@oclif/core'
import {BaseCommand} from '../../cli/base-command.js'
import {compareFiles, formatCompare, type CompareResult} from '../../bench/compare.js'

export default class BenchCompare extends BaseCommand {
  static override summary = 'Compare two results.json files of masq bench: every figure in both, delta in percent.'
  static override description = 'Rows beyond --threshold are flagged better or WORSE by the direction of the figure (throughput up is better, latency down is better). Exit status 0 either way; a file that is not a results document exits 1.'
  static override enableJsonFlag = true
  static override args = {
    old: Args.string({required: true, description: 'the baseline results.json'}),
    new: Args.string({required: true, description: 'the results.json to compare with it'}),
  }
  static override flags = {
    threshold: Flags.string({description: 'percent change that counts as a difference', default: '5'}),
    'flagged-only': Flags.boolean({description: 'print only the rows beyond the threshold', default: false}),
  }
  static override examples = ['<%= config.bin %> bench compare before/results.json after/results.json --threshold 3']

  public async run(): Promise<CompareResult> {
    const {args, flags} = await this.parse(BenchCompare)
    const thresholdPct = Number(flags.threshold)
    if (!Number.isFinite(thresholdPct) || thresholdPct < 0) this.error(`--threshold ${flags.threshold}: expected a non-negative number of percent`, {exit: 2})
    let result: CompareResult
    try {
      result = await compareFiles(args.old, args.new, {thresholdPct})
    } catch (err) {
      this.error((err as Error).message, {exit: 1})
    }
    if (!this.jsonEnabled()) this.log(formatCompare(result, {flaggedOnly: flags['flagged-only']}).trimEnd())
    return result
  }
}
