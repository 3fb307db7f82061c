import {describe, expect, it} from 'vitest'
import {barChart, escapeXml, formatBytesShort, formatTick, lineChart} from '../../../src/bench/svg.js'
import {findAll, parseMarkup, pathPoints} from './fixtures/markup.js'

const sizes = [2, 8, 64, 1024, 65536, 8388608]

describe('lineChart', () => {
  const svg = lineChart({
    id: 'bw', title: 'Throughput <&> "test"', xLabel: 'bytes', yLabel: 'MB/sec', xScale: 'log2',
    series: [
      {name: 'masq', points: sizes.map((s) => [s, Math.log2(s) * 100] as const)},
      {name: 'sriov', points: sizes.map((s) => [s, Math.log2(s) * 99] as const)},
    ],
  })
  const doc = parseMarkup(svg)
  const root = doc.children[0]!

  it('is well-formed SVG with a title, escaped text', () => {
    expect(root.name).toBe('svg')
    expect(root.attrs['xmlns']).toBe('http://www.w3.org/2000/svg')
    expect(root.attrs['viewBox']).toBe('0 0 620 360')
    expect(root.children[0]!.name).toBe('title')
    expect(root.children[0]!.text).toBe('Throughput &lt;&amp;&gt; &quot;test&quot;')
  })
  it('draws one path per series through every point, left to right, larger values higher', () => {
    const series = findAll(root, (e) => e.attrs['class'] === 'series')
    expect(series.map((s) => s.attrs['data-series'])).toEqual(['masq', 'sriov'])
    for (const s of series) {
      const pts = pathPoints(s.children.find((c) => c.name === 'path')!.attrs['d']!)
      expect(pts).toHaveLength(sizes.length)
      for (let i = 1; i < pts.length; i++) {
        expect(pts[i]![0]).toBeGreaterThan(pts[i - 1]![0])
        expect(pts[i]![1]).toBeLessThan(pts[i - 1]![1])
      }
      for (const [x, y] of pts) {
        expect(x).toBeGreaterThanOrEqual(0)
        expect(x).toBeLessThanOrEqual(620)
        expect(y).toBeGreaterThanOrEqual(0)
        expect(y).toBeLessThanOrEqual(360)
      }
    }
  })
  it('log2 x axis: equal spacing per doubling, byte labels', () => {
    const xAxis = findAll(root, (e) => e.attrs['class'] === 'axis x')[0]!
    const labels = findAll(xAxis, (e) => e.name === 'text' && e.attrs['class'] !== 'axis-label').map((t) => t.text)
    expect(labels[0]).toBe('2')
    expect(labels.at(-1)).toBe('8M')
    expect(labels).toEqual(['2', '8', '32', '128', '512', '2K', '8K', '32K', '128K', '512K', '2M', '8M'])
    const pts = pathPoints(findAll(root, (e) => e.name === 'path')[0]!.attrs['d']!)
    // 2 -> 8 is two doublings, 8 -> 64 three
    expect((pts[2]![0] - pts[1]![0]) / (pts[1]![0] - pts[0]![0])).toBeCloseTo(1.5, 1)
  })
  it('has axis titles and a legend entry per series', () => {
    const labels = findAll(root, (e) => e.attrs['class'] === 'axis-label').map((t) => t.text)
    expect(labels).toEqual(['bytes', 'MB/sec'])
    const legend = findAll(root, (e) => e.attrs['class'] === 'legend')[0]!
    expect(findAll(legend, (e) => e.name === 'text').map((t) => t.text)).toEqual(['masq', 'sriov'])
  })
  it('drops points a log axis cannot show and survives empty series', () => {
    const s = lineChart({id: 'c', title: 'cdf', xLabel: 'x', yLabel: 'y', xScale: 'log10', step: true, series: [{name: 'a', points: [[0, 0.1], [1, 0.5], [10, 1]]}, {name: 'empty', points: []}]})
    const d = findAll(parseMarkup(s), (e) => e.name === 'path')[0]!.attrs['d']!
    // 2 points kept, step adds one corner
    expect(pathPoints(d)).toHaveLength(3)
  })
})

describe('barChart', () => {
  it('one rect per value, heights proportional, per-category colours', () => {
    const svg = barChart({id: 'conn', title: 'setup', yLabel: 'usec', categories: ['bare', 'sriov', 'masq'], series: [{name: 'median', values: [100, 200, null]}], categoryColors: ['#000', '#111', '#222']})
    const root = parseMarkup(svg).children[0]!
    const rects = findAll(root, (e) => e.name === 'rect' && e.attrs['fill'] !== '#ffffff')
    expect(rects).toHaveLength(2)
    expect(Number(rects[1]!.attrs['height']) / Number(rects[0]!.attrs['height'])).toBeCloseTo(2, 1)
    expect(rects.map((r) => r.attrs['fill'])).toEqual(['#000', '#111'])
    const cats = findAll(findAll(root, (e) => e.attrs['class'] === 'axis x')[0]!, (e) => e.name === 'text').map((t) => t.text)
    expect(cats).toEqual(['bare', 'sriov', 'masq'])
  })
})

describe('labels', () => {
  it('escape and format', () => {
    expect(escapeXml(`<a href="x">&'`)).toBe('&lt;a href=&quot;x&quot;&gt;&amp;&apos;')
    expect([0, 0.5, 12.345, 2500, 45_000, 3_200_000].map(formatTick)).toEqual(['0', '0.5', '12.35', '2500', '45k', '3.2M'])
    expect([2, 512, 1024, 65536, 8388608].map(formatBytesShort)).toEqual(['2', '512', '1K', '64K', '8M'])
  })
})
