import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {execa} from 'execa'
import {afterEach, beforeEach, expect, it} from 'vitest'
import {assertAlive, describeDead, probeLab} from '../../../src/lab/liveness.js'
import {readProcStat} from '../../../src/lab/proc.js'
import {RpcServer} from '../../../src/lab/rpc.js'
import type {LabState, ProcRecord} from '../../../src/lab/state.js'

let dir: string
let server: RpcServer

beforeEach(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'masq-live-'))
  server = new RpcServer({ping: () => ({ok: true})})
  await server.listen(path.join(dir, 'h1.sock'))
})

afterEach(async () => {
  await server.close()
  fs.rmSync(dir, {recursive: true, force: true})
})

const rec = (node: string, pid: number, socket: string): ProcRecord => ({
  node, role: node === 'controller' ? 'controller' : 'host', pid, pgid: pid, startTime: readProcStat(pid)?.startTime ?? '0',
  startedAt: '', socket: path.join(dir, socket), log: '',
})

async function deadPid(): Promise<number> {
  const r = await execa(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'])
  return Number(r.stdout)
}

it('a lab whose processes answer ping is alive', async () => {
  const state = {lab: 'l', processes: [rec('controller', process.pid, 'h1.sock'), rec('h1', process.pid, 'h1.sock')]} as LabState
  const r = await probeLab(state)
  expect(r.every((x) => x.alive)).toBe(true)
  await assertAlive(state, ['h1', undefined, 'controller'], (m) => new Error(m))
})

it('names a dead host and an unresponsive one, and only the processes asked about', async () => {
  const gone = await deadPid()
  const h2 = {...rec('h2', process.pid, 'h2.sock'), pid: gone, startTime: readProcStat(process.pid)!.startTime}
  const state = {lab: 'l', processes: [rec('controller', process.pid, 'h1.sock'), rec('h1', process.pid, 'missing.sock'), h2]} as LabState
  const r = await probeLab(state, ['h1', 'h2'])
  expect(r.map((x) => [x.node, x.alive])).toEqual([['h1', false], ['h2', false]])
  const msg = describeDead('l', r)!
  expect(msg).toMatch(/^lab l is degraded: host h1 \(pid \d+\) does not answer on its control socket/)
  expect(msg).toContain(`host h2 (pid ${gone}) is not running (it exited or was killed)`)
  expect(msg).toContain('masq down --lab l')
  class RunError extends Error {}
  await expect(assertAlive(state, ['h2'], (m) => new RunError(m))).rejects.toBeInstanceOf(RunError)
  expect(describeDead('l', await probeLab(state, ['controller']))).toBeUndefined()
})
