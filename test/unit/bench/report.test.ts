import {describe, expect, it} from 'vitest'
import {renderReport, reportCharts} from '../../../src/bench/report.js'
import {findAll, parseMarkup, pathPoints} from './fixtures/markup.js'
import {syntheticDoc} from './fixtures/synthetic.js'

describe('report.html', () => {
  const doc = syntheticDoc()
  const html = renderReport(doc)
  const page = parseMarkup(html, {html: true})

  it('is one well-formed, self-contained page: no script, no external resource', () => {
    expect(html).not.toMatch(/<script|<link|<img|@import|url\(|https?:\/\/(?!www\.w3\.org\/2000\/svg)/i)
    expect(findAll(page, (e) => e.name === 'style')).toHaveLength(1)
  })
  it('contains every chart, each an <svg> with its title and series paths with points', () => {
    const ids = reportCharts(doc).map((c) => c.id)
    expect(ids).toEqual(['chart-bw-write', 'chart-lat-write', 'chart-cdf-write', 'chart-conn', 'chart-verbs'])
    const svgs = findAll(page, (e) => e.name === 'svg')
    expect(svgs.map((s) => s.attrs['id'])).toEqual(ids)
    for (const svg of svgs) {
      const title = svg.children[0]!
      expect(title.name).toBe('title')
      expect(title.text.length).toBeGreaterThan(5)
      expect(findAll(svg, (e) => e.attrs['class'] === 'axis y')).toHaveLength(1)
      expect(findAll(svg, (e) => e.attrs['class'] === 'axis x')).toHaveLength(1)
      const series = findAll(svg, (e) => e.attrs['class'] === 'series')
      expect(series.length).toBeGreaterThan(0)
      for (const s of series) {
        const path = s.children.find((c) => c.name === 'path')
        if (path) expect(pathPoints(path.attrs['d']!).length).toBeGreaterThan(1)
        else expect(findAll(s, (c) => c.name === 'rect').length).toBeGreaterThan(0)
      }
    }
  })
  it('throughput chart has all five modes and the wire limit', () => {
    const bw = findAll(page, (e) => e.attrs['id'] === 'chart-bw-write')[0]!
    expect(findAll(bw, (e) => e.attrs['class'] === 'series').map((s) => s.attrs['data-series'])).toEqual(['bare', 'sriov', 'hyv', 'masq', 'freeflow', 'wire limit'])
  })
  it('holds the tables and the perftest transcripts', () => {
    const heads = findAll(page, (e) => e.name === 'h2').map((h) => h.text)
    expect(heads).toEqual([
      'Wire limit (this machine, this run)', 'Charts', 'Comparison: value (ratio to bare / ratio to sriov)', 'Connection setup',
      'Control-verb latency (median usec)', "The paper's shape, this run", 'perftest output per mode',
    ])
    const details = findAll(page, (e) => e.name === 'details')
    expect(details.map((d) => d.children[0]!.text)).toEqual(['bare', 'sriov', 'hyv', 'masq', 'freeflow'])
    const pres = findAll(page, (e) => e.name === 'pre')
    expect(pres).toHaveLength(5)
    expect(pres[0]!.text).toContain(' #bytes     #iterations    BW peak[MB/sec]')
    const tables = findAll(page, (e) => e.name === 'table')
    expect(tables).toHaveLength(5)
  })
  it('renders a partial document (one mode, no wire limit, no verbs)', () => {
    const one = {...doc, wireLimit: undefined, modes: {masq: {bw: doc.modes.masq!.bw, lat: []}}, ratios: []}
    const p = parseMarkup(renderReport(one), {html: true})
    expect(findAll(p, (e) => e.name === 'svg').map((s) => s.attrs['id'])).toEqual(['chart-bw-write'])
  })
})
