import {describe, expect, it} from 'vitest'
import {readGidIp, writeGid} from '../../../src/wire/addr.js'
import {gidToIp, ipToGid, ipToU32, macFromString, macToString, u32ToIp} from '../../../src/wire/frame.js'

describe('address helpers', () => {
  it('IPv4 ⇄ uint32', () => {
    expect(ipToU32('10.0.0.1')).toBe(0x0a000001)
    expect(ipToU32('255.255.255.255')).toBe(0xffffffff)
    expect(u32ToIp(0xc0a80a02)).toBe('192.168.10.2')
    for (const bad of ['10.0.0', '10.0.0.256', '1.2.3.4.5', 'a.b.c.d', '']) expect(() => ipToU32(bad)).toThrow(RangeError)
  })
  it('MAC strings', () => {
    expect(Array.from(macFromString('02:00:0a:ff:00:01'))).toEqual([2, 0, 10, 255, 0, 1])
    expect(macToString(macFromString('02-00-0A-FF-00-01'))).toBe('02:00:0a:ff:00:01')
    expect(() => macFromString('02:00:00:00:00')).toThrow(RangeError)
  })
  it('RoCEv2 GIDs are IPv4-mapped IPv6', () => {
    expect(ipToGid('10.0.0.1')).toBe('::ffff:10.0.0.1')
    expect(gidToIp('::ffff:10.0.0.1')).toBe('10.0.0.1')
    expect(gidToIp('0:0:0:0:0:ffff:10.0.0.9')).toBe('10.0.0.9')
    expect(() => gidToIp('fe80::1')).toThrow(RangeError)
    const g = new Uint8Array(18)
    writeGid(g, 1, 0x0a000002)
    expect(Array.from(g.subarray(1, 17))).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 0, 0, 2])
    expect(readGidIp(g, 1)).toBe(0x0a000002)
    g[1] = 0xfe
    expect(readGidIp(g, 1)).toBe(-1)
  })
})
