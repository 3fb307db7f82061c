// report.html: one self-contained page (inline CSS and SVG, no script, nothing fetched) built from a
// results document. Readable at 1280 px: two charts per row, the tables below, perftest transcripts last.
import {formatSize} from './progress.js'
import {connTable, CONTROL_VERBS, MODES, verbTable, type Mode, type Op, type ResultsDoc} from './results.js'
import {paperShape} from './shape.js'
import {barChart, escapeXml, lineChart, MODE_COLORS, type Series} from './svg.js'
import {fmt} from './tables.js'

export interface ReportChart { id: string; title: string; svg: string; wide?: boolean }

const present = (doc: ResultsDoc): Mode[] => MODES.filter((m) => doc.modes[m])
const opsOf = (doc: ResultsDoc, key: 'bw' | 'lat'): Op[] => [...new Set(present(doc).flatMap((m) => doc.modes[m]![key].map((r) => r.op)))]

/** Every chart of the report, in page order. */
export function reportCharts(doc: ResultsDoc): ReportChart[] {
  const charts: ReportChart[] = []
  const modes = present(doc)
  const gbits = doc.config.reportGbits
  for (const op of opsOf(doc, 'bw')) {
    const series: Series[] = modes.map((m) => ({name: m, points: doc.modes[m]!.bw.filter((r) => r.op === op).map((r) => [r.bytes, r.bwAverage] as const)}))
    const sizes = series.flatMap((s) => s.points.map((p) => p[0]))
    if (doc.wireLimit && sizes.length) {
      const wire = gbits ? doc.wireLimit.throughput.gbitsPerSec : doc.wireLimit.throughput.mbPerSec
      series.push({name: 'wire limit', color: '#888888', points: [[Math.min(...sizes), wire], [Math.max(...sizes), wire]]})
    }
    const title = `Throughput vs message size (${op})`
    charts.push({id: `chart-bw-${op}`, title, svg: lineChart({id: `chart-bw-${op}`, title, xLabel: 'message size [bytes, log2]', yLabel: `BW average [${gbits ? 'Gb/sec' : 'MB/sec'}]`, xScale: 'log2', series})})
  }
  for (const op of opsOf(doc, 'lat')) {
    const title = `Latency vs message size (${op}, t_typical)`
    const series = modes.map((m) => ({name: m, points: doc.modes[m]!.lat.filter((r) => r.op === op).map((r) => [r.bytes, r.tTypical] as const)}))
    charts.push({id: `chart-lat-${op}`, title, svg: lineChart({id: `chart-lat-${op}`, title, xLabel: 'message size [bytes, log2]', yLabel: 'latency [usec]', xScale: 'log2', series})})
    // The CDF of the smallest size that has one in every mode, perftest's default latency size first.
    const withCdf = modes.flatMap((m) => doc.modes[m]!.lat.filter((r) => r.op === op && r.cdf?.length).map((r) => ({m, r})))
    if (withCdf.length) {
      const bytes = Math.min(...withCdf.map((x) => x.r.bytes))
      const cdfTitle = `Latency CDF (${op}, ${formatSize(bytes)})`
      const cdfSeries = withCdf.filter((x) => x.r.bytes === bytes).map(({m, r}) => ({name: m, points: r.cdf!.map((p) => [p.value, p.fraction] as const)}))
      charts.push({id: `chart-cdf-${op}`, title: cdfTitle, svg: lineChart({id: `chart-cdf-${op}`, title: cdfTitle, xLabel: 'latency [usec, log10]', yLabel: 'fraction of samples', xScale: 'log10', step: true, series: cdfSeries})})
    }
  }
  const conn = connTable(doc.modes)
  if (conn.length) {
    const title = 'Connection setup per mode'
    charts.push({
      id: 'chart-conn', title,
      svg: barChart({id: 'chart-conn', title, yLabel: 'setup time [usec]', categories: conn.map((r) => r.mode), series: [
        {name: 'median', color: '#0072B2', values: conn.map((r) => r.medianUs)},
        {name: 'p99', color: '#E69F00', values: conn.map((r) => r.p99Us)},
      ]}),
    })
  }
  const verbs = verbTable(doc.modes)
  if (verbs.length) {
    const title = 'Control-verb latency per mode (median)'
    const vModes = modes.filter((m) => verbs.some((v) => v.medianUs[m] !== undefined))
    charts.push({
      id: 'chart-verbs', title, wide: true,
      svg: barChart({id: 'chart-verbs', title, yLabel: 'latency [usec]', width: 1250, categories: verbs.map((v) => v.verb), series: vModes.map((m) => ({name: m, values: verbs.map((v) => v.medianUs[m])}))}),
    })
  }
  return charts
}

function htmlTable(headers: readonly string[], rows: ReadonlyArray<ReadonlyArray<string>>, numericFrom = 1): string {
  const th = headers.map((h) => `<th>${escapeXml(h)}</th>`).join('')
  const tr = rows.map((r) => `<tr>${r.map((c, i) => `<td${i >= numericFrom ? ' class="n"' : ''}>${escapeXml(c)}</td>`).join('')}</tr>`).join('\n')
  return `<table><thead><tr>${th}</tr></thead><tbody>\n${tr}\n</tbody></table>`
}

const ratio = (v: number | null) => (v === null ? '-' : v.toFixed(3))

/** The comparison as one row per op/size/metric, one column per mode with value and ratios. */
function comparisonTable(doc: ResultsDoc): string {
  const modes = present(doc)
  const keys = [...new Set(doc.ratios.map((r) => `${r.metric}|${r.op}|${r.bytes}`))]
  const rows = keys.map((k) => {
    const [metric, op, bytes] = k.split('|') as [string, string, string]
    const cells = modes.map((m) => {
      const r = doc.ratios.find((x) => x.mode === m && x.metric === metric && x.op === op && String(x.bytes) === bytes)
      return r ? `${fmt(r.value)} (${ratio(r.vsBare)} / ${ratio(r.vsSriov)})` : '-'
    })
    return [metric === 'bw_average' ? 'BW average' : 't_typical', op, bytes, ...cells]
  })
  return htmlTable(['metric', 'op', '#bytes', ...modes.map((m) => `${m} (÷bare / ÷sriov)`)], rows, 2)
}

const CSS = `
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;color:#1d1d1d;margin:0;background:#fafafa}
main{max-width:1240px;margin:0 auto;padding:12px}
h1{font-size:24px;margin:8px 0}h2{font-size:18px;margin:24px 0 8px;border-bottom:1px solid #ddd;padding-bottom:4px}
.meta{display:grid;grid-template-columns:repeat(2,1fr);gap:4px 24px;font-size:13px}
.meta div{overflow-wrap:anywhere}.meta div span{color:#666}
.charts{display:grid;grid-template-columns:repeat(2,minmax(0,1fr));gap:10px}
.charts figure{margin:0;background:#fff;border:1px solid #ddd}
.charts figure.wide{grid-column:1 / span 2}
.charts svg{display:block;width:100%;height:auto}
table{border-collapse:collapse;background:#fff;font-size:12px;margin:4px 0 12px}
th,td{border:1px solid #ddd;padding:3px 8px;text-align:left}th{background:#f0f0f0}td.n{text-align:right;font-variant-numeric:tabular-nums}
pre{background:#fff;border:1px solid #ddd;padding:8px;overflow-x:auto;font-size:12px;tab-size:8}
summary{cursor:pointer;font-weight:600;margin:6px 0}
.swatch{display:inline-block;width:10px;height:10px;margin-right:4px}
`

/** The whole page. */
export function renderReport(doc: ResultsDoc): string {
  const charts = reportCharts(doc)
  const e = escapeXml
  const env = doc.env
  const c = doc.config
  const meta: Array<[string, string]> = [
    ['created', doc.createdAt], ['CPU', `${env.cpuModel} (${env.cores} cores)`], ['node', env.node], ['platform', `${env.platform}, kernel ${env.kernel}`],
    ['topology sha256', env.topologyHash || '-'], ['modes', c.modes.join(', ')], ['ops', c.ops.join(', ')], ['test', c.test],
    ['sizes', c.sizes.length > 3 ? `${formatSize(c.sizes[0]!)} .. ${formatSize(c.sizes.at(-1)!)} (${c.sizes.length})` : c.sizes.map(formatSize).join(', ')],
    ['iterations', c.durationSeconds ? `-D ${c.durationSeconds}s` : String(c.iterations ?? '-')], ['qps / connection', `${c.qps} / ${c.connection}`], ['runs', String(c.runs)],
  ]
  let h = `<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">`
  h += `<title>masq bench report ${e(doc.createdAt)}</title><style>${CSS}</style></head><body><main>\n`
  h += `<h1>masq bench report</h1>\n<div class="meta">${meta.map(([k, v]) => `<div><span>${e(k)}:</span> ${e(v)}</div>`).join('')}</div>\n`
  h += `<p>${present(doc).map((m) => `<span class="swatch" style="background:${MODE_COLORS[m]}"></span>${e(m)}`).join(' &nbsp; ')}</p>\n`
  if (doc.wireLimit) {
    const w = doc.wireLimit
    h += `<h2 id="wire">Wire limit (this machine, this run)</h2>\n`
    h += htmlTable(['measure', 'value'], [
      ['unix socket stream, 64 KiB writes', `${fmt(w.throughput.mbPerSec)} MB/sec (${fmt(w.throughput.gbitsPerSec)} Gb/sec)`],
      [`unix socket ping-pong ${w.pingPong.messageBytes} B, RTT median / p99`, `${fmt(w.pingPong.rttUs.median)} / ${fmt(w.pingPong.rttUs.p99)} usec`],
      ['half-RTT median / p99', `${fmt(w.pingPong.halfRttUs.median)} / ${fmt(w.pingPong.halfRttUs.p99)} usec`],
    ])
  }
  h += `<h2 id="charts">Charts</h2>\n<div class="charts">\n`
  for (const ch of charts) h += `<figure${ch.wide ? ' class="wide"' : ''} id="fig-${e(ch.id)}">${ch.svg}</figure>\n`
  h += `</div>\n`
  if (doc.ratios.length) h += `<h2 id="comparison">Comparison: value (ratio to bare / ratio to sriov)</h2>\n${comparisonTable(doc)}\n`
  const conn = connTable(doc.modes)
  if (conn.length) {
    h += `<h2 id="conn">Connection setup</h2>\n`
    h += htmlTable(['mode', 'median [usec]', 'p99 [usec]', 'conns/sec', 'median ÷ sriov'], conn.map((r) => [r.mode, fmt(r.medianUs), fmt(r.p99Us), fmt(r.connsPerSec, 1), ratio(r.vsSriov)]))
  }
  const verbs = verbTable(doc.modes)
  if (verbs.length) {
    const vModes = present(doc).filter((m) => verbs.some((v) => v.medianUs[m] !== undefined))
    h += `<h2 id="verbs">Control-verb latency (median usec)</h2>\n`
    h += htmlTable(['verb', ...vModes, 'masq − sriov'], CONTROL_VERBS.flatMap((verb) => {
      const r = verbs.find((v) => v.verb === verb)
      return r ? [[verb, ...vModes.map((m) => fmt(r.medianUs[m])), fmt(r.masqOverSriovUs)]] : []
    }))
  }
  if (doc.modes.masq && doc.modes.sriov) {
    h += `<h2 id="shape">The paper's shape, this run</h2>\n`
    h += htmlTable(['claim', 'value', 'target', 'verdict'], paperShape(doc).map((c) => [c.claim, c.value === null ? '-' : c.value.toFixed(3), c.target, c.pass === null ? 'n/a' : c.pass ? 'PASS' : 'FAIL']))
  }
  const transcripts = present(doc).filter((m) => doc.modes[m]!.transcript)
  if (transcripts.length) {
    h += `<h2 id="perftest">perftest output per mode</h2>\n`
    for (const m of transcripts) h += `<details><summary>${e(m)}</summary><pre>${e(doc.modes[m]!.transcript!)}</pre></details>\n`
  }
  return h + '</main></body></html>\n'
}
