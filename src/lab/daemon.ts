// Shared start-up of lab processes (controller, host): arguments, log lines, signal handling.
// Kept free of oclif/ajv/listr2 so a process starts in tens of milliseconds.
import fs from 'node:fs'
import net from 'node:net'
import path from 'node:path'
import {parseArgs} from 'node:util'
import type {ResolvedPlan} from '../topology/types.js'

export interface DaemonArgs {plan: ResolvedPlan; planFile: string; socket: string; node: string; socketDir: string; ready?: string}

export function daemonArgs(argv = process.argv.slice(2)): DaemonArgs {
  const {values} = parseArgs({
    args: argv,
    options: {plan: {type: 'string'}, socket: {type: 'string'}, node: {type: 'string'}, 'socket-dir': {type: 'string'}, ready: {type: 'string'}},
  })
  if (!values.plan || !values.socket || !values.node || !values['socket-dir']) {
    throw new Error('usage: main.js --plan FILE --socket PATH --node NAME --socket-dir DIR [--ready PATH]')
  }
  const plan = JSON.parse(fs.readFileSync(values.plan, 'utf8')) as ResolvedPlan
  return {plan, planFile: values.plan, socket: values.socket, node: values.node, socketDir: values['socket-dir'], ready: values.ready}
}

/**
 * Tell `masq up` about a start-up step, one JSON line on its readiness socket (src/lab/ready.ts). Never fails:
 * an `up` that is gone (killed, or a lab started by other means) has nobody to tell (watchRecorded covers that).
 */
export function announce(args: DaemonArgs, msg: {event: 'ready' | 'vms'; ok?: boolean; error?: string}): Promise<void> {
  const socket = args.ready
  if (!socket) return Promise.resolve()
  return new Promise((resolve) => {
    const s = net.createConnection(socket)
    s.on('error', () => resolve())
    s.on('close', () => resolve())
    s.end(JSON.stringify({node: args.node, pid: process.pid, ...msg}) + '\n')
  })
}

const RECORD_GRACE_MS = 1000 // `up` records a pid in the same tick as the fork; Node takes longer than that to boot
const RECORD_POLL_MS = 100

/**
 * From its start until it is listed, a process started by `up` checks that the lab's state.json (next to the plan)
 * lists its pid. An `up` SIGKILLed between the fork and that write leaves an unrecorded process that `down` cannot
 * know of, and whose start may wait forever on peers that `down` stopped: it stops itself instead, at once when
 * state.json is gone (`up` writes it before forking anything, `down` removes it), after the grace period when
 * state.json does not list it.
 */
export function watchRecorded(args: DaemonArgs, stop: (reason: string) => Promise<void>): void {
  if (!args.ready) return
  const stateFile = path.join(path.dirname(args.planFile), 'state.json')
  const born = Date.now()
  const check = (): boolean => {
    let listed = false
    try {
      const st = JSON.parse(fs.readFileSync(stateFile, 'utf8')) as {processes?: Array<{pid?: number}>}
      listed = !!st.processes?.some((p) => p.pid === process.pid)
    } catch {
      if (fs.existsSync(stateFile)) return true // a torn read: look again
    }
    if (listed) return false
    if (fs.existsSync(stateFile) && Date.now() - born < RECORD_GRACE_MS) return true
    log(`${args.node}: not recorded in ${stateFile} (masq up was killed before it could): stopping`)
    void stop('not recorded by masq up').catch(() => undefined).finally(() => process.exit(1))
    return false
  }
  if (!check()) return
  const timer: NodeJS.Timeout = setInterval(() => {
    if (!check()) clearInterval(timer)
  }, RECORD_POLL_MS)
  timer.unref()
}

export function log(msg: string): void {
  process.stdout.write(`${new Date().toISOString()} ${msg}\n`)
}

/** SIGTERM/SIGINT run the graceful stop once; a second signal exits at once. */
export function onTerminate(stop: (reason: string) => Promise<void>): void {
  let stopping = false
  const handler = (sig: NodeJS.Signals) => {
    if (stopping) process.exit(1)
    stopping = true
    void stop(sig).finally(() => process.exit(0))
  }
  process.on('SIGTERM', handler)
  process.on('SIGINT', handler)
}

export function memoryMiB(): {rssMiB: number; heapUsedMiB: number} {
  const m = process.memoryUsage()
  return {rssMiB: Math.round((m.rss / 1048576) * 10) / 10, heapUsedMiB: Math.round((m.heapUsed / 1048576) * 10) / 10}
}
