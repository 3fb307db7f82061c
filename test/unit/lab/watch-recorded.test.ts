// A process `up` started but never recorded (up SIGKILLed between the fork and state.json) stops itself; a
// recorded one keeps running.
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {execa} from 'execa'
import {afterAll, describe, expect, it} from 'vitest'

const FIXTURE = path.join(path.dirname(new URL(import.meta.url).pathname), 'fixtures', 'watch-recorded.mts')
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'masq-watch-'))
afterAll(() => fs.rmSync(dir, {recursive: true, force: true}))

const start = (labDir: string) => execa(process.execPath, ['--import', 'tsx', FIXTURE, path.join(labDir, 'plan.json'), path.join(labDir, 'ready.sock')],
  {reject: false, timeout: 30_000})

describe('watchRecorded', () => {
  it('stops a process that state.json does not list (exit 1)', async () => {
    const lab = path.join(dir, 'orphan')
    fs.mkdirSync(lab)
    fs.writeFileSync(path.join(lab, 'state.json'), JSON.stringify({processes: [{pid: 1}]}))
    const r = await start(lab)
    expect(r.exitCode).toBe(1)
    expect(r.stdout).toContain('not recorded')
    expect(r.stdout).toContain('stopped')
  }, 40_000)

  it('leaves a recorded process running', async () => {
    const lab = path.join(dir, 'recorded')
    fs.mkdirSync(lab)
    const child = start(lab)
    fs.writeFileSync(path.join(lab, 'state.json'), JSON.stringify({processes: [{pid: child.pid}]}))
    // past the grace period and several checks: still alive (then we stop it ourselves)
    await new Promise((r) => setTimeout(r, 2500))
    expect(child.exitCode).toBe(null)
    child.kill('SIGTERM')
    const r = await child
    expect(r.stdout).not.toContain('not recorded')
  }, 40_000)
})
