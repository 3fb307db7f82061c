import fc from 'fast-check'
import {describe, expect, it} from 'vitest'
import {RealClock, Timer, VirtualClock} from '../../../src/fabric/clock.js'

describe('VirtualClock', () => {
  it('fires timers in deadline order and stands at each deadline while firing', () => {
    const clock = new VirtualClock()
    const fired: Array<[string, number]> = []
    const mk = (name: string) => new Timer((now) => fired.push([name, now]))
    const a = mk('a')
    const b = mk('b')
    const c = mk('c')
    clock.arm(a, 300)
    clock.arm(b, 100)
    clock.arm(c, 200)
    clock.runUntil(250)
    expect(fired).toEqual([['b', 100], ['c', 200]])
    expect(clock.now()).toBe(250)
    clock.runUntilIdle()
    expect(fired).toEqual([['b', 100], ['c', 200], ['a', 300]])
  })

  it('re-arming moves the single pending wake-up; cancel removes it', () => {
    const clock = new VirtualClock()
    let n = 0
    const t = new Timer(() => n++)
    clock.arm(t, 100)
    clock.arm(t, 50)
    expect(clock.pending).toBe(1)
    clock.runUntil(60)
    expect(n).toBe(1)
    clock.arm(t, 500)
    clock.cancel(t)
    clock.runUntil(1000)
    expect(n).toBe(1)
    expect(t.armed).toBe(false)
  })

  it('equal deadlines fire in arming order (re-arming counts as arming again)', () => {
    const clock = new VirtualClock()
    const fired: number[] = []
    const ts = Array.from({length: 50}, (_, i) => new Timer(() => fired.push(i)))
    for (const t of ts) clock.arm(t, 100)
    clock.arm(ts[3]!, 100)
    clock.runUntilIdle()
    expect(fired).toEqual([...Array.from({length: 50}, (_, i) => i).filter((i) => i !== 3), 3])
  })

  it('a timer armed in the past fires at the current time', () => {
    const clock = new VirtualClock(1000)
    let at = -1
    clock.arm(new Timer((now) => (at = now)), 10)
    clock.runUntil(1000)
    expect(at).toBe(1000)
  })

  it('any sequence of arm/re-arm/cancel fires the survivors in deadline order', () => {
    fc.assert(
      fc.property(fc.array(fc.record({t: fc.nat(19), at: fc.nat(10_000), cancel: fc.boolean()}), {maxLength: 200}), (ops) => {
        const clock = new VirtualClock()
        const fired: Array<[number, number]> = []
        const timers = Array.from({length: 20}, (_, i) => new Timer((now) => fired.push([i, now])))
        const expected = new Map<number, number>()
        for (const op of ops) {
          if (op.cancel) {
            clock.cancel(timers[op.t]!)
            expected.delete(op.t)
          } else {
            clock.arm(timers[op.t]!, op.at)
            expected.set(op.t, op.at)
          }
        }
        clock.runUntilIdle()
        expect(fired.length).toBe(expected.size)
        for (let i = 1; i < fired.length; i++) expect(fired[i]![1]).toBeGreaterThanOrEqual(fired[i - 1]![1])
        for (const [i, at] of fired) expect(expected.get(i)).toBe(at)
      }),
    )
  })
})

describe('RealClock', () => {
  it('fires near and far timers after their deadlines, in order', async () => {
    const clock = new RealClock()
    const order: string[] = []
    const late: number[] = []
    await new Promise<void>((resolve) => {
      const t0 = clock.now()
      const near = new Timer((now) => {
        order.push('near')
        late.push(now - (t0 + 200_000))
      })
      const far = new Timer((now) => {
        order.push('far')
        late.push(now - (t0 + 5_000_000))
        resolve()
      })
      clock.arm(far, t0 + 5_000_000)
      clock.arm(near, t0 + 200_000)
    })
    clock.close()
    expect(order).toEqual(['near', 'far'])
    for (const l of late) expect(l).toBeGreaterThanOrEqual(0)
  })
})
