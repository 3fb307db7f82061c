// Lab processes must start fast: their entry points may import only node: built-ins and our own modules,
// never oclif, ajv, listr2 (or any other package).
import fs from 'node:fs'
import path from 'node:path'
import {fileURLToPath} from 'node:url'
import {expect, it} from 'vitest'

const SRC = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'src')
const ENTRIES = ['controller/main.ts', 'host/main.ts', 'host/rnic-worker.ts', 'host/vm-worker.cts']

function closure(entry: string, staticOnly = false): {files: Set<string>; packages: Set<string>} {
  const files = new Set<string>()
  const packages = new Set<string>()
  const visit = (file: string) => {
    if (files.has(file)) return
    files.add(file)
    const text = fs.readFileSync(file, 'utf8')
    for (const m of text.matchAll(/(?:^|\n)\s*(?:import|export)\s(type\s)?(?:[^'"]*?\sfrom\s)?['"]([^'"]+)['"]|import\(['"]([^'"]+)['"]\)/g)) {
      if (staticOnly && (m[1] || m[3])) continue // type-only imports are erased; dynamic ones load later
      const spec = m[2] ?? m[3]
      if (spec.startsWith('.')) visit(path.resolve(path.dirname(file), spec.replace(/\.js$/, '.ts').replace(/\.cjs$/, '.cts')))
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

it('the scanner does see packages (the CLI side imports listr2)', () => {
  expect([...closure('lab/lifecycle.ts').packages]).toContain('listr2')
})

it('a VM worker boots on its channel alone, as CommonJS: verbs, rdma_cm and the workload loader load with the first run', () => {
  // CommonJS (.cts -> .cjs) all the way: a worker whose entry is ESM first sets up the ESM loader, ~9 ms of CPU per
  // VM at boot (64 of them in bench/lab-up.ts); the first run's import() sets it up then
  const boot = closure('host/vm-worker.cts', true).files
  expect([...boot].map((f) => path.relative(SRC, f)).sort()).toEqual(['host/channel.cts', 'host/vm-worker.cts'])
  const all = [...closure('host/vm-worker.cts').files].map((f) => path.relative(SRC, f))
  expect(all).toEqual(expect.arrayContaining(['verbs/index.ts', 'cm/remote.ts', 'workloads/index.ts']))
})
