// Runs tshark on a pcap and returns field values per frame. tshark is required (CI installs Debian's 4.0.17).
import {spawnSync} from 'node:child_process'

// rpcordma's heuristic misreads RDMA payloads as RPC-over-RDMA and flags them malformed (toolchain-probe.md §6).
export const TSHARK_BASE = ['--disable-protocol', 'rpcordma']

export function tshark(args: string[]): string {
  const r = spawnSync('tshark', [...TSHARK_BASE, ...args], {encoding: 'utf8', maxBuffer: 64 << 20})
  if (r.error) throw new Error(`tshark not runnable (${r.error.message}); install it: apt-get install -y tshark`)
  if (r.status !== 0) throw new Error(`tshark ${args.join(' ')} exited ${r.status}: ${r.stderr}`)
  return r.stdout
}

/** One row per frame: field name → value ('' when absent; first occurrence only). */
export function tsharkFields(file: string, fields: string[]): Array<Record<string, string>> {
  const out = tshark(['-r', file, '-T', 'fields', '-E', 'separator=/t', '-E', 'occurrence=f',
    ...fields.flatMap(f => ['-e', f])])
  return out.split('\n').filter(l => l.length > 0).map(line => {
    const cols = line.split('\t')
    return Object.fromEntries(fields.map((f, i) => [f, (cols[i] ?? '').trim()]))
  })
}

/** Normalises a tshark value for comparison with what we encoded. */
export function normalise(expected: number | bigint | string, actual: string): string {
  if (typeof expected === 'string') {
    const a = actual.toLowerCase()
    return /^[0-9a-f]*$/i.test(expected) ? a.replace(/:/g, '') : a // byte strings may print as aa:bb:…
  }
  if (actual === '') return ''
  if (/^\d+\.\d+\.\d+\.\d+$/.test(actual)) {
    return String(actual.split('.').reduce((v, o) => v * 256 + Number(o), 0))
  }
  if (actual === 'True' || actual === 'False') return actual === 'True' ? '1' : '0'
  return BigInt(actual).toString()
}
