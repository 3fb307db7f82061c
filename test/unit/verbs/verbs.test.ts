// The VM-side provider: validation of data verbs (EINVAL / ENOMEM like rxe_post_send), inline sends, and control
// verbs over a real MessagePort (structured clone of SharedArrayBuffers and bigint iovas).

import {MessageChannel} from 'node:worker_threads'
import {describe, expect, it} from 'vitest'
import {Access, Errno, QpAttrMask as M, QpState, SendFlags, WcStatus, WrOpcode} from '../../../src/rdma-constants.js'
import {ManualClock} from '../../../src/rnic/clock.js'
import {LoopbackFabric} from '../../../src/rnic/port.js'
import {runUntilIdle} from '../../../src/rnic/pump.js'
import {Rnic} from '../../../src/rnic/rnic.js'
import {MessagePortChannel, openDevice, serveRnic, VerbsError, VmMemory} from '../../../src/verbs/index.js'
import {connect, endpoint, makeLab} from '../rnic/helpers.js'

describe('data verbs validation', () => {
  it('post_send before RTS → EINVAL; post_recv in RESET → EINVAL', async () => {
    const r = new Rnic({name: 'rxe0', gids: ['10.0.0.1']})
    const ep = await endpoint(r)
    const qp = await ep.pd.createQp({type: 'RC', sendCq: ep.cq, recvCq: ep.cq, cap: {}})
    expect(() => qp.postSend({wrId: 1})).toThrow(expect.objectContaining({errno: Errno.EINVAL}))
    expect(() => qp.postRecv({wrId: 1})).toThrow(expect.objectContaining({errno: Errno.EINVAL}))
  })

  it('a full send queue → ENOMEM and nothing of the batch is posted', async () => {
    const lab = makeLab()
    const a = await endpoint(lab.nics[0]!)
    const b = await endpoint(lab.nics[1]!)
    const [qa] = await connect(a, b, {cap: {maxSendWr: 4}})
    expect(() => qa.postSend(Array.from({length: 5}, (_, i) => ({wrId: i})))).toThrow(expect.objectContaining({errno: Errno.ENOMEM}))
    expect(qa.sq.producer()).toBe(0)
    qa.postSend(Array.from({length: 4}, (_, i) => ({wrId: i})))
    expect(() => qa.postSend({wrId: 9})).toThrow(VerbsError)
  })

  it('opcode not valid for the QP type, too many SGEs, misaligned atomic → EINVAL', async () => {
    const lab = makeLab()
    const a = await endpoint(lab.nics[0]!)
    const b = await endpoint(lab.nics[1]!)
    const [qa] = await connect(a, b, {type: 'UC', cap: {maxSendSge: 1}})
    const sge = {addr: 0, length: 8, lkey: 0}
    expect(() => qa.postSend({opcode: WrOpcode.RDMA_READ})).toThrow(expect.objectContaining({errno: Errno.EINVAL}))
    expect(() => qa.postSend({sgList: [sge, sge]})).toThrow(expect.objectContaining({errno: Errno.EINVAL}))
    const [rc] = await connect(a, b)
    expect(() => rc.postSend({opcode: WrOpcode.ATOMIC_FETCH_AND_ADD, sgList: [sge], atomic: {remoteAddr: 4, compareAdd: 1, rkey: 1}}))
      .toThrow(expect.objectContaining({errno: Errno.EINVAL}))
  })

  it('inline data is copied at post time: later changes to the buffer do not leak into the message', async () => {
    const lab = makeLab()
    const a = await endpoint(lab.nics[0]!)
    const b = await endpoint(lab.nics[1]!)
    const [qa, qb] = await connect(a, b, {cap: {maxInlineData: 64}})
    const src = a.mem.alloc(32)
    src.bytes.fill(0x11)
    const dst = b.mem.alloc(64)
    const dmr = await b.pd.regMr(dst, Access.LOCAL_WRITE)
    qb.postRecv({wrId: 1, sgList: [{addr: dst.addr, length: 64, lkey: dmr.lkey}]})
    qa.postSend({wrId: 2, sendFlags: SendFlags.INLINE | SendFlags.SIGNALED, sgList: [{addr: src.addr, length: 32, lkey: 0}]})
    src.bytes.fill(0x22)
    lab.run()
    expect(a.cq.poll(1)).toMatchObject([{wrId: 2n, status: WcStatus.SUCCESS}])
    expect(b.cq.poll(1)).toMatchObject([{wrId: 1n, status: WcStatus.SUCCESS, byteLen: 32}])
    expect(dst.bytes.subarray(0, 32).every((x) => x === 0x11)).toBe(true)
    expect(() => qa.postSend({sendFlags: SendFlags.INLINE, sgList: [{addr: src.addr, length: 65, lkey: 0}]})).toThrow(VerbsError)
  })
})

describe('control verbs over a MessagePort', () => {
  it('a full RC exchange works when every control verb crosses a MessageChannel', async () => {
    const clock = new ManualClock()
    const fabric = new LoopbackFabric({clock})
    const nics = [new Rnic({name: 'rxe0', gids: ['10.0.0.1'], clock}), new Rnic({name: 'rxe1', gids: ['10.0.0.2'], clock})]
    const ctxs = []
    const channels: MessageChannel[] = []
    for (const nic of nics) {
      fabric.attach(nic)
      const ch = new MessageChannel()
      channels.push(ch)
      serveRnic(ch.port2, nic)
      const mem = new VmMemory(1 << 16)
      ctxs.push({mem, ctx: await openDevice(new MessagePortChannel(ch.port1), {memory: mem})})
    }
    try {
      const [A, B] = ctxs as [typeof ctxs[0], typeof ctxs[0]]
      const pdA = await A.ctx.allocPd()
      const pdB = await B.ctx.allocPd()
      const cqA = await A.ctx.createCq(16)
      const cqB = await B.ctx.createCq(16)
      const qa = await pdA.createQp({type: 'RC', sendCq: cqA, recvCq: cqA, cap: {}})
      const qb = await pdB.createQp({type: 'RC', sendCq: cqB, recvCq: cqB, cap: {}})
      for (const [q, peer, ip] of [[qa, qb, '10.0.0.2'], [qb, qa, '10.0.0.1']] as const) {
        await q.modify({qpState: QpState.INIT, pkeyIndex: 0, portNum: 1, qpAccessFlags: Access.REMOTE_WRITE | Access.LOCAL_WRITE}, M.STATE | M.PKEY_INDEX | M.PORT | M.ACCESS_FLAGS)
        await q.modify({qpState: QpState.RTR, pathMtu: 3, destQpNum: peer.qpn, rqPsn: 0, maxDestRdAtomic: 1, minRnrTimer: 1, ahAttr: {dgid: ip}},
          M.STATE | M.AV | M.PATH_MTU | M.DEST_QPN | M.RQ_PSN | M.MAX_DEST_RD_ATOMIC | M.MIN_RNR_TIMER)
        await q.modify({qpState: QpState.RTS, sqPsn: 0, timeout: 14, retryCnt: 7, rnrRetry: 7, maxRdAtomic: 1},
          M.STATE | M.TIMEOUT | M.RETRY_CNT | M.RNR_RETRY | M.SQ_PSN | M.MAX_QP_RD_ATOMIC)
      }
      // an error result crosses the port as {errno, message} and becomes a VerbsError
      await expect(qa.modify({qpState: QpState.RTR}, M.STATE)).rejects.toMatchObject({errno: Errno.EINVAL})
      const src = A.mem.alloc(100)
      src.bytes.fill(5)
      const dst = B.mem.alloc(100)
      const smr = await pdA.regMr(src, 0)
      const dmr = await pdB.regMr(dst, Access.LOCAL_WRITE | Access.REMOTE_WRITE, {iova: 0xffff_0000_0000n})
      qa.postSend({wrId: 1, opcode: WrOpcode.RDMA_WRITE, sendFlags: SendFlags.SIGNALED, sgList: [{addr: src.addr, length: 100, lkey: smr.lkey}],
        rdma: {remoteAddr: 0xffff_0000_0000n, rkey: dmr.rkey}})
      runUntilIdle(nics, fabric, {clock})
      expect(cqA.poll(1)).toMatchObject([{wrId: 1n, status: WcStatus.SUCCESS}])
      expect(dst.bytes.every((x) => x === 5)).toBe(true)
    } finally {
      for (const ch of channels) {
        ch.port1.close()
        ch.port2.close()
      }
    }
  })

  it('a malformed or unknown command gets an error result, not an exception', async () => {
    const nic = new Rnic({name: 'rxe0', gids: ['10.0.0.1']})
    const ch = new MessageChannel()
    serveRnic(ch.port2, nic)
    const answers: unknown[] = []
    const got = new Promise<void>((resolve) => ch.port1.on('message', (m) => {
      answers.push(m)
      if (answers.length === 2) resolve()
    }))
    ch.port1.postMessage({id: 1, cmd: 'regMr', args: [null]})
    ch.port1.postMessage({id: 2, cmd: 'constructor', args: []})
    await got
    ch.port1.close()
    ch.port2.close()
    expect(answers).toEqual([{id: 1, result: expect.objectContaining({errno: Errno.EINVAL})}, {id: 2, result: expect.objectContaining({errno: Errno.EINVAL})}])
  })
})

describe('CQ wait', () => {
  it('returns true at once when completions are pending, false after the timeout when none come', async () => {
    const lab = makeLab()
    const a = await endpoint(lab.nics[0]!)
    const b = await endpoint(lab.nics[1]!)
    const [qa] = await connect(a, b)
    expect(await a.cq.wait(5)).toBe(false)
    qa.postRecv({wrId: 1})
    await qa.modify({qpState: QpState.ERR}, M.STATE)
    expect(await a.cq.wait(5)).toBe(true)
    expect(a.cq.poll(1)).toMatchObject([{wrId: 1n, status: WcStatus.WR_FLUSH_ERR}])
  })
})
