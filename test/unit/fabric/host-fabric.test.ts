import {describe, expect, it} from 'vitest'
import {PolledClock, Timer} from '../../../src/fabric/clock.js'
import {HostFabric, fabricIsTransparent, hostFabric} from '../../../src/fabric/host-fabric.js'
import {Recorder, fabric, makeFrame} from './frames.js'

const turn = () => new Promise((r) => setImmediate(r))

/** Drive the fabric like RnicLoop does: poll on every turn until `done` (bounded by turns, not by time). */
async function drive(f: HostFabric, done: () => boolean, maxTurns = 200_000): Promise<void> {
  for (let i = 0; i < maxTurns && !done(); i++) {
    f.poll()
    await turn()
  }
}

describe('fabricIsTransparent', () => {
  it('the default fabric (100 Gbps, 1 µs, no impairments) is transparent; anything slower, longer or impaired is not', () => {
    expect(fabricIsTransparent(fabric({linkRateBps: 100e9, delayNs: 1000}))).toBe(true)
    expect(fabricIsTransparent(fabric({linkRateBps: 10e9, delayNs: 1000}))).toBe(false)
    expect(fabricIsTransparent(fabric({linkRateBps: 100e9, delayNs: 5000}))).toBe(false)
    const lossy = fabric({linkRateBps: 100e9, delayNs: 0})
    lossy.impairments.loss = 0.05
    expect(fabricIsTransparent(lossy)).toBe(false)
    expect(hostFabric(fabric({linkRateBps: 100e9, delayNs: 0}), {transmit() {}}, {transmit() {}}, 0)).toBeUndefined()
    expect(hostFabric(fabric({linkRateBps: 100e9, delayNs: 0}), {transmit() {}}, {transmit() {}}, 0, true)).toBeInstanceOf(HostFabric)
    expect(hostFabric(undefined, {transmit() {}}, {transmit() {}}, 0)).toBeUndefined()
  })
})

describe('PolledClock', () => {
  it('fires only due timers, in deadline order, and reports the next deadline', () => {
    const c = new PolledClock()
    const fired: string[] = []
    const a = new Timer(() => fired.push('a'))
    const b = new Timer(() => fired.push('b'))
    const later = new Timer(() => fired.push('later'))
    const t0 = c.now()
    c.arm(b, t0 - 1)
    c.arm(a, t0 - 2)
    c.arm(later, t0 + 3.6e12) // an hour away
    expect(c.runDue()).toBe(2)
    expect(fired).toEqual(['a', 'b'])
    expect(c.nextDeadline()).toBe(later.deadline)
    c.cancel(later)
    expect(c.nextDeadline()).toBe(Infinity)
  })
})

describe('HostFabric', () => {
  it('uplink: a frame queued behind the link leaves for the wire once its time has come; the deadline is in µs', async () => {
    const wire = new Recorder(() => 0)
    const f = new HostFabric(fabric({linkRateBps: 1e9, delayNs: 20_000}), wire, {transmit() {}}, 0)
    expect(f.nextDeadline()).toBe(Infinity)
    const buf = makeFrame(1000, 26, 7, 1)
    f.uplink.transmit(buf, 0, 1000)
    buf.fill(0) // the engine reuses its buffer: the port kept a copy
    expect(wire.seqs).toEqual([])
    // 8 µs of serialisation + 20 µs of delay after the transmit, in µs on performance.now()'s clock
    const before = performance.now() * 1000
    const d = f.nextDeadline()
    expect(d).toBeLessThan(before + 1e6)
    expect(d).toBeGreaterThan(before - 1e6)
    await drive(f, () => wire.seqs.length > 0)
    expect(wire.srcs).toEqual([7])
    expect(wire.seqs).toEqual([1])
    expect(f.counters().uplink.deliveredFrames).toBe(1)
    expect(f.nextDeadline()).toBe(Infinity)
    expect(f.poll()).toBe(0)
  })

  it('downlink: frames from the wire meet the impairments, then the port, then the engine', async () => {
    const lossy = fabric({linkRateBps: 10e9, delayNs: 1000})
    lossy.impairments.loss = 0.5
    const rnic = new Recorder(() => 0)
    const f = new HostFabric(lossy, {transmit() {}}, rnic, 3)
    const buf = new Uint8Array(500)
    for (let i = 0; i < 400; i++) f.input.transmit(makeFrame(500, 0, 1, i, buf), 0, 500)
    const c = f.counters()
    await drive(f, () => c.downlink.deliveredFrames === c.impairments!.passed)
    expect(c.impairments!.frames).toBe(400)
    expect(c.impairments!.lost).toBeGreaterThan(100)
    expect(c.impairments!.lost).toBeLessThan(300)
    expect(rnic.seqs.length).toBe(400 - c.impairments!.lost)
    // what survives arrives in order and intact
    expect([...rnic.seqs].sort((a, b) => a - b)).toEqual(rnic.seqs)
  })
})

describe('rcAckTimeout', () => {
  it('keeps the testbed default on a transparent fabric and grows with the slowest modelled rate, up to 18', async () => {
    const {rcAckTimeout} = await import('../../../src/fabric/host-fabric.js')
    expect(rcAckTimeout(fabric({linkRateBps: 100e9, delayNs: 1000}), [1e6])).toBe(14)
    expect(rcAckTimeout(fabric({linkRateBps: 10e9}), [])).toBe(14) // 8 x 64 KiB at 10 Gbps: 0.4 ms
    expect(rcAckTimeout(fabric({linkRateBps: 30e6}), [16e6, 8e6, 0])).toBe(17) // 8 x 64 KiB at 8 Mbps: 524 ms
    expect(rcAckTimeout(fabric({linkRateBps: 30e6}), [1e3])).toBe(18)
  })
})
