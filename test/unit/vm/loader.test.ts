// The workload loader: .ts through tsx, .js/.mjs natively, a clear error for a bad module, and a run that turns
// a throw or a hang into an error result.
import path from 'node:path'
import {fileURLToPath} from 'node:url'
import {afterAll, describe, expect, it} from 'vitest'
import {asWorkload, loadWorkloadFile, runWithTimeout, WorkloadLoadError} from '../../../src/vm/loader.js'
import {createInProcessLab} from '../../../src/vm/inprocess.js'

const here = path.dirname(fileURLToPath(import.meta.url))
const fx = (f: string) => path.join(here, 'fixtures', f)
const lab = createInProcessLab({vms: ['alpha', 'beta']})
afterAll(() => lab.stop())

describe('loadWorkloadFile', () => {
  it('loads a TypeScript module (tsx) that imports project modules, and runs it with (vm, options)', async () => {
    const w = await loadWorkloadFile(fx('typed.ts'))
    const [a, b] = await lab.run(w, {greeting: 'hi'})
    expect(a).toMatchObject({vm: 'alpha', ok: true, result: {ip: '10.0.0.1', rank: 0, established: 9, greeting: 'hi'}})
    expect(b).toMatchObject({vm: 'beta', ok: true, result: {ip: '10.0.0.2', rank: 1}})
  })

  it('loads a JavaScript module', async () => {
    const w = await loadWorkloadFile(fx('plain.mjs'))
    const [a] = await lab.run(w, {n: 3})
    expect(a).toMatchObject({ok: true, result: {name: 'alpha', peers: {beta: '10.0.0.2'}, n: 3, elapsedPositive: true}})
  })

  it('refuses a module without a default function, a syntax error, a missing file and other extensions', async () => {
    await expect(loadWorkloadFile(fx('no-default.mjs'))).rejects.toThrow(/must export a default function.*missing/)
    await expect(loadWorkloadFile(fx('syntax-error.mjs'))).rejects.toThrow(WorkloadLoadError)
    await expect(loadWorkloadFile(fx('nope.ts'))).rejects.toThrow(/cannot load workload/)
    await expect(loadWorkloadFile(fx('README.md'))).rejects.toThrow(/\.js, \.mjs or \.ts/)
    expect(() => asWorkload(42, 'x')).toThrow(/default export is number/)
  })
})

describe('runWithTimeout', () => {
  it('a workload that throws gives {ok: false, error: {message, stack}} and the harness keeps working', async () => {
    const bad = await loadWorkloadFile(fx('throws.mjs'))
    const res = await lab.run(bad)
    for (const r of res) {
      expect(r.ok).toBe(false)
      if (r.ok) continue
      expect(r.error.message).toMatch(/throws\.mjs on (alpha|beta): the workload gave up on purpose/)
      expect(r.error.stack).toContain('throws.mjs')
    }
    const good = await loadWorkloadFile(fx('plain.mjs'))
    expect((await lab.run(good)).every((r) => r.ok)).toBe(true)
  })

  it('a hanging workload times out; a non-Error throw is reported too', async () => {
    const hang = await loadWorkloadFile(fx('hangs.mjs'))
    const [r] = await runWithTimeout(hang, lab.vms[0]!, 50).then((x) => [x])
    expect(r).toMatchObject({ok: false, error: {message: expect.stringMatching(/did not finish within 50 ms/)}})
    const odd = asWorkload(async () => {
      throw {code: 7} // eslint-disable-line no-throw-literal
    }, 'odd')
    expect(await runWithTimeout(odd, lab.vms[0]!, 1000)).toMatchObject({ok: false, error: {message: 'odd on alpha: non-Error thrown: {"code":7}'}})
  })
})
