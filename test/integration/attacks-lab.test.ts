// The backend scenarios against a real lab (the embedded attack-test lab, dist/ host processes), each its own test
// with the victim workload running throughout; then fuzzing in the same lab: the host RPC (malformed frames,
// wrong types, huge lengths, unknown methods) and the virtio control channel (random and mutated verbs commands
// from a VM), each rejection counted, no crash, no hang, the victim tenant unaffected.
import fs from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import fc from 'fast-check'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import type {LabEnv} from '../../src/attacks/lab-env.js'
import {runLabScenario} from '../../src/attacks/lab/runner.js'
import {LAB_SCENARIOS} from '../../src/attacks/lab/scenarios.js'
import {LabVictim} from '../../src/attacks/lab/victim.js'
import {craftRequest, dropDelta} from '../../src/attacks/inject.js'
import {encodeFrame, rpcCall} from '../../src/lab/rpc.js'
import {ensureBuilt} from './lab/helpers.js'

let dir: string
let env: LabEnv
let victim: LabVictim

beforeAll(async () => {
  await ensureBuilt()
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'masq-test-attacks-'))
  process.env.MASQ_DATA_DIR = path.join(dir, 'data')
  const {LabEnv} = await import('../../src/attacks/lab-env.js')
  env = await LabEnv.start()
  victim = new LabVictim(env)
  await victim.start()
}, 180_000)

afterAll(async () => {
  await victim?.stop().catch(() => undefined)
  await env?.close()
  fs.rmSync(dir, {recursive: true, force: true})
}, 60_000)

describe('backend scenarios in a lab', () => {
  for (const [i, s] of LAB_SCENARIOS.entries()) {
    it(`${s.id}: ${s.title}`, async () => {
      const r = await runLabScenario(env, victim, s, 7000 + i)
      expect(r.verdict, JSON.stringify({reason: r.reason, probes: r.probes, invariants: r.invariants, controls: r.controls}, null, 1)).toBe('blocked')
      expect(r.controls.some((c) => c.ok === true)).toBe(true)
      expect(r.invariants.find((c) => c.name === 'victim traffic verified (checksums)')?.ok).toBe(true)
    }, 120_000)
  }
})

/** Send raw bytes on a fresh connection; collect the replies until `want` arrived, the peer closed, or 3 s. */
function rawExchange(socket: string, bytes: Buffer, want: number): Promise<{replies: Array<{error?: {code: number}}>; closed: boolean}> {
  return new Promise((resolve) => {
    const s = net.createConnection(socket)
    let buf = Buffer.alloc(0)
    const replies: Array<{error?: {code: number}}> = []
    let closed = false
    const finish = () => {
      clearTimeout(timer)
      s.destroy()
      resolve({replies, closed})
    }
    const timer = setTimeout(finish, 3000)
    s.on('error', () => undefined)
    s.on('close', () => {
      closed = true
      finish()
    })
    s.on('data', (c) => {
      buf = Buffer.concat([buf, c])
      while (buf.length >= 4 && buf.length >= 4 + buf.readUInt32BE(0)) {
        const n = buf.readUInt32BE(0)
        replies.push(JSON.parse(buf.subarray(4, 4 + n).toString('utf8')))
        buf = buf.subarray(4 + n)
      }
      if (replies.length >= want) finish()
    })
    s.on('connect', () => s.write(bytes))
  })
}

describe('fuzzing in a lab', () => {
  it('host RPC: malformed frames, wrong types, huge lengths and unknown methods are each rejected; the host keeps serving', async () => {
    const sock = env.hostSocket('host1')
    const body = (o: unknown) => encodeFrame(o)
    const frame = fc.oneof(
      fc.uint8Array({minLength: 1, maxLength: 64}).map((b) => ({bytes: Buffer.concat([Buffer.from([0, 0, 0, b.length]), Buffer.from(b)]), kind: 'garbage'})),
      fc.jsonValue().map((v) => ({bytes: body(v), kind: 'json'})),
      fc.record({id: fc.oneof(fc.integer(), fc.string(), fc.constant(null)), method: fc.oneof(fc.string(), fc.integer()), params: fc.jsonValue()})
        .map((m) => ({bytes: body(m), kind: 'request'})),
      fc.constantFrom('attackInject', 'run', 'linkTest', 'setSpin', 'resetConnections', 'ownsQp', 'lookup').chain((method) =>
        fc.jsonValue().map((params) => ({bytes: body({id: 1, method, params}), kind: `typed ${method}`}))),
    )
    await victim.begin()
    let sent = 0
    let rejected = 0
    await fc.assert(fc.asyncProperty(frame, async (f) => {
      const r = await rawExchange(sock, f.bytes, 1)
      sent++
      // every frame gets exactly one answer; whatever is not a valid request is an error reply
      expect(r.replies.length).toBe(1)
      if (r.replies[0]!.error) rejected++
    }), {seed: 0x5eed, numRuns: 60, interruptAfterTimeLimit: 60_000})
    // a length prefix over the RPC limit (16 MiB): refused without reading the body, the connection stays usable
    const huge = Buffer.alloc(4)
    huge.writeUInt32BE(0xfffffff0)
    const h = await rawExchange(sock, huge, 1)
    expect(h.replies[0]?.error?.code).toBeDefined()
    expect(sent).toBeGreaterThan(0)
    expect(rejected).toBeGreaterThan(sent / 2)
    // injecting is refused with a wrong type, never crashes the host
    await expect(rpcCall(sock, 'attackInject', {frame: 42})).rejects.toThrow(/hex/)
    const ping = await rpcCall<{node: string}>(sock, 'ping', {}, 5000)
    expect(ping.node).toBe('host1')
    // the victim tenant kept working during the fuzz
    const checks = await victim.check()
    expect(checks.filter((c) => c.ok !== true), JSON.stringify(checks)).toEqual([])
  }, 120_000)

  it('virtio control channel: random and mutated verbs commands from a VM are refused and counted; other tenants unaffected', async () => {
    const before = (await env.observe('host1')).backend.red1?.refused ?? 0
    await victim.begin()
    const runs = await Promise.all([1, 2].map((seed) => env.step('red1', 'fuzz-virtio', {seed, n: 200, skip: seed * (4 << 20)}, 90_000)))
    let refused = 0
    for (const r of runs) {
      const d = r.data as {n: number; refused: number; accepted: number; afterwards: string}
      expect(d.refused + d.accepted).toBe(d.n)
      expect(d.afterwards).toBe('OK') // the fuzzing VM's own device still works
      refused += d.refused
    }
    const after = (await env.observe('host1')).backend.red1?.refused ?? 0
    expect(refused).toBeGreaterThan(100)
    expect(after - before).toBeGreaterThanOrEqual(refused / 2) // the backend counted its refusals (the rest are the RNIC's errnos)
    const checks = await victim.check()
    expect(checks.filter((c) => c.ok !== true), JSON.stringify(checks)).toEqual([])
    expect((await rpcCall<{node: string}>(env.hostSocket('host1'), 'ping', {}, 5000)).node).toBe('host1')
  }, 120_000)
})

describe('the T2 injector in an attack-test lab', () => {
  it('frames a compromised host1 sends to host2 reach its RNIC: an unknown QPN and a bad ICRC are dropped and counted; the victim is unaffected', async () => {
    const [h1, h2] = env.plan.hosts
    await victim.begin()
    const before = (await env.observe(h2!.name)).drops
    // a QPN no QP has (QPNs are drawn at random from 2^24; with ~100 live QPs a collision is ~1e-5)
    const unknown = craftRequest({srcIp: h1!.underlay, dstIp: h2!.underlay, destQp: 0xfffffe, psn: 1, payload: new Uint8Array(64)})
    await env.injectFrame(h1!.name, unknown)
    const bad = Buffer.from(craftRequest({srcIp: h1!.underlay, dstIp: h2!.underlay, destQp: victim.target().qpn, psn: 7, payload: new Uint8Array(64)}))
    bad[bad.length - 1]! ^= 0xff // ICRC no longer matches
    await env.injectFrame(h1!.name, bad)
    let d: Record<string, number> = {}
    for (let i = 0; i < 100; i++) {
      d = dropDelta(before, (await env.observe(h2!.name)).drops)
      if (Object.values(d).reduce((a, b) => a + b, 0) >= 2) break
      await new Promise((r) => setTimeout(r, 50))
    }
    expect(Object.values(d).reduce((a, b) => a + b, 0), JSON.stringify(d)).toBe(2)
    expect(Object.keys(d).some((k) => /qp/i.test(k)), JSON.stringify(d)).toBe(true)
    expect(Object.keys(d).some((k) => /icrc/i.test(k)), JSON.stringify(d)).toBe(true)
    const checks = await victim.check()
    expect(checks.filter((c) => c.ok !== true), JSON.stringify(checks)).toEqual([])
  }, 60_000)
})

