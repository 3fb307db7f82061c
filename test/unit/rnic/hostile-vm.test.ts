// A VM owns its rings: whatever it writes into SQ/RQ slots must cost at most its own QP, never the RNIC.

import fc from 'fast-check'
import {describe, expect, it} from 'vitest'
import {QpState, SendFlags, WcStatus} from '../../../src/rdma-constants.js'
import * as Q from '../../../src/rnic/queue.js'
import {connect, endpoint, makeLab} from './helpers.js'

describe('hostile WQEs', () => {
  it('random words in SQ and RQ slots never throw out of poll/receive, and the other QP keeps working', async () => {
    await fc.assert(fc.asyncProperty(fc.array(fc.integer({min: 0, max: 0xffffffff}), {minLength: 64, maxLength: 64}),
      fc.array(fc.integer({min: 0, max: 0xffffffff}), {minLength: 16, maxLength: 16}), async (sqWords, rqWords) => {
        const lab = makeLab()
        const a = await endpoint(lab.nics[0]!)
        const b = await endpoint(lab.nics[1]!)
        const [qa, qb] = await connect(a, b)
        const [qc, qd] = await connect(a, b)
        // hostile slot contents, published as one WQE each (num_sge kept small so it is at least plausible)
        const sq = qa.sq
        const s = sq.slot(0)
        for (let i = 0; i < Math.min(64, sq.slotWords); i++) sq.u32[s + i] = sqWords[i]!
        sq.u32[s + Q.SQ_NUM_SGE] = sqWords[0]! % 6
        sq.u32[s + Q.SQ_OPCODE] = sqWords[1]! % 11
        sq.publish(1)
        const rq = qb.rq
        const r = rq.slot(0)
        for (let i = 0; i < Math.min(16, rq.slotWords); i++) rq.u32[r + i] = rqWords[i]!
        rq.u32[r + Q.RQ_NUM_SGE] = rqWords[0]! % 6
        rq.publish(1)
        Q.ringDoorbell(a.ctx.doorbell)
        Q.ringDoorbell(b.ctx.doorbell)
        expect(() => lab.run()).not.toThrow()
        // the innocent QP pair still works
        qd.postRecv({wrId: 9})
        qc.postSend({wrId: 10, sendFlags: SendFlags.SIGNALED})
        lab.run()
        const wcs = a.cq.poll(16)
        expect(wcs.filter((w) => w.qpNum === qc.qpn)).toMatchObject([{wrId: 10n, status: WcStatus.SUCCESS}])
        expect((await qc.query()).qpState).toBe(QpState.RTS)
        expect(lab.nics[0]!.lastFault).toBeUndefined()
        expect(lab.nics[1]!.lastFault).toBeUndefined()
      }), {numRuns: 40, seed: 99})
  })
})

describe('hostile ring indexes', () => {
  it('a producer index far ahead of the consumer costs bounded work per poll; another VM\'s QP keeps being served', async () => {
    const lab = makeLab()
    const evil = await endpoint(lab.nics[0]!)
    const good = await endpoint(lab.nics[0]!)
    const peer = await endpoint(lab.nics[1]!)
    const [qa] = await connect(evil, peer)
    const [qc, qd] = await connect(good, peer)
    qa.sq.publish(0x7fffffff)
    qa.rq.publish(0x7ffffff0)
    Q.ringDoorbell(evil.ctx.doorbell)
    // one poll does a bounded amount of work despite the 2^31 "posted" WQEs
    expect(lab.nics[0]!.poll(64)).toBeLessThanOrEqual(2 + 64)
    qd.postRecv({wrId: 9})
    qc.postSend({wrId: 10, sendFlags: SendFlags.SIGNALED})
    lab.run({maxRounds: 2000})
    expect(good.cq.poll(4)).toMatchObject([{wrId: 10n, status: WcStatus.SUCCESS}])
    // flushing the hostile QP is bounded too
    await qa.modify({qpState: QpState.ERR}, 1)
    lab.run({maxRounds: 100})
    expect((await qc.query()).qpState).toBe(QpState.RTS)
  })
})
