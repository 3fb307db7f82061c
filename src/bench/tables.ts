// Plain-text tables that `masq bench` prints after the perftest tables: the comparison to bare and sriov,
// connection setup, control-verb latency, and the wire limit. Data in, aligned text out.
import {connTable, MODES, verbTable, type ResultsDoc} from './results.js'
import {formatShape, paperShape} from './shape.js'
import {formatWireLimit} from './wire-limit.js'

/** Columns padded to their widest cell; numbers right-aligned, text left-aligned. */
export function textTable(headers: readonly string[], rows: ReadonlyArray<ReadonlyArray<string>>): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)))
  const numeric = headers.map((_, i) => rows.length > 0 && rows.every((r) => /^[-+]?[\d.]+(e[-+]?\d+)?[x%]?$|^-$/.test(r[i] ?? '')))
  const line = (cells: ReadonlyArray<string>, isHead: boolean) =>
    ' ' + cells.map((c, i) => (numeric[i] && !isHead ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ').trimEnd()
  return [line(headers, true), ...rows.map((r) => line(r, false))].join('\n') + '\n'
}

export const fmt = (v: number | null | undefined, digits = 2): string => (v === null || v === undefined || !Number.isFinite(v) ? '-' : v.toFixed(digits))
const ratio = (v: number | null) => (v === null ? '-' : `${v.toFixed(3)}x`)

/** Every mode's BW average / typical latency next to its ratio to bare and to sriov. */
export function formatComparison(doc: Pick<ResultsDoc, 'ratios' | 'config'>): string {
  const unit = doc.config.reportGbits ? 'Gb/sec' : 'MB/sec'
  const rows = doc.ratios.map((r) => [
    r.metric === 'bw_average' ? `BW average[${unit}]` : 't_typical[usec]',
    r.op, String(r.bytes), r.mode, fmt(r.value), ratio(r.vsBare), ratio(r.vsSriov),
  ])
  return textTable(['metric', 'op', '#bytes', 'mode', 'value', 'vs bare', 'vs sriov'], rows)
}

export function formatConnTable(doc: Pick<ResultsDoc, 'modes'>): string {
  const rows = connTable(doc.modes).map((r) => [r.mode, fmt(r.medianUs), fmt(r.p99Us), fmt(r.connsPerSec, 1), ratio(r.vsSriov)])
  return textTable(['mode', 'setup median[usec]', 'setup p99[usec]', 'conns/sec', 'vs sriov'], rows)
}

export function formatVerbTable(doc: Pick<ResultsDoc, 'modes'>): string {
  const modes = MODES.filter((m) => doc.modes[m]?.verbs)
  const rows = verbTable(doc.modes).map((r) => [r.verb, ...modes.map((m) => fmt(r.medianUs[m])), fmt(r.masqOverSriovUs)])
  return textTable(['verb [median usec]', ...modes, 'masq - sriov'], rows)
}

/** The whole text report after the per-mode perftest transcripts. */
export function formatSummary(doc: ResultsDoc): string {
  let s = ''
  if (doc.wireLimit) s += formatWireLimit(doc.wireLimit) + '\n'
  if (doc.ratios.length) s += 'comparison (each mode / bare, / sriov)\n' + formatComparison(doc) + '\n'
  if (MODES.some((m) => doc.modes[m]?.conn)) s += 'connection setup\n' + formatConnTable(doc) + '\n'
  if (MODES.some((m) => doc.modes[m]?.verbs)) s += 'control-verb latency\n' + formatVerbTable(doc) + '\n'
  if (doc.modes.masq && doc.modes.sriov) s += 'the paper\'s shape, this run\n' + formatShape(paperShape(doc))
  return s
}

/** Everything `masq bench` prints on stdout: each mode's perftest transcript, then the summary. */
export function formatBench(doc: ResultsDoc): string {
  let s = ''
  for (const mode of MODES) {
    const t = doc.modes[mode]?.transcript
    if (t) s += `=== mode ${mode}\n${t}\n`
  }
  return s + formatSummary(doc)
}
