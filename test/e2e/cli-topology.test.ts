// Spawns the built CLI (node bin/run.js; `npm test` builds dist/ first) and checks exit codes and --json output
// of validate / init / graph.
import {mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {execa} from 'execa'
import {afterAll, describe, expect, it} from 'vitest'

const root = fileURLToPath(new URL('../../', import.meta.url))
const bin = join(root, 'bin/run.js')
const masq = (args: string[], cwd = root) => execa('node', [bin, ...args], {cwd, reject: false, env: {NO_COLOR: '1'}})
const yamls = (dir: string) => readdirSync(join(root, dir)).filter((f) => f.endsWith('.yaml')).sort().map((f) => `${dir}/${f}`)
const brokenDir = 'test/unit/topology/fixtures/broken'

const tmp = mkdtempSync(join(tmpdir(), 'masq-e2e-topo-'))
afterAll(() => rmSync(tmp, {recursive: true, force: true}))

// sequential on purpose: concurrent spawns on a loaded 2-core CI machine only stretch each test towards its timeout
describe('masq validate', () => {
  it.for([...yamls('examples'), ...yamls('templates')])('%s is valid (exit 0, --json plan)', async (file, {expect}) => {
    const r = await masq(['validate', file, '--json'])
    expect(r.exitCode, r.stderr).toBe(0)
    const out = JSON.parse(r.stdout)
    expect(out.version).toBe(1)
    expect(out.valid).toBe(true)
    expect(out.plan.version).toBe(1)
    expect(out.plan.vms.length).toBeGreaterThan(0)
  })

  it.for(yamls(brokenDir))('%s is invalid (exit 1, every error with line, col and path)', async (file, {expect}) => {
    const want = [...readFileSync(join(root, file), 'utf8').matchAll(/^# expect: (\d+):(\d+) (\S+) \|/gm)]
      .map((m) => ({line: Number(m[1]), col: Number(m[2]), path: m[3]}))
    const r = await masq(['validate', file, '--json'])
    expect(r.exitCode).toBe(1)
    const out = JSON.parse(r.stdout)
    expect(out).toMatchObject({version: 1, valid: false})
    expect(out.errors.map((e: {line: number; col: number; path: string}) => ({line: e.line, col: e.col, path: e.path}))).toEqual(want)
    for (const e of out.errors) {
      expect(Object.keys(e).sort()).toEqual(['col', 'file', 'hint', 'line', 'message', 'path'])
      expect(e.file).toBe(file)
    }
  })

  it('human output: one file:line:col line per error plus hints, a summary on stderr, exit 1', async ({expect}) => {
    const r = await masq(['validate', `${brokenDir}/unknown-key.yaml`])
    expect(r.exitCode).toBe(1)
    expect(r.stdout).toContain(`${brokenDir}/unknown-key.yaml:15:5: unknown key "ipp" (at $.vms[0].ipp)\n  hint: did you mean "ip"?`)
    expect(r.stdout.split('\n').filter((l) => l.startsWith(brokenDir))).toHaveLength(4)
    expect(r.stderr).toContain('4 errors')
  })

  it('a YAML syntax error is reported with its position', async ({expect}) => {
    const r = await masq(['validate', `${brokenDir}/yaml-syntax.yaml`])
    expect(r.exitCode).toBe(1)
    expect(r.stdout).toMatch(/yaml-syntax\.yaml:3:1: YAML syntax error: /)
  })

  it('valid human output names the lab; a missing file exits 1', async ({expect}) => {
    const ok = await masq(['validate', 'examples/two-host.yaml'])
    expect(ok.exitCode).toBe(0)
    expect(ok.stdout).toContain('valid lab "two-host": 2 hosts, 1 tenant, 2 VMs (masq)')
    const missing = await masq(['validate', 'nope.yaml'])
    expect(missing.exitCode).toBe(1)
    expect(missing.stdout).toContain('nope.yaml:1:1: cannot read topology: no such file')
  })
})

describe('masq init', () => {
  it('--list names the templates with a summary', async () => {
    const r = await masq(['init', '--list'])
    expect(r.exitCode).toBe(0)
    for (const t of ['default', 'two-host', 'multi-tenant', 'qos', 'modes']) expect(r.stdout).toMatch(new RegExp(`^${t}\\s+\\S`, 'm'))
    const j = JSON.parse((await masq(['init', '--list', '--json'])).stdout)
    expect(j.templates.map((t: {name: string}) => t.name)).toContain('multi-tenant')
  })

  it('writes a valid topology, refuses to overwrite without --force', async () => {
    const r = await masq(['init', 'lab.yaml', '--template', 'multi-tenant'], tmp)
    expect(r.exitCode, r.stderr).toBe(0)
    const text = readFileSync(join(tmp, 'lab.yaml'), 'utf8')
    expect(text).toContain(`# yaml-language-server: $schema=${join(root, 'schema/topology.schema.json')}`)
    expect(text).toContain('name: multi-tenant')
    expect((await masq(['validate', join(tmp, 'lab.yaml')])).exitCode).toBe(0)

    writeFileSync(join(tmp, 'lab.yaml'), 'mine')
    const again = await masq(['init', 'lab.yaml', '--template', 'qos'], tmp)
    expect(again.exitCode).toBe(1)
    expect(again.stderr).toContain('already exists')
    expect(readFileSync(join(tmp, 'lab.yaml'), 'utf8')).toBe('mine')

    const forced = await masq(['init', 'lab.yaml', '--template', 'qos', '--force', '--json'], tmp)
    expect(forced.exitCode).toBe(0)
    expect(JSON.parse(forced.stdout)).toEqual({version: 1, template: 'qos', file: 'lab.yaml'})
    expect(readFileSync(join(tmp, 'lab.yaml'), 'utf8')).toContain('name: qos')
  })

  it('default file and template: topology.yaml from two-host; "-" prints to stdout', async () => {
    const dir = mkdtempSync(join(tmp, 'd-'))
    expect((await masq(['init'], dir)).exitCode).toBe(0)
    expect(readFileSync(join(dir, 'topology.yaml'), 'utf8')).toContain('name: two-host')
    const out = await masq(['init', '-', '--template', 'default'], dir)
    expect(out.exitCode).toBe(0)
    expect(out.stdout).toContain('name: default')
  })

  it('an unknown template fails with a suggestion', async () => {
    const r = await masq(['init', '-', '--template', 'two-hots'])
    expect(r.exitCode).toBe(2)
    expect(r.stderr).toContain('unknown template "two-hots"')
    expect(r.stderr).toContain('did you mean "two-host"?')
  })
})

describe('masq graph', () => {
  it('mermaid (default), dot and json', async () => {
    const m = await masq(['graph', 'examples/multi-tenant.yaml'])
    expect(m.exitCode).toBe(0)
    expect(m.stdout.startsWith('flowchart LR\n')).toBe(true)
    expect(m.stdout).toContain('-->|"18515"|')
    const d = await masq(['graph', 'examples/multi-tenant.yaml', '--format', 'dot'])
    expect(d.exitCode).toBe(0)
    expect(d.stdout).toMatch(/^digraph "multi-tenant" \{/)
    const j = await masq(['graph', 'examples/multi-tenant.yaml', '-f', 'json'])
    expect(JSON.parse(j.stdout)).toMatchObject({version: 1, name: 'multi-tenant'})
    const jj = await masq(['graph', 'examples/multi-tenant.yaml', '--json'])
    expect(JSON.parse(jj.stdout)).toEqual(JSON.parse(j.stdout))
  })

  it('an invalid topology: errors on stderr, exit 1, nothing on stdout', async () => {
    const r = await masq(['graph', `${brokenDir}/duplicate-vip.yaml`])
    expect(r.exitCode).toBe(1)
    expect(r.stdout).toBe('')
    expect(r.stderr).toContain('duplicate-vip.yaml:12:47: duplicate vIP 10.0.0.1')
  })

  it('rejects an unknown format', async () => {
    const r = await masq(['graph', 'examples/qos.yaml', '--format', 'svg'])
    expect(r.exitCode).toBe(2)
    expect(r.stderr).toMatch(/Expected --format=svg to be one of: mermaid, dot, json/)
  })
})

describe('--help', () => {
  it('masq --help lists the topology commands', async () => {
    const r = await masq(['--help'])
    expect(r.exitCode).toBe(0)
    for (const c of ['validate', 'init', 'graph']) expect(r.stdout).toMatch(new RegExp(`^  ${c}\\s+\\S`, 'm'))
  })
  it.each(['validate', 'init', 'graph'])('masq %s --help has usage, description and examples', async (cmd) => {
    const r = await masq([cmd, '--help'])
    expect(r.exitCode).toBe(0)
    for (const section of ['USAGE', 'DESCRIPTION', 'EXAMPLES']) expect(r.stdout).toContain(section)
    expect(r.stdout).toContain(`$ masq ${cmd}`)
  })
})
