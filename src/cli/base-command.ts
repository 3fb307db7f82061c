import {Command} from '@oclif/core'

// Shared behaviour of every masq command.
// oclif ignores err.oclif.exit in --json mode (oclif/core #1423): set the exit code ourselves so that
// `masq validate --json` on a broken topology still exits 1.
export abstract class BaseCommand extends Command {
  protected override async catch(err: Error & {oclif?: {exit?: number}; exitCode?: number}): Promise<unknown> {
    if (this.jsonEnabled()) process.exitCode = err.oclif?.exit ?? err.exitCode ?? 1
    return super.catch(err)
  }
}
