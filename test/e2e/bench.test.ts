// `masq bench` end to end through the real CLI: short runs only (CI has 2 cores). The long `--test all -a` run is
// the benchmark script bench/bench-all.ts, not a test.
import fs from 'node:fs'
import path from 'node:path'
import {execa} from 'execa'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {parsePerftest} from '../../src/bench/perftest-parse.js'
import {reportCharts} from '../../src/bench/report.js'
import {readResults, validateResults} from '../../src/bench/results-schema.js'
import {DEFAULT_TOPOLOGY} from '../../src/topology/default.js'
import {ROOT, cli, ensureBuilt, eventually, processesMentioning, readJson, tempDir, type Cli} from '../integration/lab/helpers.js'

let dir: string
let masq: Cli

beforeAll(async () => {
  await ensureBuilt()
  dir = tempDir('bench')
  masq = cli(path.join(dir, 'data'))
}, 180_000)

afterAll(async () => {
  await masq.run(['down', '--all'])
  fs.rmSync(dir, {recursive: true, force: true})
})

describe('masq bench', () => {
  const out = () => path.join(dir, 'out-lat')

  it('--modes masq,sriov --test lat -s 2 -n 200: perftest tables for both modes, the ratio table, results.json, report.html', async () => {
    const r = await masq.run(['bench', '--modes', 'masq,sriov', '--test', 'lat', '-s', '2', '-n', '200', '--out', out()])
    expect(r.exitCode, r.stderr).toBe(0)
    const parsed = parsePerftest(r.stdout)
    expect(parsed.errors).toEqual([])
    expect(parsed.titles).toEqual(['RDMA_Write Latency Test', 'RDMA_Write Latency Test'])
    const lat = parsed.tables.filter((t) => t.kind === 'lat')
    expect(lat).toHaveLength(2)
    for (const t of lat) {
      expect(t.rows).toHaveLength(1)
      expect(t.rows[0]).toMatchObject({bytes: 2})
      expect(t.rows[0]!.tTypical).toBeGreaterThan(0)
    }
    // the comparison: each mode's typical latency and its ratio to sriov (sriov / sriov = 1)
    expect(r.stdout).toMatch(/comparison \(each mode \/ bare, \/ sriov\)/)
    expect(r.stdout).toMatch(/t_typical\[usec\]\s+write\s+2\s+sriov\s+[\d.]+\s+-\s+1\.000x/)
    expect(r.stdout).toMatch(/t_typical\[usec\]\s+write\s+2\s+masq\s+[\d.]+\s+-\s+[\d.]+x/)
    expect(r.stdout).toMatch(/wire limit: unix socket stream/)
    expect(r.stdout).toMatch(/(PASS|FAIL) {2}masq \/ sriov latency, write 2 B/)
    // progress on stderr: mode, size, ETA
    expect(r.stderr).toMatch(/\[bench 1\/2\] sriov lat write 2 B {2}ETA/)
    expect(r.stderr).toMatch(/\[bench 2\/2\] masq lat write 2 B {2}ETA/)

    const text = fs.readFileSync(path.join(out(), 'results.json'), 'utf8')
    const doc = readResults(text)
    expect(validateResults(JSON.parse(text))).toEqual([])
    expect(Object.keys(doc.modes).sort()).toEqual(['masq', 'sriov'])
    expect(doc.modes.masq!.lat[0]).toMatchObject({op: 'write', bytes: 2})
    expect(doc.env.topologyHash).toMatch(/^[0-9a-f]{64}$/)
    expect(doc.wireLimit?.throughput.mbPerSec).toBeGreaterThan(0)
    const html = fs.readFileSync(path.join(out(), 'report.html'), 'utf8')
    const charts = reportCharts(doc)
    expect(charts.length).toBeGreaterThan(0)
    for (const c of charts) expect(html).toContain(`id="fig-${c.id}"`)
    // every lab is down: no state, no socket dir, no process
    for (const mode of ['masq', 'sriov']) {
      const labDir = path.join(out(), 'labs', mode)
      expect(fs.existsSync(path.join(labDir, 'state.json'))).toBe(false)
      expect(fs.existsSync(path.join(labDir, 'topology.yaml'))).toBe(true)
    }
    expect(processesMentioning(out())).toEqual([])
  }, 180_000)

  it('--test all, every op, all five modes (-s 2 -n 20): every perftest table parses; conn and control-verb tables', async () => {
    const outAll = path.join(dir, 'out-all')
    const r = await masq.run(['bench', '--test', 'all', '--ops', 'send,write,read,atomic', '-s', '2', '-n', '20', '--out', outAll])
    expect(r.exitCode, r.stderr).toBe(0)
    const parsed = parsePerftest(r.stdout)
    expect(parsed.errors).toEqual([])
    const titles = ['Send BW Test', 'RDMA_Write BW Test', 'RDMA_Read BW Test', 'Atomic FETCH_AND_ADD BW Test',
      'Send Latency Test', 'RDMA_Write Latency Test', 'RDMA_Read Latency Test', 'Atomic FETCH_AND_ADD Latency Test']
    expect(parsed.titles).toEqual([0, 1, 2, 3, 4].flatMap(() => titles)) // bare, sriov, hyv, masq, freeflow
    expect(parsed.tables).toHaveLength(40)
    for (const [i, t] of parsed.tables.entries()) {
      expect(t.kind).toBe(i % 8 < 4 ? 'bw' : 'lat')
      expect(t.rows).toHaveLength(1)
      expect(t.rows[0]!.bytes).toBe(i % 4 === 3 ? 8 : 2) // perftest's atomics move 8 bytes
      expect(t.rows[0]!.iterations).toBe(20)
    }
    expect(r.stdout).toMatch(/connection setup\n mode\s+setup median\[usec\]/)
    expect(r.stdout).toMatch(/control-verb latency\n verb \[median usec\]\s+bare\s+sriov\s+hyv\s+masq\s+freeflow\s+masq - sriov/)
    expect(r.stdout).toMatch(/(PASS|FAIL) {2}freeflow \/ masq latency, send 2 B/)
    const doc = readResults(fs.readFileSync(path.join(outAll, 'results.json'), 'utf8'))
    expect(Object.keys(doc.modes).sort()).toEqual(['bare', 'freeflow', 'hyv', 'masq', 'sriov'])
    for (const m of Object.values(doc.modes)) expect(m!.conn!.medianUs).toBeGreaterThan(0)
    expect(processesMentioning(outAll)).toEqual([])
  }, 600_000)

  it('bench compare: two results files, deltas and a flagged regression; --json', async () => {
    const a = path.join(out(), 'results.json')
    const doc = JSON.parse(fs.readFileSync(a, 'utf8'))
    doc.modes.masq.lat[0].tTypical *= 2
    const b = path.join(dir, 'slower.json')
    fs.writeFileSync(b, JSON.stringify(doc))
    const r = await masq.run(['bench', 'compare', a, b, '--threshold', '10'])
    expect(r.exitCode, r.stderr).toBe(0)
    expect(r.stdout).toMatch(/masq\s+write\s+lat_typical\s+2\s+usec\s+[\d.]+\s+[\d.]+\s+\+100\.0%\s+WORSE/)
    const j = await masq.run(['bench', 'compare', a, b, '--json'])
    const c = JSON.parse(j.stdout)
    expect(c.thresholdPct).toBe(5)
    expect(c.rows.find((x: {mode: string; metric: string}) => x.mode === 'masq' && x.metric === 'lat_typical')).toMatchObject({flagged: true, better: false})
    const bad = await masq.run(['bench', 'compare', a, path.join(dir, 'nope.json')])
    expect(bad.exitCode).toBe(1)
  }, 60_000)

  it('--test verbs in hyv: the control-verb latency table, --json document', async () => {
    const r = await masq.run(['bench', '--modes', 'hyv', '--test', 'verbs', '-n', '20', '--json'])
    expect(r.exitCode, r.stderr).toBe(0)
    const doc = JSON.parse(r.stdout)
    expect(validateResults(doc)).toEqual([])
    const verbs = doc.modes.hyv.verbs
    for (const v of ['alloc_pd', 'reg_mr', 'create_cq', 'create_qp', 'modify_qp_init', 'modify_qp_rtr', 'modify_qp_rts', 'destroy_qp', 'destroy_cq', 'dereg_mr', 'dealloc_pd']) {
      expect(verbs[v], v).toMatchObject({count: 20})
      expect(verbs[v].medianUs).toBeGreaterThan(0)
    }
  }, 120_000)

  it('refuses perftest-invalid options before starting anything (exit 2, every problem)', async () => {
    const r = await masq.run(['bench', '--test', 'lat', '-n', '3', '-c', 'UC', '--ops', 'read,write'])
    expect(r.exitCode).toBe(2)
    expect(r.stderr).toMatch(/UC connection not possible in READ\/ATOMIC verbs/)
    expect(r.stderr).toMatch(/Iteration num should be between 5 and 100000000/)
    // a topology that has no pair of VMs to measure: refused before any lab starts
    const one = path.join(dir, 'one-host.yaml')
    fs.writeFileSync(one, DEFAULT_TOPOLOGY.replace(/host: host2/g, 'host: host1'))
    const d = await masq.run(['bench', one, '--modes', 'masq', '--test', 'lat', '-n', '5'])
    expect(d.exitCode).toBe(2)
    expect(d.stderr).toMatch(/two VMs of one tenant on two different hosts/)
  }, 60_000)

  it('Ctrl-C mid-run tears the lab down: exit 130, no process, no socket dir', async () => {
    const outDir = path.join(dir, 'out-int')
    const child = execa(process.execPath, [path.join(ROOT, 'bin', 'run.js'), 'bench', '--modes', 'masq', '--test', 'lat', '-n', '100000000', '--out', outDir], {
      env: {MASQ_DATA_DIR: masq.dataDir, NO_COLOR: '1'}, reject: false,
    })
    let stderr = ''
    child.stderr?.on('data', (b: Buffer) => (stderr += b.toString()))
    const stateFile = path.join(outDir, 'labs', 'masq', 'state.json')
    let socketDir = ''
    // interrupt once the workload runs: the lab is up and the progress line of its step is out
    const seen = await eventually(() => {
      const s = readJson(stateFile)
      socketDir = s?.socketDir ?? socketDir
      return s?.status === 'running' && stderr.includes('[bench 1/1] masq lat write 2 B')
    }, 90_000)
    expect(seen, stderr).toBe(true)
    child.kill('SIGINT')
    const r = await child
    expect(r.exitCode, String(r.stderr)).toBe(130)
    expect(String(r.stderr)).toMatch(/interrupted/)
    expect(fs.existsSync(stateFile)).toBe(false)
    expect(fs.existsSync(socketDir)).toBe(false)
    expect(processesMentioning(socketDir)).toEqual([])
  }, 180_000)
})
