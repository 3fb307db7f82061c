// The registry masq run uses: built-in names (adapted to (vm, options)) and user module paths.
import path from 'node:path'
import {fileURLToPath} from 'node:url'
import {afterAll, describe, expect, it} from 'vitest'
import {createInProcessLab} from '../../../src/vm/inprocess.js'
import {runWithTimeout} from '../../../src/vm/loader.js'
import {BUILTIN, loadWorkload, PAIRED} from '../../../src/workloads/index.js'

const here = path.dirname(fileURLToPath(import.meta.url))

describe('workload registry', () => {
  const lab = createInProcessLab()
  afterAll(() => lab.stop())

  it('registers the built-ins next to smoke, all on two or more VMs', () => {
    expect(Object.keys(BUILTIN)).toEqual(expect.arrayContaining(['smoke', 'bench-write', 'pingpong', 'bw', 'connrate', 'allreduce', 'ud']))
    // verbs-lat times control verbs on one VM; every other built-in runs on two or more
    for (const k of Object.keys(BUILTIN)) expect(PAIRED.has(k)).toBe(k !== 'verbs-lat')
  })

  it('a built-in loaded by name runs from a plain WorkloadContext (params become options)', async () => {
    const fn = await loadWorkload('pingpong')
    const res = await lab.run({name: 'pingpong', fn: (vm) => fn({...vm, params: {op: 'send', iters: 5, warmup: 0}})})
    for (const r of res) expect(r, JSON.stringify(r)).toMatchObject({ok: true})
  })

  it('a path loads a user module; an unknown name is refused', async () => {
    const fn = await loadWorkload(path.join(here, '../vm/fixtures/plain.mjs'))
    const r = await runWithTimeout({name: 'plain', fn: (vm) => fn({...vm, params: {n: 1}})}, lab.vms[0]!, 5000)
    expect(r).toMatchObject({ok: true, result: {n: 1}})
    await expect(loadWorkload('nonesuch')).rejects.toThrow(/unknown workload nonesuch: built-ins are smoke/)
  })
})
