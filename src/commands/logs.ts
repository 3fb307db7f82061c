import {Args, Flags} from '@oclif/core'
import {BaseCommand} from '../cli/base-command.js'
import {followLogs, logNodes, prefixLine, readLogLines} from '../lab/logs.js'
import {LabNotFoundError, resolveLab} from '../lab/resolve-lab.js'

export default class Logs extends BaseCommand {
  static override summary = 'Print the logs of a lab (every process, or one node), each line prefixed by its node name.'
  static override enableJsonFlag = true
  static override args = {
    lab: Args.string({description: 'topology file, lab directory or lab name (default: the only running lab)'}),
    node: Args.string({description: 'only this node (controller, or a host name)'}),
  }
  static override flags = {
    lab: Flags.string({description: 'lab name (from the registry); then the first argument is the node'}),
    follow: Flags.boolean({char: 'f', default: false, description: 'keep printing new lines until Ctrl-C'}),
  }
  static override examples = ['<%= config.bin %> logs lab.yaml h1', '<%= config.bin %> logs --lab two-host h1 -f', '<%= config.bin %> logs --lab two-host --json']

  public async run(): Promise<{version: 1; lab: string; lines: Array<{node: string; line: string}>}> {
    const {args, flags} = await this.parse(Logs)
    // with --lab the lab is named: a single argument is the node (`masq logs --lab two-host h1`)
    let labArg = args.lab
    let node = args.node
    if (flags.lab && labArg !== undefined) {
      if (node !== undefined) this.error(`name the lab once: --lab ${flags.lab} or ${labArg}`, {exit: 2})
      node = labArg
      labArg = undefined
    }
    let ref
    try {
      ref = resolveLab(labArg, flags.lab)
    } catch (err) {
      if (err instanceof LabNotFoundError) this.error(err.message, {exit: 1})
      throw err
    }
    const all = logNodes(ref.labDir)
    if (node && !all.includes(node)) this.error(`lab ${ref.name} has no log for ${node} (nodes: ${all.join(', ') || 'none'})`, {exit: 1})
    const nodes = node ? [node] : all
    if (flags.follow) {
      if (this.jsonEnabled()) this.error('--follow cannot be combined with --json', {exit: 1})
      const abort = new AbortController()
      const stop = () => abort.abort()
      process.once('SIGINT', stop)
      process.once('SIGTERM', stop)
      await followLogs(ref.labDir, nodes, (node, line) => this.log(`${node} | ${line}`), abort.signal)
      return {version: 1, lab: ref.name, lines: []}
    }
    const lines = readLogLines(ref.labDir, nodes)
    const width = Math.max(0, ...nodes.map((n) => n.length))
    for (const l of lines) this.log(prefixLine(l.node, width, l.line))
    return {version: 1, lab: ref.name, lines}
  }
}
