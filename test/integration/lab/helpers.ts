// Shared by the lab integration tests: a built dist/, the real CLI as a child process, temp dirs, pid checks.
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {fileURLToPath} from 'node:url'
import {execa} from 'execa'
import {afterAll, beforeAll, expect} from 'vitest'

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..')
export const PLANS = path.join(ROOT, 'test', 'fixtures', 'plans')
const BUILT = ['commands/up.js', 'controller/main.js', 'host/main.js', 'host/rnic-worker.js', 'host/vm-worker.cjs'].map((f) => path.join(ROOT, 'dist', f))

function newestMtime(dir: string): number {
  let newest = 0
  for (const e of fs.readdirSync(dir, {withFileTypes: true})) {
    const p = path.join(dir, e.name)
    newest = Math.max(newest, e.isDirectory() ? newestMtime(p) : fs.statSync(p).mtimeMs)
  }
  return newest
}

function stale(): boolean {
  const src = newestMtime(path.join(ROOT, 'src'))
  return BUILT.some((f) => !fs.existsSync(f) || fs.statSync(f).mtimeMs < src)
}

/** Build dist/ if it is missing or older than src/ (one builder at a time across test files). */
export async function ensureBuilt(): Promise<void> {
  if (!stale()) return
  const lock = path.join(os.tmpdir(), `masq-build-${Buffer.from(ROOT).toString('hex').slice(-16)}.lock`)
  for (let i = 0; ; i++) {
    try {
      fs.mkdirSync(lock)
      break
    } catch {
      if (i > 600) throw new Error(`build lock ${lock} held too long`)
      await new Promise((r) => setTimeout(r, 200))
    }
  }
  try {
    if (stale()) {
      // tsc emits even when another area has a type error; what matters here is that our entry points exist.
      const r = await execa('npx', ['tsc', '-p', 'tsconfig.json'], {cwd: ROOT, reject: false})
      const missing = BUILT.filter((f) => !fs.existsSync(f))
      if (missing.length) throw new Error(`build failed, missing ${missing.join(', ')}:\n${r.stdout}${r.stderr}`)
      // as `npm run build` does: the CLI's command manifest, which a bare tsc leaves stale (bin/manifest.js)
      await execa('node', [path.join(ROOT, 'bin', 'manifest.js')], {cwd: ROOT, reject: false})
    }
  } finally {
    fs.rmdirSync(lock)
  }
}

export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `masq-test-${prefix}-`))
}

export interface Cli {run(args: string[]): Promise<{exitCode: number; stdout: string; stderr: string}>; dataDir: string}

/** The real CLI with its own registry (MASQ_DATA_DIR) so tests never see the user's labs. */
export function cli(dataDir: string): Cli {
  return {
    dataDir,
    async run(args) {
      const r = await execa(process.execPath, [path.join(ROOT, 'bin', 'run.js'), ...args], {
        cwd: ROOT,
        reject: false,
        env: {MASQ_DATA_DIR: dataDir, NO_COLOR: '1'},
        timeout: 90_000,
      })
      return {exitCode: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr)}
    },
  }
}

/** Copy a fixture plan into dir (so the lab dir masq-<name>/ lands in the temp dir). */
export function planIn(dir: string, fixture: string): string {
  const dst = path.join(dir, fixture)
  fs.copyFileSync(path.join(PLANS, fixture), dst)
  return dst
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
  } catch {
    return false
  }
  // A zombie still answers kill(0); it is dead for our purpose.
  try {
    return !/^\d+ \(.*\) Z/.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'))
  } catch {
    return false
  }
}

export async function eventually(pred: () => boolean, timeoutMs = 10_000): Promise<boolean> {
  const end = Date.now() + timeoutMs
  while (!pred()) {
    if (Date.now() > end) return false
    await new Promise((r) => setTimeout(r, 50))
  }
  return true
}

export function readJson<T = any>(file: string): T | undefined {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as T
  } catch {
    return undefined
  }
}

/** Pids of live processes whose command line mentions `needle` (e.g. a lab's socket dir). Read-only /proc scan. */
export function processesMentioning(needle: string): number[] {
  const out: number[] = []
  for (const e of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue
    try {
      if (fs.readFileSync(`/proc/${e}/cmdline`, 'utf8').includes(needle) && alive(Number(e))) out.push(Number(e))
    } catch {}
  }
  return out
}

export interface Lab {dir: string; masq: Cli; topo: string; up: any}

/**
 * One lab for a test file: `source` copied into a fresh temp dir, `masq up` (plus `upArgs`, e.g. --capture) before
 * the tests, `masq down --all` and the dir removed after. `onUp` hands the lab to the file's own variables.
 */
export function useLab(prefix: string, source: string, onUp: (lab: Lab) => void, upArgs: string[] = []): void {
  let dir: string | undefined
  let masq: Cli | undefined
  beforeAll(async () => {
    await ensureBuilt()
    dir = tempDir(prefix)
    masq = cli(path.join(dir, 'data'))
    const topo = path.join(dir, path.basename(source))
    fs.copyFileSync(source, topo)
    const r = await masq.run(['up', topo, ...upArgs, '--json'])
    expect(r.exitCode, r.stderr).toBe(0)
    onUp({dir, masq, topo, up: JSON.parse(r.stdout)})
  }, 180_000)
  afterAll(async () => {
    if (masq) await masq.run(['down', '--all'])
    if (dir) fs.rmSync(dir, {recursive: true, force: true})
  })
}

/** `masq run <topo> <workload> --vm A [--peer B] --json`: the result document (a non-JSON answer throws with the output). */
export async function runJson(masq: Cli, topo: string, workload: string, vm: string, peer: string | undefined,
  params: Record<string, string | number> = {}, timeoutS = 120): Promise<any> {
  const args = ['run', topo, workload, '--vm', vm, ...(peer ? ['--peer', peer] : []), '--json', '--timeout', String(timeoutS)]
  for (const [k, v] of Object.entries(params)) args.push('--param', `${k}=${v}`)
  const r = await masq.run(args)
  try {
    return JSON.parse(r.stdout)
  } catch {
    throw new Error(`masq run ${workload} failed: ${r.stderr}${r.stdout}`)
  }
}
