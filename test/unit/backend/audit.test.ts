import {appendFileSync, mkdtempSync, readFileSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterEach, describe, expect, it} from 'vitest'
import {AUDIT_KINDS, AuditLog, readAuditFile} from '../../../src/backend/audit.js'

const dirs: string[] = []
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'masq-audit-'))
  dirs.push(d)
  return d
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, {recursive: true, force: true})
})

describe('audit log', () => {
  it('appends one JSON line per denial, synchronously', () => {
    const file = join(tmp(), 'audit.jsonl')
    const log = new AuditLog({lab: 'demo', host: 'host1', file, clock: () => Date.UTC(2026, 10, 26, 12)})
    log.record({tenant: 'blue', vm: 'blue1'}, 'quota', {resource: 'qps', limit: 2, errno: 11})
    // visible in the file before close: no buffering
    expect(readFileSync(file, 'utf8')).toBe(
      '{"ts":"2026-11-26T12:00:00.000Z","lab":"demo","host":"host1","tenant":"blue","vm":"blue1","kind":"quota","detail":{"resource":"qps","limit":2,"errno":11}}\n',
    )
    log.record({tenant: 'red', vm: 'red1', host: 'host2'}, 'qkey', {qkey: 0x80010000})
    log.close()
    const back = readAuditFile(file)
    expect(back.bad).toBe(0)
    expect(back.entries.map((e) => [e.host, e.kind])).toEqual([['host1', 'quota'], ['host2', 'qkey']])
  })

  it('appends to an existing file and reads back past torn lines', () => {
    const file = join(tmp(), 'audit.jsonl')
    appendFileSync(file, '{"half": \nnot json\n{"ts":"x","tenant":"t","vm":"v","kind":"nope"}\n')
    const log = new AuditLog({lab: 'demo', file})
    log.record({tenant: 't', vm: 'v'}, 'handle', {handle: 7})
    log.close()
    expect(readAuditFile(file)).toMatchObject({bad: 3, entries: [{kind: 'handle', detail: {handle: 7}}]})
  })

  it('queries by tenant, vm, kind and time; the ring keeps the newest entries, counters keep all', () => {
    let now = 1000
    const log = new AuditLog({lab: 'l', capacity: 4, clock: () => now})
    const rows: [string, string, (typeof AUDIT_KINDS)[number]][] = [
      ['blue', 'b1', 'quota'], ['red', 'r1', 'quota'], ['blue', 'b2', 'rule'], ['blue', 'b1', 'handle'],
      ['red', 'r1', 'raw-qp'], ['blue', 'b1', 'quota'],
    ]
    for (const [tenant, vm, kind] of rows) {
      log.record({tenant, vm}, kind, {})
      now += 10
    }
    // ring of 4: the first two are gone (times 1000, 1010)
    expect(log.query().map((e) => e.kind)).toEqual(['rule', 'handle', 'raw-qp', 'quota'])
    expect(log.query({tenant: 'blue'}).map((e) => e.vm)).toEqual(['b2', 'b1', 'b1'])
    expect(log.query({tenant: 'blue', kind: 'quota'}).length).toBe(1)
    expect(log.query({vm: 'r1'}).map((e) => e.kind)).toEqual(['raw-qp'])
    expect(log.query({since: 1040}).map((e) => e.kind)).toEqual(['raw-qp', 'quota'])
    expect(log.query({since: new Date(1031)}).length).toBe(2)
    expect(log.query({limit: 1}).map((e) => e.kind)).toEqual(['quota'])
    expect(log.counters()).toMatchObject({quota: 3, rule: 1, handle: 1, 'raw-qp': 1, qkey: 0, 'injected-frame': 0})
    expect(Object.keys(log.counters())).toEqual([...AUDIT_KINDS])
  })
})
