// Readiness: each lab process tells `up` that it is ready by one message on the lab's readiness socket
// (ReadyBoard, <socketDir>/ready.sock; the process side is announce() in daemon.ts): no polling round trips.
// Messages: {node, pid, event: 'ready'} once the control socket listens; hosts add {event: 'vms', ok, error?}
// once their VM workers run. While waiting, `up` checks every 50 ms that the process is still alive (fails fast
// naming it and quoting its log). Without a board it falls back to pinging the control socket.
import fs from 'node:fs'
import net from 'node:net'
import {isOurs, sleep} from './proc.js'
import {rpcCall} from './rpc.js'
import type {ProcRecord} from './state.js'

export type ReadyEvent = 'ready' | 'vms'
export interface ReadyMessage {node: string; pid: number; event: ReadyEvent; ok?: boolean; error?: string}

const MAX_MESSAGE = 64 * 1024
const LIVENESS_MS = 50

/** Parse one readiness line; undefined for anything malformed (hostile or truncated input is dropped). */
export function parseReadyMessage(line: string): ReadyMessage | undefined {
  let m: unknown
  try {
    m = JSON.parse(line)
  } catch {
    return undefined
  }
  const r = m as Partial<ReadyMessage> | null
  if (!r || typeof r !== 'object' || typeof r.node !== 'string' || typeof r.pid !== 'number') return undefined
  if (r.event !== 'ready' && r.event !== 'vms') return undefined
  return {node: r.node, pid: r.pid, event: r.event, ok: r.ok !== false, ...(typeof r.error === 'string' ? {error: r.error} : {})}
}

export class ReadyBoard {
  private readonly got = new Map<string, ReadyMessage>()
  private wake: Array<() => void> = []
  /** Messages that did not parse (counted, never thrown). */
  dropped = 0

  private constructor(private readonly server: net.Server, readonly socket: string) {}

  static async listen(socket: string): Promise<ReadyBoard> {
    const server = net.createServer()
    const board = new ReadyBoard(server, socket)
    server.on('connection', (s) => board.accept(s))
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(socket, () => {
        server.off('error', reject)
        resolve()
      })
    })
    server.unref() // never keeps the CLI alive on its own
    return board
  }

  private accept(s: net.Socket): void {
    let text = ''
    s.setEncoding('utf8')
    s.on('error', () => {})
    s.on('data', (chunk: string) => {
      text += chunk
      if (text.length > MAX_MESSAGE) {
        this.dropped++
        s.destroy()
        return
      }
      let nl: number
      while ((nl = text.indexOf('\n')) >= 0) {
        this.post(text.slice(0, nl))
        text = text.slice(nl + 1)
      }
    })
  }

  private post(line: string): void {
    const m = parseReadyMessage(line)
    if (!m) {
      this.dropped++
      return
    }
    this.got.set(`${m.node}/${m.event}`, m)
    const w = this.wake
    this.wake = []
    for (const f of w) f()
  }

  /** The message `event` of `pid` (the process we started under that node name), if it came. */
  take(node: string, pid: number, event: ReadyEvent): ReadyMessage | undefined {
    const m = this.got.get(`${node}/${event}`)
    return m && m.pid === pid ? m : undefined
  }

  /** Resolves on the next message or after ms. */
  next(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(done, ms)
      const self = this
      function done() {
        clearTimeout(t)
        self.wake = self.wake.filter((f) => f !== done)
        resolve()
      }
      this.wake.push(done)
    })
  }

  async close(): Promise<void> {
    await new Promise<void>((r) => this.server.close(() => r()))
    fs.rmSync(this.socket, {force: true})
  }
}

export function logTail(file: string, lines = 10): string {
  try {
    const text = fs.readFileSync(file, 'utf8')
    return text.trimEnd().split('\n').slice(-lines).join('\n')
  } catch {
    return '(no log)'
  }
}

export interface WaitOptions {timeoutMs: number; signal?: AbortSignal; board?: ReadyBoard; event?: ReadyEvent}

const exited = (rec: ProcRecord) =>
  new Error(`${rec.node} (pid ${rec.pid}) exited during start-up; last log lines of ${rec.log}:\n${logTail(rec.log)}`)

/** Wait for a process's readiness message (`event`, default 'ready'); rejects if it dies, on timeout or abort. */
export async function waitReady(rec: ProcRecord, opts: WaitOptions): Promise<ReadyMessage | unknown> {
  if (!opts.board) return pingReady(rec, opts)
  const event = opts.event ?? 'ready'
  const deadline = Date.now() + opts.timeoutMs
  let alive = 0 // when the process was last seen alive: every message wakes every waiter, /proc is read every 50 ms
  for (;;) {
    const m = opts.board.take(rec.node, rec.pid, event)
    if (m) return m
    if (opts.signal?.aborted) throw new Error('interrupted')
    if (Date.now() - alive >= LIVENESS_MS) {
      if (!isOurs(rec.pid, rec.startTime)) throw exited(rec)
      alive = Date.now()
    }
    const left = deadline - Date.now()
    if (left <= 0) {
      throw new Error(
        `${rec.node} (pid ${rec.pid}) not ready after ${(opts.timeoutMs / 1000).toFixed(1)} s: no '${event}' message on ${opts.board.socket}; ` +
          `last log lines of ${rec.log}:\n${logTail(rec.log)}`,
      )
    }
    await opts.board.next(Math.min(LIVENESS_MS, left))
  }
}

/** Fallback: ready when the process answers `ping` on its control socket (retries with backoff). */
async function pingReady(rec: ProcRecord, opts: WaitOptions): Promise<unknown> {
  const deadline = Date.now() + opts.timeoutMs
  let delay = 10
  let lastError = 'no answer yet'
  for (;;) {
    if (opts.signal?.aborted) throw new Error('interrupted')
    if (!isOurs(rec.pid, rec.startTime)) throw exited(rec)
    try {
      return await rpcCall(rec.socket, 'ping', {}, Math.max(200, Math.min(2000, deadline - Date.now())))
    } catch (err) {
      lastError = (err as Error).message
    }
    if (Date.now() >= deadline) {
      throw new Error(
        `${rec.node} (pid ${rec.pid}) not ready after ${(opts.timeoutMs / 1000).toFixed(1)} s: ping on ${rec.socket}: ${lastError}; ` +
          `last log lines of ${rec.log}:\n${logTail(rec.log)}`,
      )
    }
    await sleep(delay)
    delay = Math.min(delay * 2, 200)
  }
}
