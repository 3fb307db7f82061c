// The demo's pure parts: counting a capture per sender, the REJ reasons it names, the pairs it picks from a plan,
// the bench lines, the summary and the out dir name.
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {afterAll, describe, expect, it} from 'vitest'
import {summarizeCaptures} from '../../../src/demo/capture-summary.js'
import {rejText, tenantPairs} from '../../../src/demo/lab-steps.js'
import {defaultOutDir, demoPlan} from '../../../src/demo/run.js'
import {benchLines} from '../../../src/demo/side-steps.js'
import {formatSummary} from '../../../src/demo/summary.js'
import type {DemoDoc} from '../../../src/demo/types.js'
import type {ResultsDoc} from '../../../src/bench/results.js'
import {PcapWriter} from '../../../src/wire/pcap.js'

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'masq-unit-demo-'))
afterAll(() => fs.rmSync(tmp, {recursive: true, force: true}))

/** Ethernet | IPv4 (TOS = dscp << 2) | UDP 4791 | BTH (opcode) | DETH | MAD header (class, attribute id) */
function frame(src: string, dst: string, o: {dscp: number; opcode: number; mad?: {mgmtClass: number; attr: number}}): Uint8Array {
  const b = new Uint8Array(42 + 12 + 8 + 24 + 4)
  b[12] = 0x08
  b[13] = 0x00
  b[14] = 0x45
  b[15] = o.dscp << 2
  b.set(src.split('.').map(Number), 26)
  b.set(dst.split('.').map(Number), 30)
  b[36] = 0x12
  b[37] = 0xb7 // UDP dst 4791
  b[42] = o.opcode
  if (o.mad) {
    const m = 42 + 12 + 8
    b[m] = 1
    b[m + 1] = o.mad.mgmtClass
    b[m + 16] = o.mad.attr >> 8
    b[m + 17] = o.mad.attr & 255
  }
  return b
}

function pcap(name: string, frames: Uint8Array[]): string {
  const file = path.join(tmp, name)
  const w = new PcapWriter(file)
  frames.forEach((f, i) => w.writeAt(1, i, f))
  w.close()
  return file
}

describe('summarizeCaptures', () => {
  const H1 = '192.168.0.1'
  const H2 = '192.168.0.2'
  const hosts = new Set([H1, H2])

  it('counts each frame once, at its sender: data frames, CM MADs by type, DSCP classes', () => {
    const req = frame(H1, H2, {dscp: 48, opcode: 0x64, mad: {mgmtClass: 0x07, attr: 0x10}})
    const rep = frame(H2, H1, {dscp: 48, opcode: 0x64, mad: {mgmtClass: 0x07, attr: 0x13}})
    const data = frame(H1, H2, {dscp: 26, opcode: 0x04})
    const ack = frame(H2, H1, {dscp: 26, opcode: 0x11})
    // each host's file holds what it sent and what it received
    const f1 = pcap('h1.pcap', [req, rep, data, ack])
    const f2 = pcap('h2.pcap', [req, rep, data, ack])
    const s = summarizeCaptures([{file: f1, hostIp: H1}, {file: f2, hostIp: H2}], hosts)
    expect(s).toEqual({frames: 4, data: 2, cm: {REQ: 1, REP: 1}, dscp: {26: 2, 48: 2}, foreign: []})
  })

  it('reports addresses in IP headers that are not hosts\' and skips what is not IPv4 or not a capture', () => {
    const leak = frame(H1, '10.0.0.2', {dscp: 26, opcode: 0x04})
    const arp = frame(H1, H2, {dscp: 0, opcode: 0})
    arp[12] = 0x08
    arp[13] = 0x06
    const f = pcap('leak.pcap', [leak, arp, new Uint8Array(20)])
    const junk = path.join(tmp, 'junk.pcap')
    fs.writeFileSync(junk, 'not a pcap')
    const s = summarizeCaptures([{file: f, hostIp: H1}, {file: junk, hostIp: H2}], hosts)
    expect(s.frames).toBe(1)
    expect(s.foreign).toEqual(['10.0.0.2'])
  })
})

describe('the demo lab', () => {
  it('is the default topology named demo with capture on; one pair per tenant across hosts', () => {
    const plan = demoPlan()
    expect(plan.name).toBe('demo')
    expect(plan.fabric.capture).toBe(true)
    expect(tenantPairs(plan)).toEqual([
      {tenant: 'blue', client: 'blue1', server: 'blue2', clientHost: 'host1', serverHost: 'host2', serverIp: '10.0.0.2'},
      {tenant: 'red', client: 'red1', server: 'red2', clientHost: 'host1', serverHost: 'host2', serverIp: '10.0.0.2'},
    ])
  })

  it('names the IB CM reject reasons it shows', () => {
    expect(rejText(8)).toBe('REJECTED, reason 8 (IB_CM_REJ_INVALID_SERVICE_ID: nobody listens at that address and port in this VPC)')
    expect(rejText(12)).toMatch(/^REJECTED, reason 12 \(IB_CM_REJ_PRIMARY_REMOTE_GID_REJECTED: a security group/)
    expect(rejText(99)).toMatch(/reason 99 \(unknown/)
  })

  it('out dir: ./masq-demo-<local timestamp>, a suffix when it exists', () => {
    const at = new Date(2026, 10, 26, 9, 5, 7)
    const first = defaultOutDir(at, tmp)
    expect(first).toBe(path.join(tmp, 'masq-demo-20261126-090507'))
    fs.mkdirSync(first)
    expect(defaultOutDir(at, tmp)).toBe(path.join(tmp, 'masq-demo-20261126-090507-2'))
  })
})

describe('benchLines', () => {
  it('reads throughput, latency, connection setup and control verbs with masq/sriov ratios', () => {
    const row = (metric: 'bw_average' | 'lat_typical', mode: 'sriov' | 'masq' | 'freeflow', bytes: number, value: number, vsSriov: number | null) =>
      ({op: 'write' as const, bytes, metric, mode, value, vsBare: null, vsSriov})
    const doc = {
      ratios: [row('bw_average', 'sriov', 65536, 100, 1), row('bw_average', 'masq', 65536, 98, 0.98), row('bw_average', 'freeflow', 65536, 0.0123, 0.000123),
        row('lat_typical', 'sriov', 2, 10, 1), row('lat_typical', 'masq', 2, 10.5, 1.05)],
      modes: {
        sriov: {bw: [], lat: [], conn: {count: 1, medianUs: 1000, p99Us: 1, meanUs: 1, connsPerSec: 1}, verbs: {create_qp: {count: 1, medianUs: 60, p99Us: 1, meanUs: 1}}},
        masq: {bw: [], lat: [], conn: {count: 1, medianUs: 1110, p99Us: 1, meanUs: 1, connsPerSec: 1}, verbs: {create_qp: {count: 1, medianUs: 90, p99Us: 1, meanUs: 1}}},
      },
    } as unknown as ResultsDoc
    const lines = benchLines(doc)
    expect(lines[0]).toBe('  throughput 65536 B: sriov 100 MB/s, masq 98.0 MB/s, freeflow 0.0123 MB/s (masq/sriov 0.98)')
    expect(lines[1]).toBe('  latency        2 B: sriov 10.0 us, masq 10.5 us (masq/sriov 1.05)')
    expect(lines[2]).toBe('  connection setup (median): sriov 1000 us, masq 1110 us — masq pays 11% for its checks (the paper: +11%)')
    expect(lines[3]).toMatch(/create_qp 90 us in masq vs 60 us in sriov/)
  })
})

describe('formatSummary', () => {
  const doc = (over: Partial<DemoDoc>): DemoDoc => ({
    version: 1, ok: true, quick: true, lab: {name: 'demo', labDir: '/o/lab', kept: false}, outDir: '/o', durationMs: 12_345,
    steps: [{id: 'up', title: 'Start the lab', ok: true, ms: 1, lines: []}, {id: 'down', title: 'Tear down', ok: true, ms: 1, lines: []}],
    files: ['capture.pcap', 'lab/', 'report.html'], ...over,
  })

  it('one line per step and every file with what it is', () => {
    const s = formatSummary(doc({}))
    expect(s).toContain('summary: every step passed in 12.3 s')
    expect(s).toMatch(/^ {2}ok {6}Start the lab$/m)
    expect(s).toMatch(/^ {2}capture\.pcap {2}the demo lab's RoCEv2 and CM traffic/m)
    expect(s).toMatch(/^ {2}lab\/ {10}the demo lab's plan/m)
  })

  it('failures are counted and named; a kept lab says how to stop it', () => {
    const s = formatSummary(doc({
      ok: false, lab: {name: 'demo', labDir: '/o/lab', kept: true, stop: 'masq down demo'},
      steps: [{id: 'traffic', title: 'Verified traffic in each VPC', ok: false, ms: 1, lines: [], error: 'boom'},
        {id: 'down', title: 'Tear down', ok: true, skipped: true, ms: 0, lines: [], error: 'kept (--keep)'}],
    }))
    expect(s).toContain('summary: 1 step(s) failed')
    expect(s).toContain('FAILED  Verified traffic in each VPC: boom')
    expect(s).toMatch(/^ {2}kept {4}Tear down$/m)
    expect(s).toContain('the lab demo is still running; stop it with: masq down demo')
  })
})
