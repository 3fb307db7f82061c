import {describe, expect, it} from 'vitest'
import {didYouMean, formatError, formatPath, levenshtein} from '../../../src/topology/errors.js'

describe('error formatting', () => {
  it('JSON paths quote keys that are not identifiers', () => {
    expect(formatPath([])).toBe('$')
    expect(formatPath(['vms', 2, 'ip'])).toBe('$.vms[2].ip')
    expect(formatPath(['fabric', 'dscpPriority', '46'])).toBe('$.fabric.dscpPriority["46"]')
  })
  it('file:line:col: message (at path) and an indented hint line', () => {
    expect(formatError({file: 'a.yaml', line: 3, col: 7, path: '$.mode', message: 'invalid mode "x"', hint: 'allowed values: masq'}))
      .toBe('a.yaml:3:7: invalid mode "x" (at $.mode)\n  hint: allowed values: masq')
    expect(formatError({file: 'a.yaml', line: 1, col: 1, path: '$', message: 'm'})).toBe('a.yaml:1:1: m (at $)')
  })
  it('did-you-mean uses the edit distance, bounded by the word length', () => {
    expect(levenshtein('kitten', 'sitting')).toBe(3)
    expect(levenshtein('', 'abc')).toBe(3)
    expect(didYouMean('ipp', ['name', 'ip', 'host'])).toBe('ip')
    expect(didYouMean('secuirtyGroups', ['securityGroups', 'mode'])).toBe('securityGroups')
    expect(didYouMean('Tenant', ['tenant'])).toBe('tenant')
    expect(didYouMean('colour', ['name', 'ip', 'host'])).toBeUndefined()
  })
})
