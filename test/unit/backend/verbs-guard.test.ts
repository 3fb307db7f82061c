import {describe, expect, it} from 'vitest'
import type {AuditKind} from '../../../src/backend/audit.js'
import {formatGid, parseGid, trackedPeerOf, VerbsGuard} from '../../../src/backend/verbs-guard.js'
import {Errno, GSI_QKEY, QpAttrMask, QpState, QpType} from '../../../src/rdma-constants.js'
import {memoryAudit} from './fixtures.js'

const ctx = {tenant: 'blue', vm: 'b1'}
const conn = {srcVm: 'b1', dstVm: 'b2', srcVip: '10.0.0.1', dstVip: '10.0.0.2', srcQpn: 0x3a1, dstQpn: 0x9f2}

function guard() {
  const audit = memoryAudit()
  return {g: new VerbsGuard(audit), audit}
}

describe('QP types (C10)', () => {
  it.each([
    [QpType.RC, 0, undefined], [QpType.UC, 0, undefined], [QpType.UD, 0, undefined],
    [QpType.RAW_PACKET, Errno.EPERM, 'raw-qp'],
    [9, Errno.EPERM, 'qp-type'], // XRC_SEND
    [0xff, Errno.EPERM, 'qp-type'], // IBV_QPT_DRIVER
  ])('type %i -> errno %i', (type, errno, kind) => {
    const {g, audit} = guard()
    const r = g.checkQpType(ctx, type)
    if (errno === 0) {
      expect(r).toEqual({ok: true})
      expect(audit.query()).toEqual([])
    } else {
      expect(r).toMatchObject({ok: false, errno, kind})
      expect(audit.query()).toMatchObject([{tenant: 'blue', vm: 'b1', kind, detail: {qpType: type, errno}}])
    }
  })

  it('says which types are allowed', () => {
    expect(guard().g.checkQpType(ctx, QpType.RAW_PACKET)).toMatchObject({message: 'RAW_PACKET QPs are not available to tenants (RC, UC and UD only)'})
  })
})

describe('destination checks (C11, C21)', () => {
  const peer = trackedPeerOf(conn, 'b1')!
  const RTR = QpAttrMask.STATE | QpAttrMask.AV | QpAttrMask.PATH_MTU | QpAttrMask.DEST_QPN | QpAttrMask.RQ_PSN
    | QpAttrMask.MAX_DEST_RD_ATOMIC | QpAttrMask.MIN_RNR_TIMER
  const rtr = (destQpNum: unknown, dgid: unknown) => ({qpState: QpState.RTR, destQpNum: destQpNum as number, ahAttr: {grh: {dgid: dgid as string}}})

  it('each end of a tracked connection may address only the other end', () => {
    expect(peer).toEqual({peerQpn: 0x9f2, peerGid: '::ffff:10.0.0.2'})
    expect(trackedPeerOf(conn, 'b2')).toEqual({peerQpn: 0x3a1, peerGid: '::ffff:10.0.0.1'})
    expect(trackedPeerOf(conn, 'b3')).toBeUndefined()
  })

  it.each([
    ['the tracked peer', 0x9f2, '::ffff:10.0.0.2', 0, undefined],
    ['the tracked peer, GID in full form', 0x9f2, '0000:0000:0000:0000:0000:ffff:0a00:0002', 0, undefined],
    ['the tracked peer, GID as bytes', 0x9f2, Uint8Array.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 255, 255, 10, 0, 0, 2]), 0, undefined],
    ['a forged QPN (the next one)', 0x9f3, '::ffff:10.0.0.2', Errno.EPERM, 'dest-qpn'],
    ['a QPN beyond 24 bits', 0x1000000, '::ffff:10.0.0.2', Errno.EINVAL, 'dest-qpn'],
    ['another vIP', 0x9f2, '::ffff:10.0.0.3', Errno.EPERM, 'dgid'],
    ['the peer host\'s underlay GID', 0x9f2, '::ffff:192.168.0.2', Errno.EPERM, 'dgid'],
    ['a malformed GID', 0x9f2, '::ffff:10.0.0.999', Errno.EINVAL, 'dgid'],
  ])('RTR to %s', (_what, qpn, dgid, errno, kind) => {
    const {g, audit} = guard()
    const r = g.checkModifyQp(ctx, peer, rtr(qpn, dgid), RTR)
    if (errno === 0) expect(r).toEqual({ok: true})
    else {
      expect(r).toMatchObject({ok: false, errno, kind})
      expect(audit.counters()[kind as AuditKind]).toBe(1)
    }
  })

  it('a QP with no tracked connection may not name any destination', () => {
    const {g} = guard()
    expect(g.checkModifyQp(ctx, undefined, rtr(0x9f2, '::ffff:10.0.0.2'), RTR)).toMatchObject({ok: false, errno: Errno.EPERM, kind: 'dest-qpn'})
    expect(g.checkDgid(ctx, undefined, '::ffff:10.0.0.2')).toMatchObject({ok: false, errno: Errno.EPERM, kind: 'dgid'})
  })

  it('an RTS->RTS modify may not re-point the QP; one that touches no destination passes', () => {
    const {g} = guard()
    expect(g.checkModifyQp(ctx, peer, {qpState: QpState.RTS, destQpNum: 0x777}, QpAttrMask.STATE | QpAttrMask.DEST_QPN))
      .toMatchObject({ok: false, kind: 'dest-qpn'})
    expect(g.checkModifyQp(ctx, peer, {qpState: QpState.RTS, destQpNum: 0x777}, QpAttrMask.STATE | QpAttrMask.SQ_PSN)).toEqual({ok: true})
    expect(g.checkModifyQp(ctx, peer, {}, QpAttrMask.ALT_PATH)).toMatchObject({ok: false, errno: Errno.EINVAL})
  })

  it('a controlled Q_Key in modify_qp is refused and audited (C14)', () => {
    const {g, audit} = guard()
    expect(g.checkModifyQp(ctx, undefined, {qkey: GSI_QKEY}, QpAttrMask.QKEY)).toMatchObject({ok: false, errno: Errno.EPERM, kind: 'qkey'})
    expect(g.checkModifyQp(ctx, undefined, {qkey: 0x1234}, QpAttrMask.QKEY)).toEqual({ok: true})
    expect(audit.query({kind: 'qkey'})).toMatchObject([{detail: {qkey: GSI_QKEY, errno: Errno.EPERM}}])
    expect(g.refusals.get('qkey')).toBe(1)
  })
})

describe('GID text', () => {
  it.each([
    ['::ffff:10.0.0.2', '::ffff:10.0.0.2'],
    ['::FFFF:0A00:0002', '::ffff:10.0.0.2'],
    ['fe80::1', 'fe80:0000:0000:0000:0000:0000:0000:0001'],
    ['1:2:3:4:5:6:7:8', '0001:0002:0003:0004:0005:0006:0007:0008'],
    ['::', '0000:0000:0000:0000:0000:0000:0000:0000'],
  ])('%s -> %s', (text, norm) => {
    expect(formatGid(parseGid(text)!)).toBe(norm)
  })

  it.each(['', ':::', '1::2::3', '1:2:3:4:5:6:7', '1:2:3:4:5:6:7:8:9', '1:2:3:4::5:6:7:8', '12345::', 'g::', '::ffff:1.2.3', 42, null, new Uint8Array(4)])(
    'rejects %j without throwing', (v) => {
      expect(parseGid(v)).toBeNull()
    },
  )
})
