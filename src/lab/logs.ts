// Per-process logs of a lab (logs/<node>.log), each line prefixed by its node name.
import fs from 'node:fs'
import path from 'node:path'
import {sleep} from './proc.js'
import {labPaths} from './state.js'

export function logNodes(labDir: string): string[] {
  try {
    return fs
      .readdirSync(labPaths(labDir).logs)
      .filter((f) => f.endsWith('.log'))
      .map((f) => f.slice(0, -4))
      .sort((a, b) => (a === 'controller' ? -1 : b === 'controller' ? 1 : a.localeCompare(b, undefined, {numeric: true})))
  } catch {
    return []
  }
}

export function readLogLines(labDir: string, nodes: string[]): Array<{node: string; line: string}> {
  const out: Array<{node: string; line: string}> = []
  for (const node of nodes) {
    let text = ''
    try {
      text = fs.readFileSync(labPaths(labDir).log(node), 'utf8')
    } catch {}
    for (const line of text.split('\n')) if (line) out.push({node, line})
  }
  return out
}

/** Print what is already there, then new lines as they are written, until the signal fires. */
export async function followLogs(labDir: string, nodes: string[], write: (node: string, line: string) => void, signal: AbortSignal): Promise<void> {
  const width = Math.max(...nodes.map((n) => n.length))
  const offsets = new Map<string, number>()
  const partial = new Map<string, string>()
  while (!signal.aborted) {
    for (const node of nodes) {
      const file = labPaths(labDir).log(node)
      let size = 0
      try {
        size = fs.statSync(file).size
      } catch {
        continue
      }
      const from = offsets.get(node) ?? 0
      if (size <= from) continue
      const fd = fs.openSync(file, 'r')
      const buf = Buffer.alloc(size - from)
      fs.readSync(fd, buf, 0, buf.length, from)
      fs.closeSync(fd)
      offsets.set(node, size)
      const lines = ((partial.get(node) ?? '') + buf.toString('utf8')).split('\n')
      partial.set(node, lines.pop() ?? '')
      for (const line of lines) write(node.padEnd(width), line)
    }
    await sleep(200)
  }
}

export const prefixLine = (node: string, width: number, line: string) => `${node.padEnd(width)} | ${line}`

export function logPath(labDir: string, node: string): string {
  return path.join(labPaths(labDir).logs, `${node}.log`)
}
