// The library behind `masq capture`: each host's RNIC worker writes capture/<host>.pcap in the lab directory when
// capture is on (fabric.capture or `masq up --capture`); this merges them into one pcap in time order.
// A frame between two hosts appears twice, once as sent by one port and once as received by the other.
import fs from 'node:fs'
import path from 'node:path'
import {mergePcaps} from '../wire/pcap.js'

export class CaptureError extends Error {
  readonly exitCode = 1
}

export function captureDir(labDir: string): string {
  return path.join(labDir, 'capture')
}

export function captureFiles(labDir: string): string[] {
  const dir = captureDir(labDir)
  if (!fs.existsSync(dir)) return []
  return fs.readdirSync(dir).filter((f) => f.endsWith('.pcap')).sort().map((f) => path.join(dir, f))
}

export function mergeCapture(labDir: string, out: string): {version: 1; output: string; inputs: string[]; frames: number} {
  const inputs = captureFiles(labDir)
  if (!inputs.length) throw new CaptureError(`no capture in ${captureDir(labDir)}: start the lab with \`masq up --capture\` or fabric.capture: true`)
  const output = path.resolve(out)
  return {version: 1, output, inputs, frames: mergePcaps(inputs, output)}
}
