// RnicDriver: the same engine on the real event loop, woken by doorbells (Atomics.waitAsync) and timers.

import {describe, expect, it} from 'vitest'
import {Access, SendFlags, WcStatus, WrOpcode} from '../../../src/rdma-constants.js'
import {LoopbackFabric} from '../../../src/rnic/port.js'
import {RnicDriver} from '../../../src/rnic/pump.js'
import {Rnic} from '../../../src/rnic/rnic.js'
import type {Cq, Wc} from '../../../src/verbs/index.js'
import {connect, endpoint} from './helpers.js'

/** Resolve with the next completion, polling on the event loop (no fixed sleeps); reject after a generous limit. */
function nextWc(cq: Cq, limitMs = 20_000): Promise<Wc> {
  const start = Date.now()
  return new Promise((resolve, reject) => {
    const tick = () => {
      const [wc] = cq.poll(1)
      if (wc) return resolve(wc)
      if (Date.now() - start > limitMs) return reject(new Error('no completion'))
      setImmediate(tick)
    }
    tick()
  })
}

describe('RnicDriver', () => {
  it('a posted WRITE completes with no explicit pumping; a lost frame is recovered by the real retransmit timer', async () => {
    const fabric = new LoopbackFabric()
    const nics = [new Rnic({name: 'rxe0', gids: ['10.0.0.1']}), new Rnic({name: 'rxe1', gids: ['10.0.0.2']})]
    for (const n of nics) fabric.attach(n)
    const driver = new RnicDriver(nics, fabric)
    driver.start()
    try {
      const a = await endpoint(nics[0]!)
      const b = await endpoint(nics[1]!)
      // timeout 8 = 1 ms retransmit timer
      const [qa] = await connect(a, b, {timeout: 8})
      const src = a.mem.alloc(5000)
      src.bytes.fill(3)
      const dst = b.mem.alloc(5000)
      const smr = await a.pd.regMr(src, 0)
      const dmr = await b.pd.regMr(dst, Access.LOCAL_WRITE | Access.REMOTE_WRITE)
      const wr = {wrId: 1, opcode: WrOpcode.RDMA_WRITE, sendFlags: SendFlags.SIGNALED, sgList: [{addr: src.addr, length: 5000, lkey: smr.lkey}],
        rdma: {remoteAddr: dst.addr, rkey: dmr.rkey}}
      qa.postSend(wr)
      // wait on the CQ (no spinning), as a VM worker would
      expect(await a.cq.wait(20_000)).toBe(true)
      expect(await nextWc(a.cq)).toMatchObject({wrId: 1n, status: WcStatus.SUCCESS})
      expect(dst.bytes.every((x) => x === 3)).toBe(true)
      let drop = 1
      fabric.filter = () => drop-- > 0
      src.bytes.fill(4)
      qa.postSend({...wr, wrId: 2})
      expect(await nextWc(a.cq)).toMatchObject({wrId: 2n, status: WcStatus.SUCCESS})
      expect(dst.bytes.every((x) => x === 4)).toBe(true)
      expect(nics[0]!.counters().port.COMP_RETRY).toBeGreaterThanOrEqual(1)
    } finally {
      driver.stop()
    }
  })
})
