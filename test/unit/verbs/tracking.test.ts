// TrackingChannel: what a workload run created and did not destroy is released at its end (children first), so a VM
// that runs workload after workload never fills its quotas or the RNIC's tables.
import {describe, expect, it} from 'vitest'
import {Rnic} from '../../../src/rnic/rnic.js'
import {InProcessChannel, openDevice, TrackingChannel, VmMemory} from '../../../src/verbs/index.js'

describe('TrackingChannel', () => {
  it('releases the QPs, MRs, CQs and PDs a run left behind, and only those', async () => {
    const rnic = new Rnic({name: 'rxe0', gids: ['10.0.0.1']})
    const mem = new VmMemory(1 << 16)
    const before = rnic.objectCounts()
    for (let run = 0; run < 3; run++) {
      const ch = new TrackingChannel(new InProcessChannel(rnic))
      const ctx = await openDevice(ch, {memory: mem})
      const pd = await ctx.allocPd()
      const cq = await ctx.createCq(8)
      await pd.createQp({type: 'RC', sendCq: cq, recvCq: cq, cap: {}})
      const gone = await pd.createQp({type: 'RC', sendCq: cq, recvCq: cq, cap: {}})
      await pd.regMr(mem.region(0, 64), 1)
      await gone.destroy() // destroyed by the workload itself: not destroyed twice
      await expect(pd.createQp({type: 'RC', sendCq: cq, recvCq: cq, cap: {maxSendWr: 1 << 30}})).rejects.toThrow() // refused: not held
      expect(ch.counts).toEqual({qp: 1, mr: 1, cq: 1, pd: 1})
      expect(await ch.releaseAll()).toBe(4)
      expect(ch.counts).toEqual({qp: 0, mr: 0, cq: 0, pd: 0})
      expect(rnic.objectCounts()).toEqual(before)
    }
  })
})
