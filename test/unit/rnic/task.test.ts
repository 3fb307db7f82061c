import {describe, expect, it} from 'vitest'
import {Task} from '../../../src/rnic/task.js'

describe('Task (rxe_do_task)', () => {
  it('a run requested while running arms exactly one more pass instead of nesting', () => {
    const trace: string[] = []
    let depth = 0
    let n = 0
    const t = new Task(() => {
      depth++
      trace.push(`enter ${depth}`)
      if (n++ < 2) {
        t.run()
        t.run()
      }
      depth--
    })
    t.run()
    expect(trace).toEqual(['enter 1', 'enter 1', 'enter 1'])
  })

  it('stays usable after the body throws', () => {
    let fail = true
    let runs = 0
    const t = new Task(() => {
      runs++
      if (fail) throw new Error('boom')
    })
    expect(() => t.run()).toThrow('boom')
    fail = false
    t.run()
    expect(runs).toBe(2)
  })
})
