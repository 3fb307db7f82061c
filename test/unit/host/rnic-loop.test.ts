// The RNIC worker's engine loop on the real event loop: after its spin window it sleeps (no passes without a reason)
// and a doorbell rung while it sleeps wakes it.
import {describe, expect, it} from 'vitest'
import {RnicLoop} from '../../../src/host/rnic-loop.js'
import {ringDoorbell} from '../../../src/rnic/queue.js'
import {Rnic} from '../../../src/rnic/rnic.js'

async function eventually(pred: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms
  while (!pred()) {
    if (Date.now() > end) throw new Error('condition not met')
    await new Promise((r) => setTimeout(r, 2))
  }
}

describe('RnicLoop', () => {
  it('sleeps after the spin window and wakes on a doorbell', async () => {
    const rnic = new Rnic({name: 'rxe0', gids: ['192.168.0.1']})
    let polls = 0
    const poll = rnic.poll.bind(rnic)
    rnic.poll = (b?: number) => {
      polls++
      return poll(b)
    }
    const loop = new RnicLoop(rnic, 0)
    loop.start()
    try {
      await eventually(() => loop.sleeps > 0)
      // asleep: no more passes without a reason
      const before = loop.passes
      await new Promise((r) => setTimeout(r, 30))
      expect(loop.passes - before).toBeLessThanOrEqual(1)
      for (let i = 0; i < 5; i++) {
        const p = loop.passes
        ringDoorbell(rnic.doorbell)
        await eventually(() => loop.passes > p)
      }
      expect(polls).toBeGreaterThan(5)
    } finally {
      loop.stop()
    }
  })

  it('keeps polling while its port holds ACKs, releases them when old enough, and forces them out before sleeping', async () => {
    const rnic = new Rnic({name: 'rxe0', gids: ['192.168.0.1']})
    let holding = 3 // released on the third pass after the hold starts
    const calls: boolean[] = []
    const port = {
      beginBatch() {},
      endBatch() {},
      releaseHeld(force: boolean) {
        calls.push(force)
        if (force) holding = 0
        else if (holding > 0) holding--
        return holding
      },
    }
    const loop = new RnicLoop(rnic, 0, port)
    loop.start()
    try {
      await eventually(() => loop.sleeps > 0)
      // spin 0: it slept only once nothing was held, and released once more by force on the way
      expect(calls.slice(0, 3)).toEqual([false, false, false])
      expect(calls.at(-1)).toBe(true)
      expect(loop.passes).toBeGreaterThanOrEqual(3)
    } finally {
      loop.stop()
    }
  })

  it('stays in polling mode for bulkSpinUs after bulk traffic, then sleeps again', async () => {
    const rnic = new Rnic({name: 'rxe0', gids: ['192.168.0.1']})
    const loop = new RnicLoop(rnic, 0)
    loop.bulkSpinMs = 50
    loop.start()
    try {
      await eventually(() => loop.sleeps > 0)
      const p0 = loop.passes
      const s0 = loop.sleeps
      loop.bulk() // what the worker does when an MTU-sized frame arrives
      loop.kick()
      await eventually(() => loop.sleeps > s0)
      // without a doorbell or a frame, a plain kick costs one pass; bulk mode kept polling
      expect(loop.passes - p0).toBeGreaterThan(3)
    } finally {
      loop.stop()
    }
  })
})
