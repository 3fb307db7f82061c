import fc from 'fast-check'
import {describe, expect, it} from 'vitest'
import {Ecn, frameDscp, ipv4HeaderChecksum, markCe, markDscp} from '../../../src/fabric/dscp.js'
import {makeFrame} from './frames.js'

describe('DSCP', () => {
  it('reads the DSCP from the TOS byte (byte 15), ignoring ECN bits', () => {
    const f = makeFrame(100, 46)
    f[15]! |= 0x03 // ECN CE
    expect(frameDscp(f, 0, 100)).toBe(46)
  })

  it('classifies non-IPv4 and truncated frames as DSCP 0 without throwing', () => {
    const f = makeFrame(100, 46)
    expect(frameDscp(f, 0, 20)).toBe(0)
    f[12] = 0x86
    f[13] = 0xdd
    expect(frameDscp(f, 0, 100)).toBe(0)
    expect(frameDscp(new Uint8Array(0), 0, 0)).toBe(0)
  })

  it('marking keeps ECN and the IPv4 header checksum valid (incremental update = full recompute)', () => {
    fc.assert(
      fc.property(fc.nat(63), fc.nat(63), fc.nat(3), fc.nat(0xffff), (from, to, ecn, id) => {
        const f = makeFrame(80, from)
        f[18] = id >> 8
        f[19] = id & 0xff
        f[15] = (from << 2) | ecn
        const c0 = ipv4HeaderChecksum(f, 0)
        f[24] = c0 >> 8
        f[25] = c0 & 0xff
        expect(markDscp(f, 0, 80, to)).toBe(true)
        expect(frameDscp(f, 0, 80)).toBe(to)
        expect(f[15]! & 3).toBe(ecn)
        expect((f[24]! << 8) | f[25]!).toBe(ipv4HeaderChecksum(f, 0))
      }),
    )
  })

  it('marking a non-IPv4 frame leaves it untouched', () => {
    const f = makeFrame(80, 0)
    f[12] = 0x08
    f[13] = 0x06 // ARP
    const before = f.slice()
    expect(markDscp(f, 0, 80, 48)).toBe(false)
    expect(f).toEqual(before)
  })

  it('marks CE only on ECN-capable frames, keeping the DSCP and a valid checksum', () => {
    for (const [ecn, marks] of [[Ecn.NOT_ECT, false], [Ecn.ECT0, true], [Ecn.ECT1, true], [Ecn.CE, false]] as const) {
      const f = makeFrame(80, 26)
      f[15] = (26 << 2) | ecn
      const c = ipv4HeaderChecksum(f, 0)
      f[24] = c >> 8
      f[25] = c & 0xff
      expect(markCe(f, 0, 80)).toBe(marks)
      expect(f[15]! & 3).toBe(marks ? Ecn.CE : ecn)
      expect(frameDscp(f, 0, 80)).toBe(26)
      expect((f[24]! << 8) | f[25]!).toBe(ipv4HeaderChecksum(f, 0))
    }
  })
})
