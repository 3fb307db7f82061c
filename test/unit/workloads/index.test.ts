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

  it('vm.alloc hands out zeroed memory even where an earlier run left bytes (a lab VM reuses its memory)', async () => {
    const vm = lab.vms[0]!
    const dirty = vm.memory.alloc(256)
    dirty.bytes.fill(0xee)
    const mem = Object.assign(Object.create(Object.getPrototypeOf(vm.memory) as object) as typeof vm.memory, vm.memory, {brk: dirty.offset})
    const {completeContext} = await import('../../../src/workloads/api.js')
    const again = completeContext({vm: vm.vm, role: 'single', runId: 'r', params: {}, memory: mem, openDevice: vm.openDevice,
      publish: vm.publish, waitFor: vm.waitFor, log: () => undefined})
    const r = again.alloc(256)
    expect(r.offset).toBe(dirty.offset)
    expect(r.bytes.every((b) => b === 0)).toBe(true)
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
