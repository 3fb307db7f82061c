// Socket directory of a lab: a short mkdtemp directory under os.tmpdir(), because sun_path holds 108 bytes
// including the NUL (unix(7)), which a lab dir deep in a project tree would overflow.
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'

export const SUN_PATH_MAX = 107

export function checkSocketPath(p: string): void {
  const n = Buffer.byteLength(p)
  if (n > SUN_PATH_MAX) throw new Error(`socket path ${p} is ${n} bytes; Unix sockets allow ${SUN_PATH_MAX} (set TMPDIR to a shorter directory)`)
}

export const socketNames = {
  controller: 'ctl.sock',
  ready: 'ready.sock', // `masq up` listens here while the lab starts (src/lab/ready.ts)
  host: (index: number) => `h${index}.sock`,
  wire: (index: number) => `w${index}.sock`,
}

export function makeSocketDir(lab: string, hosts: number): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `masq-${lab.slice(0, 24)}-`))
  // Check the longest name we will create before anything listens.
  try {
    for (const name of [socketNames.wire(Math.max(hosts - 1, 0)), socketNames.ready]) checkSocketPath(path.join(dir, name))
  } catch (err) {
    fs.rmSync(dir, {recursive: true, force: true})
    throw err
  }
  return dir
}

export function removeSocketDir(dir: string | undefined): void {
  // Only remove what looks like ours: a masq-* directory directly under the temp dir.
  if (!dir || !path.basename(dir).startsWith('masq-')) return
  fs.rmSync(dir, {recursive: true, force: true})
}
