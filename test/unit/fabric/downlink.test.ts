import {describe, expect, it} from 'vitest'
import {RealClock, VirtualClock} from '../../../src/fabric/clock.js'
import {createDownlink} from '../../../src/fabric/downlink.js'
import {createEgressPort} from '../../../src/fabric/egress.js'
import {Port} from '../../../src/fabric/port.js'
import {Recorder, fabric, makeFrame} from './frames.js'

describe('uplink -> downlink chain', () => {
  it('without impairments frames go straight into the downlink port, and one-way time is 2 x (serialisation + delay)', () => {
    const f = fabric({linkRateBps: 8e9, delayNs: 2000})
    const clock = new VirtualClock()
    const rnic = new Recorder(() => clock.now())
    const down = createDownlink(f, clock, rnic, {burstBytes: 0})
    expect(down.impairer).toBeUndefined()
    expect(down.input).toBe(down.port)
    const up = createEgressPort(f, clock, down.input, {burstBytes: 0})
    up.transmit(makeFrame(1000, 0, 3, 1), 0, 1000)
    clock.runUntilIdle()
    expect(rnic.times).toEqual([2 * (1000 + 2000)])
    expect(up.counters.deliveredFrames).toBe(1)
    expect(down.port.counters.deliveredFrames).toBe(1)
  })

  it('N senders congest the receiver\'s downlink, not their own uplinks', () => {
    const f = fabric({linkRateBps: 10e9, bufferBytes: 1 << 20})
    const clock = new VirtualClock()
    const rnic = new Recorder(() => clock.now())
    const down = createDownlink(f, clock, rnic, {burstBytes: 0, queueBytes: [32 * 1024, 32 * 1024]})
    const ups = [0, 1, 2].map(() => createEgressPort(f, clock, down.input, {burstBytes: 0}))
    const buf = new Uint8Array(1000)
    // each sender offers 100 frames back to back (its own link rate): 3x the downlink's rate
    for (let i = 0; i < 100; i++) for (const [s, up] of ups.entries()) up.transmit(makeFrame(1000, 0, s, i, buf), 0, 1000)
    clock.runUntilIdle()
    for (const up of ups) expect(up.counters.queues[1]!.droppedFrames).toBe(0)
    expect(down.port.counters.queues[1]!.droppedFrames).toBeGreaterThan(0)
    // the downlink ran at its rate: deliveries are spaced by exactly one frame time
    for (let i = 1; i < rnic.times.length; i++) expect(rnic.times[i]! - rnic.times[i - 1]!).toBeCloseTo(800, 6)
  })

  it('takes impairments and jitter from the fabric; the seed salt gives each host its own reproducible stream', () => {
    const f = fabric({impairments: {loss: 0.1, duplicate: 0.05, reorder: 0.05, jitterNs: 500, seed: 11}, delayNs: 1000})
    const runHost = (salt: number) => {
      const clock = new VirtualClock()
      const rnic = new Recorder(() => clock.now())
      const down = createDownlink(f, clock, rnic, {burstBytes: 0}, salt)
      const buf = new Uint8Array(200)
      for (let i = 0; i < 2000; i++) {
        down.input.transmit(makeFrame(200, 0, 0, i, buf), 0, 200)
        clock.advance(1000)
      }
      clock.runUntilIdle()
      return {seqs: rnic.seqs, times: rnic.times, c: down.impairer!.counters}
    }
    const a = runHost(1)
    const b = runHost(1)
    const c = runHost(2)
    expect(a).toEqual(b)
    expect(c.seqs).not.toEqual(a.seqs)
    expect(a.c.lost).toBeGreaterThan(100)
    expect(a.c.duplicated).toBeGreaterThan(30)
    expect(a.c.reordered).toBeGreaterThan(30)
    // jitter: delivery is sometimes later than arrival + serialisation + delay
    const ser = (200 * 8e9) / f.linkRateBps
    let jittered = 0
    for (let i = 0; i < a.times.length; i++) {
      const extra = a.times[i]! - (a.seqs[i]! * 1000 + ser + 1000)
      expect(extra).toBeGreaterThanOrEqual(-1e-6) // never early
      if (extra > 1 && extra < 500) jittered++
    }
    expect(jittered).toBeGreaterThan(a.times.length / 2)
  })
})

describe('Port in real time', () => {
  it('delivers every frame, in order, through the RealClock drain loop', async () => {
    const clock = new RealClock()
    const seqs: number[] = []
    let done!: () => void
    const finished = new Promise<void>((r) => (done = r))
    const port = new Port({
      clock,
      next: {
        transmit(fr, off) {
          seqs.push(new DataView(fr.buffer, fr.byteOffset + off).getUint32(44))
          if (seqs.length === 2000) done()
        },
      },
      rateBps: 1e9,
      delayNs: 50_000,
      priorities: 1,
      dscpPriority: [],
      bufferBytes: 1 << 22,
    })
    const buf = new Uint8Array(1000)
    for (let i = 0; i < 2000; i++) port.transmit(makeFrame(1000, 0, 0, i, buf), 0, 1000)
    await finished
    clock.close()
    expect(seqs).toEqual(Array.from({length: 2000}, (_, i) => i))
  })
})
