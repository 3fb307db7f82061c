import {describe, expect, it} from 'vitest'
import {checkTenantQkey, effectiveRemoteQkey, isControlledQkey} from '../../../src/backend/qkey.js'
import {Errno, GSI_QKEY, RDMA_UDP_QKEY} from '../../../src/rdma-constants.js'

describe('Q_Keys (C14)', () => {
  it.each([
    [GSI_QKEY, Errno.EPERM], // 0x80010000, QP1's
    [0x80000000, Errno.EPERM],
    [0xffffffff, Errno.EPERM],
    [RDMA_UDP_QKEY, 0], // librdmacm's UD Q_Key
    [0x7fffffff, 0],
    [0, 0],
    [-1, Errno.EINVAL],
    [2 ** 32, Errno.EINVAL],
    [1.5, Errno.EINVAL],
  ])('tenant Q_Key %d -> errno %d', (qkey, errno) => {
    const r = checkTenantQkey(qkey)
    if (errno === 0) expect(r).toEqual({ok: true, qkey})
    else expect(r).toMatchObject({ok: false, errno})
  })

  it('names the controlled key in hex', () => {
    expect(checkTenantQkey(GSI_QKEY)).toMatchObject({message: 'Q_Key 0x80010000 is a controlled Q_Key (bit 31 set): not available to tenants'})
    expect(isControlledQkey(0x80010000)).toBe(true)
    expect(isControlledQkey(0x00010000)).toBe(false)
  })

  it('a WR remote Q_Key with bit 31 set means the QP\'s own Q_Key (C10-15)', () => {
    expect(effectiveRemoteQkey(0x80000000, RDMA_UDP_QKEY)).toBe(RDMA_UDP_QKEY)
    expect(effectiveRemoteQkey(0x1111, RDMA_UDP_QKEY)).toBe(0x1111)
  })
})
