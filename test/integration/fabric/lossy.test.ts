// Issue 5/6 over the real path: a lab whose fabric drops 5% of the frames on every downlink (seeded, in the
// RNIC workers' fabric model) runs the smoke workload and the built-ins pingpong, bw and allreduce (small) to
// completion with verified data: RoCE's go-back-N and the CM's MAD retries carry them.
import path from 'node:path'
import {describe, expect, it} from 'vitest'
import {rpcCall} from '../../../src/lab/rpc.js'
import {type Cli, runJson, useLab} from '../lab/helpers.js'

const FIXTURES = path.join(path.dirname(new URL(import.meta.url).pathname), 'fixtures')

let dir: string
let masq: Cli
let topo: string
let up: any

useLab('fab-lossy', path.join(FIXTURES, 'lossy.yaml'), (l) => ({dir, masq, topo, up} = l))

async function run(workload: string, params: Record<string, number> = {}): Promise<any> {
  const res = await runJson(masq, topo, workload, 'v1', 'v2', params)
  expect(res.ok, JSON.stringify(res).slice(0, 2000)).toBe(true)
  return res
}

const lost = async () => {
  let n = 0
  for (const p of up.processes.filter((q: any) => q.role === 'host')) n += (await rpcCall<any>(p.socket, 'status')).rnic.fabric.impairments.lost
  return n
}

describe('5% frame loss in a running lab', () => {
  it('smoke verifies SEND, WRITE and READ', async () => {
    const res = await run('smoke')
    expect(res.client.result.ops.every((o: any) => o.ok)).toBe(true)
  }, 180_000)

  it('pingpong (WRITE), bw (WRITE) and allreduce complete with verified data while frames are lost', async () => {
    const before = await lost()
    const pp = (await run('pingpong', {iters: 100, warmup: 10})).client.result
    expect(pp.verified).toBe(110)
    const bw = (await run('bw', {iters: 40, size: 16384})).client.result
    expect(bw.verified).toBe(40)
    const ar = (await run('allreduce', {iters: 3, count: 16384})).client.result
    expect(ar.verified).toBe(true)
    const dropped = (await lost()) - before
    console.log(`frames lost by the fabric during pingpong + bw + allreduce: ${dropped}`)
    expect(dropped).toBeGreaterThan(10) // the loss really happened, and was recovered from
  }, 360_000)

  it('a VM worker that exits holding RNIC objects has them all released, and the host counts it', async () => {
    const h1 = up.processes.find((p: any) => p.node === 'h1')
    const before = await rpcCall<any>(h1.socket, 'status')
    const r = await masq.run(['run', topo, path.join(FIXTURES, 'crash.mjs'), '--vm', 'v3', '--json', '--timeout', '60'])
    expect(r.exitCode).not.toBe(0) // the VM died under its workload
    let after: any
    for (let i = 0; i < 200; i++) {
      after = await rpcCall<any>(h1.socket, 'status')
      if (after.released.vms > before.released.vms) break
      await new Promise((res) => setTimeout(res, 50))
    }
    expect(after.released).toEqual({vms: before.released.vms + 1, objects: before.released.objects + 4, failed: 0})
    expect(after.rnic.qps).toBe(before.rnic.qps)
    expect(after.backend.v3).toBeUndefined()
  }, 120_000)
})
