import {describe, expect, it} from 'vitest'
import {Timer, VirtualClock} from '../../../src/fabric/clock.js'
import {Ecn, ipv4HeaderChecksum} from '../../../src/fabric/dscp.js'
import {Port, type PortOptions} from '../../../src/fabric/port.js'
import {Recorder, fabric, makeFrame} from './frames.js'

function setup(over: Partial<PortOptions> = {}) {
  const clock = new VirtualClock()
  const rec = new Recorder(() => clock.now())
  const f = fabric()
  const port = new Port({
    clock,
    next: rec,
    rateBps: 10e9,
    delayNs: 0,
    priorities: f.priorities,
    dscpPriority: f.dscpPriority,
    bufferBytes: 1 << 20,
    burstBytes: 0,
    ...over,
  })
  return {clock, rec, port}
}

/** Offer `count` frames every `gapNs` from `src` with `dscp`, starting at `startNs`, reusing one buffer. */
function source(clock: VirtualClock, port: Port, o: {src: number; dscp: number; len: number; gapNs: number; count: number; startNs?: number}) {
  const buf = new Uint8Array(o.len)
  let seq = 0
  const t = new Timer((now) => {
    port.transmit(makeFrame(o.len, o.dscp, o.src, seq++, buf), 0, o.len)
    if (seq < o.count) clock.arm(t, now + o.gapNs)
  })
  clock.arm(t, o.startNs ?? 0)
}

describe('Port pacing', () => {
  for (const rateBps of [1e9, 10e9, 25e9, 100e9]) {
    it(`serialises back-to-back frames at ${rateBps / 1e9} Gbps (len*8/rate per frame)`, () => {
      const {clock, rec, port} = setup({rateBps})
      const len = 1500
      const buf = new Uint8Array(len)
      for (let i = 0; i < 200; i++) port.transmit(makeFrame(len, 0, 0, i, buf), 0, len)
      clock.runUntilIdle()
      expect(rec.seqs).toEqual(Array.from({length: 200}, (_, i) => i))
      const ser = (len * 8e9) / rateBps
      for (let i = 0; i < 200; i++) expect(rec.times[i]).toBeCloseTo((i + 1) * ser, 3)
      // achieved rate over the run
      expect((200 * len * 8e9) / rec.times[199]! / rateBps).toBeCloseTo(1, 6)
    })
  }

  it('adds the propagation delay after the last bit and copies frames (the caller reuses its buffer)', () => {
    const {clock, rec, port} = setup({rateBps: 8e9, delayNs: 5000})
    const buf = makeFrame(1000, 0, 7, 1)
    port.transmit(buf, 0, 1000)
    makeFrame(1000, 0, 9, 2, buf) // overwritten before delivery
    clock.runUntilIdle()
    expect(rec.times).toEqual([1000 + 5000])
    expect(rec.srcs).toEqual([7])
  })

  it('with a burst allowance frames are committed ahead but still leave at their exact link times', () => {
    const {clock, rec, port} = setup({rateBps: 10e9, burstBytes: 16 * 1024, bufferBytes: 4 << 20})
    const len = 1000
    const buf = new Uint8Array(len)
    for (let i = 0; i < 1000; i++) port.transmit(makeFrame(len, 0, 0, i, buf), 0, len)
    clock.runUntilIdle()
    expect(rec.seqs.length).toBe(1000)
    for (let i = 0; i < 1000; i++) expect(rec.times[i]).toBeCloseTo((i + 1) * 800, 3)
  })

  it('rate 0 means an infinitely fast link: delivery after the delay only', () => {
    const {clock, rec, port} = setup({rateBps: 0, delayNs: 100})
    const buf = new Uint8Array(500)
    for (let i = 0; i < 10; i++) port.transmit(makeFrame(500, 0, 0, i, buf), 0, 500)
    clock.runUntilIdle()
    expect(rec.times).toEqual(new Array(10).fill(100))
  })

  it('jitter never reorders delivery', () => {
    let k = 0
    const {clock, rec, port} = setup({rateBps: 10e9, delayNs: 1000, jitter: () => ((k++ * 7919) % 5000)})
    source(clock, port, {src: 0, dscp: 0, len: 200, gapNs: 100, count: 500})
    clock.runUntilIdle()
    expect(rec.seqs).toEqual(Array.from({length: 500}, (_, i) => i))
    for (let i = 1; i < rec.times.length; i++) expect(rec.times[i]).toBeGreaterThanOrEqual(rec.times[i - 1]!)
  })
})

describe('Port strict priority', () => {
  it('a flood at priority 1 does not delay priority 0 beyond one frame time', () => {
    const rateBps = 10e9
    const {clock, rec, port} = setup({rateBps, bufferBytes: 8 << 20})
    const big = 4096
    const frameNs = (big * 8e9) / rateBps
    // priority-1 flood: 2x the link rate
    source(clock, port, {src: 1, dscp: 0, len: big, gapNs: frameNs / 2, count: 20_000})
    // priority-0 probes (provider DSCP 48), sparse, at odd times
    const probeTimes: number[] = []
    const pbuf = new Uint8Array(256)
    let seq = 0
    const probe = new Timer((now) => {
      probeTimes.push(now)
      port.transmit(makeFrame(256, 48, 0, seq++, pbuf), 0, 256)
      if (seq < 200) clock.arm(probe, now + 37_013)
    })
    clock.arm(probe, 1001)
    clock.runUntilIdle()
    const probeSer = (256 * 8e9) / rateBps
    let n = 0
    for (let i = 0; i < rec.times.length; i++) {
      if (rec.srcs[i] !== 0) continue
      const wait = rec.times[i]! - probeTimes[rec.seqs[i]!]!
      expect(wait).toBeLessThanOrEqual(frameNs + probeSer + 1e-6)
      n++
    }
    expect(n).toBe(200)
    expect(port.counters.queues[1]!.droppedFrames).toBeGreaterThan(0) // the flood overflowed its queue
    expect(port.counters.queues[0]!.droppedFrames).toBe(0)
  })
})

describe('Port buffers', () => {
  it('splits the buffer equally between queues and counts tail drops per queue', () => {
    const {clock, port} = setup({rateBps: 1e9, bufferBytes: 20_000})
    const buf = new Uint8Array(1000)
    // frame 0 is cut through to the link; the next 10 fill the 10 000-byte priority-1 queue, the rest drop
    for (let i = 0; i < 20; i++) port.transmit(makeFrame(1000, 0, 0, i, buf), 0, 1000)
    for (let i = 0; i < 3; i++) port.transmit(makeFrame(1000, 48, 0, i, buf), 0, 1000)
    const q = port.counters.queues
    expect(q[1]!.enqueuedFrames).toBe(11)
    expect(q[1]!.droppedFrames).toBe(9)
    expect(q[1]!.droppedBytes).toBe(9000)
    expect(q[1]!.peakBytes).toBe(10_000)
    expect(q[0]!.enqueuedFrames).toBe(3)
    expect(q[0]!.droppedFrames).toBe(0)
    expect(port.canAccept(1, 1)).toBe(false)
    expect(port.canAccept(0, 1000)).toBe(true)
    clock.runUntilIdle()
    expect(port.counters.deliveredFrames).toBe(14)
    expect(port.queuedBytes(1)).toBe(0)
  })

  it('honours explicit per-queue limits and drops oversize frames', () => {
    const {port} = setup({rateBps: 1e9, queueBytes: [5000, 2000], maxFrameBytes: 3000})
    const buf = new Uint8Array(4000)
    port.transmit(makeFrame(4000, 0, 0, 0, buf), 0, 4000)
    expect(port.counters.oversize).toBe(1)
    for (let i = 0; i < 5; i++) port.transmit(makeFrame(1000, 0, 0, i, buf), 0, 1000)
    expect(port.counters.queues[1]!.droppedFrames).toBe(2) // 1 cut through, 2 queued, 2 dropped
  })
})

describe('Port ECN marking', () => {
  it('marks CE on ECN-capable frames queued behind more than the threshold, in the queue copy only', () => {
    const clock = new VirtualClock()
    const got: Array<{seq: number; ecn: number; csumOk: boolean}> = []
    const f = fabric()
    const port = new Port({
      clock,
      next: {
        transmit(fr, off, len) {
          const v = fr.subarray(off, off + len)
          got.push({seq: new DataView(v.buffer, v.byteOffset).getUint32(44), ecn: v[15]! & 3, csumOk: ((v[24]! << 8) | v[25]!) === ipv4HeaderChecksum(v, 0)})
        },
      },
      rateBps: 1e9,
      delayNs: 0,
      priorities: 2,
      dscpPriority: f.dscpPriority,
      bufferBytes: 1 << 20,
      burstBytes: 0,
      ecnMarkBytes: 3000,
    })
    const buf = new Uint8Array(1000)
    for (let i = 0; i < 10; i++) {
      makeFrame(1000, 0, 0, i, buf)
      buf[15]! |= i % 2 === 0 ? Ecn.ECT0 : Ecn.NOT_ECT
      const c = ipv4HeaderChecksum(buf, 0)
      buf[24] = c >> 8
      buf[25] = c & 0xff
      port.transmit(buf, 0, 1000)
      expect(buf[15]! & 3).toBe(i % 2 === 0 ? Ecn.ECT0 : Ecn.NOT_ECT) // the caller's buffer is never touched
    }
    clock.runUntilIdle()
    // frame 0 cuts through; frame k (k >= 1) finds (k - 1) * 1000 bytes queued ahead: > 3000 from frame 5 on
    expect(got.map((g) => g.ecn)).toEqual([2, 0, 2, 0, 2, 0, 3, 0, 3, 0])
    expect(got.every((g) => g.csumOk)).toBe(true)
    expect(port.counters.queues[1]!.ecnMarked).toBe(2)
  })
})
