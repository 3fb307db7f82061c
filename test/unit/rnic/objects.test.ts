// test_pd / test_mr / test_cq in the style of pyverbs.

import {describe, expect, it} from 'vitest'
import {Access, Errno, QpState, WcStatus} from '../../../src/rdma-constants.js'
import {isRnicError, Rnic} from '../../../src/rnic/rnic.js'
import {VerbsError} from '../../../src/verbs/index.js'
import {connect, endpoint, makeLab} from './helpers.js'

function nic(limits = {}): Rnic {
  let x = 0
  return new Rnic({name: 'rxe0', gids: ['10.0.0.1'], limits, random: () => ((x = (x + 0.37) % 1))})
}

describe('PD', () => {
  it('alloc / dealloc; dealloc twice → EINVAL; limit → ENOMEM', () => {
    const r = nic({maxPd: 2})
    const a = r.allocPd() as {pdn: number}
    const b = r.allocPd() as {pdn: number}
    expect(a.pdn).not.toBe(b.pdn)
    expect(r.allocPd()).toMatchObject({errno: Errno.ENOMEM})
    expect(r.deallocPd(a.pdn)).toEqual({})
    expect(r.deallocPd(a.pdn)).toMatchObject({errno: Errno.EINVAL})
  })

  it('dealloc with a registered MR → EBUSY', () => {
    const r = nic()
    const pd = r.allocPd() as {pdn: number}
    const mr = r.regMr({pdn: pd.pdn, memory: new SharedArrayBuffer(64), offset: 0, length: 64, iova: 0n, access: 0}) as {mrIndex: number}
    expect(r.deallocPd(pd.pdn)).toMatchObject({errno: Errno.EBUSY})
    expect(r.deregMr(mr.mrIndex)).toEqual({})
    expect(r.deallocPd(pd.pdn)).toEqual({})
  })
})

describe('MR', () => {
  const mem = new SharedArrayBuffer(1 << 16)
  it('keys: lkey = index << 8 | 8 random bits; rkey = lkey with a remote flag, else 0', () => {
    const r = nic()
    const pd = r.allocPd() as {pdn: number}
    const local = r.regMr({pdn: pd.pdn, memory: mem, offset: 0, length: 4096, iova: 0x1000n, access: Access.LOCAL_WRITE})
    const remote = r.regMr({pdn: pd.pdn, memory: mem, offset: 4096, length: 4096, iova: 0x2000n, access: Access.LOCAL_WRITE | Access.REMOTE_WRITE})
    const ro = r.regMr({pdn: pd.pdn, memory: mem, offset: 0, length: 16, iova: 0n, access: Access.REMOTE_READ})
    if (isRnicError(local) || isRnicError(remote) || isRnicError(ro)) throw new Error('reg failed')
    expect(local.lkey >>> 8).toBe(local.mrIndex)
    expect(local.rkey).toBe(0)
    expect(remote.rkey).toBe(remote.lkey)
    expect(remote.lkey >>> 8).toBe(remote.mrIndex)
    expect(ro.rkey).toBe(ro.lkey)
    expect(new Set([local.mrIndex, remote.mrIndex, ro.mrIndex]).size).toBe(3)
  })

  it('REMOTE_WRITE or REMOTE_ATOMIC without LOCAL_WRITE → EINVAL', () => {
    const r = nic()
    const pd = r.allocPd() as {pdn: number}
    for (const access of [Access.REMOTE_WRITE, Access.REMOTE_ATOMIC, Access.REMOTE_WRITE | Access.REMOTE_READ]) {
      expect(r.regMr({pdn: pd.pdn, memory: mem, offset: 0, length: 64, iova: 0n, access})).toMatchObject({errno: Errno.EINVAL})
    }
  })

  it('bad PD, region outside the memory, iova+length beyond 2^64 → EINVAL; dereg twice → EINVAL', () => {
    const r = nic()
    const pd = r.allocPd() as {pdn: number}
    expect(r.regMr({pdn: 99, memory: mem, offset: 0, length: 64, iova: 0n, access: 0})).toMatchObject({errno: Errno.EINVAL})
    expect(r.regMr({pdn: pd.pdn, memory: mem, offset: 65000, length: 1000, iova: 0n, access: 0})).toMatchObject({errno: Errno.EINVAL})
    expect(r.regMr({pdn: pd.pdn, memory: mem, offset: 0, length: 64, iova: 2n ** 64n - 32n, access: 0})).toMatchObject({errno: Errno.EINVAL})
    const ok = r.regMr({pdn: pd.pdn, memory: mem, offset: 0, length: 64, iova: 2n ** 64n - 64n, access: 0}) as {mrIndex: number}
    expect(r.deregMr(ok.mrIndex)).toEqual({})
    expect(r.deregMr(ok.mrIndex)).toMatchObject({errno: Errno.EINVAL})
  })

  it('MR limit → ENOMEM; the provider raises VerbsError with the errno', async () => {
    const r = nic({maxMr: 1})
    const ep = await endpoint(r)
    await ep.pd.regMr(ep.mem.alloc(64), 0)
    await expect(ep.pd.regMr(ep.mem.alloc(64), 0)).rejects.toMatchObject({errno: Errno.ENOMEM})
    await expect(ep.pd.regMr(ep.mem.alloc(64), Access.REMOTE_WRITE)).rejects.toBeInstanceOf(VerbsError)
  })
})

describe('CQ', () => {
  it('depth rounds up to a power of two; bad depth → EINVAL', () => {
    const r = nic()
    expect(r.createCq({depth: 100})).toMatchObject({depth: 128})
    expect(r.createCq({depth: 0})).toMatchObject({errno: Errno.EINVAL})
    expect(r.createCq({depth: 1e9})).toMatchObject({errno: Errno.EINVAL})
  })

  it('modify to ERR flushes posted receives with WR_FLUSH_ERR, and later posts flush too', async () => {
    const lab = makeLab()
    const a = await endpoint(lab.nics[0]!)
    const b = await endpoint(lab.nics[1]!)
    const [qa] = await connect(a, b)
    qa.postRecv([{wrId: 1n}, {wrId: 2n}])
    lab.run()
    await qa.modify({qpState: QpState.ERR}, 1)
    expect(a.cq.poll(8).map((w) => [w.wrId, w.status])).toEqual([[1n, WcStatus.WR_FLUSH_ERR], [2n, WcStatus.WR_FLUSH_ERR]])
    qa.postRecv({wrId: 3n})
    qa.postSend({wrId: 4n})
    lab.run()
    expect(a.cq.poll(8).map((w) => [w.wrId, w.status]).sort()).toEqual([[3n, WcStatus.WR_FLUSH_ERR], [4n, WcStatus.WR_FLUSH_ERR]])
  })
})
