// Step 3 end to end over the real path: up (with capture) -> run smoke -> status -> a throwing user workload ->
// smoke again -> down on two hosts; the smoke workload in every virtualization mode; the merged capture in tshark.
import fs from 'node:fs'
import path from 'node:path'
import {spawnSync} from 'node:child_process'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {rpcCall} from '../../../src/lab/rpc.js'
import {ROOT, alive, cli, ensureBuilt, planIn, processesMentioning, tempDir, type Cli} from './helpers.js'

let dir: string
let masq: Cli

beforeAll(async () => {
  await ensureBuilt()
  dir = tempDir('smoke')
  masq = cli(path.join(dir, 'data'))
}, 180_000)

afterAll(async () => {
  await masq.run(['down', '--all'])
  fs.rmSync(dir, {recursive: true, force: true})
})

const OPS = ['SEND', 'RDMA_WRITE', 'RDMA_READ']

function expectSmokeOk(r: {exitCode: number; stdout: string; stderr: string}): any {
  expect(r.exitCode, r.stderr + r.stdout).toBe(0)
  const res = JSON.parse(r.stdout)
  expect(res.ok).toBe(true)
  const ops = res.client.result.ops as Array<{op: string; size: number; ok: boolean; side: string}>
  // the client's SEND/WRITE/READ plus the server's verification of what it received
  for (const op of OPS) expect(ops.filter((o) => o.op === op && o.side === res.client.vm).length).toBeGreaterThanOrEqual(4)
  expect(ops.some((o) => o.size > 4096)).toBe(true) // multi-MTU
  expect(ops.every((o) => o.ok)).toBe(true)
  return res
}

describe('up -> run smoke -> status -> down on two hosts', () => {
  let plan: string
  let up: any

  it('up --capture, then smoke between VMs on different hosts verifies SEND, WRITE and READ', async () => {
    plan = planIn(dir, 'two-host.json')
    const u = await masq.run(['up', plan, '--capture', '--json'])
    expect(u.exitCode, u.stderr).toBe(0)
    up = JSON.parse(u.stdout)
    const res = expectSmokeOk(await masq.run(['run', plan, 'smoke', '--vm', 'vm1', '--peer', 'vm3', '--json']))
    expect(res.client.vm).toBe('vm1')
    expect(res.server.vm).toBe('vm3')
    expect(res.server.result.ops.filter((o: any) => o.side === 'vm3').length).toBeGreaterThanOrEqual(8)
  })

  it('status shows the live QPs and the RNIC counters', async () => {
    const r = await masq.run(['status', plan, '--json'])
    expect(r.exitCode, r.stderr).toBe(0)
    const s = JSON.parse(r.stdout)
    for (const node of ['h1', 'h2']) {
      const h = s.processes.find((p: any) => p.node === node)
      expect(h.qps).toBeGreaterThan(0)
      expect(h.counters.rnic.SENT_PKTS).toBeGreaterThan(0)
      expect(h.counters.rnic.RCVD_PKTS).toBeGreaterThan(0)
      expect(h.counters.wire.txFrames).toBeGreaterThan(0)
    }
  })

  it('a workload that throws reports a clear error; the VM and its host keep working', async () => {
    const bad = path.join(dir, 'bad.mjs')
    fs.writeFileSync(bad, "export default async function (vm) { await vm.openDevice(); throw new Error('boom from user code') }\n")
    const r = await masq.run(['run', plan, bad, '--vm', 'vm1', '--json'])
    expect(r.exitCode).toBe(1)
    const res = JSON.parse(r.stdout)
    expect(res.ok).toBe(false)
    expect(res.client.error).toContain('boom from user code')
    // a throw from a stray timer or promise after the workload started is logged, not fatal to the VM
    const stray = path.join(dir, 'stray.mjs')
    fs.writeFileSync(stray, "export default async function () { setTimeout(() => { throw new Error('stray timer') }, 1); " +
      "void Promise.reject(new Error('stray promise')); await new Promise((r) => setTimeout(r, 50)); return {fine: true} }\n")
    const s1 = await masq.run(['run', plan, stray, '--vm', 'vm1', '--json'])
    expect(s1.exitCode, s1.stderr).toBe(0)
    expect(JSON.parse(s1.stdout).client.result).toEqual({fine: true})
    const missing = await masq.run(['run', plan, 'no-such-workload', '--vm', 'vm1'])
    expect(missing.exitCode).toBe(1)
    expect(missing.stderr).toContain('unknown workload')
    expectSmokeOk(await masq.run(['run', plan, 'smoke', '--vm', 'vm1', '--peer', 'vm4', '--json']))
    const s = JSON.parse((await masq.run(['status', plan, '--json'])).stdout)
    expect(s.state).toBe('running')
  })

  it('the backend of a masq host owns the objects its VMs created', async () => {
    const h1 = up.processes.find((p: any) => p.node === 'h1')
    const st = await rpcCall<any>(h1.socket, 'status')
    expect(st.backend.vm1.qps).toBeGreaterThan(0)
    expect(st.backend.vm1.refused).toBe(0)
  })

  it('down leaves no process and no socket dir', async () => {
    const r = await masq.run(['down', plan, '--json'])
    expect(r.exitCode, r.stderr).toBe(0)
    for (const p of up.processes) expect(alive(p.pid)).toBe(false)
    expect(processesMentioning(up.socketDir)).toEqual([])
    expect(fs.existsSync(up.socketDir)).toBe(false)
  })

  it('the merged capture decodes in tshark with no malformed frames', async () => {
    const out = path.join(dir, 'merged.pcap')
    const r = await masq.run(['capture', plan, '-o', out, '--json'])
    expect(r.exitCode, r.stderr).toBe(0)
    const m = JSON.parse(r.stdout)
    expect(m.inputs.map((f: string) => path.basename(f))).toEqual(['h1.pcap', 'h2.pcap'])
    expect(m.frames).toBeGreaterThan(40)
    const expert = spawnSync('tshark', ['-r', out, '--disable-protocol', 'rpcordma', '-z', 'expert', '-q'], {encoding: 'utf8'})
    expect(expert.status, expert.stderr).toBe(0)
    expect(expert.stdout).not.toMatch(/Malformed/i)
    const frames = spawnSync('tshark', ['-r', out, '--disable-protocol', 'rpcordma', '-T', 'fields', '-e', 'frame.protocols'], {encoding: 'utf8'})
    const lines = frames.stdout.trim().split('\n')
    expect(lines.length).toBe(m.frames)
    expect(lines.every((l) => l.includes('infiniband'))).toBe(true)
  })
})

describe('smoke in every virtualization mode (examples/modes.yaml)', () => {
  let topo: string
  let up: any

  beforeAll(async () => {
    topo = path.join(dir, 'modes.yaml')
    fs.copyFileSync(path.join(ROOT, 'examples', 'modes.yaml'), topo)
    const r = await masq.run(['up', topo, '--json'])
    expect(r.exitCode, r.stderr).toBe(0)
    up = JSON.parse(r.stdout)
  }, 120_000)

  afterAll(async () => {
    await masq.run(['down', topo])
  })

  const clientOps: Record<string, number> = {}
  for (const mode of ['masq', 'freeflow', 'sriov', 'hyv', 'bare']) {
    const prefix = mode === 'freeflow' ? 'ff' : mode
    it(`${mode}: smoke passes between two hosts`, async () => {
      const res = expectSmokeOk(await masq.run(['run', topo, 'smoke', '--vm', `${prefix}1`, '--peer', `${prefix}2`, '--json']))
      clientOps[mode] = (res.client.result.ops as Array<{side: string}>).filter((o) => o.side === res.client.vm).length
    })
  }

  it('bench-write runs through masq run: WRITE throughput and the 2-byte ping-pong (polling and with CQ events)', async () => {
    const base = ['run', topo, 'bench-write', '--vm', 'masq1', '--peer', 'masq2', '--json']
    const bw = await masq.run([...base, '--param', 'test=bw', '--param', 'durationMs=200', '--param', 'warmupMs=50'])
    expect(bw.exitCode, bw.stderr + bw.stdout).toBe(0)
    const b = JSON.parse(bw.stdout).client.result
    expect(b).toMatchObject({test: 'bw', size: 65536, txDepth: 128, cqMod: 100}) // perftest's defaults
    expect(b.messages).toBeGreaterThan(0)
    expect(b.bytes).toBe(b.messages * 65536)
    // the bench contract (-n): exactly n stamped WRITEs, each completion stamp taken from the CQE that covers it
    const n = await masq.run([...base, '--param', 'test=bw', '--param', 'contract=1', '--param', 'iters=250', '--param', 'warmupIters=30',
      '--param', 'size=4096', '--param', 'cqMod=64', '--param', 'txDepth=96'])
    expect(n.exitCode, n.stderr + n.stdout).toBe(0)
    const c = JSON.parse(n.stdout).client.result
    expect(c).toMatchObject({contract: 1, iterations: 250, bytes: 250 * 4096, cqMod: 64})
    expect(c.tposted).toHaveLength(250)
    expect(c.tcompleted).toHaveLength(250)
    c.tcompleted.forEach((t: number, i: number) => expect(t).toBeGreaterThanOrEqual(c.tposted[i]))
    expect(new Set(c.tcompleted).size).toBeLessThanOrEqual(Math.ceil(280 / 64) + 1) // one stamp per CQE
    for (const events of ['false', 'true']) {
      const lat = await masq.run([...base, '--param', 'test=lat', '--param', 'iters=50', '--param', 'warmupIters=5', '--param', `events=${events}`])
      expect(lat.exitCode, lat.stderr + lat.stdout).toBe(0)
      const l = JSON.parse(lat.stdout).client.result
      expect(l).toMatchObject({test: 'lat', size: 2, iterations: 50, events: events === 'true'})
      expect(l.halfRttUs.median).toBeGreaterThan(0)
    }
  })

  it('each mode crossed its own channels: sriov/bare skip the backend, freeflow relays every WQE and CQE through it', async () => {
    const host1 = up.processes.find((p: any) => p.node === 'host1')
    const st = await rpcCall<any>(host1.socket, 'status')
    expect(Object.keys(st.backend).sort()).toEqual(['ff1', 'hyv1', 'masq1'])
    expect(st.backend.masq1.commands).toBeGreaterThan(5)
    expect(st.backend.masq1).toMatchObject({doorbellsRelayed: 0, wqesRelayed: 0, cqesRelayed: 0})
    // the smoke client posts one signalled WR per op and reaps its completion: N WQEs and N CQEs crossed host1's
    // main thread (ff2's receives and their completions crossed host2's)
    expect(clientOps.freeflow).toBeGreaterThan(0)
    expect(st.backend.ff1).toMatchObject({wqesRelayed: clientOps.freeflow, cqesRelayed: clientOps.freeflow})
    expect(st.backend.ff1.doorbellsRelayed).toBeGreaterThan(0)
    expect(st.rnic.qps).toBeGreaterThanOrEqual(5)
  })

  it('pingpong with -e (events) in freeflow and masq: the VMs sleep on CQ events and on the RNIC\'s DMA epoch', async () => {
    for (const [a, b] of [['ff1', 'ff2'], ['masq1', 'masq2']]) {
      for (const op of ['write', 'send']) {
        const r = await masq.run(['run', topo, 'pingpong', '--vm', a!, '--peer', b!, '--param', `op=${op}`, '--param', 'events=true',
          '--param', 'iters=30', '--param', 'warmup=5', '--json'])
        expect(r.exitCode, r.stderr + r.stdout).toBe(0)
        const res = JSON.parse(r.stdout)
        expect(res.client.result, JSON.stringify(res)).toMatchObject({op, verified: 35})
        expect(res.client.result.raw.samplesNs).toHaveLength(30)
      }
    }
  })
})
