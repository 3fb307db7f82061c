import {describe, expect, it} from 'vitest'
import {checkPerftestOptions} from '../../../src/bench/perftest-options.js'

describe('checkPerftestOptions', () => {
  it('accepts perftest defaults and the full -a sweep', () => {
    expect(checkPerftestOptions({ops: ['send', 'write', 'read', 'atomic']})).toEqual([])
    expect(checkPerftestOptions({ops: ['send'], connection: 'UD', all: true, iterations: 5, qps: 16384, mtu: 4096})).toEqual([])
  })
  it('reports every refusal at once, in perftest words', () => {
    expect(checkPerftestOptions({ops: ['write', 'read'], connection: 'UD', all: true, durationSeconds: 5, iterations: 4, qps: 0, size: 2 ** 31, mtu: 1500})).toEqual([
      'UD connection only possible in SEND verb',
      "Duration mode currently doesn't support running on all sizes.",
      'Iteration num should be between 5 and 100000000',
      'num of Qps should be between 1 and 16384',
      'Message size should be between 1 and 2147483647',
      'Invalid MTU - 1500. Please choose mtu from {256,512,1024,2048,4096}',
    ])
    expect(checkPerftestOptions({ops: ['atomic'], connection: 'UC'})).toEqual(['UC connection not possible in READ/ATOMIC verbs'])
  })
})
