// Lab processes must start fast: their entry points may import only node: built-ins and our own modules,
// never oclif, ajv, listr2 (or any other package).
import fs from 'node:fs'
import path from 'node:path'
import {fileURLToPath} from 'node:url'
import {expect, it} from 'vitest'

const SRC = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'src')
const ENTRIES = ['controller/main.ts', 'host/main.ts', 'host/rnic-worker.ts', 'host/vm-worker.ts']

function closure(entry: string): {files: Set<string>; packages: Set<string>} {
  const files = new Set<string>()
  const packages = new Set<string>()
  const visit = (file: string) => {
    if (files.has(file)) return
    files.add(file)
    const text = fs.readFileSync(file, 'utf8')
    for (const m of text.matchAll(/(?:^|\n)\s*(?:import|export)\s(?:[^'"]*?\sfrom\s)?['"]([^'"]+)['"]|import\(['"]([^'"]+)['"]\)/g)) {
      const spec = m[1] ?? m[2]
      if (spec.startsWith('.')) visit(path.resolve(path.dirname(file), spec.replace(/\.js$/, '.ts')))
      else if (!spec.startsWith('node:')) packages.add(spec)
    }
  }
  visit(path.join(SRC, entry))
  return {files, packages}
}

it.each(ENTRIES)('%s imports no package', (entry) => {
  const {files, packages} = closure(entry)
  expect(files.size).toBeGreaterThan(1)
  expect([...packages]).toEqual([])
})

it('the scanner does see packages (the CLI side imports listr2 and execa)', () => {
  expect([...closure('lab/lifecycle.ts').packages].sort()).toEqual(expect.arrayContaining(['execa', 'listr2']))
})
