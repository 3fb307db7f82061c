// YAML -> plain data plus a map from JSON path to source position.
// YAML syntax errors come back as positioned TopologyErrors; nothing here throws on bad input.
import {isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, type Node} from 'yaml'
import {formatPath, type JsonPath, type Segment, type TopologyError} from './errors.js'

export interface Pos {line: number; col: number}
interface Entry {key?: Pos; value: Pos}

export interface ParsedTopology {
  file: string
  data: unknown
  errors: TopologyError[] // YAML syntax errors (data is unusable if any)
  /** Position of a path: the value (default) or its key; falls back to the nearest ancestor that exists. */
  locate(path: JsonPath, at?: 'key' | 'value'): Pos
}

export function parseTopologyText(text: string, file: string): ParsedTopology {
  const lc = new LineCounter()
  const doc = parseDocument(text, {lineCounter: lc, prettyErrors: false, uniqueKeys: true})
  const pos = (offset: number): Pos => lc.linePos(offset)
  const errors: TopologyError[] = doc.errors.map((e) => {
    const p = pos(e.pos[0])
    return {file, line: p.line, col: p.col, path: '$', message: `YAML syntax error: ${e.message}`, hint: yamlHint(e.code)}
  })
  const entries = new Map<string, Entry>()
  const walk = (node: unknown, path: Segment[]): void => {
    if (isMap(node)) {
      for (const item of node.items) {
        if (!isPair(item)) continue
        const k = isScalar(item.key) ? String(item.key.value) : undefined
        if (k === undefined) continue
        const child = [...path, k]
        const keyNode = item.key as Node
        const valueNode = item.value as Node | null
        const keyPos = keyNode.range ? pos(keyNode.range[0]) : undefined
        // `key:` with no value: the null scalar sits after the colon; report at the key instead
        const valuePos = valueNode?.range && !(isScalar(valueNode) && valueNode.value === null && valueNode.range[0] === valueNode.range[1])
          ? pos(valueNode.range[0]) : keyPos
        if (keyPos && valuePos) entries.set(formatPath(child), {key: keyPos, value: valuePos})
        walk(valueNode, child)
      }
    } else if (isSeq(node)) {
      node.items.forEach((item, i) => {
        const n = item as Node
        if (n?.range) entries.set(formatPath([...path, i]), {value: pos(n.range[0])})
        walk(n, [...path, i])
      })
    }
  }
  const root = doc.contents as Node | null
  entries.set('$', {value: root?.range ? pos(root.range[0]) : {line: 1, col: 1}})
  if (errors.length === 0) walk(root, [])

  let data: unknown = null
  if (errors.length === 0) {
    try {
      data = doc.toJS({maxAliasCount: 100})
    } catch (error) {
      // alias bombs and similar: report, never crash
      errors.push({file, line: 1, col: 1, path: '$', message: `YAML error: ${(error as Error).message}`})
    }
  }

  return {
    file,
    data,
    errors,
    locate(path, at = 'value') {
      for (let n = path.length; n >= 0; n--) {
        const e = entries.get(formatPath(path.slice(0, n)))
        if (e) return (n === path.length && at === 'key' && e.key) || e.value
      }
      return {line: 1, col: 1}
    },
  }
}



function yamlHint(code: string): string | undefined {
  switch (code) {
    case 'DUPLICATE_KEY': return 'each key may appear only once in a mapping'
    case 'BAD_INDENT':
    case 'MISSING_CHAR': return 'check the indentation and the closing bracket or quote'
    case 'TAB_AS_INDENT': return 'YAML indentation must use spaces, not tabs'
    case 'MULTILINE_IMPLICIT_KEY':
    case 'BLOCK_AS_IMPLICIT_KEY': return 'a key on this line is indented differently from its siblings, or a ":" is missing'
    default: return undefined
  }
}
