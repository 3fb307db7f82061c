// Table-driven: every file in fixtures/broken/ lists the errors it must produce as trailing comments
//   # expect: <line>:<col> <json.path> | <message substring>
// in the order the loader reports them (sorted by position). The loader must report exactly these.
import {readdirSync, readFileSync} from 'node:fs'
import {fileURLToPath} from 'node:url'
import {describe, expect, it} from 'vitest'
import {formatError} from '../../../src/topology/errors.js'
import {loadTopology} from '../../../src/topology/load.js'

const dir = fileURLToPath(new URL('./fixtures/broken/', import.meta.url))
const files = readdirSync(dir).filter((f) => f.endsWith('.yaml')).sort()

interface Expected {line: number; col: number; path: string; message: string}
function expectations(text: string): Expected[] {
  return [...text.matchAll(/^# expect: (\d+):(\d+) (\S+) \| (.*)$/gm)].map((m) => ({
    line: Number(m[1]), col: Number(m[2]), path: m[3], message: m[4],
  }))
}

describe('broken topology fixtures', () => {
  it('there are at least 20 of them', () => {
    expect(files.length).toBeGreaterThanOrEqual(20)
  })

  it.each(files)('%s reports exactly its expected errors', async (name) => {
    const file = dir + name
    const want = expectations(readFileSync(file, 'utf8'))
    expect(want.length, 'fixture lists no expectations').toBeGreaterThan(0)
    const r = await loadTopology(file)
    expect(r.ok).toBe(false)
    const got = r.errors ?? []
    expect(got.map((e) => `${e.line}:${e.col} ${e.path}`)).toEqual(want.map((w) => `${w.line}:${w.col} ${w.path}`))
    got.forEach((e, i) => {
      expect(e.message).toContain(want[i].message)
      expect(e.file).toBe(file)
      expect(formatError(e).split('\n')[0]).toBe(`${file}:${e.line}:${e.col}: ${e.message} (at ${e.path})`)
    })
  })

  it('reports many errors of different kinds at once', async () => {
    const r = await loadTopology(dir + 'many-errors.yaml')
    expect(r.errors?.length).toBeGreaterThanOrEqual(10)
    const msgs = (r.errors ?? []).map((e) => e.message).join('\n')
    for (const kind of ['invalid name', 'invalid mtu', 'unknown key', 'duplicate VNI', 'unknown host', 'outside the CIDR', 'belongs to tenant']) {
      expect(msgs).toContain(kind)
    }
  })

  it('reports YAML syntax errors with their position and a hint', async () => {
    const r = await loadTopology(dir + 'yaml-syntax.yaml')
    expect(r.errors).toHaveLength(1)
    expect(r.errors![0]).toMatchObject({line: 3, col: 1, path: '$'})
    expect(r.errors![0].message).toMatch(/^YAML syntax error: /)
    expect(r.errors![0].hint).toBeTruthy()
  })

  it('hints: did-you-mean for unknown keys and enum values, the allowed list otherwise', async () => {
    const r = await loadTopology(dir + 'unknown-key.yaml')
    const byPath = new Map((r.errors ?? []).map((e) => [e.path, e]))
    expect(byPath.get('$.vms[0].ipp')?.hint).toMatch(/^did you mean "ip"\?/)
    expect(byPath.get('$.hosts[0].rnic.maxQps')?.hint).toMatch(/^did you mean "maxQp"\?/)
    expect(byPath.get('$.vms[0].colour')?.hint).toBe('allowed keys: name, tenant, host, ip, securityGroups, mode, memory')
    const e = await loadTopology(dir + 'bad-enum.yaml')
    expect(e.errors?.[0].hint).toBe('did you mean "masq"? (allowed: bare, sriov, hyv, masq, freeflow)')
  })

  it('a missing file is one error, not an exception', async () => {
    const r = await loadTopology(dir + 'does-not-exist.yaml')
    expect(r.errors).toEqual([{file: dir + 'does-not-exist.yaml', line: 1, col: 1, path: '$', message: 'cannot read topology: no such file'}])
  })
})
