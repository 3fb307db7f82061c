import os from 'node:os'
import path from 'node:path'
import {execa} from 'execa'
import {describe, expect, it} from 'vitest'
import {isOurs, readProcStat, waitFor} from '../../../src/lab/proc.js'
import type {ProcRecord} from '../../../src/lab/state.js'
import {stopProcess} from '../../../src/lab/teardown.js'

/** A detached process that has installed its handlers (it says so on stdout). */
async function spawnDetached(script: string): Promise<ProcRecord> {
  const child = execa(process.execPath, ['-e', `${script}; process.stdout.write('ready')`], {detached: true, cleanup: false, reject: false, stdin: 'ignore'})
  child.catch(() => {})
  await new Promise((r) => child.stdout!.once('data', r))
  const pid = child.pid!
  const st = readProcStat(pid)!
  // No control socket: the shutdown RPC fails and teardown goes on to signals.
  return {node: 'x', role: 'host', pid, pgid: pid, startTime: st.startTime, startedAt: '', socket: path.join(os.tmpdir(), `masq-none-${pid}.sock`), log: ''}
}

describe('teardown', () => {
  it('reads its own /proc stat', () => {
    const st = readProcStat(process.pid)!
    expect(st.startTime).toMatch(/^\d+$/)
    expect(isOurs(process.pid, st.startTime)).toBe(true)
    expect(isOurs(process.pid, '1')).toBe(false)
    expect(readProcStat(2 ** 22 + 12345)).toBeUndefined()
  })

  it('escalates to SIGKILL on a process group that ignores SIGTERM', async () => {
    const rec = await spawnDetached("process.on('SIGTERM', () => {}); setInterval(() => {}, 1000)")
    await waitFor(() => readProcStat(rec.pid)?.pgid === rec.pid, 5000)
    expect(await stopProcess(rec, {graceMs: 200, termMs: 300})).toBe('killed')
    expect(isOurs(rec.pid, rec.startTime)).toBe(false)
  })

  it('stops with SIGTERM when there is no control socket', async () => {
    const rec = await spawnDetached('setInterval(() => {}, 1000)')
    await waitFor(() => readProcStat(rec.pid)?.pgid === rec.pid, 5000)
    expect(await stopProcess(rec, {graceMs: 200})).toBe('terminated')
  })

  it('never signals a pid whose start time does not match (pid reuse)', async () => {
    const rec = await spawnDetached('setInterval(() => {}, 1000)')
    const wrong = {...rec, startTime: String(Number(rec.startTime) + 1)}
    expect(await stopProcess(wrong, {graceMs: 100})).toBe('not-running')
    expect(isOurs(rec.pid, rec.startTime)).toBe(true)
    expect(await stopProcess(rec, {graceMs: 100})).toBe('terminated')
  })
})
