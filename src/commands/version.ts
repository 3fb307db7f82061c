import {BaseCommand} from '../cli/base-command.js'

export default class Version extends BaseCommand {
  static override summary = 'Print the masq version, Node version and platform.'
  static override enableJsonFlag = true

  public async run(): Promise<{masq: string; node: string; platform: string}> {
    await this.parse(Version)
    const out = {masq: this.config.version, node: process.version, platform: `${process.platform}-${process.arch}`}
    this.log(`masq/${out.masq} ${out.platform} node-${out.node}`)
    return out
  }
}
