import fs from 'node:fs'
import path from 'node:path'
import {afterAll, beforeAll, expect, it} from 'vitest'
import {alive, cli, ensureBuilt, planIn, tempDir, type Cli} from './helpers.js'

let dir: string
let masq: Cli

beforeAll(async () => {
  await ensureBuilt()
  dir = tempDir('two')
  masq = cli(path.join(dir, 'data'))
}, 180_000)

afterAll(async () => {
  await masq.run(['down', '--all'])
  fs.rmSync(dir, {recursive: true, force: true})
})

it('two labs run at once without interfering; down --all stops both', async () => {
  const a = planIn(dir, 'two-host.json')
  const b = planIn(dir, 'two-host-b.json')
  const [ra, rb] = await Promise.all([masq.run(['up', a, '--json']), masq.run(['up', b, '--json'])])
  expect(ra.exitCode, ra.stderr).toBe(0)
  expect(rb.exitCode, rb.stderr).toBe(0)
  const la = JSON.parse(ra.stdout)
  const lb = JSON.parse(rb.stdout)
  expect(la.socketDir).not.toBe(lb.socketDir)
  expect(la.labDir).not.toBe(lb.labDir)

  // Without a name and with two labs running, status asks which one.
  const ambiguous = await masq.run(['status'])
  expect(ambiguous.exitCode).toBe(1)
  expect(ambiguous.stderr).toMatch(/several labs/)

  const d = await masq.run(['down', '--lab', 'twohost'])
  expect(d.exitCode, d.stderr).toBe(0)
  for (const p of la.processes) expect(alive(p.pid)).toBe(false)
  for (const p of lb.processes) expect(alive(p.pid)).toBe(true)
  const sb = JSON.parse((await masq.run(['status', '--json'])).stdout) // the only running lab now
  expect(sb.lab).toBe('twohostb')
  expect(sb.processes.every((p: any) => p.state === 'running')).toBe(true)

  const all = await masq.run(['down', '--all', '--json'])
  expect(all.exitCode, all.stderr).toBe(0)
  expect(JSON.parse(all.stdout).labs.map((l: any) => l.lab)).toEqual(['twohostb'])
  for (const p of lb.processes) expect(alive(p.pid)).toBe(false)
  expect(fs.existsSync(la.socketDir) || fs.existsSync(lb.socketDir)).toBe(false)
})
