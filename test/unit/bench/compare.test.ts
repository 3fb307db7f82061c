import {describe, expect, it} from 'vitest'
import {compareResults, figures, formatCompare} from '../../../src/bench/compare.js'
import {parseResults, type ResultsDoc} from '../../../src/bench/results.js'
import {syntheticDoc} from './fixtures/synthetic.js'

const clone = (d: ResultsDoc): ResultsDoc => parseResults(JSON.stringify(d))

describe('compareResults', () => {
  it('identical runs: every figure compared, nothing flagged', () => {
    const a = syntheticDoc()
    const c = compareResults(a, clone(a))
    expect(c.rows.length).toBe(figures(a).size)
    expect(c.rows.every((r) => r.deltaPct === 0 && !r.flagged && r.better === null)).toBe(true)
    expect(c.envChanged).toEqual([])
    expect(formatCompare(c)).toMatch(/figures compared, 0 beyond 5% \(0 worse\)\n$/)
  })
  it('computes delta % and direction per metric, flags beyond the threshold', () => {
    const a = syntheticDoc()
    const b = clone(a)
    const bw = b.modes.masq!.bw.find((r) => r.bytes === 65536)!
    bw.bwAverage *= 0.9 // 10% slower: worse
    const lat = b.modes.masq!.lat.find((r) => r.bytes === 2)!
    lat.tTypical *= 0.97 // 3% faster: better, under threshold
    b.modes.sriov!.conn!.medianUs *= 1.2 // slower setup: worse
    b.modes.masq!.verbs!.reg_mr!.medianUs *= 0.5 // faster reg_mr: better
    b.env = {...b.env, cpuModel: 'Other CPU'}
    const c = compareResults(a, b, {thresholdPct: 5})
    const row = (mode: string, metric: string, bytes: number | null) => c.rows.find((r) => r.mode === mode && r.metric === metric && r.bytes === bytes)!
    expect(row('masq', 'bw_average', 65536)).toMatchObject({flagged: true, better: false})
    expect(row('masq', 'bw_average', 65536).deltaPct).toBeCloseTo(-10, 9)
    expect(row('masq', 'lat_typical', 2)).toMatchObject({flagged: false, better: true})
    expect(row('masq', 'lat_typical', 2).deltaPct).toBeCloseTo(-3, 9)
    expect(row('sriov', 'conn_median', null)).toMatchObject({flagged: true, better: false})
    expect(row('masq', 'verb_reg_mr', null)).toMatchObject({flagged: true, better: true, deltaPct: -50})
    expect(c.envChanged).toEqual(['cpuModel'])
    const text = formatCompare(c, {flaggedOnly: true})
    expect(text.split('\n')[0]).toBe('note: the runs differ in cpuModel')
    expect(text).toMatch(/masq\s+write\s+bw_average\s+65536\s+MB\/sec\s+[\d.]+\s+[\d.]+\s+-10\.0%\s+WORSE/)
    expect(text).toMatch(/masq\s+reg_mr\s+verb_reg_mr\s+-\s+usec\s+[\d.]+\s+[\d.]+\s+-50\.0%\s+better/)
    expect(text).not.toMatch(/lat_typical/)
    expect(text).toMatch(/, 3 beyond 5% \(2 worse\)\n$/)
  })
  it('lists figures present in only one run; the JSON form round-trips', () => {
    const a = syntheticDoc()
    const b = clone(a)
    delete b.modes.freeflow
    b.modes.masq!.bw = b.modes.masq!.bw.filter((r) => r.bytes !== 2)
    const c = compareResults(a, b)
    expect(c.onlyNew).toEqual([])
    expect(c.onlyOld).toContain('masq/write/bw_average/2')
    expect(c.onlyOld.some((k) => k.startsWith('freeflow/'))).toBe(true)
    expect(c.rows.some((r) => r.mode === 'freeflow')).toBe(false)
    expect(JSON.parse(JSON.stringify(c))).toEqual(c)
    expect(formatCompare(c)).toMatch(/only in old: \d+, only in new: 0/)
  })
})

describe('compareFiles', () => {
  it('reads both files and names the broken one', async () => {
    const {mkdtemp, rm, writeFile} = await import('node:fs/promises')
    const {tmpdir} = await import('node:os')
    const {join} = await import('node:path')
    const {compareFiles} = await import('../../../src/bench/compare.js')
    const dir = await mkdtemp(join(tmpdir(), 'masq-cmp-'))
    try {
      const a = join(dir, 'a.json')
      const b = join(dir, 'b.json')
      await writeFile(a, JSON.stringify(syntheticDoc()))
      await writeFile(b, JSON.stringify(syntheticDoc(2)))
      const c = await compareFiles(a, b, {thresholdPct: 1})
      expect(c.rows.length).toBeGreaterThan(0)
      expect(c.thresholdPct).toBe(1)
      await writeFile(b, '{"version": 1}')
      await expect(compareFiles(a, b)).rejects.toThrow(new RegExp(`^${b.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: missing "modes"`))
    } finally {
      await rm(dir, {recursive: true, force: true})
    }
  })
})
