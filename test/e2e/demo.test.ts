// `masq demo --quick` through the built CLI (as CI's smoke run does): the narrative and summary on stdout, every
// step ok, exit 0; the out dir holds report.html, results.json, a capture.pcap that tshark decodes with no
// malformed frame, attacks.json and demo.json; nothing of the lab is left. --json is one versioned document.
import {spawnSync} from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {execa} from 'execa'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {listLabs} from '../../src/lab/registry.js'
import {isOurs} from '../../src/lab/proc.js'
import {TSHARK_BASE} from '../conformance/tshark.js'
import {ensureBuilt, ROOT} from '../integration/lab/helpers.js'

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'masq-e2e-demo-'))
const dataDir = path.join(tmp, 'data')
const demo = (args: string[]) =>
  execa('node', [path.join(ROOT, 'bin', 'run.js'), 'demo', '--quick', ...args], {
    cwd: tmp, reject: false, env: {MASQ_DATA_DIR: dataDir, NO_COLOR: '1', FORCE_COLOR: undefined}, extendEnv: true, timeout: 240_000,
  })

beforeAll(async () => {
  await ensureBuilt()
}, 300_000)

afterAll(async () => {
  // a failed run must not leave a lab behind for the rest of the suite
  await execa('node', [path.join(ROOT, 'bin', 'run.js'), 'down', '--all'], {env: {MASQ_DATA_DIR: dataDir}, reject: false})
  fs.rmSync(tmp, {recursive: true, force: true})
})

const STEPS = ['Start the lab', 'Verified traffic in each VPC', 'Cross-tenant connect', 'Live security-group change',
  'Tear down', 'Merged packet capture', 'Side-by-side bench', 'Attack suite']

describe('masq demo --quick', () => {
  it('tells every step on stdout, passes, and leaves the report, results, capture and nothing running', async () => {
    const out = path.join(tmp, 'out')
    const r = await demo(['--out', out])
    expect(r.exitCode, `${r.stdout}\n${r.stderr}`).toBe(0)
    STEPS.forEach((title, i) => expect(r.stdout).toContain(`[${i + 1}/${STEPS.length}] ${title}: ok`))
    // the narrative carries what happened and what was blocked
    expect(r.stdout).toMatch(/atomic FETCH_AND_ADD\s+blue \d+ × 8 B verified/)
    expect(r.stdout).toMatch(/red1: REJECTED, reason 8 \(IB_CM_REJ_INVALID_SERVICE_ID/)
    expect(r.stdout).toMatch(/RDMA_CM_EVENT_DISCONNECTED \d+ ms after the change/)
    expect(r.stdout).toMatch(/REJECTED, reason 12 \(IB_CM_REJ_PRIMARY_REMOTE_GID_REJECTED/)
    expect(r.stdout).toMatch(/summary: every step passed in [\d.]+ s/)
    expect(r.stdout).toContain('every IP header carries a host address (192.168.0.1, 192.168.0.2)')
    expect(r.stdout).toMatch(/\d+ CM MADs \(\d+ REQ, /)
    for (const f of ['report.html', 'results.json', 'capture.pcap', 'attacks.json', 'demo.json']) {
      expect(r.stdout).toMatch(new RegExp(`^  ${f.replace('.', '\\.')}\\s`, 'm'))
      expect(fs.statSync(path.join(out, f)).size, f).toBeGreaterThan(0)
    }
    expect(fs.readFileSync(path.join(out, 'report.html'), 'utf8')).toMatch(/<svg/)
    const results = JSON.parse(fs.readFileSync(path.join(out, 'results.json'), 'utf8'))
    expect(Object.keys(results.modes).sort()).toEqual(['freeflow', 'masq', 'sriov'])
    // the capture decodes: RoCEv2 and CM frames, none malformed (rpcordma's heuristic is off, as in test/conformance)
    const t = spawnSync('tshark', ['-r', path.join(out, 'capture.pcap'), ...TSHARK_BASE, '-T', 'fields', '-e', 'frame.protocols', '-e', '_ws.malformed'], {encoding: 'utf8', maxBuffer: 64 << 20})
    expect(t.status, t.stderr).toBe(0)
    const rows = t.stdout.trim().split('\n').map((l) => l.split('\t'))
    expect(rows.length).toBeGreaterThan(100)
    expect(rows.filter((c) => !c[0]!.includes('infiniband'))).toEqual([])
    expect(rows.filter((c) => (c[1] ?? '') !== '')).toEqual([])
    // the lab is gone: down removed it from the registry, no process of it lives
    const doc = JSON.parse(fs.readFileSync(path.join(out, 'demo.json'), 'utf8'))
    expect(doc).toMatchObject({version: 1, ok: true, quick: true, lab: {name: 'demo', kept: false}})
    const prev = process.env.MASQ_DATA_DIR
    process.env.MASQ_DATA_DIR = dataDir
    try {
      expect(listLabs().find((e) => e.name === 'demo')).toBeUndefined()
    } finally {
      process.env.MASQ_DATA_DIR = prev
    }
    expect(fs.existsSync(path.join(out, 'lab', 'state.json'))).toBe(false)
  }, 240_000)

  it('Ctrl-C during a step: exit 130, the remaining steps are skipped and the lab is torn down', async () => {
    const out = path.join(tmp, 'interrupted')
    const child = demo(['--out', out])
    let seen = ''
    await new Promise<void>((resolve, reject) => {
      child.stdout!.on('data', (d: Buffer) => {
        seen += d.toString()
        if (seen.includes('[1/8] Start the lab: ok')) resolve()
      })
      child.once('exit', () => reject(new Error(`demo exited before the lab was up:\n${seen}`)))
    })
    child.kill('SIGINT')
    const r = await child
    expect(r.exitCode, `${r.stdout}\n${r.stderr}`).toBe(130)
    expect(r.stdout).toMatch(/\[5\/8\] Tear down: ok/)
    expect(r.stdout).toMatch(/Side-by-side bench: SKIPPED/)
    const doc = JSON.parse(fs.readFileSync(path.join(out, 'demo.json'), 'utf8'))
    expect(doc.ok).toBe(false)
    expect(doc.lab.kept).toBe(false)
    expect(fs.existsSync(path.join(out, 'lab', 'state.json'))).toBe(false)
    const plan = JSON.parse(fs.readFileSync(path.join(out, 'lab', 'plan.json'), 'utf8')) as {name: string}
    expect(plan.name).toBe('demo')
  }, 240_000)

  it('--json: one versioned document on stdout, the narrative on stderr; --keep leaves the lab running until down', async () => {
    const out = path.join(tmp, 'json')
    const r = await demo(['--out', out, '--json', '--keep'])
    expect(r.exitCode, r.stderr).toBe(0)
    const doc = JSON.parse(r.stdout)
    expect(doc).toMatchObject({version: 1, ok: true, quick: true, outDir: out, lab: {name: 'demo', kept: true, stop: 'masq down demo'}})
    expect(doc.steps.map((s: {id: string}) => s.id)).toEqual(['up', 'traffic', 'isolation', 'rules', 'down', 'capture', 'bench', 'attacks'])
    expect(doc.files).toEqual(expect.arrayContaining(['report.html', 'results.json', 'capture.pcap', 'attacks.json', 'demo.json', 'lab/']))
    expect(r.stderr).toContain('[1/8] Start the lab: ok')
    expect(r.stderr).toContain('stop it: masq down demo')
    const state = JSON.parse(fs.readFileSync(path.join(out, 'lab', 'state.json'), 'utf8')) as {processes: Array<{pid: number; startTime: string}>}
    expect(state.processes.every((p) => isOurs(p.pid, p.startTime))).toBe(true)
    const d = await execa('node', [path.join(ROOT, 'bin', 'run.js'), 'down', 'demo'], {env: {MASQ_DATA_DIR: dataDir}, reject: false})
    expect(d.exitCode, d.stderr).toBe(0)
    expect(state.processes.some((p) => isOurs(p.pid, p.startTime))).toBe(false)
  }, 240_000)
})
