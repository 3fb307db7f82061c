// Start a lab process: `node dist/<role>/main.js`, detached in its own process group (so teardown can signal
// the group and a Ctrl-C on the CLI's terminal does not reach it), stdout+stderr appended to its log file,
// unref'd so the CLI can exit and leave it running.
import fs from 'node:fs'
import path from 'node:path'
import {fileURLToPath} from 'node:url'
import {execa} from 'execa'
import {readProcStat} from './proc.js'
import type {ProcRecord, Role} from './state.js'

/** dist/<role>/main.js; when running from src (vitest, tsx) the built copy in dist/ is used. */
export function entryPoint(role: Role): string {
  if (process.env.MASQ_DIST_DIR) return path.join(process.env.MASQ_DIST_DIR, role, 'main.js')
  const here = path.dirname(fileURLToPath(import.meta.url)) // .../dist/lab or .../src/lab
  const base = path.basename(path.dirname(here)) === 'src' ? path.join(here, '..', '..', 'dist') : path.join(here, '..')
  return path.join(base, role, 'main.js')
}

export interface SpawnSpec {node: string; role: Role; socket: string; log: string; args: string[]}

export async function spawnProcess(spec: SpawnSpec): Promise<ProcRecord> {
  const entry = entryPoint(spec.role)
  if (!fs.existsSync(entry)) throw new Error(`${entry} is missing: build with \`npm run build\``)
  const fd = fs.openSync(spec.log, 'a')
  try {
    // MASQ_NODE_ARGS: extra node flags for lab processes, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof" (profiling)
    const nodeArgs = (process.env.MASQ_NODE_ARGS ?? '').split(' ').filter(Boolean)
    const child = execa(process.execPath, [...nodeArgs, entry, ...spec.args], {
      detached: true,
      cleanup: false, // must outlive the CLI
      reject: false,
      // A raw fd: the child writes its log itself, so nothing flows through the CLI that may exit.
      // (execa's types only list literal fds 3..9 here, hence the cast.)
      stdio: ['ignore', fd as 3, fd as 3],
      env: {MASQ_NODE: spec.node},
    })
    child.catch(() => {}) // exit is observed through /proc, not through execa
    child.unref()
    const pid = child.pid
    if (pid === undefined) throw new Error(`could not start ${spec.node}`)
    // Read the start time at once and let the caller record it: the shorter the gap between fork and
    // state.json, the less a SIGKILLed `up` can orphan. The child calls setsid() before exec (detached), so
    // its process group id is its pid.
    const st = readProcStat(pid)
    if (!st) throw new Error(`${spec.node} exited immediately; see ${spec.log}`)
    return {node: spec.node, role: spec.role, pid, pgid: pid, startTime: st.startTime, startedAt: new Date().toISOString(), socket: spec.socket, log: spec.log}
  } finally {
    fs.closeSync(fd)
  }
}
