import {Args, Flags} from '@oclif/core'
import {BaseCommand} from '../cli/base-command.js'
import {CaptureError, mergeCapture} from '../lab/capture.js'
import {LabNotFoundError, resolveLab} from '../lab/resolve-lab.js'

export default class Capture extends BaseCommand {
  static override summary = "Merge the lab's per-host packet captures into one pcap, in time order."
  static override description = 'Needs a lab started with `masq up --capture` (or fabric.capture: true). Works on a running or a stopped lab.'
  static override enableJsonFlag = true
  static override args = {lab: Args.string({required: true, description: 'topology file, lab directory or lab name'})}
  static override flags = {output: Flags.string({char: 'o', required: true, description: 'the merged pcap to write'})}
  static override examples = ['<%= config.bin %> capture lab.yaml -o lab.pcap && tshark -r lab.pcap']

  public async run(): Promise<ReturnType<typeof mergeCapture>> {
    const {args, flags} = await this.parse(Capture)
    try {
      const r = mergeCapture(resolveLab(args.lab).labDir, flags.output)
      this.log(`${r.frames} frames from ${r.inputs.length} host${r.inputs.length === 1 ? '' : 's'} -> ${r.output}`)
      return r
    } catch (err) {
      if (err instanceof LabNotFoundError || err instanceof CaptureError) this.error(err.message, {exit: 1})
      throw err
    }
  }
}
