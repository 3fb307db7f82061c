import {Args, Flags} from '@oclif/core'
import {BaseCommand} from '../cli/base-command.js'
import {down, type DownResult} from '../lab/lifecycle.js'
import {listLabs} from '../lab/registry.js'
import {LabNotFoundError, resolveLab, type LabRef} from '../lab/resolve-lab.js'

export default class Down extends BaseCommand {
  static override summary = 'Stop a lab from its recorded state: graceful shutdown, then its process groups; removes its sockets and its registry entry.'
  static override enableJsonFlag = true
  static override args = {lab: Args.string({description: 'topology file, lab directory or lab name'})}
  static override flags = {
    lab: Flags.string({description: 'lab name (from the registry)'}),
    all: Flags.boolean({description: 'stop every lab in the registry (and forget entries whose lab is gone)', default: false}),
  }

  public async run(): Promise<{version: 1; labs: DownResult[]}> {
    const {args, flags} = await this.parse(Down)
    let refs: LabRef[]
    try {
      refs = flags.all
        ? listLabs().map((e) => ({name: e.name, labDir: e.labDir}))
        : [resolveLab(args.lab, flags.lab)]
    } catch (err) {
      if (err instanceof LabNotFoundError) this.error(err.message, {exit: 1})
      throw err
    }
    const labs: DownResult[] = []
    for (const ref of refs) {
      const r = await down(ref)
      labs.push(r)
      if (r.wasRunning) this.log(`lab ${r.lab} stopped (${r.processes.map((p) => `${p.node}: ${p.outcome}`).join(', ')})`)
      else this.logToStderr(`lab ${r.lab} is not running; nothing to do`)
    }
    if (flags.all && refs.length === 0) this.logToStderr('no labs in the registry')
    return {version: 1, labs}
  }
}
