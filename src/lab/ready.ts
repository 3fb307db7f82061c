// Readiness: a process is ready when it answers `ping` on its control socket. Retries with backoff until an
// overall deadline; fails fast if the process died, naming it and quoting the tail of its log.
import fs from 'node:fs'
import {isOurs, sleep} from './proc.js'
import {rpcCall} from './rpc.js'
import type {ProcRecord} from './state.js'

export function logTail(file: string, lines = 10): string {
  try {
    const text = fs.readFileSync(file, 'utf8')
    return text.trimEnd().split('\n').slice(-lines).join('\n')
  } catch {
    return '(no log)'
  }
}

export async function waitReady(rec: ProcRecord, opts: {timeoutMs: number; signal?: AbortSignal}): Promise<unknown> {
  const deadline = Date.now() + opts.timeoutMs
  let delay = 10
  let lastError = 'no answer yet'
  for (;;) {
    if (opts.signal?.aborted) throw new Error('interrupted')
    if (!isOurs(rec.pid, rec.startTime)) {
      throw new Error(`${rec.node} (pid ${rec.pid}) exited during start-up; last log lines of ${rec.log}:\n${logTail(rec.log)}`)
    }
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
