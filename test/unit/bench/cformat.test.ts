import {describe, expect, it} from 'vitest'
import {fixed, sprintf} from '../../../src/bench/cformat.js'

describe('sprintf follows glibc for the conversions perftest uses', () => {
  it('left-justified unsigned and fixed-point fields', () => {
    expect(sprintf(' %-7lu|', 65536)).toBe(' 65536  |')
    expect(sprintf('%-10lu|', 123456789012)).toBe('123456789012|')
    expect(sprintf('%-7.2lf|', 0.98)).toBe('0.98   |')
    expect(sprintf('%-7.6lf|', 0.176734)).toBe('0.176734|')
    expect(sprintf('%7.2f|', -1.5)).toBe('  -1.50|')
    expect(sprintf('%d %d', -3, 7)).toBe('-3 7')
  })
  it('the # flag adds 0x only for non-zero values; 0 pads after the prefix', () => {
    expect(sprintf('%#04x', 0)).toBe('0000')
    expect(sprintf('%#04x', 16)).toBe('0x10')
    expect(sprintf('%#06x', 0x108)).toBe('0x0108')
    expect(sprintf('%#06x', 0x6b7a4d)).toBe('0x6b7a4d')
    expect(sprintf('%#08x', 0x1fffbd)).toBe('0x1fffbd')
    expect(sprintf('%#016llx', 0x7f6f1a4b7000n)).toBe('0x007f6f1a4b7000')
    expect(sprintf('%02d:%02d', 0, 255)).toBe('00:255')
  })
  it('strings, percent and missing arguments', () => {
    expect(sprintf('%s|%-6s|%6s|%%', 'a', 'bc', 'de')).toBe('a|bc    |    de|%')
    expect(sprintf('%d %s|', 1)).toBe('1 |')
  })
  it('rounds exact ties half to even like printf, not away from zero like toFixed', () => {
    expect(fixed(0.125, 2)).toBe('0.12')
    expect(fixed(0.375, 2)).toBe('0.38')
    expect(fixed(2.5, 0)).toBe('2')
    expect(fixed(3.5, 0)).toBe('4')
    // 1.005 is stored as 1.00499999999999989...: rounds down in both.
    expect(fixed(1.005, 2)).toBe('1.00')
    expect(fixed(0, 2)).toBe('0.00')
    expect(fixed(11046.3, 2)).toBe('11046.30')
  })
  it('agrees with toFixed away from exact ties', () => {
    for (let i = 0; i < 2000; i++) {
      const v = (i * 7919.123456789) % 10000 / 7
      expect(fixed(v, 2)).toBe(v.toFixed(2))
      expect(fixed(v, 6)).toBe(v.toFixed(6))
    }
  })
})
