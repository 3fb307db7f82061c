// oclif.manifest.json: the commands' metadata (ids, flags, args, summaries) that oclif reads at start instead of
// importing every command module to describe it (without it every `masq` call, even `masq down`, loaded the whole
// CLI: ~0.3 s of CPU on an idle machine, ~1.9 s on a loaded one; issue 4).
//
//   node bin/manifest.js            write it (npm run build / prepare / test, after tsc)
//   manifestState(root, dirs)       'fresh' | 'missing' | 'stale' (bin/run.js and bin/dev.js check it at start)
//
// The manifest leaves out each command's file path (relativePath/isESM), so oclif still loads the command itself
// from its commands dir: dist/ in production, src/ through tsx in development and under vitest (NODE_ENV), as
// without a manifest. Only the description can go stale. A manifest is stale when any command file under the
// checked dirs is newer than it (tsc rewrites every output), when the set of command files differs from its
// command ids, or when its version is not package.json's.
import fs from 'node:fs'
import path from 'node:path'
import {fileURLToPath} from 'node:url'

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
export const MANIFEST = 'oclif.manifest.json'

const COMMAND_FILE = /\.(js|cjs|mjs|ts|tsx|mts|cts)$/
const NOT_COMMAND = /\.(d\.ts|d\.mts|d\.cts|test\.ts|test\.js|spec\.ts|spec\.js)x?$/

/** Command ids as oclif's pattern discovery derives them from a commands dir (bench/compare.js -> bench:compare). */
export function scanCommands(dir) {
  const ids = new Set()
  let newest = 0
  let entries
  try {
    entries = fs.readdirSync(dir, {recursive: true, withFileTypes: true})
  } catch {
    return undefined
  }
  for (const e of entries) {
    if (!e.isFile() || !COMMAND_FILE.test(e.name) || NOT_COMMAND.test(e.name)) continue
    const file = path.join(e.parentPath ?? e.path, e.name)
    newest = Math.max(newest, fs.statSync(file).mtimeMs)
    const rel = path.relative(dir, file)
    const p = path.parse(rel)
    ids.add([...p.dir.split(path.sep), p.name === 'index' ? '' : p.name].filter(Boolean).join(':'))
  }
  return {ids, newest}
}

/**
 * Whether the manifest describes the command files in `dirs` (paths relative to root): 'missing', 'stale' or
 * 'fresh'. A dir that does not exist is skipped ('fresh' if none exists: there is nothing to describe).
 */
export function manifestState(root = ROOT, dirs = ['dist/commands']) {
  let stat
  let manifest
  try {
    const file = path.join(root, MANIFEST)
    stat = fs.statSync(file)
    manifest = JSON.parse(fs.readFileSync(file, 'utf8'))
  } catch (err) {
    return err.code === 'ENOENT' ? 'missing' : 'stale'
  }
  try {
    const version = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')).version
    if (manifest.version !== version) return 'stale'
  } catch {
    return 'stale'
  }
  const have = Object.keys(manifest.commands ?? {})
  for (const d of dirs) {
    const scan = scanCommands(path.join(root, d))
    if (!scan) continue
    if (scan.newest >= stat.mtimeMs) return 'stale' // file times are coarse (a few ms): a tie is stale
    if (scan.ids.size !== have.length || have.some((id) => !scan.ids.has(id))) return 'stale'
  }
  return 'fresh'
}

/** What oclif would cache for the built commands (dist/), without their file paths (see the top). */
export async function describeCommands(root = ROOT) {
  const {Plugin, settings} = await import('@oclif/core')
  const before = settings.enableAutoTranspile
  settings.enableAutoTranspile = false // describe dist/, whatever NODE_ENV says
  let plugin
  try {
    plugin = new Plugin({root, type: 'core', isRoot: true, ignoreManifest: true, errorOnManifestCreate: true, respectNoCacheDefault: true})
    await plugin.load()
  } finally {
    settings.enableAutoTranspile = before
  }
  const commands = Object.fromEntries(
    Object.entries(plugin.manifest.commands).map(([id, c]) => {
      const {isESM, relativePath, ...rest} = c
      return [id, rest]
    }),
  )
  return {commands, version: plugin.manifest.version}
}

/** Describe the built commands and write the manifest atomically (concurrent CLI starts may race). */
export async function writeManifest(root = ROOT) {
  const manifest = await describeCommands(root)
  const file = path.join(root, MANIFEST)
  const tmp = `${file}.${process.pid}.tmp`
  fs.writeFileSync(tmp, JSON.stringify(manifest, null, 2) + '\n')
  fs.renameSync(tmp, file)
  return {file, commands: Object.keys(manifest.commands).length}
}

export function removeManifest(root = ROOT) {
  fs.rmSync(path.join(root, MANIFEST), {force: true})
}

/**
 * bin/run.js and bin/dev.js, at start: a stale or missing manifest is rewritten from dist/ (a bare `tsc` leaves the
 * old one behind). Under vitest or bin/dev.js (NODE_ENV test/development) oclif loads the commands from src/: when
 * src/commands is newer than dist/commands the manifest is removed instead (oclif then describes src/ itself, the
 * slow way) rather than rewritten from a dist/ that predates the edit.
 */
export async function ensureManifest(root = ROOT) {
  const dist = scanCommands(path.join(root, 'dist', 'commands'))
  if (!dist) return // not built: oclif says so
  if (process.env.NODE_ENV === 'test' || process.env.NODE_ENV === 'development') {
    const src = scanCommands(path.join(root, 'src', 'commands'))
    const sameIds = src && src.ids.size === dist.ids.size && [...src.ids].every((id) => dist.ids.has(id))
    if (src && (src.newest > dist.newest || !sameIds)) return removeManifest(root)
  }
  if (manifestState(root, ['dist/commands']) === 'fresh') return
  try {
    await writeManifest(root)
  } catch {
    removeManifest(root) // a command that does not load: oclif says which, as without a manifest
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const r = await writeManifest()
  process.stdout.write(`wrote ${r.commands} commands to ${r.file}\n`)
}
