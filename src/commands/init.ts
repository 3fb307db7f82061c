import {existsSync, writeFileSync} from 'node:fs'
import {Args, Flags} from '@oclif/core'
import {BaseCommand} from '../cli/base-command.js'

export default class Init extends BaseCommand {
  static override summary = 'Write a new topology file from a template.'
  static override description = `Templates live in the package's templates/ directory (see --list). The file starts with a yaml-language-server modeline that points at the topology schema, so editors complete and check keys.

An existing file is never overwritten unless --force is given. Use "-" as the file to print to stdout.`
  static override examples = [
    '<%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> lab.yaml --template multi-tenant',
    '<%= config.bin %> <%= command.id %> --list',
    '<%= config.bin %> <%= command.id %> - --template qos > qos.yaml',
  ]
  static override enableJsonFlag = true
  static override args = {
    file: Args.string({description: 'file to write ("-" = stdout)', default: 'topology.yaml'}),
  }
  static override flags = {
    template: Flags.string({char: 't', summary: 'template name (see --list)', default: 'two-host'}),
    force: Flags.boolean({char: 'f', summary: 'overwrite an existing file'}),
    list: Flags.boolean({char: 'l', summary: 'list the templates and exit'}),
  }

  public async run(): Promise<unknown> {
    const {args, flags} = await this.parse(Init)
    const {listTemplates, readTemplate} = await import('../topology/templates.js')
    const templates = listTemplates()
    if (flags.list) {
      const w = Math.max(...templates.map((t) => t.name.length))
      for (const t of templates) this.log(`${t.name.padEnd(w)}  ${t.summary}`)
      return {version: 1, templates}
    }
    const text = readTemplate(flags.template)
    if (text === undefined) {
      const {didYouMean} = await import('../topology/errors.js')
      const names = templates.map((t) => t.name)
      const guess = didYouMean(flags.template, names)
      this.error(`unknown template "${flags.template}"`, {exit: 2, suggestions: [guess ? `did you mean "${guess}"?` : `templates: ${names.join(', ')}`]})
    }
    if (args.file === '-') {
      process.stdout.write(text)
      return {version: 1, template: flags.template, file: '-'}
    }
    if (existsSync(args.file) && !flags.force) {
      this.error(`${args.file} already exists`, {exit: 1, suggestions: ['pass --force to overwrite it, or choose another file name']})
    }
    writeFileSync(args.file, text)
    this.logToStderr(`wrote ${args.file} from template ${flags.template}; next: masq validate ${args.file}`)
    return {version: 1, template: flags.template, file: args.file}
  }
}
