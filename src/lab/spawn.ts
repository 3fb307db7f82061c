// Start a lab process: `node dist/<role>/main.js`, detached in its own process group (so teardown can signal
// the group and a Ctrl-C on the CLI's terminal does not reach it), stdout+stderr appended to its log file,
// unref'd so the CLI can exit and leave it running. Plain child_process.spawn, synchronous: `up` starts 17
// processes for a 16-host lab, and execa cost ~100 ms to import plus ~7 ms of CPU per spawn for nothing used here.
import {spawn} from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import {fileURLToPath} from 'node:url'
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

export function spawnProcess(spec: SpawnSpec): ProcRecord {
  const entry = entryPoint(spec.role)
  if (!fs.existsSync(entry)) throw new Error(`${entry} is missing: build with \`npm run build\``)
  const fd = fs.openSync(spec.log, 'a')
  try {
    // MASQ_NODE_ARGS: extra node flags for lab processes, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof" (profiling)
    const nodeArgs = (process.env.MASQ_NODE_ARGS ?? '').split(' ').filter(Boolean)
    const child = spawn(process.execPath, [...nodeArgs, entry, ...spec.args], {
      detached: true, // setsid(): its own process group, out of reach of the terminal's Ctrl-C
      // A raw fd: the child writes its log itself, so nothing flows through the CLI that may exit.
      stdio: ['ignore', fd, fd],
      env: {...process.env, MASQ_NODE: spec.node},
    })
    child.on('error', () => {}) // exit is observed through /proc; a failed exec leaves no pid (below)
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
