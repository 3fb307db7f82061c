// The closing summary of `masq demo` (stdout): one line per step, then the out dir's files and what they are.
import type {DemoDoc} from './types.js'

const FILE_NOTES: Record<string, string> = {
  'report.html': 'the bench report: charts of throughput, latency, connection setup (open in a browser)',
  'results.json': 'every bench figure (versioned; `masq bench compare` reads two of them)',
  'capture.pcap': 'the demo lab\'s RoCEv2 and CM traffic (tshark -r, or Wireshark)',
  'attacks.json': 'the attack suite\'s verdicts with their evidence',
  'demo.json': 'this summary as one JSON document (`masq demo --json` prints it)',
  'lab/': 'the demo lab\'s plan, logs per process, per-host captures and audit log',
}

export function formatSummary(doc: DemoDoc): string {
  const lines = ['', `summary: ${doc.ok ? 'every step passed' : `${doc.steps.filter((s) => !s.ok && !(s.id === 'down' && doc.lab.kept)).length} step(s) failed`} in ${(doc.durationMs / 1000).toFixed(1)} s`]
  for (const s of doc.steps) {
    const status = s.id === 'down' && doc.lab.kept ? 'kept' : s.skipped ? 'skipped' : s.ok ? 'ok' : 'FAILED'
    lines.push(`  ${status.padEnd(7)} ${s.title}${s.error && !s.ok ? `: ${s.error}` : ''}`)
  }
  lines.push(`files in ${doc.outDir}:`)
  const w = Math.max(...doc.files.map((f) => f.length))
  for (const f of doc.files) lines.push(`  ${f.padEnd(w)}  ${FILE_NOTES[f] ?? ''}`.trimEnd())
  if (doc.lab.kept) lines.push(`the lab ${doc.lab.name} is still running; stop it with: ${doc.lab.stop}`)
  return lines.join('\n')
}
