// The newcomer's walk-through of docs/index.md, outside the checkout: write a topology from a template, validate it,
// bring it up with capture, run the documented hello workload as a .mts file that imports from 'masq' (linked into
// node_modules as `npm link masq` does), read the capture with tshark (the CM REQ carries the virtual addresses,
// the IP header the hosts'), take it down.
import {spawnSync} from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import {execa} from 'execa'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {TSHARK_BASE} from '../conformance/tshark.js'
import {ensureBuilt, ROOT, tempDir} from '../integration/lab/helpers.js'

const dir = tempDir('walk')
const masq = (args: string[]) =>
  execa('node', [path.join(ROOT, 'bin', 'run.js'), ...args], {cwd: dir, reject: false, env: {MASQ_DATA_DIR: path.join(dir, 'data'), NO_COLOR: '1'}})

beforeAll(async () => {
  await ensureBuilt()
}, 300_000)

afterAll(async () => {
  await masq(['down', '--all'])
  fs.rmSync(dir, {recursive: true, force: true})
})

describe('docs/index.md walk-through', () => {
  it('own topology, own workload importing masq, capture read with tshark', async () => {
    expect((await masq(['init', 'lab.yaml', '--template', 'two-host'])).exitCode).toBe(0)
    const v = await masq(['validate', 'lab.yaml'])
    expect(v.stdout).toContain('valid lab "two-host": 2 hosts, 1 tenant, 2 VMs (masq)')
    // the documented example, as a user copies it
    const doc = fs.readFileSync(path.join(ROOT, 'docs', 'workload-api.md'), 'utf8')
    const from = doc.indexOf('```ts\n', doc.indexOf('Copy this into')) + 6
    fs.writeFileSync(path.join(dir, 'hello.mts'), doc.slice(from, doc.indexOf('```\n', from)))
    fs.mkdirSync(path.join(dir, 'node_modules'))
    fs.symlinkSync(ROOT, path.join(dir, 'node_modules', 'masq'))
    const up = await masq(['up', 'lab.yaml', '--capture'])
    expect(up.exitCode, up.stderr).toBe(0)
    const run = await masq(['run', 'two-host', './hello.mts', '--vm', 'vm1', '--peer', 'vm2', '--param', 'message=hi', '--json'])
    expect(run.exitCode, run.stdout + run.stderr).toBe(0)
    expect(JSON.parse(run.stdout)).toMatchObject({ok: true, client: {result: {sent: 2}}, server: {result: {received: 'hi'}}})
    expect((await masq(['down', 'two-host'])).exitCode).toBe(0)
    const cap = await masq(['capture', 'lab.yaml', '-o', 'lab.pcap']) // down removed the name from the registry
    expect(cap.exitCode, cap.stderr).toBe(0)
    const t = spawnSync('tshark', ['-r', path.join(dir, 'lab.pcap'), ...TSHARK_BASE, '-Y', 'infiniband.cm.req', '-T', 'fields',
      '-e', 'ip.src', '-e', 'ip.dst', '-e', 'infiniband.cm.req.ip_cm.sip4', '-e', 'infiniband.cm.req.ip_cm.dip4'], {encoding: 'utf8'})
    expect(t.status, t.stderr).toBe(0)
    const reqs = t.stdout.trim().split('\n').map((l) => l.split('\t'))
    expect(reqs.length).toBeGreaterThan(0)
    for (const r of reqs) expect(r).toEqual(['192.168.0.1', '192.168.0.2', '10.0.0.1', '10.0.0.2'])
  }, 180_000)
})
