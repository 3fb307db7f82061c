import {describe, expect, it} from 'vitest'
import {readResults, validateResults} from '../../../src/bench/results-schema.js'
import {syntheticDoc} from './fixtures/synthetic.js'

describe('results.json schema', () => {
  it('accepts what buildResults produces', () => {
    const doc = JSON.parse(JSON.stringify(syntheticDoc()))
    expect(validateResults(doc)).toEqual([])
    expect(readResults(JSON.stringify(doc)).version).toBe(1)
  })
  it('reports every violation with its path', () => {
    const doc = JSON.parse(JSON.stringify(syntheticDoc()))
    doc.modes.masq.bw[0].bwAverage = 'fast'
    doc.modes.masq.lat[0].op = 'teleport'
    delete doc.env.kernel
    doc.modes.sriov.verbs.reboot = {count: 1, medianUs: 1, p99Us: 1, meanUs: 1}
    const errors = validateResults(doc)
    expect(errors).toEqual(expect.arrayContaining([
      '/modes/masq/bw/0/bwAverage: must be number',
      expect.stringMatching(/^\/modes\/masq\/lat\/0\/op: must be equal to one of the allowed values/),
      "/env: must have required property 'kernel'",
    ]))
    expect(errors.some((e) => e.startsWith('/modes/sriov/verbs'))).toBe(true)
    expect(() => readResults(JSON.stringify(doc), 'b.json')).toThrow(/^b\.json: not a valid results document:\n  /)
  })
})
