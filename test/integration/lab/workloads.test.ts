// Issue 6 over the real path: every built-in through `masq run` in a lab of two hosts with four VMs of one tenant
// (human summaries and the --json document), allreduce over the four VMs (--vms, the ring crossing hosts), the
// user example kv-store.ts, 100 concurrent rdma_cm connections between two VMs, a throwing workload that leaves
// its VM and host working, and --in-process from the built CLI.
import fs from 'node:fs'
import path from 'node:path'
import {describe, expect, it} from 'vitest'
import {ROOT, type Cli, useLab} from './helpers.js'

const FIXTURES = path.join(path.dirname(new URL(import.meta.url).pathname), 'fixtures')

let dir: string
let masq: Cli
let plan: string // fixtures/four-vms.yaml: vm1, vm2 on host1; vm3, vm4 on host2; tenant acme

useLab('workloads', path.join(FIXTURES, 'four-vms.yaml'), (l) => ({dir, masq, topo: plan} = l))

const run = (...args: string[]) => masq.run(['run', plan, ...args, '--timeout', '120'])
const lastLine = (s: string) => s.trimEnd().split('\n').at(-1)

describe('masq run in a lab (two hosts, four VMs of one tenant)', () => {
  it('allreduce over 4 VMs on two hosts (--vms): an nccl-tests row, every rank verified', async () => {
    const r = await run('allreduce', '--vms', 'vm1,vm3,vm2,vm4', '--param', 'count=65536', '--param', 'iters=3')
    expect(r.exitCode, r.stderr + r.stdout).toBe(0)
    expect(r.stdout).toContain('ring allreduce over 4 VMs: vm1 -> vm3 -> vm2 -> vm4 -> vm1')
    expect(r.stdout).toContain('#       size         count      type   redop     time   algbw   busbw #wrong')
    expect(r.stdout).toMatch(/^ {6}262144 {9}65536 {5}float {5}sum +\d+\.\d +\d+\.\d\d +\d+\.\d\d +0$/m)
    expect(lastLine(r.stdout)).toBe('allreduce on vm1, vm3, vm2, vm4: ok')
    const j = await run('allreduce', '--vms', 'vm4,vm2,vm3,vm1', '--param', 'count=4096', '--param', 'iters=2', '--json')
    expect(j.exitCode, j.stderr).toBe(0)
    const doc = JSON.parse(j.stdout)
    expect(doc).toMatchObject({version: 1, workload: 'allreduce', ok: true, client: {vm: 'vm4'}})
    expect(doc.server).toBeUndefined()
    expect(doc.vms.map((v: any) => [v.vm, v.result.rank, v.result.ranks, v.result.verified])).toEqual(
      [['vm4', 0, 4, true], ['vm2', 1, 4, true], ['vm3', 2, 4, true], ['vm1', 3, 4, true]])
  })

  it('pingpong, bw, connrate, ud and smoke print their tables; --json keeps the document', async () => {
    const pp = await run('pingpong', '--vm', 'vm1', '--peer', 'vm3', '--param', 'op=read', '--param', 'size=64', '--param', 'iters=50', '--param', 'warmup=5')
    expect(pp.exitCode, pp.stderr + pp.stdout).toBe(0)
    expect(pp.stdout).toContain('READ latency (round trip), vm1 <-> vm3, 5 warm-up + 50 iterations, 55 verified')
    expect(pp.stdout).toContain(' #bytes #iterations    t_min[usec]    t_max[usec]  t_typical[usec]')
    const bw = await run('bw', '--vm', 'vm3', '--peer', 'vm1', '--param', 'op=write', '--param', 'size=65536', '--param', 'iters=50')
    expect(bw.exitCode, bw.stderr + bw.stdout).toBe(0)
    expect(bw.stdout).toContain(' #bytes     #iterations    BW peak[MB/sec]    BW average[MB/sec]   MsgRate[Mpps]')
    expect(bw.stdout).toMatch(/^ 65536 {6}50 +\d+\.\d\d +\d+\.\d\d/m)
    const cr = await run('connrate', '--vm', 'vm2', '--peer', 'vm4', '--param', 'count=10')
    expect(cr.exitCode, cr.stderr + cr.stdout).toBe(0)
    expect(cr.stdout).toContain('rdma_cm connections vm2 -> vm4: 10 (10 verified)')
    const ud = await run('ud', '--vm', 'vm1', '--peer', 'vm4', '--param', 'count=30', '--param', 'size=512')
    expect(ud.exitCode, ud.stderr + ud.stdout).toBe(0)
    expect(ud.stdout).toContain('verified: 30 of 30 echoed intact')
    const sm = await run('smoke', '--vm', 'vm2', '--peer', 'vm3')
    expect(sm.exitCode, sm.stderr + sm.stdout).toBe(0)
    expect(sm.stdout).toMatch(/^ ok +RDMA_READ +checked by vm2 +sizes \(B\): 1 64 4096/m)
    for (const out of [pp, bw, cr, ud, sm]) expect(out.stdout).not.toContain('{"')
    const j = await run('bw', '--vm', 'vm1', '--peer', 'vm3', '--param', 'op=send', '--param', 'size=4096', '--param', 'iters=20', '--json')
    expect(j.exitCode, j.stderr).toBe(0)
    const doc = JSON.parse(j.stdout)
    expect(doc).toMatchObject({version: 1, ok: true, client: {vm: 'vm1', result: {op: 'send', verified: 20}}, server: {vm: 'vm3'}})
    expect(doc.vms).toHaveLength(2)
  })

  it('the user example examples/workloads/kv-store.ts runs through masq run', async () => {
    const r = await run(path.join(ROOT, 'examples', 'workloads', 'kv-store.ts'), '--vm', 'vm1', '--peer', 'vm4', '--param', 'keys=20', '--json')
    expect(r.exitCode, r.stderr + r.stdout).toBe(0)
    const doc = JSON.parse(r.stdout)
    expect(doc.client.result).toMatchObject({ok: true, keys: 20, hits: 20})
    expect(doc.server.result).toMatchObject({role: 'server', puts: 21})
  })

  it('100 concurrent rdma_cm connections between two VMs on different hosts all reach ESTABLISHED', async () => {
    const r = await run(path.join(FIXTURES, 'many-conns.mjs'), '--vm', 'vm2', '--peer', 'vm3', '--param', 'count=100', '--json')
    expect(r.exitCode, r.stderr + r.stdout).toBe(0)
    const doc = JSON.parse(r.stdout)
    expect(doc.client.result).toMatchObject({established: 100, accepted: 100, distinctQps: 100})
    expect(doc.server.result).toMatchObject({established: 100, received: 100, distinctQps: 100})
  })

  it('a workload that throws on one VM: a clear error on stderr, exit 1; that VM and its host keep working', async () => {
    const bad = path.join(dir, 'throws.mjs')
    fs.writeFileSync(bad, "export default async function (vm) { await vm.openDevice(); if (vm.rank === 1) throw new Error('boom on the server side'); return {fine: vm.rank} }\n")
    const r = await run(bad, '--vm', 'vm1', '--peer', 'vm3')
    expect(r.exitCode).toBe(1)
    expect(r.stderr).toMatch(/^vm3: workload failed: .*boom on the server side$/m)
    expect(r.stdout).toContain('vm1:\n  fine: 0\n')
    expect(lastLine(r.stdout)).toBe(`${bad} on vm1 <-> vm3: FAILED`)
    const again = await run('pingpong', '--vm', 'vm1', '--peer', 'vm3', '--param', 'iters=20', '--param', 'warmup=2', '--json')
    expect(again.exitCode, again.stderr).toBe(0)
    const st = JSON.parse((await masq.run(['status', plan, '--json'])).stdout)
    expect(st.state).toBe('running')
  })

  it('refuses a group for a two-VM built-in, and --peer with --vms', async () => {
    const r = await run('pingpong', '--vms', 'vm1,vm2,vm3')
    expect(r.exitCode).toBe(1)
    expect(r.stderr).toContain('pingpong runs on exactly two VMs')
    const both = await run('allreduce', '--vm', 'vm1', '--peer', 'vm2', '--vms', 'vm1,vm2')
    expect(both.exitCode).toBe(2)
  })
})

describe('masq run --in-process (no lab)', () => {
  it('runs a built-in on in-process VMs named by the topology, with the same output, also with --loss', async () => {
    const r = await masq.run(['run', '--in-process', path.join(ROOT, 'templates', 'default.yaml'), 'allreduce', '--vms', 'blue1,blue2,red1', '--loss', '0.1',
      '--param', 'count=3000', '--param', 'iters=2'])
    expect(r.exitCode, r.stderr + r.stdout).toBe(0)
    expect(r.stdout).toMatch(/^ {7}12000 {10}3000 {5}float {5}sum /m)
    expect(lastLine(r.stdout)).toMatch(/^allreduce on blue1, blue2, red1 \(in process, \d+ of \d+ frames lost\): ok$/)
  })
})
