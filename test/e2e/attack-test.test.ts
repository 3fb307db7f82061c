// masq attack-test through the built CLI (node bin/run.js; `npm test` builds dist/ first): the table, --list,
// --json, --junit, the graded exit codes 0/1/2/3, the default run (in process + the embedded attack-test lab, torn
// down afterwards), --quick, and the weakened builds (MASQ_UNSAFE_TEST under NODE_ENV=test) in process and in a lab.

import {mkdtempSync, readFileSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {execa} from 'execa'
import {afterAll, describe, expect, it} from 'vitest'
import {wellFormed} from '../unit/attacks/xml-check.js'

const root = fileURLToPath(new URL('../../', import.meta.url))
const bin = join(root, 'bin/run.js')
const tmp = mkdtempSync(join(tmpdir(), 'masq-e2e-attack-'))
const masq = (args: string[], env: Record<string, string> = {}) =>
  execa('node', [bin, 'attack-test', ...args], {cwd: root, reject: false, timeout: 240_000,
    env: {NO_COLOR: '1', NODE_ENV: '', MASQ_UNSAFE_TEST: '', MASQ_DATA_DIR: join(tmp, 'data'), ...env}})
const IN_PROCESS = 'in-process (RNIC checks only)'
/** host processes of attack-test labs still alive (none may outlive the command) */
const leftovers = async () => (await execa('ps', ['-eo', 'args'])).stdout.split('\n').filter((l) => l.includes(join(tmp, 'data')) || /--plan \S*masq-attack-/.test(l))
afterAll(() => rmSync(tmp, {recursive: true, force: true}))

// sequential on purpose (loaded 2-core CI machine)
describe('masq attack-test', () => {
  it('memory-protection scenarios: table on stdout, exit 0, JUnit written', async () => {
    const junit = join(tmp, 'c0.xml')
    const r = await masq(['--scenario', 'C0[1-7]', '--junit', junit])
    expect(r.exitCode, r.stderr).toBe(0)
    const lines = r.stdout.split('\n')
    expect(lines[0]).toBe(`env: ${IN_PROCESS}`)
    expect(lines[1]).toMatch(/^SCENARIO\s+TITLE\s+MODEL\s+SIGNAL\s+VERDICT$/)
    expect(lines.filter((l) => /^C0\d\s.*\sT1\s.*\sblocked$/.test(l))).toHaveLength(5)
    expect(lines.find((l) => l.startsWith('C07 '))).toMatch(/expected behaviour$/)
    expect(r.stderr).toMatch(/^C01\s+blocked/m)
    const x = readFileSync(junit, 'utf8')
    expect(wellFormed(x)).toBe(true)
    expect(x).toContain('tests="6" failures="0" errors="0" skipped="0"')
  })

  it('the default run: in-process and lab scenarios, --json one versioned document, exit 0, the lab torn down', async () => {
    const junit = join(tmp, 'all.xml')
    const r = await masq(['--json', '--junit', junit])
    const out = JSON.parse(r.stdout)
    const bad = out.results.filter((x: {verdict: string}) => !['blocked', 'expected', 'exposed'].includes(x.verdict))
    expect(r.exitCode, JSON.stringify(bad, null, 1)).toBe(0)
    expect(out).toMatchObject({version: 1, exitCode: 0})
    expect(out.env).toMatch(new RegExp(`^${IN_PROCESS.replace(/[()]/g, '\\$&')} \\+ lab attack-test-[0-9a-f]+ \\(2 hosts, 7 VMs, started by attack-test\\)$`))
    expect(out.totals).toMatchObject({LEAKED: 0, error: 0, skipped: 0, expected: 1, exposed: 4})
    const lab = ['C09', 'C11', 'C14b', 'C17', 'C18', 'C19', 'C20', 'C21', 'C23', 'C25', 'C26']
    for (const id of lab) expect(out.results.find((x: {id: string}) => x.id === id)?.verdict, id).toBe('blocked')
    expect(out.results.map((x: {id: string}) => x.id)).toEqual([...out.results.map((x: {id: string}) => x.id)].sort((a: string, b: string) =>
      Number(a.slice(1, 3)) - Number(b.slice(1, 3)) || a.localeCompare(b)))
    expect(out.victim.failures).toEqual([])
    expect(out.victim.verified).toBeGreaterThan(10)
    const c10 = out.results.find((x: {id: string}) => x.id === 'C10')
    expect(c10).toMatchObject({verdict: 'exposed', attackerModel: 'T2'})
    expect(c10.reason).toMatch(/no source authentication/)
    expect(wellFormed(readFileSync(junit, 'utf8'))).toBe(true)
    expect(await leftovers()).toEqual([])
  })

  it('--in-process: the backend scenarios are skipped (exit 3); --quick runs the representative subset (exit 0)', async () => {
    const r = await masq(['--in-process', '--json'])
    expect(r.exitCode, r.stderr).toBe(3)
    const out = JSON.parse(r.stdout)
    expect(out).toMatchObject({env: IN_PROCESS, exitCode: 3})
    expect(out.totals).toEqual({blocked: 8, expected: 1, exposed: 4, LEAKED: 0, error: 0, skipped: 4})
    const q = await masq(['--quick', '--json'])
    expect(q.exitCode, q.stderr).toBe(0)
    expect(JSON.parse(q.stdout).results.map((x: {id: string}) => x.id)).toEqual(['C02', 'C03', 'C07', 'C09', 'C11', 'C12', 'C14b', 'C17', 'C20'])
  })

  it('--list prints the registry (and --json it); nothing matching is exit 2', async () => {
    const l = await masq(['--list', '--json'])
    expect(l.exitCode).toBe(0)
    expect(JSON.parse(l.stdout).scenarios.map((s: {id: string}) => s.id)).toEqual(['C01', 'C02', 'C03', 'C04', 'C05', 'C07', 'C10', 'C12', 'C13', 'C14', 'C15',
      'C16', 'C22', 'C09', 'C11', 'C14b', 'C17', 'C18', 'C19', 'C20', 'C21', 'C23', 'C25', 'C26'])
    const n = await masq(['--scenario', 'C99'])
    expect(n.exitCode).toBe(2)
    expect(n.stderr).toContain('no scenario matches C99')
  })

  it('weakened build (PD check off): C02 LEAKED, exit 1, JUnit failure; ignored without NODE_ENV=test', async () => {
    const junit = join(tmp, 'leak.xml')
    const r = await masq(['--scenario', 'C02', '--junit', junit], {NODE_ENV: 'test', MASQ_UNSAFE_TEST: 'skip-pd-check'})
    expect(r.exitCode).toBe(1)
    expect(r.stdout).toMatch(/^C02\s.*\sLEAKED$/m)
    expect(r.stderr).toContain('MASQ_UNSAFE_TEST')
    const x = readFileSync(junit, 'utf8')
    expect(wellFormed(x)).toBe(true)
    expect(x).toContain('<failure message="LEAKED: ')
    const ignored = await masq(['--scenario', 'C02'], {MASQ_UNSAFE_TEST: 'skip-pd-check'})
    expect(ignored.exitCode).toBe(0)
    expect(ignored.stdout).toMatch(/^C02\s.*\sblocked$/m)
  })

  it('weakened backend (QP ownership check off): C09 in the lab reports LEAKED, exit 1; the lab is torn down', async () => {
    const junit = join(tmp, 'c09.xml')
    const r = await masq(['--scenario', 'C09', '--junit', junit], {NODE_ENV: 'test', MASQ_UNSAFE_TEST: 'skip-qp-owner-check'})
    expect(r.exitCode, r.stderr).toBe(1)
    expect(r.stdout).toMatch(/^C09\s.*\sLEAKED$/m)
    expect(r.stdout).toMatch(/query_qp\(victim QPN\): expected EINVAL\/ENOENT\/EPERM, no side effect, observed OK/)
    expect(readFileSync(junit, 'utf8')).toContain('<failure message="LEAKED: ')
    expect(r.stderr).toContain('MASQ_UNSAFE_TEST: skip-qp-owner-check')
    expect(await leftovers()).toEqual([])
  })
})
