import {describe, expect, it} from 'vitest'
import {planBench} from '../../../src/bench/bench-plan.js'
import {warmupSteps} from '../../../src/bench/runner.js'

const AVAILABLE = new Set(['bench-write', 'verbs-lat'])

describe('warmupSteps: one untimed pass per lab before the measured runs', () => {
  it('smallest and largest size per (test, op), iterations mode, capped by count and bytes; no verbs/conn', () => {
    const {plan} = planBench({modes: ['masq'], ops: ['write'], test: 'all', all: true, iterations: 1000}, AVAILABLE)
    const w = warmupSteps(plan!.steps)
    expect(w.map((s) => [s.test, s.size, s.params.iters, s.params.warmupIters])).toEqual([
      ['bw', 2, 500, 0], ['bw', 8388608, 5, 0], ['lat', 2, 500, 0], ['lat', 8388608, 5, 0],
    ])
  })

  it('duration mode warms up in iterations mode; one size gives one step', () => {
    const {plan} = planBench({modes: ['masq'], ops: ['write'], test: 'lat', durationSeconds: 5}, AVAILABLE)
    const w = warmupSteps(plan!.steps)
    expect(w).toHaveLength(1)
    expect(w[0]!.params.durationMs).toBeUndefined()
    expect(w[0]!.params).toMatchObject({iters: 500, warmupIters: 0, size: 2})
  })
})
