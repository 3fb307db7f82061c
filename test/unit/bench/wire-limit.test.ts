import {readdir} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {describe, expect, it} from 'vitest'
import {formatWireLimit, measureWireLimit} from '../../../src/bench/wire-limit.js'

const ourDirs = async () => (await readdir(tmpdir())).filter((d) => d.startsWith('masq-wire-'))

describe('measureWireLimit', () => {
  it('streams and ping-pongs through a real peer process, then removes its socket directory', async () => {
    const before = await ourDirs()
    const w = await measureWireLimit({durationMs: 150, warmupMs: 50, iterations: 200, warmupIterations: 20})
    expect(w.throughput.bytes).toBeGreaterThan(0)
    expect(w.throughput.bytes % 1).toBe(0)
    expect(w.throughput.seconds).toBeGreaterThan(0)
    expect(w.throughput.mbPerSec).toBeCloseTo(w.throughput.bytes / w.throughput.seconds / 2 ** 20, 6)
    expect(w.pingPong.iterations).toBe(200)
    expect(w.pingPong.rttUs.min).toBeGreaterThan(0)
    expect(w.pingPong.rttUs.median).toBeGreaterThanOrEqual(w.pingPong.rttUs.min)
    expect(w.pingPong.rttUs.p99).toBeGreaterThanOrEqual(w.pingPong.rttUs.median)
    expect(w.pingPong.halfRttUs.median).toBe(w.pingPong.rttUs.median / 2)
    expect(formatWireLimit(w)).toMatch(/MB\/sec[\s\S]*half-RTT median/)
    expect(await ourDirs()).toEqual(before)
  })
})
