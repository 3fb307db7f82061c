import {describe, expect, it} from 'vitest'
import {planBench} from '../../../src/bench/bench-plan.js'
import {rotation, warmupSteps} from '../../../src/bench/runner.js'

const AVAILABLE = new Set(['bench-write', 'verbs-lat'])

describe('warmupSteps: one untimed pass per lab before the measured runs', () => {
  it('smallest and largest size per (test, op), iterations mode, capped by count and bytes; no verbs/conn', () => {
    const {plan} = planBench({modes: ['masq'], ops: ['write'], test: 'all', all: true, iterations: 1000}, AVAILABLE)
    const w = warmupSteps(plan!.steps)
    expect(w.map((s) => [s.test, s.size, s.params.iters, s.params.warmupIters])).toEqual([
      ['bw', 2, 20000, 0], ['bw', 8388608, 5, 0], ['lat', 2, 500, 0], ['lat', 8388608, 5, 0],
    ])
  })

  it('bw warms up with 20000 messages (the JIT of a fresh lab needs them at small sizes), at most 32 MiB', () => {
    const {plan} = planBench({modes: ['masq'], ops: ['write'], test: 'bw', size: 512, iterations: 100}, AVAILABLE)
    expect(warmupSteps(plan!.steps).map((s) => s.params.iters)).toEqual([20000])
    const big = planBench({modes: ['masq'], ops: ['write'], test: 'bw', size: 65536}, AVAILABLE).plan!
    expect(warmupSteps(big.steps).map((s) => s.params.iters)).toEqual([512])
  })

  it('duration mode warms up in iterations mode; one size gives one step', () => {
    const {plan} = planBench({modes: ['masq'], ops: ['write'], test: 'lat', durationSeconds: 5}, AVAILABLE)
    const w = warmupSteps(plan!.steps)
    expect(w).toHaveLength(1)
    expect(w[0]!.params.durationMs).toBeUndefined()
    expect(w[0]!.params).toMatchObject({iters: 500, warmupIters: 0, size: 2})
  })
})

describe('rotation: the order modes run a step in', () => {
  it('starts at the shift; over n consecutive steps every mode goes first once and the first step keeps the given order', () => {
    expect(rotation(5, 0)).toEqual([0, 1, 2, 3, 4])
    expect(rotation(5, 7)).toEqual([2, 3, 4, 0, 1])
    expect(new Set(Array.from({length: 5}, (_, k) => rotation(5, k)[0])).size).toBe(5)
    for (let k = 0; k < 5; k++) expect([...rotation(5, k)].sort()).toEqual([0, 1, 2, 3, 4])
  })
})
