// Fuzzing (issue 8 item 4), seeded and bounded: random and mutated RoCEv2 frames into the receive path of a live
// victim (no crash, no hang, every frame either accepted or counted as a drop, victim traffic unaffected), and the
// RNIC command API / verbs provider with random arguments and forged handles (errors as values, never throws).

import fc from 'fast-check'
import {describe, expect, it} from 'vitest'
import {InProcessEnv} from '../../../src/attacks/inprocess-env.js'
import {VictimWorkload} from '../../../src/attacks/victim.js'
import {Access} from '../../../src/rdma-constants.js'
import {isRnicError, Rnic} from '../../../src/rnic/rnic.js'
import {openDevice, VerbsError, VmMemory} from '../../../src/verbs/index.js'
import {DECODE_STATUS_NAME, FrameEncoder} from '../../../src/wire/frame.js'
import {OPCODES} from '../../../src/wire/opcodes.js'
import {PacketView} from '../../../src/wire/packet.js'

const SEED = 0x8a77ac
const OPS = OPCODES.flatMap((o, i) => (o ? [i] : []))
const DECODE_FAILS = new Set(DECODE_STATUS_NAME.filter((n) => n !== 'OK'))

function decodeDrops(drops: Record<string, number>): number {
  let n = 0
  for (const [k, v] of Object.entries(drops)) if (DECODE_FAILS.has(k) || k === 'reentrant_receive') n += v
  return n
}

describe('fuzz: RNIC receive path of a live victim', () => {
  it('random and mutated frames: no crash, every frame counted, victim traffic verified', async () => {
    const env = new InProcessEnv({seed: 5})
    const victim = await VictimWorkload.start(env)
    await victim.begin()
    const nic = env.nics.get('hostB')!
    const [, victimQpn] = victim.qpns()
    // an off-path T2: any source address except the victim's peer host (that case is C10/C12, exposed by design)
    const peer = 0x0a000001
    const src = fc.oneof(fc.constantFrom(0x0a000002, 0x0a000003, 0x0a0000ff), fc.integer({min: 0, max: 0xffffffff})).filter((ip) => ip !== peer)
    const encoder = new FrameEncoder()
    const structured = fc.record({
      src, dst: fc.oneof(fc.constant(0x0a000002), fc.integer({min: 0, max: 0xffffffff})), opcode: fc.constantFrom(...OPS),
      qpn: fc.oneof(fc.constantFrom(victimQpn!, victimQpn! + 1, 0, 1, 0xffffff), fc.integer({min: 0, max: 0xffffff})),
      psn: fc.integer({min: 0, max: 0xffffff}), rkey: fc.integer({min: 0, max: 0xffffffff}), len: fc.integer({min: 0, max: 0xffffffff}),
      qkey: fc.integer({min: 0, max: 0xffffffff}), pkey: fc.constantFrom(0xffff, 0x7fff, 0x8001, 0),
      payload: fc.uint8Array({maxLength: 1100}),
      flips: fc.array(fc.tuple(fc.nat(), fc.integer({min: 0, max: 255})), {maxLength: 4}),
    }).map((f) => {
      const p = new PacketView()
      Object.assign(p, {srcIp: f.src, dstIp: f.dst, opcode: f.opcode, destQp: f.qpn, psn: f.psn, rethRkey: f.rkey, rethLen: f.len,
        atomicRkey: f.rkey, dethQkey: f.qkey, pkey: f.pkey, ackReq: 1})
      const out = Buffer.alloc(f.payload.length + 256)
      let n: number
      try {
        n = encoder.encodeInto(out, 0, p, f.payload, 0, f.payload.length)
      } catch {
        n = encoder.encodeInto(out, 0, p, null, 0, 0) // opcode without payload
      }
      const frame = out.subarray(0, n)
      for (const [at, v] of f.flips) frame[at % n] = v
      return frame
    })
    const frames = fc.oneof(structured, fc.uint8Array({maxLength: 1500}).map((b) => Buffer.from(b)))
    const c0 = nic.counters()
    let sent = 0
    fc.assert(fc.property(fc.array(frames, {minLength: 1, maxLength: 20}), (batch) => {
      for (const f of batch) {
        nic.receive(f, 0, f.length)
        sent++
      }
    }), {seed: SEED, numRuns: 150, interruptAfterTimeLimit: 15_000, markInterruptAsFailure: false})
    const c1 = nic.counters() // before settling: the victim's own frames must not enter the sum
    await env.settle()
    // every frame is either decoded (RCVD_PKTS, then accepted or dropped by reason) or a counted decode failure
    expect(c1.port.RCVD_PKTS! - c0.port.RCVD_PKTS! + decodeDrops(c1.drops) - decodeDrops(c0.drops)).toBe(sent)
    expect(c1.drops.engine_fault ?? 0).toBe(0)
    expect(sent).toBeGreaterThan(100)
    const checks = await victim.check()
    expect(checks.filter((c) => c.ok !== true)).toEqual([])
  })

  it('captured victim frames replayed and mutated (T2 replay): dropped or harmless duplicates, victim verified', async () => {
    const env = new InProcessEnv({seed: 6})
    const victim = await VictimWorkload.start(env)
    const captured: Buffer[] = []
    env.fabric.tap = (f, o, l) => void (captured.length < 64 && captured.push(Buffer.from(f.subarray(o, o + l))))
    await victim.begin()
    await victim.check()
    env.fabric.tap = undefined
    expect(captured.length).toBeGreaterThan(8)
    await victim.begin()
    const nics = [env.nics.get('hostA')!, env.nics.get('hostB')!]
    // responses to replays (re-ACKs) stay queued in the fabric until the victim check, out of the frame count
    env.fabric.cutThroughOn = false
    const before = nics.map((n) => n.counters())
    let sent = 0
    fc.assert(fc.property(fc.nat(captured.length - 1), fc.array(fc.tuple(fc.nat(), fc.nat(255)), {maxLength: 3}), (i, flips) => {
      const f = Buffer.from(captured[i]!)
      for (const [at, v] of flips) f[at % f.length] = v
      // to whichever host the frame was addressed (10.0.0.2 = host B), as a replaying T2 would
      nics[f.readUInt32BE(30) === 0x0a000002 ? 1 : 0]!.receive(f, 0, f.length)
      sent++
    }), {seed: SEED, numRuns: 400, interruptAfterTimeLimit: 15_000, markInterruptAsFailure: false})
    const after = nics.map((n) => n.counters())
    const accounted = [0, 1].reduce((a, i) => a + after[i]!.port.RCVD_PKTS! - before[i]!.port.RCVD_PKTS! + decodeDrops(after[i]!.drops) - decodeDrops(before[i]!.drops), 0)
    expect(accounted).toBe(sent)
    expect(after.map((c) => c.drops.engine_fault ?? 0)).toEqual([0, 0])
    env.fabric.cutThroughOn = true
    const checks = await victim.check()
    expect(checks.filter((c) => c.ok !== true)).toEqual([])
  })
})

describe('fuzz: RNIC command API and verbs provider', () => {
  const cmds = ['allocPd', 'deallocPd', 'regMr', 'deregMr', 'createCq', 'destroyCq', 'createQp', 'modifyQp', 'queryQp', 'destroyQp', 'setRateLimit', 'addGid', 'removeGid'] as const

  it('random arguments and forged handles: results are values ({errno, message} or a result object), never throws', async () => {
    const nic = new Rnic({name: 'fuzz', gids: ['10.0.0.9']})
    const mem = new SharedArrayBuffer(1 << 16)
    // some real objects so that forged handles sometimes name something
    const pd = nic.allocPd() as {pdn: number}
    const cq = nic.createCq({depth: 16}) as {cqn: number}
    nic.regMr({pdn: pd.pdn, memory: mem, offset: 0, length: 4096, iova: 0x1000n, access: Access.LOCAL_WRITE})
    nic.createQp({pdn: pd.pdn, type: 2, sendCqn: cq.cqn, recvCqn: cq.cqn, cap: {maxSendWr: 4, maxRecvWr: 4, maxSendSge: 1, maxRecvSge: 1, maxInlineData: 0}})
    const handle = fc.oneof(fc.integer({min: -2, max: 40}), fc.constantFrom(0x11, 0x12, 0xffffff, 2 ** 31, NaN, -0), fc.anything())
    const argObj = fc.oneof(fc.anything(), fc.record({
      pdn: handle, memory: fc.oneof(fc.constant(mem), fc.anything()), offset: fc.oneof(fc.integer(), fc.double()), length: fc.oneof(fc.integer(), fc.double()),
      iova: fc.oneof(fc.bigInt({min: -1n, max: 1n << 65n}), fc.anything()), access: fc.oneof(fc.nat(0xffff), fc.anything()),
      type: fc.oneof(fc.constantFrom(2, 3, 4, 8), fc.anything()), sendCqn: handle, recvCqn: handle, depth: handle, gsi: fc.boolean(),
      cap: fc.oneof(fc.anything(), fc.record({maxSendWr: handle, maxRecvWr: handle, maxSendSge: handle, maxRecvSge: handle, maxInlineData: handle})),
      group: fc.oneof(fc.string(), fc.anything()), qpns: fc.oneof(fc.array(handle), fc.anything()), bytesPerSec: fc.oneof(fc.double(), fc.anything()),
    }, {requiredKeys: []}))
    const attr = fc.oneof(fc.anything(), fc.record({qpState: handle, qkey: handle, pathMtu: handle, destQpNum: handle, rqPsn: handle, sqPsn: handle,
      qpAccessFlags: handle, pkeyIndex: handle, portNum: handle, ahAttr: fc.oneof(fc.anything(), fc.record({dgid: fc.oneof(fc.constant('10.0.0.1'), fc.string()), sgidIndex: handle})),
      timeout: handle, retryCnt: handle, rnrRetry: handle, minRnrTimer: handle, maxRdAtomic: handle, maxDestRdAtomic: handle}, {requiredKeys: []}))
    const call = fc.tuple(fc.constantFrom(...cmds), handle, argObj, attr, fc.oneof(fc.integer(), fc.anything()))
    const thrown: string[] = []
    fc.assert(fc.property(fc.array(call, {maxLength: 30}), (calls) => {
      for (const [cmd, h, a, at, mask] of calls) {
        const args: unknown[] = cmd === 'modifyQp' ? [h, at, mask] : ['regMr', 'createCq', 'createQp', 'setRateLimit'].includes(cmd) ? [a] :
          cmd === 'addGid' || cmd === 'removeGid' ? [typeof a === 'string' ? a : String(h)] : cmd === 'allocPd' ? [] : [h]
        try {
          const r = (nic[cmd] as (...x: unknown[]) => unknown)(...args)
          expect(typeof r === 'object' && r !== null).toBe(true)
          if ('errno' in (r as object)) expect(isRnicError(r)).toBe(true)
        } catch (e) {
          thrown.push(`${cmd}(${fc.stringify(args)}): ${(e as Error).message}`)
        }
      }
    }), {seed: SEED, numRuns: 300, interruptAfterTimeLimit: 15_000, markInterruptAsFailure: false})
    expect(thrown.slice(0, 5)).toEqual([])
  })

  it('the provider raises only VerbsError (an errno) on hostile input', async () => {
    const nic = new Rnic({name: 'fuzz2', gids: ['10.0.0.9']})
    const mem = new VmMemory(1 << 16)
    const ctx = await openDevice(nic, {memory: mem})
    const pd = await ctx.allocPd()
    const cq = await ctx.createCq(16)
    const qp = await pd.createQp({type: 'RC', sendCq: cq, recvCq: cq, cap: {}})
    const region = mem.alloc(4096)
    const bad: string[] = []
    await fc.assert(fc.asyncProperty(fc.integer({min: 0, max: 5}), fc.anything(), fc.anything(), fc.integer(), async (which, x, y, n) => {
      try {
        switch (which) {
          case 0: await pd.regMr({...region, length: n}, n); break
          case 1: await ctx.createCq(n); break
          case 2: await qp.modify(x as never, n); break
          case 3: qp.postRecv({wrId: 1n, sgList: [{addr: BigInt(n), length: n, lkey: n}, ...(Array.isArray(y) ? y : [])] as never}); break
          case 4: qp.postSend({opcode: n, sgList: x as never, rdma: y as never}); break
          case 5: await pd.createQp({type: x as never, sendCq: cq, recvCq: cq, cap: (y ?? {}) as never}); break
        }
      } catch (e) {
        if (!(e instanceof VerbsError)) bad.push(`${which}: ${(e as Error)?.name}: ${(e as Error)?.message}`)
      }
    }), {seed: SEED, numRuns: 300, interruptAfterTimeLimit: 15_000, markInterruptAsFailure: false})
    expect(bad.slice(0, 5)).toEqual([])
  })
})
