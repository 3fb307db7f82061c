import fs from 'node:fs'
import path from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {rpcCall} from '../../../src/lab/rpc.js'
import {execa} from 'execa'
import {ROOT, alive, cli, ensureBuilt, eventually, planIn, processesMentioning, tempDir, type Cli} from './helpers.js'

let dir: string
let masq: Cli
let plan: string
let up: any

beforeAll(async () => {
  await ensureBuilt()
  dir = tempDir('life')
  masq = cli(path.join(dir, 'data'))
  plan = planIn(dir, 'two-host.json')
}, 180_000)

afterAll(async () => {
  await masq.run(['down', '--all'])
  fs.rmSync(dir, {recursive: true, force: true})
})

describe('up -> status -> linkTest -> logs -> down on two hosts', () => {
  it('up starts the controller and both hosts and reports them as JSON', async () => {
    const r = await masq.run(['up', plan, '--json'])
    expect(r.exitCode, r.stderr).toBe(0)
    up = JSON.parse(r.stdout)
    expect(up).toMatchObject({version: 1, lab: 'twohost', labDir: path.join(dir, 'masq-twohost')})
    expect(up.processes.map((p: any) => `${p.node}:${p.role}`)).toEqual(['controller:controller', 'h1:host', 'h2:host'])
    expect(up.processes.find((p: any) => p.node === 'h1').vms).toEqual(['vm1', 'vm2'])
    for (const p of up.processes) expect(alive(p.pid)).toBe(true)
    expect(fs.existsSync(up.socketDir)).toBe(true)
    expect(Buffer.byteLength(path.join(up.socketDir, 'w99.sock'))).toBeLessThanOrEqual(107)
    expect(r.stderr).toContain('Start controller and 2 hosts') // listr2 progress goes to stderr
  })

  it('up of a running lab is refused', async () => {
    const r = await masq.run(['up', plan])
    expect(r.exitCode).toBe(1)
    expect(r.stderr).toContain('already running')
  })

  it('status shows every process running with its VMs, by file, by name and by lab dir', async () => {
    for (const ref of [[plan], ['--lab', 'twohost'], [up.labDir]]) {
      const r = await masq.run(['status', ...ref, '--json'])
      expect(r.exitCode, r.stderr).toBe(0)
      const s = JSON.parse(r.stdout)
      expect(s.state).toBe('running')
      expect(s.processes.map((p: any) => p.state)).toEqual(['running', 'running', 'running'])
      const h2 = s.processes.find((p: any) => p.node === 'h2')
      expect(h2.vms.map((v: any) => [v.name, v.state, v.memoryBytes])).toEqual([
        ['vm3', 'running', 1 << 20],
        ['vm4', 'running', 1 << 20],
      ])
    }
    const table = await masq.run(['status', plan])
    expect(table.stdout).toMatch(/h1\s+host\s+\d+\s+running/)
  })

  it('the controller answers lookup(vni, vip) with the owning host', async () => {
    const ctl = up.processes.find((p: any) => p.role === 'controller')
    expect(await rpcCall(ctl.socket, 'lookup', {vni: 100, vip: '10.0.0.4'})).toMatchObject({vm: 'vm3', host: 'h2', underlay: '192.168.0.2'})
    await expect(rpcCall(ctl.socket, 'lookup', {vni: 999, vip: '10.0.0.4'})).rejects.toThrow(/no VM/)
  })

  it('every host backend holds a connection to the controller and can ask it where a VM lives', async () => {
    const ctl = up.processes.find((p: any) => p.role === 'controller')
    let s: any
    for (let i = 0; i < 200; i++) {
      s = await rpcCall(ctl.socket, 'status')
      if (s.hostsConnected.length === 2) break
      await new Promise((r) => setTimeout(r, 50))
    }
    expect(s.hostsConnected.sort()).toEqual(['h1', 'h2'])
    const h1 = up.processes.find((p: any) => p.node === 'h1')
    expect(await rpcCall(h1.socket, 'lookup', {vni: 100, vip: '10.0.0.5'})).toMatchObject({vm: 'vm4', host: 'h2'})
    expect((await rpcCall<any>(h1.socket, 'status')).controller).toBe('connected')
  })

  it('linkTest moves frames from h1 to h2 over the wire and the peer counts them', async () => {
    const h1 = up.processes.find((p: any) => p.node === 'h1')
    const r = await rpcCall<any>(h1.socket, 'linkTest', {peer: 'h2', frames: 3000, size: 4096}, 60_000)
    expect(r).toMatchObject({from: 'h1', to: 'h2', frames: 3000, delivered: 3000, size: 4096})
    expect(r.mbPerSec).toBeGreaterThan(0)
    const s = JSON.parse((await masq.run(['status', plan, '--json'])).stdout)
    const h2 = s.processes.find((p: any) => p.node === 'h2')
    expect(h2.counters.wire.rxFrames).toBeGreaterThanOrEqual(3000)
    const back = await rpcCall<any>(h1.socket, 'linkTest', {peer: 'h1'}).catch((e: Error) => e)
    expect(String(back)).toMatch(/another host/)
  })

  it('logs prefixes every line with its node, and filters by node', async () => {
    const all = await masq.run(['logs', plan])
    expect(all.exitCode).toBe(0)
    expect(all.stdout).toMatch(/^controller \| .*listening/m)
    expect(all.stdout).toMatch(/^h2 +\| .*vm vm3 running/m)
    const one = await masq.run(['logs', 'twohost', 'h1'])
    expect(one.stdout.split('\n').filter(Boolean).every((l) => l.startsWith('h1 | '))).toBe(true)
    expect((await masq.run(['logs', plan, 'nope'])).exitCode).toBe(1)
    // --lab NAME like the other running-lab commands; then the one argument is the node
    const byName = await masq.run(['logs', '--lab', 'twohost', 'h2', '--json'])
    expect(byName.exitCode, byName.stderr).toBe(0)
    const doc = JSON.parse(byName.stdout)
    expect(doc.lab).toBe('twohost')
    expect(doc.lines.length).toBeGreaterThan(0)
    expect(doc.lines.every((l: any) => l.node === 'h2')).toBe(true)
    expect((await masq.run(['logs', '--lab', 'twohost', plan, 'h2'])).exitCode).toBe(2) // the lab named twice
  })

  it('logs -f prints new lines as they are written and stops on Ctrl-C', async () => {
    const child = execa(process.execPath, [path.join(ROOT, 'bin', 'run.js'), 'logs', plan, 'controller', '-f'], {
      env: {MASQ_DATA_DIR: masq.dataDir},
      reject: false,
    })
    let out = ''
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()))
    expect(await eventually(() => out.includes('listening'), 20_000)).toBe(true)
    fs.appendFileSync(path.join(up.labDir, 'logs', 'controller.log'), 'a line written later\n')
    expect(await eventually(() => out.includes('controller | a line written later'), 20_000)).toBe(true)
    child.kill('SIGINT')
    expect((await child).exitCode).toBe(0)
  })

  it('down stops everything: no recorded pid alive, socket dir and state gone; twice is a no-op', async () => {
    const r = await masq.run(['down', plan, '--json'])
    expect(r.exitCode, r.stderr).toBe(0)
    // graceful (shutdown RPC) normally; SIGTERM is the allowed fallback on a very loaded machine
    for (const p of JSON.parse(r.stdout).labs[0].processes) expect(['graceful', 'terminated']).toContain(p.outcome)
    for (const p of up.processes) expect(alive(p.pid)).toBe(false)
    expect(processesMentioning(up.socketDir)).toEqual([])
    expect(fs.existsSync(up.socketDir)).toBe(false)
    expect(fs.existsSync(path.join(up.labDir, 'state.json'))).toBe(false)
    // down forgets the lab (containerlab's destroy): no registry entry is left behind
    expect(Object.keys(JSON.parse(fs.readFileSync(path.join(masq.dataDir, 'labs.json'), 'utf8')).labs)).toEqual([])
    const again = await masq.run(['down', plan])
    expect(again.exitCode).toBe(0)
    expect(again.stderr).toContain('not running')
    const s = JSON.parse((await masq.run(['status', plan, '--json'])).stdout)
    expect(s.state).toBe('stopped')
  })

  it('down of an unknown lab fails with a clear message', async () => {
    const r = await masq.run(['down', 'no-such-lab'])
    expect(r.exitCode).toBe(1)
    expect(r.stderr).toContain('unknown lab no-such-lab')
  })
})
