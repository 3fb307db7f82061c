// The emulator floors of bench:wire do the work they claim: every framed packet reaches the peer process with a
// good ICRC, and the ping-pong floor completes its round trips through the doorbell / socket / DMA-epoch hand-offs.
import {describe, expect, it} from 'vitest'
import {measureLatencyFloor, measureWireFloor} from '../../../src/bench/wire-floor.js'

describe('wire floor', () => {
  it('streams framed 4 KiB packets whose ICRC the receiving process checks', async () => {
    const f = await measureWireFloor({durationMs: 150, warmupMs: 20})
    expect(f.frames).toBeGreaterThan(100)
    expect(f.badIcrc).toBe(0)
    expect(f.mbPerSec).toBeGreaterThan(0)
  }, 30_000)
  it('ping-pongs through the hand-offs of the design and reports half round trips', async () => {
    const f = await measureLatencyFloor({iterations: 100, warmup: 10})
    expect(f.iterations).toBe(100)
    expect(f.halfRttUs.median).toBeGreaterThan(0)
    expect(f.halfRttUs.p99).toBeGreaterThanOrEqual(f.halfRttUs.median)
  }, 30_000)
})
