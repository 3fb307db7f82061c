import fc from 'fast-check'
import {describe, expect, it} from 'vitest'
import {Timer, VirtualClock} from '../../../src/fabric/clock.js'
import {Port} from '../../../src/fabric/port.js'
import {Recorder, fabric, makeFrame} from './frames.js'

const arrival = fc.record({gap: fc.integer({min: 0, max: 3000}), provider: fc.boolean(), len: fc.integer({min: 60, max: 3000})})

describe('Port properties (random arrivals)', () => {
  it('conserves frames, keeps FIFO per priority, never exceeds the link rate, serves priority strictly', () => {
    fc.assert(
      fc.property(fc.array(arrival, {minLength: 1, maxLength: 300}), fc.integer({min: 5000, max: 40_000}), (arrivals, buffer) => {
        const rateBps = 8e9 // 1 byte per ns
        const delayNs = 700
        const clock = new VirtualClock()
        const rec = new Recorder(() => clock.now())
        const f = fabric()
        const port = new Port({clock, next: rec, rateBps, delayNs, priorities: 2, dscpPriority: f.dscpPriority, bufferBytes: buffer, burstBytes: 0})
        const arrivedAt: number[] = []
        const prio: number[] = []
        let t = 0
        const buf = new Uint8Array(3000)
        arrivals.forEach((a, i) => {
          t += a.gap
          arrivedAt.push(t)
          prio.push(a.provider ? 0 : 1)
          clock.arm(new Timer(() => port.transmit(makeFrame(a.len, a.provider ? 48 : 0, a.provider ? 0 : 1, i, buf), 0, a.len)), t)
        })
        clock.runUntilIdle()
        const q = port.counters.queues
        // conservation
        expect(q[0]!.enqueuedFrames + q[0]!.droppedFrames + q[1]!.enqueuedFrames + q[1]!.droppedFrames).toBe(arrivals.length)
        expect(rec.seqs.length).toBe(q[0]!.enqueuedFrames + q[1]!.enqueuedFrames)
        expect(q[0]!.sentFrames).toBe(q[0]!.enqueuedFrames)
        expect(q[1]!.sentFrames).toBe(q[1]!.enqueuedFrames)
        // FIFO within a priority
        for (const src of [0, 1]) {
          const s = rec.seqs.filter((_, i) => rec.srcs[i] === src)
          expect(s).toEqual([...s].sort((x, y) => x - y))
        }
        // the link serialises one frame at a time at its rate; departure start = delivery - delay - serialisation
        const start = rec.times.map((d, i) => d - delayNs - rec.lens[i]!)
        for (let i = 0; i < rec.times.length; i++) {
          expect(start[i]!).toBeGreaterThanOrEqual(arrivedAt[rec.seqs[i]!]! - 1e-6)
          if (i > 0) expect(start[i]!).toBeGreaterThanOrEqual(rec.times[i - 1]! - delayNs - 1e-6)
        }
        // strict priority: when a priority-1 frame starts, no priority-0 frame that had arrived is still waiting
        for (let i = 0; i < rec.times.length; i++) {
          if (prio[rec.seqs[i]!] !== 1) continue
          for (let j = 0; j < rec.times.length; j++) {
            if (prio[rec.seqs[j]!] !== 0) continue
            const waiting = arrivedAt[rec.seqs[j]!]! < start[i]! - 1e-6 && start[j]! > start[i]! + 1e-6
            expect(waiting).toBe(false)
          }
        }
      }),
      {numRuns: 150},
    )
  })

  it('with a burst allowance a high-priority frame waits at most one frame time plus the burst', () => {
    const burstBytes = 8192
    const rateBps = 8e9
    const clock = new VirtualClock()
    const rec = new Recorder(() => clock.now())
    const f = fabric()
    const port = new Port({clock, next: rec, rateBps, delayNs: 0, priorities: 2, dscpPriority: f.dscpPriority, bufferBytes: 1 << 22, burstBytes})
    const big = new Uint8Array(4096)
    const small = new Uint8Array(128)
    const probeAt: number[] = []
    let seq = 0
    const flood = new Timer((now) => {
      for (let k = 0; k < 4; k++) port.transmit(makeFrame(4096, 0, 1, seq++, big), 0, 4096)
      if (seq < 4000) clock.arm(flood, now + 8192) // 2x the link rate
    })
    clock.arm(flood, 0)
    let p = 0
    const probe = new Timer((now) => {
      probeAt.push(now)
      port.transmit(makeFrame(128, 48, 0, p++, small), 0, 128)
      if (p < 100) clock.arm(probe, now + 50_111)
    })
    clock.arm(probe, 777)
    clock.runUntilIdle()
    let probes = 0
    for (let i = 0; i < rec.times.length; i++) {
      if (rec.srcs[i] !== 0) continue
      probes++
      expect(rec.times[i]! - probeAt[rec.seqs[i]!]!).toBeLessThanOrEqual(4096 + burstBytes + 128 + 1e-6)
    }
    expect(probes).toBe(100)
  })
})
