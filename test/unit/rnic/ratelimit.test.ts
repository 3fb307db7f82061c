// Rate-limit groups: QPs in one group share one token bucket (a tenant's budget); time is virtual.

import {describe, expect, it} from 'vitest'
import {Access, Errno, Mtu, SendFlags, WrOpcode} from '../../../src/rdma-constants.js'
import {connect, endpoint, makeLab} from './helpers.js'

async function writer(lab: ReturnType<typeof makeLab>) {
  const a = await endpoint(lab.nics[0]!, 1 << 21)
  const b = await endpoint(lab.nics[1]!, 1 << 21)
  const src = a.mem.alloc(1 << 20)
  const dst = b.mem.alloc(1 << 20)
  const smr = await a.pd.regMr(src, 0)
  const dmr = await b.pd.regMr(dst, Access.LOCAL_WRITE | Access.REMOTE_WRITE)
  const write = (qp: Awaited<ReturnType<typeof connect>>[0], id: number, len: number) => qp.postSend({wrId: id, opcode: WrOpcode.RDMA_WRITE,
    sendFlags: SendFlags.SIGNALED, sgList: [{addr: src.addr, length: len, lkey: smr.lkey}], rdma: {remoteAddr: dst.addr, rkey: dmr.rkey}})
  return {a, b, write}
}

describe('rate limiting', () => {
  it('one QP at 10 MB/s: 1 MiB takes about 0.1 s of virtual time; without a limit it takes none', async () => {
    const lab = makeLab()
    const {a, b, write} = await writer(lab)
    const [qa] = await connect(a, b, {mtu: Mtu[4096]})
    expect(lab.nics[0]!.setRateLimit({group: 't1', qpns: [qa.qpn], bytesPerSec: 10e6})).toEqual({})
    write(qa, 1, 1 << 20)
    lab.run()
    expect(a.cq.poll(1)).toMatchObject([{wrId: 1n, status: 0}])
    const t = lab.clock.t
    // 256 frames of 4154 bytes minus one burst of 4352 bytes, at 10 bytes/us
    expect(t).toBeGreaterThan(0.95 * ((256 * 4154 - 4352) / 10))
    expect(t).toBeLessThan(1.05 * ((256 * 4154) / 10))
    lab.nics[0]!.setRateLimit({group: 't1', qpns: [], bytesPerSec: 0})
    write(qa, 2, 1 << 20)
    lab.run()
    expect(a.cq.poll(1)).toMatchObject([{wrId: 2n, status: 0}])
    expect(lab.clock.t).toBe(t)
  })

  it('two QPs in one group share the budget; a QP outside the group is not slowed', async () => {
    const lab = makeLab()
    const {a, b, write} = await writer(lab)
    const [q1] = await connect(a, b, {mtu: Mtu[4096]})
    const [q2] = await connect(a, b, {mtu: Mtu[4096]})
    const [q3] = await connect(a, b, {mtu: Mtu[4096]})
    lab.nics[0]!.setRateLimit({group: 'tenant', qpns: [q1.qpn, q2.qpn], bytesPerSec: 10e6})
    write(q3, 3, 1 << 20)
    lab.run()
    expect(lab.clock.t).toBe(0)
    write(q1, 1, 1 << 19)
    write(q2, 2, 1 << 19)
    lab.run()
    expect(a.cq.poll(4).map((w) => w.wrId).sort()).toEqual([1n, 2n, 3n])
    expect(lab.clock.t).toBeGreaterThan(0.95 * ((256 * 4154 - 4352) / 10))
  })

  it('bad arguments → EINVAL', () => {
    const lab = makeLab()
    expect(lab.nics[0]!.setRateLimit({group: 'g', qpns: [12345], bytesPerSec: 1})).toMatchObject({errno: Errno.EINVAL})
    expect(lab.nics[0]!.setRateLimit({group: 'g', qpns: [], bytesPerSec: -1})).toMatchObject({errno: Errno.EINVAL})
  })
})
