import fs from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import {execa} from 'execa'
import {afterEach, beforeEach, describe, expect, it} from 'vitest'
import {announce, type DaemonArgs} from '../../../src/lab/daemon.js'
import {readProcStat} from '../../../src/lab/proc.js'
import {ReadyBoard, parseReadyMessage, waitReady} from '../../../src/lab/ready.js'
import type {ProcRecord} from '../../../src/lab/state.js'

let dir: string
let board: ReadyBoard

beforeEach(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'masq-ready-'))
  board = await ReadyBoard.listen(path.join(dir, 'ready.sock'))
})

afterEach(async () => {
  await board.close()
  fs.rmSync(dir, {recursive: true, force: true})
})

const self = (node: string): ProcRecord => ({
  node, role: 'host', pid: process.pid, pgid: process.pid, startTime: readProcStat(process.pid)!.startTime,
  startedAt: new Date().toISOString(), socket: path.join(dir, 'none.sock'), log: path.join(dir, 'none.log'),
})
const args = (node: string, ready?: string): DaemonArgs => ({plan: {} as DaemonArgs['plan'], planFile: '', socket: '', node, socketDir: dir, ready})

describe('readiness messages', () => {
  it('parses what announce() writes and drops anything else', () => {
    expect(parseReadyMessage('{"node":"h1","pid":7,"event":"ready"}')).toEqual({node: 'h1', pid: 7, event: 'ready', ok: true})
    expect(parseReadyMessage('{"node":"h1","pid":7,"event":"vms","ok":false,"error":"boom"}')).toEqual({node: 'h1', pid: 7, event: 'vms', ok: false, error: 'boom'})
    for (const bad of ['', 'not json', 'null', '[]', '{"node":1,"pid":7,"event":"ready"}', '{"node":"h1","event":"ready"}', '{"node":"h1","pid":7,"event":"other"}']) {
      expect(parseReadyMessage(bad)).toBeUndefined()
    }
  })

  it('waitReady resolves on the announced event of that pid only', async () => {
    const rec = self('h1')
    const vms = waitReady(rec, {timeoutMs: 30_000, board, event: 'vms'})
    await announce(args('h1', board.socket), {event: 'ready'})
    expect(await waitReady(rec, {timeoutMs: 30_000, board})).toMatchObject({node: 'h1', event: 'ready', ok: true})
    // the same node name from another pid (not the process we started) does not count
    const other = net.createConnection(board.socket)
    other.end(JSON.stringify({node: 'h1', pid: process.pid + 1, event: 'vms'}) + '\n')
    await announce(args('h1', board.socket), {event: 'vms', ok: false, error: 'no memory'})
    expect(await vms).toMatchObject({node: 'h1', pid: process.pid, event: 'vms', ok: false, error: 'no memory'})
  })

  it('counts malformed lines and keeps serving', async () => {
    const s = net.createConnection(board.socket)
    s.end('garbage\n{"node":"h2"}\n')
    await new Promise((r) => s.once('close', r))
    await announce(args('h2', board.socket), {event: 'ready'})
    expect(await waitReady(self('h2'), {timeoutMs: 30_000, board})).toMatchObject({node: 'h2'})
    expect(board.dropped).toBe(2)
  })

  it('announce() without a socket, or with nobody listening, resolves quietly', async () => {
    await announce(args('h1'), {event: 'ready'})
    await announce(args('h1', path.join(dir, 'gone.sock')), {event: 'ready'})
  })

  it('fails fast, naming the process and quoting its log, when it exits before it is ready', async () => {
    const child = execa(process.execPath, ['-e', 'setTimeout(() => {}, 300)'], {reject: false})
    const rec: ProcRecord = {...self('h3'), pid: child.pid!, startTime: readProcStat(child.pid!)!.startTime}
    fs.writeFileSync(rec.log, 'line one\nfatal: no RNIC\n')
    await expect(waitReady(rec, {timeoutMs: 60_000, board})).rejects.toThrow(/h3 \(pid \d+\) exited during start-up[\s\S]*fatal: no RNIC/)
    await child
  })

  it('times out with the event it waited for', async () => {
    await expect(waitReady(self('h4'), {timeoutMs: 150, board, event: 'vms'})).rejects.toThrow(/h4 .* not ready after 0\.1 s: no 'vms' message/)
  })

  it('stops waiting when aborted', async () => {
    const abort = new AbortController()
    const p = waitReady(self('h5'), {timeoutMs: 60_000, board, signal: abort.signal})
    abort.abort()
    await expect(p).rejects.toThrow('interrupted')
  })
})
