import {describe, expect, it} from 'vitest'
import {div, formatShape, paperShape} from '../../../src/bench/shape.js'
import {syntheticDoc} from './fixtures/synthetic.js'

describe('div: paired ratios over --runs', () => {
  it('takes the median of the per-run ratios when both figures carry their runs, else the ratio of the figures', () => {
    // run 2 was slow for both modes (a load burst): per-run ratios are 1.0, 1.0, 1.1, median 1.0
    expect(div({value: 100, runs: [100, 10, 110]}, {value: 100, runs: [100, 10, 100]})).toBeCloseTo(1.0, 12)
    expect(div({value: 100, runs: [100, 10, 110]}, {value: 50})).toBe(2)
    expect(div({value: 1}, {value: 0})).toBeNull()
    expect(div(undefined, {value: 1})).toBeNull()
  })
})

describe('paperShape', () => {
  const doc = syntheticDoc()
  const checks = paperShape(doc)
  const get = (prefix: string) => checks.find((c) => c.claim.startsWith(prefix))!

  it('computes each claim from the run', () => {
    const bw64k = get('masq / sriov throughput, write 65536')
    expect(bw64k.value).toBeCloseTo(doc.modes.masq!.bw.find((r) => r.bytes === 65536)!.bwAverage / doc.modes.sriov!.bw.find((r) => r.bytes === 65536)!.bwAverage, 12)
    expect(bw64k.pass).toBe(true)
    expect(get('masq / sriov latency').pass).toBe(true)
    expect(get('freeflow / masq latency').value).toBeGreaterThan(1.5)
    expect(get('freeflow / masq throughput').pass).toBe(true)
    // the synthetic masq setup is 1.5x sriov: this claim must fail
    expect(get('masq / sriov connection setup').value).toBeCloseTo(doc.modes.masq!.conn!.medianUs / doc.modes.sriov!.conn!.medianUs, 12)
    expect(get('masq / sriov connection setup').pass).toBe(false)
    expect(checks.filter((c) => c.claim.startsWith('masq - sriov'))).toHaveLength(8)
  })
  it('is n/a when a figure is missing', () => {
    const partial = {...doc, modes: {masq: doc.modes.masq, sriov: {bw: [], lat: []}}}
    const c = paperShape(partial)
    expect(c.every((x) => x.pass === null || x.claim.startsWith('masq - sriov'))).toBe(true)
    expect(formatShape(c)).toMatch(/^ n\/a   masq \/ sriov throughput, write 65536 B: - \(target 0\.97 \.\. 1\.03\)$/m)
  })
  it('formats verdicts', () => {
    const text = formatShape(checks)
    expect(text).toMatch(/^ PASS  masq \/ sriov throughput, write 65536 B: 0\.9\d\d|^ PASS  masq \/ sriov throughput, write 65536 B: 1\.0\d\d/m)
    expect(text).toMatch(/^ FAIL  masq \/ sriov connection setup \(median\): 1\.\d{3} \(target <= 1\.11 \(paper: \+11%\)\)$/m)
  })
})
