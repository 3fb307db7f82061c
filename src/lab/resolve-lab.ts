// Naming a running lab: by its topology (or plan) file, by its lab directory, or by name (registry).
import fs from 'node:fs'
import {createRequire} from 'node:module'
import path from 'node:path'
import {listLabs, lookupLab} from './registry.js'
import {labPaths} from './state.js'

export class LabNotFoundError extends Error {
  readonly exitCode = 1
}

export interface LabRef {name: string; labDir: string}

// yaml is required here, on the one path that reads a topology file (one the registry does not know): `down`,
// `status` and `logs` start without its ~40 ms of module loading. (Its node build is CommonJS for import too.)
const require = createRequire(import.meta.url)

function nameFromFile(file: string): string | undefined {
  try {
    const text = fs.readFileSync(file, 'utf8')
    const doc = (file.endsWith('.json') ? JSON.parse(text) : (require('yaml') as typeof import('yaml')).parse(text)) as {name?: unknown}
    return typeof doc?.name === 'string' ? doc.name : undefined
  } catch {
    return undefined
  }
}

function nameOfDir(labDir: string): string {
  for (const f of [labPaths(labDir).state, labPaths(labDir).plan]) {
    try {
      const j = JSON.parse(fs.readFileSync(f, 'utf8')) as {lab?: string; name?: string}
      const n = j.lab ?? j.name
      if (n) return n
    } catch {}
  }
  return path.basename(labDir).replace(/^masq-/, '')
}

export function resolveLab(ref: string | undefined, byName?: string): LabRef {
  if (byName) {
    const e = lookupLab(byName)
    if (!e) throw new LabNotFoundError(`no lab named ${byName} in the registry (a lab leaves it at \`masq down\`)`)
    return {name: e.name, labDir: e.labDir}
  }
  if (!ref) {
    const running = listLabs().filter((e) => e.status === 'running')
    if (running.length === 1) return {name: running[0].name, labDir: running[0].labDir}
    if (running.length === 0) throw new LabNotFoundError('no running lab; name one by topology file, lab directory or --lab NAME')
    throw new LabNotFoundError(`several labs are running (${running.map((e) => e.name).join(', ')}); name one`)
  }
  const abs = path.resolve(ref)
  let st: fs.Stats | undefined
  try {
    st = fs.statSync(abs)
  } catch {}
  if (st?.isDirectory()) {
    if (fs.existsSync(labPaths(abs).state) || fs.existsSync(labPaths(abs).plan)) return {name: nameOfDir(abs), labDir: abs}
    throw new LabNotFoundError(`${ref} is a directory but not a lab directory (no plan.json or state.json)`)
  }
  // A topology file, present or gone: the registry remembers which file each lab came from.
  const bySource = listLabs().find((e) => e.source && path.resolve(e.source) === abs)
  if (bySource) return {name: bySource.name, labDir: bySource.labDir}
  if (st?.isFile()) {
    const name = nameFromFile(abs)
    if (!name) throw new LabNotFoundError(`cannot tell the lab name from ${ref}`)
    const labDir = path.join(path.dirname(abs), `masq-${name}`)
    if (fs.existsSync(labDir)) return {name, labDir}
    const e = lookupLab(name)
    if (e) return {name, labDir: e.labDir}
    throw new LabNotFoundError(`lab ${name} (from ${ref}) has never been started: no ${labDir}`)
  }
  const e = lookupLab(ref)
  if (e) return {name: e.name, labDir: e.labDir}
  throw new LabNotFoundError(
    `unknown lab ${ref}: not a file, a lab directory or a lab name in the registry (\`masq down\` removes a lab from the registry: name a stopped lab by its topology file or lab directory)`,
  )
}
