// The user example examples/workloads/kv-store.ts (and its tiny client), loaded through the workload loader.
import path from 'node:path'
import {fileURLToPath} from 'node:url'
import {afterAll, describe, expect, it} from 'vitest'
import {createInProcessLab} from '../../../src/vm/inprocess.js'
import {loadWorkloadFile} from '../../../src/vm/loader.js'
import {BUCKET, findInWindow, hash, PROBE} from '../../../examples/workloads/kv-store.js'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..')

describe('examples/workloads/kv-store.ts', () => {
  const lab = createInProcessLab()
  const lossy = createInProcessLab({impairments: {loss: 0.05}, seed: 8})
  afterAll(() => {
    lab.stop()
    lossy.stop()
  })

  it('runs through the loader: PUTs by SEND, GETs by one-sided READ, all values read back', async () => {
    const w = await loadWorkloadFile(path.join(root, 'examples/workloads/kv-store.ts'))
    const [c, s] = await lab.run(w, {keys: 30})
    expect(c, JSON.stringify(c)).toMatchObject({ok: true, result: {ok: true, keys: 30, hits: 30, changed: 'changed', missing: null}})
    expect(s, JSON.stringify(s)).toMatchObject({ok: true, result: {role: 'server', puts: 31}})
  })

  it('kv-store.ts with 5% frame loss: every value read back', async () => {
    const w = await loadWorkloadFile(path.join(root, 'examples/workloads/kv-store.ts'))
    const [c, s] = await lossy.run(w, {keys: 30})
    expect(c, JSON.stringify(c)).toMatchObject({ok: true, result: {ok: true, keys: 30, hits: 30, changed: 'changed', missing: null}})
    expect(s, JSON.stringify(s)).toMatchObject({ok: true, result: {role: 'server', puts: 31}})
    expect(lossy.fabric.stats.lost).toBeGreaterThan(0)
  })

  it('kv-client.ts puts and gets what its options say, also with 5% frame loss', async () => {
    const w = await loadWorkloadFile(path.join(root, 'examples/workloads/kv-client.ts'))
    const [c, s] = await lossy.run(w, {put: 'color=blue,size=3', get: 'color,size,nope'})
    expect(c, JSON.stringify(c)).toMatchObject({ok: true, result: {got: {color: 'blue', size: '3', nope: null}}})
    expect(s).toMatchObject({ok: true, result: {puts: 2}})
  })

  it('a torn or odd-versioned bucket makes a reader retry', () => {
    const win = new Uint8Array(PROBE * BUCKET)
    const v = new DataView(win.buffer)
    v.setUint32(0, 3, true)
    v.setUint32(60, 3, true)
    expect(findInWindow(win, Uint8Array.of(1))).toBe('retry')
    v.setUint32(0, 4, true)
    expect(findInWindow(win, Uint8Array.of(1))).toBe('retry')
    v.setUint32(60, 4, true)
    expect(findInWindow(win, Uint8Array.of(1))).toBeUndefined()
    expect(hash(new TextEncoder().encode('a'))).toBe(0xe40c292c % 1024) // FNV-1a('a')
  })
})
