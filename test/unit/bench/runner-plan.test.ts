import {describe, expect, it} from 'vitest'
import {fittingTxDepth, parseList, planBench, SHAPE_BW_SIZES, warmupOf, type BenchRequest} from '../../../src/bench/bench-plan.js'
import {ALL_SIZES} from '../../../src/bench/perftest-stats.js'
import {workloadFor} from '../../../src/bench/workload-contract.js'

const TODAY = new Set(['smoke', 'bench-write', 'verbs-lat'])
const LATER = new Set([...TODAY, 'pingpong', 'bw', 'connrate'])
const req = (r: Partial<BenchRequest>): BenchRequest => ({modes: ['masq', 'sriov'], ops: ['write'], test: 'lat', ...r})

describe('planBench: perftest refusals, all at once', () => {
  it('refuses what perftest refuses, in its words', () => {
    const {plan, errors} = planBench(req({ops: ['read'], connection: 'UC', iterations: 3, qps: 0, size: 0}), LATER)
    expect(plan).toBeUndefined()
    expect(errors).toEqual(expect.arrayContaining([
      'UC connection not possible in READ/ATOMIC verbs',
      'Iteration num should be between 5 and 100000000',
      'num of Qps should be between 1 and 16384',
      'Message size should be between 1 and 2147483647',
    ]))
  })

  it('refuses -D with -a, -n with -D, -s with -a, UD with write, and a bad --runs', () => {
    const {errors} = planBench(req({durationSeconds: 2, all: true, iterations: 100, size: 8, runs: 0, connection: 'UD'}), LATER)
    expect(errors).toEqual(expect.arrayContaining([
      "Duration mode currently doesn't support running on all sizes.",
      '-n and -D are exclusive: iterations or duration',
      '-s and -a are exclusive: -a runs every size from 2 to 8388608',
      'UD connection only possible in SEND verb',
      '--runs should be a positive integer',
    ]))
  })

  it('refuses a cell no workload serves yet when it was asked for explicitly', () => {
    const {errors} = planBench(req({ops: ['send'], test: 'bw'}), TODAY)
    expect(errors).toEqual(['no built-in workload runs send bw yet (needs bw)'])
    expect(planBench(req({test: 'conn'}), TODAY).errors).toEqual(['no built-in workload measures connection setup yet (needs connrate)'])
  })

  it('refuses -q/-c that bench-write cannot honour, and accepts them once `bw` serves the cell', () => {
    expect(planBench(req({test: 'bw', qps: 4}), TODAY).errors[0]).toMatch(/bench-write .* drives one RC QP: -q 4 -c RC needs the bw workload/)
    expect(planBench(req({test: 'bw', qps: 4}), LATER).errors).toEqual([])
  })
})

describe('planBench: steps and perftest defaults', () => {
  it('lat -s 2 -n 200: one step, 200 measured iterations plus a warm-up, RC, one QP', () => {
    const {plan} = planBench(req({size: 2, iterations: 200}), TODAY)
    expect(plan!.steps).toHaveLength(1)
    expect(plan!.steps[0]).toMatchObject({test: 'lat', op: 'write', size: 2, workload: {name: 'bench-write', paired: true}})
    expect(plan!.steps[0]!.params).toMatchObject({contract: 1, test: 'lat', op: 'write', size: 2, iters: 200, warmupIters: 20, qps: 1, connection: 'RC', txDepth: 1})
    expect(plan!.config).toMatchObject({modes: ['sriov', 'masq'], ops: ['write'], test: 'lat', sizes: [2], iterations: 200, qps: 1, connection: 'RC', runs: 1, reportGbits: false})
  })

  it('defaults: bw 65536 B x 5000, lat 2 B x 1000 (perftest); tx depth 128 and cq_mod 100 for bw', () => {
    const bw = planBench(req({test: 'bw'}), TODAY).plan!.steps
    expect(bw.map((s) => [s.size, s.params.iters])).toEqual([[65536, 5000]])
    expect(bw[0]!.params).toMatchObject({txDepth: 128, cqMod: 100})
    expect(planBench(req({test: 'lat'}), TODAY).plan!.steps.map((s) => [s.size, s.params.iters])).toEqual([[2, 1000]])
  })

  it('-a runs every perftest size; -D passes a duration and no iterations', () => {
    expect(planBench(req({all: true}), TODAY).plan!.steps.map((s) => s.size)).toEqual([...ALL_SIZES])
    const d = planBench(req({durationSeconds: 3}), TODAY).plan!
    expect(d.steps[0]!.params).toMatchObject({durationMs: 3000, warmupMs: 300})
    expect(d.steps[0]!.params.iters).toBeUndefined()
    expect(d.config.durationSeconds).toBe(3)
  })

  it('--test all -a with every op: every size for send/write/read, 8 bytes only for atomics (perftest)', () => {
    const {plan} = planBench(req({test: 'all', all: true, ops: ['send', 'write', 'read', 'atomic']}), LATER)
    for (const test of ['bw', 'lat'] as const) {
      for (const op of ['send', 'write', 'read'] as const) expect(plan!.steps.filter((s) => s.test === test && s.op === op).map((s) => s.size)).toEqual([...ALL_SIZES])
      expect(plan!.steps.filter((s) => s.test === test && s.op === 'atomic').map((s) => s.size)).toEqual([8])
    }
    expect(plan!.steps.filter((s) => s.test === 'conn' || s.test === 'verbs')).toHaveLength(2)
    expect(plan!.skipped).toEqual([])
  })

  it('--test all: bw at the paper-shape sizes, lat, verbs; cells without a workload are skipped, not refused', () => {
    const {plan, errors} = planBench(req({test: 'all', ops: ['write', 'send']}), TODAY)
    expect(errors).toEqual([])
    expect(plan!.steps.map((s) => `${s.test}/${s.op ?? '-'}/${s.size ?? '-'}`)).toEqual([
      ...SHAPE_BW_SIZES.map((s) => `bw/write/${s}`), 'lat/write/2', 'verbs/-/-',
    ])
    expect(plan!.skipped).toEqual([
      'no built-in workload runs send bw yet (needs bw)',
      'no built-in workload runs send lat yet (needs pingpong)',
      'no built-in workload measures connection setup yet (needs connrate)',
    ])
    expect(plan!.steps.at(-1)).toMatchObject({workload: {name: 'verbs-lat', paired: false}, params: {iters: 200}})
  })

  it('warm-up is a tenth of the iterations, between 5 and 200', () => {
    expect([warmupOf(5), warmupOf(200), warmupOf(1000), warmupOf(5000)]).toEqual([5, 20, 100, 200])
  })
})

describe('workloadFor: the contract table prefers the dedicated workloads once they exist', () => {
  it('bench-write serves write today; pingpong / bw take over', () => {
    expect(workloadFor('lat', 'write', TODAY)?.name).toBe('bench-write')
    expect(workloadFor('lat', 'write', LATER)?.name).toBe('pingpong')
    expect(workloadFor('bw', 'write', LATER)?.name).toBe('bw')
    expect(workloadFor('lat', 'read', TODAY)).toBeUndefined()
    expect(workloadFor('conn', undefined, LATER)).toEqual({name: 'connrate', paired: true})
  })
})

describe('parseList', () => {
  it('keeps the canonical order and reports unknown names', () => {
    expect(parseList('masq,bare', ['bare', 'sriov', 'masq'], 'mode', [])).toEqual({values: ['bare', 'masq'], errors: []})
    expect(parseList('masq,qemu', ['bare', 'masq'], 'mode', []).errors).toEqual(['unknown mode "qemu" (known: bare, masq)'])
  })
})

describe('tx depth', () => {
  it('perftest 128 unless the bytes in flight would pass half the fabric buffer (tail drop, go-back-N)', () => {
    const buf = 4 << 20
    expect(fittingTxDepth(2, buf)).toBe(128)
    expect(fittingTxDepth(16384, buf)).toBe(128)
    expect(fittingTxDepth(65536, buf)).toBe(32)
    expect(fittingTxDepth(8 << 20, buf)).toBe(1)
  })

  it('-t is passed as given and checked like perftest; without it the runner fits the depth', () => {
    expect(planBench(req({test: 'bw', txDepth: 64}), TODAY).plan!.steps[0]!.params).toMatchObject({txDepth: 64})
    expect(planBench(req({test: 'bw', txDepth: 64}), TODAY).plan!.steps[0]!.params.txDepthAuto).toBeUndefined()
    expect(planBench(req({test: 'bw'}), TODAY).plan!.steps[0]!.params).toMatchObject({txDepth: 128, txDepthAuto: true})
    expect(planBench(req({test: 'bw', txDepth: 0}), TODAY).errors).toEqual(['Tx depth should be between 1 and 15000'])
  })
})
