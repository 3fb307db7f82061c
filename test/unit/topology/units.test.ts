import {readFileSync} from 'node:fs'
import {describe, expect, it} from 'vitest'
import {DEFAULTS} from '../../../src/topology/defaults.js'
import {
  DURATION_PATTERN, RATE_PATTERN, SIZE_PATTERN, cidrContains, formatDuration, formatRate, formatSize, parseCidr,
  parseDuration, parseIpv4, parseRate, parseSize,
} from '../../../src/topology/units.js'

const schema = JSON.parse(readFileSync(new URL('../../../schema/topology.schema.json', import.meta.url), 'utf8'))

describe('units', () => {
  it.each([
    ['4KiB', 4096], ['64MiB', 64 * 1024 ** 2], ['1GiB', 1024 ** 3], ['1.5KiB', 1536], ['4MB', 4_000_000],
    ['100 B', 100], ['4096', 4096], [4096, 4096], [0, 0],
  ])('size %j -> %d bytes', (v, n) => expect(parseSize(v)).toBe(n))

  it.each([
    ['100Gbps', 100e9], ['10Mbps', 10e6], ['2.5Gbps', 2.5e9], ['1Kbps', 1000], ['1kbps', 1000], ['800', 800], [1e9, 1e9],
  ])('rate %j -> %d bit/s', (v, n) => expect(parseRate(v)).toBe(n))

  it.each([
    ['2us', 2000], ['1ms', 1e6], ['1s', 1e9], ['250ns', 250], ['0.5us', 500], ['3µs', 3000], [1000, 1000],
  ])('duration %j -> %d ns', (v, n) => expect(parseDuration(v)).toBe(n))

  it.each([['4 KB/s'], ['10Gbs'], ['-1'], [-1], ['1e9'], [''], [null], [true], ['1 hour'], [Number.NaN]])(
    'rejects %j without throwing', (v) => {
      expect(parseSize(v)).toBeUndefined()
      expect(parseDuration(v)).toBeUndefined()
    })

  it('rates and durations do not accept each other\'s units', () => {
    expect(parseRate('4KiB')).toBeUndefined()
    expect(parseDuration('4Gbps')).toBeUndefined()
  })

  it('formats back to the largest exact unit', () => {
    expect(formatSize(4 * 1024 ** 2)).toBe('4MiB')
    expect(formatSize(1500)).toBe('1500B')
    expect(formatRate(100e9)).toBe('100Gbps')
    expect(formatRate(0)).toBe('0')
    expect(formatDuration(1000)).toBe('1us')
    expect(formatDuration(1500)).toBe('1500ns')
  })

  it('the schema uses the same unit patterns as the parser', () => {
    expect(schema.definitions.size.pattern).toBe(SIZE_PATTERN)
    expect(schema.definitions.rate.pattern).toBe(RATE_PATTERN)
    expect(schema.definitions.duration.pattern).toBe(DURATION_PATTERN)
  })

  it('the schema documents the same defaults the resolver applies', () => {
    const d = schema.definitions
    expect(d.fabric.properties.mtu.default).toBe(DEFAULTS.mtu)
    expect(parseRate(d.fabric.properties.linkRate.default)).toBe(parseRate(DEFAULTS.linkRate))
    expect(parseDuration(d.fabric.properties.delay.default)).toBe(parseDuration(DEFAULTS.delay))
    expect(parseSize(d.fabric.properties.buffer.default)).toBe(parseSize(DEFAULTS.buffer))
    expect(schema.properties.provider.properties.dscp.default).toBe(DEFAULTS.providerDscp)
    expect(schema.properties.mode.default).toBe(DEFAULTS.mode)
    expect(d.tenant.properties.qos.properties.dscp.default).toBe(DEFAULTS.tenantDscp)
    for (const [k, v] of Object.entries(DEFAULTS.rnic)) expect(d.rnic.properties[k].default, k).toBe(v)
    for (const [k, v] of Object.entries(DEFAULTS.perVm)) {
      const doc = d.quotaPerVm.properties[k].default
      expect(typeof doc === 'string' ? parseSize(doc) : doc, k).toBe(v)
      const docT = d.quotaPerTenant.properties[k].default
      expect(typeof docT === 'string' ? parseSize(docT) : docT, k).toBe(v * DEFAULTS.perTenantFactor)
    }
    expect(d.quotaPerTenant.properties.connectRate.default).toBe(DEFAULTS.connectRate)
    expect(parseSize(d.vm.properties.memory.default)).toBe(DEFAULTS.vmMemory)
  })
})

describe('IPv4 and CIDR', () => {
  it('parses dotted quads strictly', () => {
    expect(parseIpv4('10.0.0.1')).toBe(0x0a000001)
    expect(parseIpv4('255.255.255.255')).toBe(0xffffffff)
    for (const bad of ['10.0.0', '10.0.0.256', '010.0.0.1', '1.2.3.4.5', 'a.b.c.d', '', 7]) expect(parseIpv4(bad)).toBeUndefined()
  })
  it('parses networks and refuses host bits, suggesting the network', () => {
    const r = parseCidr('10.0.0.0/24')
    expect(r.ok && r.cidr.prefix).toBe(24)
    expect(r.ok && cidrContains(r.cidr, parseIpv4('10.0.0.77')!)).toBe(true)
    expect(r.ok && cidrContains(r.cidr, parseIpv4('10.0.1.1')!)).toBe(false)
    expect(parseCidr('10.0.0.5/24')).toEqual({ok: false, reason: 'host-bits', suggestion: '10.0.0.0/24'})
    expect(parseCidr('10.0.0.0/33')).toEqual({ok: false, reason: 'syntax'})
    const any = parseCidr('0.0.0.0/0')
    expect(any.ok && cidrContains(any.cidr, parseIpv4('192.168.9.9')!)).toBe(true)
    const one = parseCidr('10.1.2.3/32')
    expect(one.ok && cidrContains(one.cidr, parseIpv4('10.1.2.3')!)).toBe(true)
  })
})
