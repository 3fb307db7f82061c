import fs from 'node:fs'
import path from 'node:path'
import {execa} from 'execa'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {ROOT, alive, cli, ensureBuilt, eventually, planIn, processesMentioning, readJson, tempDir, type Cli} from './helpers.js'

let dir: string
let masq: Cli

beforeAll(async () => {
  await ensureBuilt()
  dir = tempDir('fail')
  masq = cli(path.join(dir, 'data'))
}, 180_000)

afterAll(async () => {
  await masq.run(['down', '--all'])
  fs.rmSync(dir, {recursive: true, force: true})
})

describe('failures', () => {
  it('up of a broken topology fails before starting anything, with file:line:col errors', async () => {
    const sub = path.join(dir, 'yaml')
    fs.mkdirSync(sub)
    const topo = path.join(sub, 'broken.yaml')
    fs.writeFileSync(topo, 'name: [unclosed\n')
    const r = await masq.run(['up', topo])
    expect(r.exitCode).toBe(1)
    expect(r.stderr).toMatch(/broken\.yaml:\d+:\d+: /)
    expect(fs.readdirSync(sub)).toEqual(['broken.yaml']) // no lab dir was made
  })

  it('a host killed with SIGKILL shows as failed; down still cleans everything', async () => {
    const plan = planIn(dir, 'two-host.json')
    const r = await masq.run(['up', plan, '--json'])
    expect(r.exitCode, r.stderr).toBe(0)
    const up = JSON.parse(r.stdout)
    const h1 = up.processes.find((p: any) => p.node === 'h1')
    process.kill(h1.pid, 'SIGKILL')
    expect(await eventually(() => !alive(h1.pid))).toBe(true)

    const st = await masq.run(['status', plan, '--json'])
    expect(st.exitCode).toBe(0)
    const s = JSON.parse(st.stdout)
    expect(s.version).toBe(2)
    expect(s.state).toBe('degraded')
    expect(s.processes.find((p: any) => p.node === 'h1').state).toBe('failed')
    expect(s.processes.find((p: any) => p.node === 'h2').state).toBe('running')
    // one shape for vms everywhere: the dead host's VMs come from the plan, state unknown; the controller has none
    expect(s.processes.find((p: any) => p.node === 'h1').vms).toEqual([
      {name: 'vm1', tenant: 'blue', mode: 'masq', state: 'unknown'},
      {name: 'vm2', tenant: 'blue', mode: 'masq', state: 'unknown'},
    ])
    expect(s.processes.find((p: any) => p.node === 'h2').vms.map((v: any) => [v.name, v.state])).toEqual([['vm3', 'running'], ['vm4', 'running']])
    const ctl = s.processes.find((p: any) => p.role === 'controller')
    expect(ctl.vms).toEqual([])
    expect(ctl.counters.vmsRegistered).toBe(4)
    expect((await masq.run(['status', plan])).stdout).toMatch(/h1\s+host\s+\d+\s+failed/)

    // masq run needs h1: it says so at once instead of waiting out the rendezvous
    const run = await masq.run(['run', plan, 'smoke', '--vm', 'vm3', '--peer', 'vm1'])
    expect(run.exitCode).toBe(1)
    expect(run.stderr).toMatch(/lab twohost is degraded: host h1 \(pid \d+\) is not running/)
    expect(run.stderr).not.toMatch(/timed out|timeout/i)

    const d = await masq.run(['down', plan, '--json'])
    expect(d.exitCode, d.stderr).toBe(0)
    expect(JSON.parse(d.stdout).labs[0].processes.find((p: any) => p.node === 'h1').outcome).toBe('not-running')
    for (const p of up.processes) expect(alive(p.pid)).toBe(false)
    expect(processesMentioning(up.socketDir)).toEqual([])
    expect(fs.existsSync(up.socketDir)).toBe(false)
    expect(fs.existsSync(path.join(up.labDir, 'state.json'))).toBe(false)
  })

  it('SIGKILL of the CLI in the middle of up, then down, leaves nothing behind', async () => {
    const sub = path.join(dir, 'killed')
    fs.mkdirSync(sub)
    const plan = planIn(sub, 'two-host.json')
    const stateFile = path.join(sub, 'masq-twohost', 'state.json')
    const child = execa(process.execPath, [path.join(ROOT, 'bin', 'run.js'), 'up', plan], {
      env: {MASQ_DATA_DIR: masq.dataDir},
      reject: false,
    })
    const seen = await eventually(() => (readJson(stateFile)?.processes?.length ?? 0) >= 1, 30_000)
    child.kill('SIGKILL')
    await child
    expect(seen).toBe(true)
    // Let anything the CLI had already forked settle, then read what it recorded.
    const state = readJson(stateFile)
    expect(state.status).toBe('starting')
    const d = await masq.run(['down', plan])
    expect(d.exitCode, d.stderr).toBe(0)
    for (const p of state.processes) expect(alive(p.pid)).toBe(false)
    expect(fs.existsSync(state.socketDir)).toBe(false)
    expect(fs.existsSync(stateFile)).toBe(false)
    // Nothing of this lab runs any more, recorded or not: no process names its socket dir. A process the killed
    // `up` forked but never recorded stops itself once down has removed state.json (src/lab/daemon.ts
    // watchRecorded polls every 100 ms): allow it that long, plus its exit, before looking.
    await eventually(() => processesMentioning(state.socketDir).length === 0, 3000)
    expect(processesMentioning(state.socketDir)).toEqual([])
  })

  it('a failure during up rolls back everything started', async () => {
    const sub = path.join(dir, 'broken')
    fs.mkdirSync(sub)
    const plan = planIn(sub, 'two-host.json')
    const p = readJson(plan)
    p.vms[0].host = 'h1'
    p.vms[0].memoryBytes = -1 // the VM's SharedArrayBuffer cannot be allocated: VM start fails on h1
    fs.writeFileSync(plan, JSON.stringify(p))
    const r = await masq.run(['up', plan, '--json'])
    expect(r.exitCode).toBe(1)
    expect(r.stdout + r.stderr).toMatch(/h1: VMs did not start/)
    const logs = fs.readdirSync(path.join(sub, 'masq-twohost', 'logs'))
    expect(logs.sort()).toEqual(['controller.log', 'h1.log', 'h2.log'])
    expect(fs.existsSync(path.join(sub, 'masq-twohost', 'state.json'))).toBe(false)
    // Every process it had started is gone: their pids are in their logs' "listening" lines.
    for (const f of logs) {
      const m = /\(pid (\d+)\)/.exec(fs.readFileSync(path.join(sub, 'masq-twohost', 'logs', f), 'utf8'))
      expect(m).not.toBeNull()
      expect(alive(Number(m![1]))).toBe(false)
    }
  })
})
