import fs from 'node:fs'
import path from 'node:path'
import {execa} from 'execa'
import {afterAll, beforeAll, expect, it} from 'vitest'
import {ROOT, cli, ensureBuilt, eventually, planIn, processesMentioning, readJson, tempDir} from '../integration/lab/helpers.js'

let dir: string

beforeAll(async () => {
  await ensureBuilt()
  dir = tempDir('int')
}, 180_000)

afterAll(async () => {
  await cli(path.join(dir, 'data')).run(['down', '--all'])
  fs.rmSync(dir, {recursive: true, force: true})
})

it('Ctrl-C (SIGINT) during up rolls back everything and exits 130', async () => {
  const plan = planIn(dir, 'sixteen-host.json') // 16 hosts x 4 VMs: up takes long enough to be interrupted
  const stateFile = path.join(dir, 'masq-sixteen', 'state.json')
  const child = execa(process.execPath, [path.join(ROOT, 'bin', 'run.js'), 'up', plan], {
    env: {MASQ_DATA_DIR: path.join(dir, 'data')},
    reject: false,
  })
  let socketDir = ''
  const seen = await eventually(() => {
    const s = readJson(stateFile)
    socketDir = s?.socketDir ?? ''
    return (s?.processes?.length ?? 0) >= 1
  }, 30_000)
  expect(seen).toBe(true)
  child.kill('SIGINT')
  const r = await child
  expect(r.exitCode, String(r.stderr)).toBe(130)
  expect(String(r.stderr)).toMatch(/interrupted/)
  expect(fs.existsSync(stateFile)).toBe(false)
  expect(fs.existsSync(socketDir)).toBe(false)
  expect(processesMentioning(socketDir)).toEqual([])
})
