// Topology errors: every problem found in a topology file, with its position and JSON path.
// Printed as `file:line:col: message (at json.path)` plus an optional `  hint: ...` line (gcc/tsc-style,
// so editors and CI annotators can jump to it).

export type Segment = string | number
export type JsonPath = readonly Segment[]

export interface TopologyError {
  file: string
  line: number // 1-based
  col: number // 1-based
  path: string // JSON path, e.g. $.vms[2].ip
  message: string
  hint?: string
}

const IDENT = /^[A-Za-z_$][A-Za-z0-9_$]*$/

/** ['vms', 2, 'ip'] -> "$.vms[2].ip"; keys that are not identifiers are quoted: $.fabric.dscpPriority["64"] */
export function formatPath(path: JsonPath): string {
  let s = '$'
  for (const seg of path) {
    if (typeof seg === 'number') s += `[${seg}]`
    else if (IDENT.test(seg)) s += `.${seg}`
    else s += `[${JSON.stringify(seg)}]`
  }
  return s
}

export function formatError(e: TopologyError): string {
  const head = `${e.file}:${e.line}:${e.col}: ${e.message} (at ${e.path})`
  return e.hint ? `${head}\n  hint: ${e.hint}` : head
}

export function formatErrors(errors: readonly TopologyError[]): string {
  return errors.map(formatError).join('\n')
}

/** stable order: by position, then path, then message */
export function sortErrors(errors: TopologyError[]): TopologyError[] {
  return errors.sort((a, b) => a.line - b.line || a.col - b.col || a.path.localeCompare(b.path) || a.message.localeCompare(b.message))
}

/** Levenshtein distance (for did-you-mean hints). */
export function levenshtein(a: string, b: string): number {
  const prev = Array.from({length: b.length + 1}, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]
    prev[0] = i
    for (let j = 1; j <= b.length; j++) {
      const tmp = prev[j]
      prev[j] = Math.min(prev[j] + 1, prev[j - 1] + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1))
      diag = tmp
    }
  }
  return prev[b.length]
}

/** The closest candidate within a distance that grows with the word (case-insensitive), if any. */
export function didYouMean(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined
  let bestD = Infinity
  const w = word.toLowerCase()
  for (const c of candidates) {
    const d = levenshtein(w, c.toLowerCase())
    if (d < bestD) {
      bestD = d
      best = c
    }
  }
  const limit = Math.max(1, Math.floor(word.length / 3))
  return best !== undefined && bestD <= limit ? best : undefined
}
