import {mkdtemp, readFile, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {collectMode} from '../../../src/bench/collect.js'
import {writeBenchOutput} from '../../../src/bench/output.js'
import {latReport, parsePerftest} from '../../../src/bench/perftest.js'
import {parseResults} from '../../../src/bench/results.js'
import {syntheticDoc} from './fixtures/synthetic.js'

const stamps = (n: number, periodNs: number) => ({
  tposted: Float64Array.from({length: n}, (_, i) => i * periodNs),
  tcompleted: Float64Array.from({length: n}, (_, i) => (i + 1) * periodNs),
})

describe('collectMode', () => {
  it('turns raw stamps into perftest rows and a transcript that parses back', () => {
    const rtt = Array.from({length: 120}, (_, i) => (i < 20 ? 500_000 : 20_000 + (i % 7) * 100))
    const m = collectMode({
      bw: [{op: 'write', size: 65536, ...stamps(1000, 30_000)}, {op: 'write', size: 2, ...stamps(1000, 4_000)}, {op: 'send', size: 65536, iters: 40_000, elapsedNs: 1e9}],
      lat: [{op: 'write', size: 2, samplesNs: rtt}, {op: 'read', size: 2, iters: 1000, elapsedNs: 50e6}],
      conn: {samplesNs: [1e6, 2e6, 3e6], elapsedNs: 6e6},
      verbs: {reg_mr: [30_000, 40_000], create_qp: [50_000]},
      info: {device: 'rxe0', mtu: 4096},
    }, {warmupSamples: 20})
    expect(m.bw.map((r) => [r.op, r.bytes])).toEqual([['write', 65536], ['write', 2], ['send', 65536]])
    expect(m.bw[2]!.bwPeak).toBe(0)
    // warm-up (the 20 slow samples) excluded
    expect(m.lat).toHaveLength(1)
    expect(m.lat[0]!.tMax).toBeLessThan(11)
    const {cdf: _cdf, op: _op, ...row} = m.lat[0]!
    expect(row).toEqual(latReport(rtt.slice(20), {size: 2, verb: 'write'}))
    expect(m.lat[0]!.cdf!.at(-1)!.fraction).toBe(1)
    expect(m.conn!.connsPerSec).toBe(500)
    expect(Object.keys(m.verbs!)).toEqual(['reg_mr', 'create_qp'])
    const p = parsePerftest(m.transcript!)
    expect(p.errors).toEqual([])
    expect(p.titles).toEqual(['RDMA_Write BW Test', 'Send BW Test', 'RDMA_Write Latency Test', 'RDMA_Read Latency Test'])
    expect(p.tables.map((t) => t.kind)).toEqual(['bw', 'bw', 'lat', 'latDuration'])
    expect(p.tables[0]!.rows).toHaveLength(2)
    expect(p.info['Mtu']).toBe('4096[B]')
    expect(m.transcript!.match(/WARNING: BW peak won't be measured/g)).toHaveLength(1)
    expect(m.transcript!.indexOf('WARNING')).toBeGreaterThan(m.transcript!.indexOf('RDMA_Write BW Test'))
  })
})

describe('writeBenchOutput', () => {
  it('writes results.json that parses back and report.html', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'masq-out-'))
    try {
      const doc = syntheticDoc()
      const paths = await writeBenchOutput(join(dir, 'nested', 'out'), doc)
      expect(parseResults(await readFile(paths.results, 'utf8'))).toEqual(JSON.parse(JSON.stringify(doc)))
      expect(await readFile(paths.report, 'utf8')).toMatch(/^<!DOCTYPE html>/)
    } finally {
      await rm(dir, {recursive: true, force: true})
    }
  })
})
