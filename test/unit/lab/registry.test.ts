import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {execa} from 'execa'
import {afterEach, beforeEach, describe, expect, it} from 'vitest'
import {dataDir, listLabs, lookupLab, registerLab, removeLab} from '../../../src/lab/registry.js'
import {LabNotFoundError, resolveLab} from '../../../src/lab/resolve-lab.js'
import {SUN_PATH_MAX, checkSocketPath, makeSocketDir, removeSocketDir} from '../../../src/lab/sockets.js'
import {PlanLoadError, loadPlan} from '../../../src/lab/plan-source.js'

let dir: string
const saved = process.env.MASQ_DATA_DIR

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'masq-reg-'))
  process.env.MASQ_DATA_DIR = path.join(dir, 'data')
})

afterEach(() => {
  process.env.MASQ_DATA_DIR = saved
  fs.rmSync(dir, {recursive: true, force: true})
})

describe('registry', () => {
  it('uses MASQ_DATA_DIR, then XDG_DATA_HOME/masq', () => {
    expect(dataDir()).toBe(path.join(dir, 'data'))
    delete process.env.MASQ_DATA_DIR
    const xdg = process.env.XDG_DATA_HOME
    process.env.XDG_DATA_HOME = '/x/y'
    expect(dataDir()).toBe('/x/y/masq')
    process.env.XDG_DATA_HOME = xdg
  })

  it('keeps every entry under concurrent writers', async () => {
    await Promise.all(Array.from({length: 20}, (_, i) => registerLab({name: `l${i}`, labDir: `/d/${i}`, status: 'running'})))
    expect(listLabs().map((e) => e.name).sort()).toEqual(Array.from({length: 20}, (_, i) => `l${i}`).sort())
    expect(await removeLab('l3', '/d/3')).toBe(true)
    expect(await removeLab('l4', '/elsewhere')).toBe(false) // another lab dir with the same name is left alone
    expect(lookupLab('l3')).toBeUndefined()
    expect(lookupLab('l4')?.status).toBe('running')
    expect(listLabs()).toHaveLength(19)
    expect(await removeLab('l3', '/d/3')).toBe(false) // idempotent
  })

  it('breaks a lock left by a dead process', async () => {
    const dead = await execa(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'])
    fs.mkdirSync(dataDir(), {recursive: true})
    fs.writeFileSync(path.join(dataDir(), 'labs.lock'), String(dead.stdout))
    await registerLab({name: 'a', labDir: '/a', status: 'running'})
    expect(lookupLab('a')?.labDir).toBe('/a')
  })
})

describe('resolveLab', () => {
  it('finds a lab by lab dir, by plan file, by name, and alone', async () => {
    const plan = path.join(dir, 'p.json')
    fs.writeFileSync(plan, JSON.stringify({name: 'demo'}))
    const labDir = path.join(dir, 'masq-demo')
    fs.mkdirSync(labDir)
    fs.writeFileSync(path.join(labDir, 'plan.json'), JSON.stringify({name: 'demo'}))
    expect(resolveLab(labDir)).toEqual({name: 'demo', labDir})
    expect(resolveLab(plan)).toEqual({name: 'demo', labDir})
    await registerLab({name: 'demo', labDir, source: plan, status: 'running'})
    fs.rmSync(plan) // the topology file may be gone: the registry remembers where the lab came from
    expect(resolveLab(plan)).toEqual({name: 'demo', labDir})
    expect(resolveLab('demo')).toEqual({name: 'demo', labDir})
    expect(resolveLab(undefined, 'demo')).toEqual({name: 'demo', labDir})
    expect(resolveLab(undefined)).toEqual({name: 'demo', labDir})
    expect(() => resolveLab('nope')).toThrow(LabNotFoundError)
    expect(() => resolveLab(undefined, 'nope')).toThrow(/no lab named nope/)
    expect(() => resolveLab(dir)).toThrow(/not a lab directory/)
  })
})

describe('sockets', () => {
  it('checks the sun_path limit and creates a short masq-* dir under the temp dir', () => {
    expect(() => checkSocketPath('/' + 'a'.repeat(SUN_PATH_MAX - 1))).not.toThrow()
    expect(() => checkSocketPath('/' + 'a'.repeat(SUN_PATH_MAX))).toThrow(/107/)
    const d = makeSocketDir('lab', 16)
    expect(path.dirname(d)).toBe(os.tmpdir())
    expect(path.basename(d)).toMatch(/^masq-lab-/)
    removeSocketDir(d)
    expect(fs.existsSync(d)).toBe(false)
    const other = fs.mkdtempSync(path.join(dir, 'keep-'))
    removeSocketDir(other) // not ours: left alone
    expect(fs.existsSync(other)).toBe(true)
  })
})

describe('loadPlan', () => {
  it('reads a JSON plan and reports broken ones like masq validate', async () => {
    const ok = path.join(dir, 'ok.json')
    fs.writeFileSync(ok, JSON.stringify({version: 1, name: 'x', hosts: [{}], vms: []}))
    expect((await loadPlan(ok)).name).toBe('x')
    const bad = path.join(dir, 'bad.json')
    fs.writeFileSync(bad, '{')
    await expect(loadPlan(bad)).rejects.toThrow(PlanLoadError)
    await expect(loadPlan(bad)).rejects.toThrow(new RegExp(`^${bad}:1:1: not JSON`))
    fs.writeFileSync(bad, JSON.stringify({version: 1, name: 'x', hosts: []}))
    await expect(loadPlan(bad)).rejects.toThrow(/at least one host \(at hosts\)/)
  })
})
