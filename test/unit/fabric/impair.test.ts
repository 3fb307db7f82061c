import {describe, expect, it} from 'vitest'
import {VirtualClock} from '../../../src/fabric/clock.js'
import {Impairer, type ImpairOptions, uniformJitter} from '../../../src/fabric/impair.js'
import {Recorder, makeFrame} from './frames.js'

const N = 100_000

function run(o: ImpairOptions, n = N) {
  const clock = new VirtualClock()
  const rec = new Recorder(() => clock.now())
  const imp = new Impairer(o, clock, rec)
  const buf = new Uint8Array(128)
  for (let i = 0; i < n; i++) {
    imp.transmit(makeFrame(128, 0, 0, i, buf), 0, 128)
    clock.advance(10)
  }
  clock.runUntilIdle()
  return {imp, rec}
}

/** Tolerance: 5 standard deviations of a binomial count. */
function within(count: number, n: number, p: number): void {
  const sd = Math.sqrt(n * p * (1 - p))
  expect(Math.abs(count - n * p)).toBeLessThan(5 * sd + 1)
}

describe('Impairer', () => {
  it('loses, duplicates and reorders at the configured rates over 1e5 frames', () => {
    const {imp, rec} = run({loss: 0.01, duplicate: 0.005, reorder: 0.02, seed: 1234})
    const c = imp.counters
    expect(c.frames).toBe(N)
    within(c.lost, N, 0.01)
    within(c.duplicated, N - c.lost, 0.005)
    // a frame chosen for reordering while another is held passes in order, so the rate is a little under p
    expect(c.reordered).toBeGreaterThan((N - c.lost) * 0.02 * 0.85)
    within(c.reordered, N - c.lost, 0.02 * (1 - 0.02 * 3))
    expect(rec.seqs.length).toBe(N - c.lost + c.duplicated)
    expect(c.passed).toBe(rec.seqs.length)
    // the set of delivered frames: every non-lost frame at least once
    const seen = new Set(rec.seqs)
    expect(seen.size).toBe(N - c.lost)
    // reordering shows as sequence numbers going backwards
    let backwards = 0
    for (let i = 1; i < rec.seqs.length; i++) if (rec.seqs[i]! < rec.seqs[i - 1]!) backwards++
    expect(backwards).toBeGreaterThan(c.reordered * 0.9)
  })

  it('is exactly reproducible for the same seed, and differs for another seed', () => {
    const o = {loss: 0.02, duplicate: 0.01, reorder: 0.01, seed: 99}
    const a = run(o, 20_000)
    const b = run(o, 20_000)
    const c = run({...o, seed: 100}, 20_000)
    expect(b.rec.seqs).toEqual(a.rec.seqs)
    expect(b.imp.counters).toEqual(a.imp.counters)
    expect(c.rec.seqs).not.toEqual(a.rec.seqs)
  })

  it('holds a reordered frame back by the gap, and releases it on a timeout when traffic stops', () => {
    const clock = new VirtualClock()
    const rec = new Recorder(() => clock.now())
    const imp = new Impairer({loss: 0, duplicate: 0, reorder: 1, seed: 5, reorderGap: 2, reorderHoldNs: 1000}, clock, rec)
    const buf = new Uint8Array(64)
    for (let i = 0; i < 3; i++) imp.transmit(makeFrame(64, 0, 0, i, buf), 0, 64)
    // 0 held; 1 passes (0 still held: only 1 of 2), p=1 but only one frame is held at a time, so 2 passes and frees 0
    expect(rec.seqs).toEqual([1, 2, 0])
    imp.transmit(makeFrame(64, 0, 0, 3, buf), 0, 64) // held; nothing follows
    expect(rec.seqs).toEqual([1, 2, 0])
    clock.advance(999)
    expect(rec.seqs.length).toBe(3)
    clock.advance(1)
    expect(rec.seqs).toEqual([1, 2, 0, 3])
    expect(rec.times[3]).toBe(1000)
  })

  it('with no impairment it is a no-op stage', () => {
    expect(Impairer.isNoop({loss: 0, duplicate: 0, reorder: 0})).toBe(true)
    const {imp, rec} = run({loss: 0, duplicate: 0, reorder: 0, seed: 1}, 1000)
    expect(rec.seqs).toEqual(Array.from({length: 1000}, (_, i) => i))
    expect(imp.counters.lost + imp.counters.duplicated + imp.counters.reordered).toBe(0)
  })

  it('jitter is uniform in [0, jitterNs) and reproducible', () => {
    expect(uniformJitter(0, 1)).toBeUndefined()
    const j1 = uniformJitter(1000, 3)!
    const j2 = uniformJitter(1000, 3)!
    let sum = 0
    let bad = 0
    let differ = 0
    for (let i = 0; i < N; i++) {
      const x = j1()
      if (x !== j2()) differ++
      if (!(x >= 0 && x < 1000)) bad++
      sum += x
    }
    expect(bad).toBe(0)
    expect(differ).toBe(0)
    expect(Math.abs(sum / N - 500)).toBeLessThan(5)
  })
})
