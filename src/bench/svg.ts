// Static SVG charts, rendered when the report is built: no script, no fonts or styles from the network.
// Line charts (log2 / log10 / linear axes) and grouped bar charts, with axes, ticks, legend and title.

export type Scale = 'linear' | 'log2' | 'log10'

export interface Series {
  name: string
  color?: string
  /** [x, y]; points with a non-positive coordinate on a log axis are left out. */
  points: ReadonlyArray<readonly [number, number]>
}

export interface LineChartSpec {
  id: string
  title: string
  xLabel: string
  yLabel: string
  xScale?: Scale
  yScale?: Scale
  /** Force the y range to start at 0 (linear only; default true). */
  yFromZero?: boolean
  xFormat?: (v: number) => string
  /** Draw horizontal-then-vertical steps (a CDF). */
  step?: boolean
  series: readonly Series[]
  width?: number
  height?: number
}

export interface BarChartSpec {
  id: string
  title: string
  yLabel: string
  categories: readonly string[]
  series: ReadonlyArray<{name: string; color?: string; values: ReadonlyArray<number | null | undefined>}>
  /** One series: colour each bar by its category instead. */
  categoryColors?: readonly string[]
  width?: number
  height?: number
}

/** Colour per mode, used by every chart so a mode reads the same everywhere (Okabe-Ito, colour-blind safe). */
export const MODE_COLORS: Record<string, string> = {
  bare: '#000000', sriov: '#0072B2', hyv: '#009E73', masq: '#D55E00', freeflow: '#CC79A7',
}
const FALLBACK = ['#E69F00', '#56B4E9', '#F0E442', '#999999', '#882255', '#44AA99']
const FONT = 'font-family="system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif"'

export function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;')
}

const colorOf = (name: string, i: number, given?: string) => given ?? MODE_COLORS[name] ?? FALLBACK[i % FALLBACK.length]!
const num = (v: number) => (Math.round(v * 10) / 10).toString()

/** Plot area margins: room for tick labels, axis titles and the legend on the right. */
const M = {top: 40, right: 118, bottom: 52, left: 70}

interface Axis { scale: Scale; min: number; max: number; ticks: number[]; px: (v: number) => number }

export function lineChart(spec: LineChartSpec): string {
  const W = spec.width ?? 620
  const H = spec.height ?? 360
  const xs = spec.xScale ?? 'linear'
  const ys = spec.yScale ?? 'linear'
  const usable = spec.series.map((s) => ({...s, points: s.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y) && (xs === 'linear' || x > 0) && (ys === 'linear' || y > 0))}))
  const allX = usable.flatMap((s) => s.points.map((p) => p[0]))
  const allY = usable.flatMap((s) => s.points.map((p) => p[1]))
  const x = axis(xs, allX, M.left, W - M.right, false)
  const y = axis(ys, allY, H - M.bottom, M.top, spec.yFromZero ?? true)
  let body = frame(spec.id, spec.title, W, H)
  body += grid(x, y, W, H)
  body += xAxis(x, H, spec.xLabel, W, spec.xFormat ?? (xs === 'log2' ? formatBytesShort : formatTick))
  body += yAxis(y, spec.yLabel, H)
  usable.forEach((s, i) => {
    const color = colorOf(s.name, i, s.color)
    const pts = s.points.map(([px, py]) => [x.px(px), y.px(py)] as const)
    if (pts.length === 0) return
    let d = `M${num(pts[0]![0])},${num(pts[0]![1])}`
    for (let k = 1; k < pts.length; k++) {
      if (spec.step) d += ` L${num(pts[k]![0])},${num(pts[k - 1]![1])}`
      d += ` L${num(pts[k]![0])},${num(pts[k]![1])}`
    }
    body += `<g class="series" data-series="${escapeXml(s.name)}"><title>${escapeXml(s.name)}</title>`
    body += `<path d="${d}" fill="none" stroke="${color}" stroke-width="2" stroke-linejoin="round"${i % 2 ? ' stroke-dasharray="6 3"' : ''}/>`
    if (!spec.step && pts.length <= 40) for (const [px, py] of pts) body += `<circle cx="${num(px)}" cy="${num(py)}" r="2.5" fill="${color}"/>`
    body += '</g>'
  })
  body += legend(usable.map((s, i) => ({name: s.name, color: colorOf(s.name, i, s.color), dashed: i % 2 === 1})), W)
  return body + '</svg>'
}

export function barChart(spec: BarChartSpec): string {
  const W = spec.width ?? 620
  const H = spec.height ?? 360
  const values = spec.series.flatMap((s) => s.values.filter((v): v is number => typeof v === 'number' && Number.isFinite(v)))
  const y = axis('linear', values, H - M.bottom, M.top, true)
  const left = M.left
  const right = W - M.right
  const groupW = (right - left) / Math.max(1, spec.categories.length)
  const barW = Math.max(2, (groupW * 0.8) / Math.max(1, spec.series.length))
  let body = frame(spec.id, spec.title, W, H)
  body += grid(undefined, y, W, H)
  body += yAxis(y, spec.yLabel, H)
  body += `<g class="axis x"><line x1="${left}" y1="${H - M.bottom}" x2="${right}" y2="${H - M.bottom}" stroke="#333"/>`
  spec.categories.forEach((c, i) => {
    const cx = left + groupW * (i + 0.5)
    body += `<text x="${num(cx)}" y="${H - M.bottom + 16}" text-anchor="middle" font-size="11">${escapeXml(c)}</text>`
  })
  body += '</g>'
  spec.series.forEach((s, si) => {
    const color = colorOf(s.name, si, s.color)
    body += `<g class="series" data-series="${escapeXml(s.name)}"><title>${escapeXml(s.name)}</title>`
    s.values.forEach((v, ci) => {
      if (typeof v !== 'number' || !Number.isFinite(v)) return
      const x0 = left + groupW * ci + groupW * 0.1 + barW * si
      const top = y.px(v)
      const fill = spec.categoryColors?.[ci] ?? color
      body += `<rect x="${num(x0)}" y="${num(top)}" width="${num(barW - 1)}" height="${num(H - M.bottom - top)}" fill="${fill}"><title>${escapeXml(`${spec.categories[ci]} ${s.name}: ${formatTick(v)}`)}</title></rect>`
    })
    body += '</g>'
  })
  if (!spec.categoryColors) body += legend(spec.series.map((s, i) => ({name: s.name, color: colorOf(s.name, i, s.color), dashed: false})), W)
  return body + '</svg>'
}

function frame(id: string, title: string, W: number, H: number): string {
  const tid = `${escapeXml(id)}-title`
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" id="${escapeXml(id)}" class="chart" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" role="img" aria-labelledby="${tid}" ${FONT}>` +
    `<title id="${tid}">${escapeXml(title)}</title>` +
    `<rect width="${W}" height="${H}" fill="#ffffff"/>` +
    `<text class="chart-title" x="${W / 2}" y="22" text-anchor="middle" font-size="15" font-weight="600">${escapeXml(title)}</text>`
  )
}

function axis(scale: Scale, values: number[], from: number, to: number, fromZero: boolean): Axis {
  let min = values.length ? Math.min(...values) : scale === 'linear' ? 0 : 1
  let max = values.length ? Math.max(...values) : min + 1
  let ticks: number[]
  if (scale === 'linear') {
    if (fromZero) min = Math.min(0, min)
    if (max === min) max = min + 1
    const step = niceStep((max - min) / 5)
    min = Math.floor(min / step) * step
    max = Math.ceil(max / step) * step
    ticks = []
    for (let t = min; t <= max + step / 2; t += step) ticks.push(Number(t.toPrecision(12)))
  } else {
    const base = scale === 'log2' ? 2 : 10
    const lo = Math.floor(Math.log(min) / Math.log(base) + 1e-9)
    let hi = Math.ceil(Math.log(max) / Math.log(base) - 1e-9)
    if (hi === lo) hi = lo + 1
    min = base ** lo
    max = base ** hi
    const every = Math.max(1, Math.ceil((hi - lo) / 12))
    ticks = []
    for (let e = lo; e <= hi; e += every) {
      ticks.push(base ** e)
      // One or two decades alone give too few ticks: add 2x and 5x.
      if (base === 10 && hi - lo <= 2 && e < hi) ticks.push(2 * 10 ** e, 5 * 10 ** e)
    }
  }
  const t = (v: number) => (scale === 'linear' ? v : Math.log(v))
  const a = t(min)
  const b = t(max)
  return {scale, min, max, ticks, px: (v) => from + ((t(v) - a) / (b - a || 1)) * (to - from)}
}

function niceStep(raw: number): number {
  const p = 10 ** Math.floor(Math.log10(raw))
  const f = raw / p
  return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * p
}

function grid(x: Axis | undefined, y: Axis, W: number, H: number): string {
  let s = '<g class="grid" stroke="#e3e3e3" stroke-width="1">'
  for (const v of y.ticks) s += `<line x1="${M.left}" x2="${W - M.right}" y1="${num(y.px(v))}" y2="${num(y.px(v))}"/>`
  if (x) for (const v of x.ticks) s += `<line y1="${M.top}" y2="${H - M.bottom}" x1="${num(x.px(v))}" x2="${num(x.px(v))}"/>`
  return s + '</g>'
}

function xAxis(x: Axis, H: number, label: string, W: number, format: (v: number) => string): string {
  const y0 = H - M.bottom
  let s = `<g class="axis x"><line x1="${M.left}" y1="${y0}" x2="${W - M.right}" y2="${y0}" stroke="#333"/>`
  for (const v of x.ticks) {
    const px = num(x.px(v))
    s += `<line x1="${px}" x2="${px}" y1="${y0}" y2="${y0 + 5}" stroke="#333"/>`
    s += `<text x="${px}" y="${y0 + 18}" text-anchor="middle" font-size="11">${escapeXml(format(v))}</text>`
  }
  s += `<text class="axis-label" x="${(M.left + W - M.right) / 2}" y="${H - 10}" text-anchor="middle" font-size="12">${escapeXml(label)}</text>`
  return s + '</g>'
}

function yAxis(y: Axis, label: string, H: number): string {
  let s = `<g class="axis y"><line x1="${M.left}" y1="${M.top}" x2="${M.left}" y2="${H - M.bottom}" stroke="#333"/>`
  for (const v of y.ticks) {
    const py = num(y.px(v))
    s += `<line x1="${M.left - 5}" x2="${M.left}" y1="${py}" y2="${py}" stroke="#333"/>`
    s += `<text x="${M.left - 8}" y="${py}" dy="4" text-anchor="end" font-size="11">${escapeXml(formatTick(v))}</text>`
  }
  const cy = (M.top + H - M.bottom) / 2
  s += `<text class="axis-label" x="16" y="${cy}" transform="rotate(-90 16 ${cy})" text-anchor="middle" font-size="12">${escapeXml(label)}</text>`
  return s + '</g>'
}

function legend(items: Array<{name: string; color: string; dashed: boolean}>, W: number): string {
  const x = W - M.right + 14
  let s = '<g class="legend" font-size="12">'
  items.forEach((it, i) => {
    const y = M.top + 8 + i * 18
    s += `<line x1="${x}" x2="${x + 22}" y1="${y}" y2="${y}" stroke="${it.color}" stroke-width="3"${it.dashed ? ' stroke-dasharray="6 3"' : ''}/>`
    s += `<text x="${x + 28}" y="${y}" dy="4">${escapeXml(it.name)}</text>`
  })
  return s + '</g>'
}

/** Tick labels: up to 4 significant digits, k/M suffixes for large values. */
export function formatTick(v: number): string {
  const a = Math.abs(v)
  if (a >= 1e6) return `${+(v / 1e6).toPrecision(3)}M`
  if (a >= 1e4) return `${+(v / 1e3).toPrecision(3)}k`
  if (a === 0) return '0'
  return String(+v.toPrecision(4))
}

/** Byte sizes on a log2 axis: 2, 64, 1K, 64K, 8M. */
export function formatBytesShort(v: number): string {
  if (v >= 1 << 20) return `${+(v / (1 << 20)).toPrecision(3)}M`
  if (v >= 1024) return `${+(v / 1024).toPrecision(3)}K`
  return String(+v.toPrecision(3))
}
