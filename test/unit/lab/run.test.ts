// masq run's library: who runs (--vm/--peer/--vms checks), the in-process path (same document as a lab run), and
// the human summaries of every built-in, from real in-process runs.
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {fileURLToPath} from 'node:url'
import {afterAll, describe, expect, it} from 'vitest'
import {formatFailures, formatRun} from '../../../src/lab/run-format.js'
import {RunError, runInProcessTopology, runMembers, type RunResult, sameVpc} from '../../../src/lab/run.js'
import {loadPlan} from '../../../src/lab/plan-source.js'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..')
const TOPO = path.join(ROOT, 'templates', 'default.yaml') // blue1, blue2, red1, red2
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'masq-run-test-'))
afterAll(() => fs.rmSync(tmp, {recursive: true, force: true}))

describe('runMembers', async () => {
  const plan = await loadPlan(TOPO)
  const m = (workload: string, o: {vm?: string; peer?: string; vms?: string[]}) => runMembers(plan, 'default', workload, {workload, vm: o.vm ?? '', ...o})

  it('a pair is --vm then --peer; a group is --vms in rank order', () => {
    expect(m('pingpong', {vm: 'blue1', peer: 'blue2'})).toEqual(['blue1', 'blue2'])
    expect(m('allreduce', {vms: ['blue2', 'red1', 'blue1']})).toEqual(['blue2', 'red1', 'blue1'])
    expect(m('/x/mine.ts', {vm: 'red1'})).toEqual(['red1'])
    expect(m('/x/mine.ts', {vms: ['red1', 'red2', 'blue1']})).toHaveLength(3)
  })

  it('refuses what cannot run, with the reason', () => {
    const bad = (w: string, o: {vm?: string; peer?: string; vms?: string[]}, msg: RegExp) => expect(() => m(w, o)).toThrow(msg)
    bad('pingpong', {vm: 'blue1'}, /two VMs: give --peer/)
    bad('allreduce', {vm: 'blue1'}, /two VMs or more: give --peer or --vms/)
    bad('bw', {vms: ['blue1', 'blue2', 'red1']}, /exactly two VMs.*allreduce takes --vms/)
    bad('smoke', {vm: 'blue1', peer: 'blue1'}, /--peer must be another VM/)
    bad('allreduce', {vms: ['blue1', 'blue2', 'blue1']}, /blue1 appears twice/)
    bad('allreduce', {vms: ['blue1', 'nope']}, /no VM nope \(VMs: blue1, blue2, red1, red2\)/)
    bad('allreduce', {vm: 'blue2', vms: ['blue1', 'blue2']}, /--vm blue2 must be the first of --vms/)
    expect(() => m('smoke', {vm: 'x'})).toThrow(RunError)
  })

  it('a built-in on VMs of two tenants (masq mode: two VPCs) is refused before it starts', () => {
    expect(() => sameVpc(plan, ['blue1', 'red2'], 'pingpong')).toThrow(/pingpong connects its VMs to each other, but they are in different tenants \(blue1: blue, red2: red\)/)
    expect(() => sameVpc(plan, ['blue1', 'blue2'], 'pingpong')).not.toThrow()
  })
})

async function inProcess(workload: string, vms: string[], params: Record<string, unknown> = {}): Promise<RunResult> {
  return runInProcessTopology(TOPO, {workload, vm: vms[0]!, vms, params, timeoutMs: 60_000})
}

describe('masq run --in-process: same document, readable summaries', () => {
  it('pingpong: a perftest latency table; the document has client, server and vms', async () => {
    const r = await inProcess('pingpong', ['blue1', 'blue2'], {op: 'write', size: 64, iters: 20, warmup: 2})
    expect(r).toMatchObject({version: 1, lab: 'default', workload: 'pingpong', ok: true, inProcess: true,
      client: {vm: 'blue1', ok: true}, server: {vm: 'blue2', ok: true}})
    expect(r.vms.map((v) => v.vm)).toEqual(['blue1', 'blue2'])
    const out = formatRun(r)
    expect(out).toContain(' #bytes #iterations    t_min[usec]    t_max[usec]  t_typical[usec]')
    expect(out).toMatch(/^ 64 /m)
    expect(out).toContain('WRITE latency (half round trip), blue1 <-> blue2, 2 warm-up + 20 iterations, 22 verified')
    expect(out.trimEnd().split('\n').at(-1)).toBe('pingpong on blue1 <-> blue2 (in process): ok')
    expect(out).not.toContain('{')
  })

  it('bw: a perftest BW table', async () => {
    const r = await inProcess('bw', ['blue1', 'blue2'], {op: 'read', size: 4096, iters: 20, qps: 2, txDepth: 4})
    const out = formatRun(r)
    expect(out).toContain(' #bytes     #iterations    BW peak[MB/sec]    BW average[MB/sec]   MsgRate[Mpps]')
    expect(out).toMatch(/^ 4096 {7}40 /m)
    expect(out).toContain('READ bandwidth, blue1 -> blue2, 2 QP(s), tx depth 4, CQ moderation 4, 40 verified')
  })

  it('connrate: setups and teardowns per second, setup percentiles', async () => {
    const out = formatRun(await inProcess('connrate', ['red1', 'red2'], {count: 5}))
    expect(out).toContain('rdma_cm connections red1 -> red2: 5 (5 verified)')
    expect(out).toMatch(/setups\/sec \d+\.\d\d {3}teardowns\/sec \d+\.\d\d {3}connections\/sec \d+\.\d\d/)
    expect(out).toMatch(/min +median +p99 +max\n +\d+\.\d\d +\d+\.\d\d +\d+\.\d\d +\d+\.\d\d/)
  })

  it('allreduce over 4 VMs: an nccl-tests row (size, count, type, redop, time, algbw, busbw, #wrong)', async () => {
    const r = await inProcess('allreduce', ['blue1', 'blue2', 'red1', 'red2'], {count: 4096, iters: 2})
    expect(r.ok).toBe(true)
    expect(r.server).toBeUndefined()
    expect(r.vms.map((v) => v.result.rank)).toEqual([0, 1, 2, 3])
    const out = formatRun(r)
    expect(out).toContain('#       size         count      type   redop     time   algbw   busbw #wrong')
    expect(out).toMatch(/^ {7}16384 {10}4096 {5}float {5}sum +\d+\.\d +\d+\.\d\d +\d+\.\d\d +0$/m)
    expect(out).toContain('ring allreduce over 4 VMs: blue1 -> blue2 -> red1 -> red2 -> blue1')
    expect(out.trimEnd().split('\n').at(-1)).toBe('allreduce on blue1, blue2, red1, red2 (in process): ok')
  })

  it('ud: sent / received / lost', async () => {
    const out = formatRun(await inProcess('ud', ['blue1', 'blue2'], {count: 20, size: 256}))
    expect(out).toContain(' #bytes  #datagrams  sent     received lost     retransmits  round trips/sec')
    expect(out).toMatch(/^ 256 {5}20 /m)
    expect(out).toContain('verified: 20 of 20 echoed intact')
  })

  it('smoke: which ops were verified, by whom, at which sizes', async () => {
    const out = formatRun(await inProcess('smoke', ['blue1', 'blue2']))
    for (const op of ['SEND', 'RDMA_WRITE', 'RDMA_READ']) expect(out).toMatch(new RegExp(`^ ok +${op} +checked by blue1 +sizes \\(B\\): 1 64 4096`, 'm'))
    expect(out).toMatch(/^ ok +SEND +checked by blue2/m)
  })

  it('a module that throws: ok false, the message and (in process) the stack for stderr; a module result prints as YAML', async () => {
    const bad = path.join(tmp, 'bad.mjs')
    fs.writeFileSync(bad, "export default async function (vm) { if (vm.rank === 1) throw new Error('boom in rank 1'); return {rank: vm.rank, nested: {a: [1, 2]}} }\n")
    const r = await inProcess(bad, ['red1', 'red2'])
    expect(r.ok).toBe(false)
    expect(r.client).toMatchObject({ok: true, result: {rank: 0}})
    expect(r.server).toMatchObject({ok: false})
    expect(r.server!.error).toContain('boom in rank 1')
    const err = formatFailures(r)
    expect(err).toMatch(/^red2: workload failed: .*boom in rank 1\n {4}Error: boom in rank 1\n {4}\s*at /)
    expect(err).toContain('bad.mjs')
    const out = formatRun(r)
    expect(out).toContain('red1:\n  rank: 0\n  nested:\n    a:\n      - 1\n      - 2\n')
    expect(out.trimEnd().split('\n').at(-1)).toBe(`${bad} on red1 <-> red2 (in process): FAILED`)
  })

  it('a module under the current directory is named by its relative path in the summary', async () => {
    const r = await inProcess(path.join(ROOT, 'test/unit/vm/fixtures/plain.mjs'), ['red1'])
    expect(r.workload).toBe(path.join(ROOT, 'test/unit/vm/fixtures/plain.mjs'))
    const rel = path.relative(process.cwd(), r.workload)
    expect(formatRun(r).trimEnd().split('\n').at(-1)).toBe(`${rel.startsWith('..') ? r.workload : rel} on red1 (in process): ok`)
  })

  it('with --loss the fabric drops frames (seeded); the workload still verifies, and the summary says how many', async () => {
    const r = await runInProcessTopology(TOPO, {workload: 'pingpong', vm: 'blue1', vms: ['blue1', 'blue2'], params: {op: 'read', size: 3000, iters: 30, warmup: 0},
      impairments: {loss: 0.05}, seed: 5})
    expect(r.ok, JSON.stringify(r.vms)).toBe(true)
    expect(r.fabric!.lost).toBeGreaterThan(0)
    expect(r.fabric!.sent).toBeGreaterThan(r.fabric!.lost)
    expect(formatRun(r).trimEnd().split('\n').at(-1)).toBe(`pingpong on blue1 <-> blue2 (in process, ${r.fabric!.lost} of ${r.fabric!.sent} frames lost): ok`)
  })

  it('an unknown built-in name is a clear error', async () => {
    await expect(inProcess('no-such', ['red1'])).rejects.toThrow(/unknown workload no-such: built-ins are smoke, /)
  })
})
