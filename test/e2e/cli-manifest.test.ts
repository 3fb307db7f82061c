// oclif.manifest.json (bin/manifest.js): oclif reads the commands' descriptions from it instead of importing every
// command at each start. `npm run build` writes it; bin/run.js rewrites a stale one. These tests guard that it
// describes the commands as they are (src/), that the staleness rules hold, and that a command then loads only
// its own modules (`masq down` without listr2, execa, yaml or the RNIC engine).
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {fileURLToPath} from 'node:url'
import {execa} from 'execa'
import {afterAll, describe, expect, it} from 'vitest'
import {MANIFEST, describeCommands, ensureManifest, manifestState, type Manifest} from '../../bin/manifest.js'

const root = fileURLToPath(new URL('../../', import.meta.url))
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'masq-e2e-manifest-'))
afterAll(() => fs.rmSync(tmp, {recursive: true, force: true}))

describe('the built manifest', () => {
  it('is fresh after the build and says what oclif would find in dist/ (run `npm run build` if not)', async () => {
    expect(manifestState(root)).toBe('fresh')
    const onDisk = JSON.parse(fs.readFileSync(path.join(root, MANIFEST), 'utf8')) as Manifest
    expect(onDisk).toEqual(await describeCommands(root))
  })

  it('matches the sources: every command in src/commands with its flags, args and summary', async () => {
    const onDisk = JSON.parse(fs.readFileSync(path.join(root, MANIFEST), 'utf8')) as Manifest
    const dir = path.join(root, 'src', 'commands')
    const files = fs.readdirSync(dir, {recursive: true}).map(String).filter((f) => f.endsWith('.ts')).sort()
    const ids = files.map((f) => f.replace(/\.ts$/, '').split(path.sep).join(':'))
    expect(Object.keys(onDisk.commands).sort()).toEqual([...ids].sort())
    for (const [i, f] of files.entries()) {
      const cmd = (await import(path.join(dir, f))).default
      const m = onDisk.commands[ids[i]]
      expect(m.summary, ids[i]).toBe(cmd.summary)
      const flags = Object.keys({...cmd.baseFlags, ...cmd.flags, ...(cmd.enableJsonFlag ? {json: 1} : {})}).sort()
      expect(Object.keys(m.flags).sort(), `${ids[i]} flags`).toEqual(flags)
      expect(Object.keys(m.args).sort(), `${ids[i]} args`).toEqual(Object.keys(cmd.args ?? {}).sort())
    }
  })
})

describe('staleness (a stand-in package)', () => {
  const pkg = path.join(tmp, 'pkg')
  const write = (rel: string, text: string, mtime?: Date) => {
    const f = path.join(pkg, rel)
    fs.mkdirSync(path.dirname(f), {recursive: true})
    fs.writeFileSync(f, text)
    if (mtime) fs.utimesSync(f, mtime, mtime)
  }
  const past = new Date(Date.now() - 60_000)
  const later = new Date(Date.now() - 30_000)
  const reset = () => {
    fs.rmSync(pkg, {recursive: true, force: true})
    write('package.json', JSON.stringify({name: 'p', version: '1.2.3'}))
    write('dist/commands/a.js', '', past)
    write('dist/commands/t/b.js', '', past)
    write('dist/commands/t/b.d.ts', '', past) // not a command
    write('dist/commands/t/b.js.map', '', past)
    write(MANIFEST, JSON.stringify({version: '1.2.3', commands: {a: {}, 't:b': {}}}), later)
  }

  it('fresh, then stale on a newer command file, a new or a removed one, another version', () => {
    reset()
    expect(manifestState(pkg)).toBe('fresh')
    write('dist/commands/a.js', '// rebuilt') // tsc rewrites every output
    expect(manifestState(pkg)).toBe('stale')
    reset()
    write('dist/commands/c.js', '', past)
    expect(manifestState(pkg)).toBe('stale')
    reset()
    fs.rmSync(path.join(pkg, 'dist/commands/a.js'))
    expect(manifestState(pkg)).toBe('stale')
    reset()
    write('package.json', JSON.stringify({name: 'p', version: '1.2.4'}))
    expect(manifestState(pkg)).toBe('stale')
    fs.rmSync(path.join(pkg, MANIFEST))
    expect(manifestState(pkg)).toBe('missing')
  })

  it('under vitest or bin/dev.js (src/ loaded), a src/ newer than dist/ removes the manifest', async () => {
    reset()
    write('src/commands/a.ts', '', past)
    write('src/commands/t/b.ts', '', past)
    await ensureManifest(pkg) // fresh: kept
    expect(fs.existsSync(path.join(pkg, MANIFEST))).toBe(true)
    write('src/commands/a.ts', '// edited, not built')
    expect(process.env.NODE_ENV).toBe('test')
    await ensureManifest(pkg)
    expect(fs.existsSync(path.join(pkg, MANIFEST))).toBe(false)
  })
})

describe('a command loads its own modules only', () => {
  // an ESM load hook that appends every module URL to a file (CommonJS inside packages is not listed: enough to
  // see which packages and which of our modules load)
  const hook = path.join(tmp, 'hook.mjs')
  const register = path.join(tmp, 'register.mjs')
  fs.writeFileSync(hook, `import fs from 'node:fs'\nexport async function load(url, context, next) { fs.appendFileSync(process.env.MODLOG, url + '\\n'); return next(url, context) }\n`)
  fs.writeFileSync(register, `import {register} from 'node:module'\nregister(${JSON.stringify(new URL(`file://${hook}`).href)})\n`)

  const modules = async (args: string[]): Promise<string[]> => {
    const log = path.join(tmp, `mods-${args[0]}.txt`)
    fs.rmSync(log, {force: true})
    // NODE_ENV=production: the path a user runs (under vitest oclif would load src/ through tsx)
    const r = await execa('node', ['--import', register, path.join(root, 'bin/run.js'), ...args], {
      reject: false, env: {NODE_ENV: 'production', MODLOG: log, MASQ_DATA_DIR: path.join(tmp, 'data'), NO_COLOR: '1'},
    })
    expect(r.exitCode, r.stderr).toBe(0)
    return fs.readFileSync(log, 'utf8').trim().split('\n')
  }

  it('masq down: no other command, no listr2, execa, yaml, ajv or RNIC engine', async () => {
    const mods = await modules(['down', '--all'])
    const ours = mods.filter((u) => u.includes('/dist/')).map((u) => u.slice(u.indexOf('/dist/') + 6))
    expect(ours.filter((f) => f.startsWith('commands/'))).toEqual(['commands/down.js'])
    expect(ours.filter((f) => /^(rnic|host|verbs|backend|topology|bench|attacks)\//.test(f))).toEqual([])
    expect(ours).not.toContain('lab/spawn.js')
    const pkgs = new Set(mods.map((u) => /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(u)?.[1]).filter(Boolean))
    for (const p of ['listr2', 'execa', 'yaml', 'ajv']) expect(pkgs.has(p), p).toBe(false)
  })

  it('masq --help imports no command at all', async () => {
    const mods = await modules(['--help'])
    expect(mods.filter((u) => u.includes('/dist/commands/'))).toEqual([])
  })
})
