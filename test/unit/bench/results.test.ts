import {describe, expect, it} from 'vitest'
import {
  aggregateRuns, buildResults, computeRatios, connResult, connTable, envFingerprint, latencyCdf, parseResults, spread,
  verbResults, verbTable, type ModeResults,
} from '../../../src/bench/results.js'
import {formatComparison, formatConnTable, formatSummary, formatVerbTable, textTable} from '../../../src/bench/tables.js'
import {syntheticConfig, syntheticDoc, syntheticMode} from './fixtures/synthetic.js'

const bwRow = (op: 'write' | 'send', bytes: number, bwAverage: number) => ({op, bytes, iterations: 1000, bwPeak: bwAverage, bwAverage, msgRate: 1, unit: 'MB/sec' as const})
const latRow = (bytes: number, tTypical: number) => ({op: 'send' as const, bytes, iterations: 1000, tMin: 1, tMax: 9, tTypical, tAvg: tTypical, tStdev: 0, p99: 5, p999: 9})

describe('ratios', () => {
  it('divide by bare and by sriov per op and size, null when the base is missing', () => {
    const modes = {
      bare: {bw: [bwRow('write', 65536, 2000)], lat: [latRow(2, 10)]},
      sriov: {bw: [bwRow('write', 65536, 1900)], lat: [latRow(2, 11)]},
      masq: {bw: [bwRow('write', 65536, 1881), bwRow('write', 2, 5)], lat: [latRow(2, 11.22)]},
    }
    const rows = computeRatios(modes)
    const masqBw = rows.find((r) => r.mode === 'masq' && r.bytes === 65536 && r.metric === 'bw_average')!
    expect(masqBw.vsBare).toBeCloseTo(0.9405, 10)
    expect(masqBw.vsSriov).toBeCloseTo(0.99, 10)
    expect(rows.find((r) => r.mode === 'masq' && r.bytes === 2 && r.metric === 'bw_average')).toMatchObject({vsBare: null, vsSriov: null})
    const masqLat = rows.find((r) => r.mode === 'masq' && r.metric === 'lat_typical')!
    expect(masqLat.vsSriov).toBeCloseTo(1.02, 10)
    expect(rows.find((r) => r.mode === 'bare' && r.metric === 'lat_typical')!.vsBare).toBe(1)
    // modes appear in the canonical order
    expect([...new Set(rows.map((r) => r.mode))]).toEqual(['bare', 'sriov', 'masq'])
  })
  it('buildResults recomputes them and stamps version and time', () => {
    const doc = buildResults({env: envFingerprint('topo: x'), config: syntheticConfig, modes: {bare: syntheticMode('bare')}, createdAt: new Date(0)})
    expect(doc.version).toBe(1)
    expect(doc.createdAt).toBe('1970-01-01T00:00:00.000Z')
    expect(doc.ratios.length).toBeGreaterThan(0)
    expect(doc.env.topologyHash).toMatch(/^[0-9a-f]{64}$/)
    expect(doc.env.cores).toBeGreaterThan(0)
    expect(doc.env.node).toBe(process.version)
    expect(envFingerprint().topologyHash).toBe('')
  })
})

describe('connection setup and control verbs', () => {
  it('median, p99, conns/s from samples, ratio to sriov', () => {
    const c = connResult(Array.from({length: 100}, (_, i) => (i + 1) * 10_000))
    expect(c.count).toBe(100)
    expect(c.medianUs).toBeCloseTo(500, 0)
    expect(c.p99Us).toBeCloseTo(990, 0)
    expect(c.connsPerSec).toBeCloseTo(1e6 / 505, 6)
    expect(connResult([1000, 1000], 1e9).connsPerSec).toBe(2)
    const rows = connTable({sriov: {bw: [], lat: [], conn: {...c, medianUs: 100}}, masq: {bw: [], lat: [], conn: {...c, medianUs: 108}}})
    expect(rows.map((r) => r.mode)).toEqual(['sriov', 'masq'])
    expect(rows[1]!.vsSriov).toBeCloseTo(1.08, 10)
  })
  it('per-verb medians and masq overhead over sriov', () => {
    const v = verbResults({reg_mr: [10_000, 20_000, 30_000], create_qp: []})
    expect(Object.keys(v)).toEqual(['reg_mr'])
    expect(v.reg_mr!.medianUs).toBeCloseTo(20, 1)
    const rows = verbTable({sriov: {bw: [], lat: [], verbs: {reg_mr: {...v.reg_mr!, medianUs: 20}}}, masq: {bw: [], lat: [], verbs: {reg_mr: {...v.reg_mr!, medianUs: 32.5}}}})
    expect(rows).toEqual([{verb: 'reg_mr', medianUs: {sriov: 20, masq: 32.5}, masqOverSriovUs: 12.5}])
  })
  it('latency CDF in usec with the RTT factor, thinned, ends at 1', () => {
    const samples = Array.from({length: 5000}, (_, i) => 10_000 + i * 7)
    const cdf = latencyCdf(samples, 'write', 50)
    expect(cdf.length).toBeLessThanOrEqual(51)
    expect(cdf.at(-1)!.fraction).toBe(1)
    expect(cdf[0]!.value).toBeGreaterThanOrEqual(5)
    expect(cdf.at(-1)!.value).toBeCloseTo((10_000 + 4999 * 7) / 2 / 1000, 1)
    expect(latencyCdf(samples, 'read', 50).at(-1)!.value).toBeCloseTo((10_000 + 4999 * 7) / 1000, 1)
  })
})

describe('--runs aggregation', () => {
  it('spread is min/median/max', () => {
    expect(spread([3, 1, 2])).toEqual({min: 1, median: 2, max: 3, n: 3})
    expect(spread([4, 1, 2, 3])).toEqual({min: 1, median: 2.5, max: 4, n: 4})
    expect(spread([]).n).toBe(0)
  })
  it('picks the median run per row and attaches the spread', () => {
    const runs: ModeResults[] = [1000, 3000, 2000].map((bw, i) => ({
      bw: [bwRow('write', 65536, bw)], lat: [latRow(2, 10 + i)],
      conn: {count: 1, medianUs: 100 + i * 10, p99Us: 1, meanUs: 1, connsPerSec: 1},
      verbs: {reg_mr: {count: 1, medianUs: 5 - i, p99Us: 1, meanUs: 1}},
    }))
    const agg = aggregateRuns(runs)
    expect(agg.bw[0]!.bwAverage).toBe(2000)
    expect(agg.bw[0]!.spread).toEqual({min: 1000, median: 2000, max: 3000, n: 3, runs: [1000, 3000, 2000]}) // runs in run order
    expect(agg.lat[0]!.tTypical).toBe(11)
    expect(agg.conn!.medianUs).toBe(110)
    expect(agg.verbs!.reg_mr!.spread).toEqual({min: 3, median: 4, max: 5, n: 3, runs: [5, 4, 3]})
    expect(() => aggregateRuns([])).toThrow(RangeError)
  })
})

describe('parseResults', () => {
  it('accepts its own documents and refuses others with a clear message', () => {
    const doc = syntheticDoc()
    expect(parseResults(JSON.stringify(doc)).ratios).toEqual(doc.ratios)
    expect(() => parseResults('{', 'a.json')).toThrow(/^a\.json: not JSON/)
    expect(() => parseResults('[]')).toThrow(/not a results document/)
    expect(() => parseResults(JSON.stringify({...doc, version: 2}))).toThrow(/version 2 is not supported/)
    expect(() => parseResults(JSON.stringify({...doc, modes: {warp: {bw: [], lat: []}}}))).toThrow(/unknown mode "warp"/)
    expect(() => parseResults(JSON.stringify({...doc, modes: {masq: {bw: 1}}}))).toThrow(/"bw" and "lat"/)
  })
})

describe('text tables', () => {
  it('align columns, numbers to the right', () => {
    expect(textTable(['name', 'n'], [['a', '1.5'], ['bbb', '10.25']])).toBe(' name  n\n a       1.5\n bbb   10.25\n')
  })
  it('comparison, setup and verb tables list every mode', () => {
    const doc = syntheticDoc()
    const cmp = formatComparison(doc)
    expect(cmp.split('\n')[0]).toMatch(/metric\s+op\s+#bytes\s+mode\s+value\s+vs bare\s+vs sriov/)
    expect(cmp).toMatch(/BW average\[MB\/sec\]\s+write\s+65536\s+masq/)
    const conn = formatConnTable(doc)
    for (const m of ['bare', 'sriov', 'hyv', 'masq', 'freeflow']) expect(conn).toContain(m)
    const verbs = formatVerbTable(doc)
    expect(verbs.split('\n')[0]).toMatch(/verb \[median usec\]\s+bare\s+sriov\s+hyv\s+masq\s+freeflow\s+masq - sriov/)
    for (const v of ['alloc_pd', 'reg_mr', 'create_cq', 'create_qp', 'modify_qp_rtr', 'modify_qp_rts', 'destroy_qp', 'dereg_mr']) expect(verbs).toContain(v)
    const all = formatSummary(doc)
    expect(all).toContain('wire limit: unix socket stream')
    expect(all).toContain('connection setup')
  })
})
