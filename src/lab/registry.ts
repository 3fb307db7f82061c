// Labs known to this user: name -> lab dir, in <data dir>/labs.json. The data dir is $MASQ_DATA_DIR, else
// $XDG_DATA_HOME/masq, else ~/.local/share/masq. Writers take an exclusive lock file (O_EXCL) holding their
// pid; a lock whose holder is dead is stale and broken.
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {readProcStat, sleep} from './proc.js'

// 'stopped': written by versions before `down` removed entries (removeLab); `down --all` prunes them
export interface RegistryEntry {name: string; labDir: string; socketDir?: string; source?: string; status: 'running' | 'stopped'; updatedAt: string}
interface RegistryFile {version: 1; labs: Record<string, RegistryEntry>}

export function dataDir(): string {
  if (process.env.MASQ_DATA_DIR) return process.env.MASQ_DATA_DIR
  const xdg = process.env.XDG_DATA_HOME
  return path.join(xdg && path.isAbsolute(xdg) ? xdg : path.join(os.homedir(), '.local', 'share'), 'masq')
}

const registryFile = () => path.join(dataDir(), 'labs.json')
const lockFile = () => path.join(dataDir(), 'labs.lock')

function read(): RegistryFile {
  try {
    const r = JSON.parse(fs.readFileSync(registryFile(), 'utf8')) as RegistryFile
    if (r && typeof r.labs === 'object') return r
  } catch {}
  return {version: 1, labs: {}}
}

async function withLock<T>(fn: () => T, timeoutMs = 10_000): Promise<T> {
  fs.mkdirSync(dataDir(), {recursive: true})
  const deadline = Date.now() + timeoutMs
  for (;;) {
    try {
      const fd = fs.openSync(lockFile(), 'wx')
      fs.writeSync(fd, String(process.pid))
      fs.closeSync(fd)
      break
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
      let holder = NaN
      try {
        holder = Number(fs.readFileSync(lockFile(), 'utf8'))
      } catch {}
      if (holder && !readProcStat(holder)) fs.rmSync(lockFile(), {force: true}) // stale: holder died
      else if (Date.now() > deadline) throw new Error(`registry ${lockFile()} is locked by pid ${holder}`)
      else await sleep(20)
    }
  }
  try {
    return fn()
  } finally {
    fs.rmSync(lockFile(), {force: true})
  }
}

function write(r: RegistryFile): void {
  const tmp = `${registryFile()}.${process.pid}.tmp`
  fs.writeFileSync(tmp, JSON.stringify(r, null, 2) + '\n')
  fs.renameSync(tmp, registryFile())
}

export async function registerLab(entry: Omit<RegistryEntry, 'updatedAt'>): Promise<void> {
  await withLock(() => {
    const r = read()
    r.labs[entry.name] = {...entry, updatedAt: new Date().toISOString()}
    write(r)
  })
}

/**
 * Forget a lab (what `masq down` does, like containerlab's `destroy`): the entry goes only if it still names
 * this lab dir, so a newer lab of the same name started elsewhere is left alone.
 */
export async function removeLab(name: string, labDir: string): Promise<boolean> {
  return withLock(() => {
    const r = read()
    const e = r.labs[name]
    if (!e || path.resolve(e.labDir) !== path.resolve(labDir)) return false
    delete r.labs[name]
    write(r)
    return true
  })
}

export function lookupLab(name: string): RegistryEntry | undefined {
  return read().labs[name]
}

export function listLabs(): RegistryEntry[] {
  return Object.values(read().labs)
}

/** Drop a stopped lab's entry (a lab whose directory its creator removes, e.g. attack-test's temporary lab). */
export async function forgetLab(name: string, labDir: string): Promise<void> {
  await withLock(() => {
    const r = read()
    const e = r.labs[name]
    if (e && path.resolve(e.labDir) === path.resolve(labDir)) {
      delete r.labs[name]
      write(r)
    }
  })
}
