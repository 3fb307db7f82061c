import {describe, expect, it} from 'vitest'
import {readGidIp} from '../../../src/wire/addr.js'
import {toHex} from '../../../src/wire/bytes.js'
import {
  decodeReqPrivate, encodeReqPrivate, parseRdmaIpServiceId, rdmaIpServiceId, REQ_USER_MAX, REQ_USER_MAX_MASQ,
} from '../../../src/wire/cma.js'
import {type CmMessage, type CmRej, decodeCm, emptyCmPath, encodeCm, roceCmPath} from '../../../src/wire/cm.js'
import {WireError} from '../../../src/wire/errors.js'
import {DecodeStatus, decodeFrame, ipToU32} from '../../../src/wire/frame.js'
import {madOfFrame} from '../../../src/wire/gsi.js'
import {PacketView} from '../../../src/wire/packet.js'
import {readPcap} from '../../../src/wire/pcap.js'
import {PortSpace, RejReason} from '../../../src/rdma-constants.js'
import {ByteList} from './byte-list.js'
import {readVector} from './vectors.js'

function madHeader(attr: number, tid: bigint): ByteList {
  return new ByteList().u8(1, 0x07, 2, 0x03).u16(0).u16(0).u64(tid).u16(attr).u16(0).u32(0)
}

function sampleMads(): Map<number, Uint8Array> {
  const pcap = readPcap(readVector('roce-sample-22.pcap'))
  const mads = new Map<number, Uint8Array>()
  pcap.records.forEach((r, i) => {
    const p = new PacketView()
    expect(decodeFrame(r.data, 0, r.data.length, p)).toBe(DecodeStatus.OK)
    const mad = madOfFrame(r.data, p)
    if (mad) mads.set(i + 1, mad)
  })
  return mads
}

describe('CM MADs of roce-sample-22.pcap', () => {
  const mads = sampleMads()

  it('finds the six CM frames (1-3, 20-22)', () => {
    expect([...mads.keys()]).toEqual([1, 2, 3, 20, 21, 22])
  })

  // Expected values as tshark 4.0.17 shows them.
  const EXPECTED: Array<[number, Partial<CmMessage> & Record<string, unknown>]> = [
    [1, {type: 'REQ', transactionId: 0xab0001n, localCommId: 0x11111111, serviceId: 0x0000000001064853n,
      localCaGuid: 0x0200000000000001n, localQkey: 0, localQpn: 0x11, responderResources: 16, initiatorDepth: 16,
      remoteCmResponseTimeout: 20, transportServiceType: 0, e2eFlowControl: 1, startingPsn: 0x100,
      localCmResponseTimeout: 20, retryCount: 7, pkey: 0xffff, pathMtu: 3, rdcExists: 0, rnrRetryCount: 7,
      maxCmRetries: 15, srq: 0, extendedTransportType: 0}],
    [2, {type: 'REP', localCommId: 0x22222222, remoteCommId: 0x11111111, localQpn: 0x12, startingPsn: 0x200,
      responderResources: 16, initiatorDepth: 16, targetAckDelay: 15, failoverAccepted: 0, e2eFlowControl: 1,
      rnrRetryCount: 7, srq: 0, localCaGuid: 0x0200000000000002n}],
    [3, {type: 'RTU', localCommId: 0x11111111, remoteCommId: 0x22222222}],
    [20, {type: 'DREQ', transactionId: 0xab0002n, localCommId: 0x11111111, remoteCommId: 0x22222222, remoteQpn: 0x12}],
    [21, {type: 'DREP', localCommId: 0x22222222, remoteCommId: 0x11111111}],
    [22, {type: 'REJ', localCommId: 0x33333333, remoteCommId: 0x11111111, messageRejected: 0, rejectInfoLength: 0,
      reason: RejReason.CONSUMER_DEFINED}],
  ]

  it.each(EXPECTED)('frame %i decodes to the fields tshark shows and re-encodes byte-identically', (n, fields) => {
    const mad = mads.get(n)!
    const msg = decodeCm(mad)
    if (msg instanceof WireError) throw msg
    expect(msg).toMatchObject(fields)
    expect(toHex(encodeCm(msg))).toBe(toHex(mad))
  })

  it('REQ primary path is the RoCE path (LIDs 0xFFFF, v4-mapped GIDs, hop limit 64)', () => {
    const msg = decodeCm(mads.get(1)!)
    if (msg instanceof WireError || msg.type !== 'REQ') throw new Error('not a REQ')
    expect(msg.primaryPath).toMatchObject({localLid: 0xffff, remoteLid: 0xffff, hopLimit: 64, localAckTimeout: 18})
    expect(readGidIp(msg.primaryPath.localGid, 0)).toBe(ipToU32('10.0.0.1'))
    expect(readGidIp(msg.primaryPath.remoteGid, 0)).toBe(ipToU32('10.0.0.2'))
    expect(msg.privateData).toHaveLength(92)
    const priv = decodeReqPrivate(msg.privateData)
    if (priv instanceof WireError) throw priv
    expect(priv.cma).toEqual({srcPort: 0x9c40, srcIp: ipToU32('10.0.0.1'), dstIp: ipToU32('10.0.0.2')})
    expect(priv.masq).toBeUndefined()
    expect(Buffer.from(priv.user.subarray(0, 11)).toString()).toBe('app-private')
    expect(priv.user).toHaveLength(REQ_USER_MAX)
    expect(parseRdmaIpServiceId(msg.serviceId)).toEqual({ps: PortSpace.TCP, port: 18515})
    expect(roceCmPath(ipToU32('10.0.0.1'), ipToU32('10.0.0.2'))).toEqual(msg.primaryPath)
  })
})

describe('CM encoders against hand-built bytes', () => {
  it('REJ: reason 28, MsgRejected REP, ARI and private data', () => {
    const msg: CmRej = {
      type: 'REJ', transactionId: 0x0102030405060708n, localCommId: 0xaabbccdd, remoteCommId: 0x11223344,
      messageRejected: 1, rejectInfoLength: 3, reason: 28, ari: new Uint8Array([9, 8, 7]),
      privateData: new TextEncoder().encode('no thanks'),
    }
    const expected = madHeader(0x12, 0x0102030405060708n).u32(0xaabbccdd).u32(0x11223344)
      .u8(1 << 6).u8(3 << 1).u16(28).u8(9, 8, 7).zeros(69).ascii('no thanks').zeros(148 - 9).build()
    expect(expected).toHaveLength(256)
    expect(toHex(encodeCm(msg))).toBe(toHex(expected))
    const back = decodeCm(expected) as CmRej
    expect(back).toMatchObject({...msg, ari: expect.any(Uint8Array), privateData: expect.any(Uint8Array)})
    expect(Array.from(back.ari.subarray(0, 4))).toEqual([9, 8, 7, 0])
    expect(Buffer.from(back.privateData.subarray(0, 9)).toString()).toBe('no thanks')
    expect(back.privateData).toHaveLength(148)
  })

  it('MRA and DREQ', () => {
    const mra = encodeCm({type: 'MRA', transactionId: 7n, localCommId: 1, remoteCommId: 2, messageMraed: 0,
      serviceTimeout: 23, privateData: new Uint8Array()})
    expect(toHex(mra)).toBe(toHex(madHeader(0x11, 7n).u32(1).u32(2).u8(0).u8(23 << 3).zeros(222).build()))
    const dreq = encodeCm({type: 'DREQ', transactionId: 8n, localCommId: 3, remoteCommId: 4, remoteQpn: 0xabcdef,
      privateData: new Uint8Array([1])})
    expect(toHex(dreq)).toBe(toHex(madHeader(0x15, 8n).u32(3).u32(4).u24(0xabcdef).u8(0).u8(1).zeros(219).build()))
  })

  it('REQ bit fields and paths land where IBTA puts them', () => {
    const primaryPath = {...emptyCmPath(), localLid: 0xffff, remoteLid: 0xfffe, flowLabel: 0xabcde, packetRate: 0x2a,
      trafficClass: 0x11, hopLimit: 0x40, sl: 5, subnetLocal: 1, localAckTimeout: 19}
    primaryPath.localGid[15] = 1
    const req = encodeCm({
      type: 'REQ', transactionId: 1n, localCommId: 0x01020304, serviceId: rdmaIpServiceId(PortSpace.TCP, 7471),
      localCaGuid: 0x1122334455667788n, localQkey: 0x55, localQpn: 0x123456, responderResources: 4, localEecn: 0,
      initiatorDepth: 2, remoteEecn: 0, remoteCmResponseTimeout: 21, transportServiceType: 1, e2eFlowControl: 1,
      startingPsn: 0xfedcba, localCmResponseTimeout: 22, retryCount: 6, pkey: 0xffff, pathMtu: 5, rdcExists: 0,
      rnrRetryCount: 3, maxCmRetries: 15, srq: 1, extendedTransportType: 0, primaryPath, alternatePath: emptyCmPath(),
      privateData: new Uint8Array([0xee]),
    })
    const expected = madHeader(0x10, 1n).u32(0x01020304).u32(0).u64(0x0000000001061d2fn).u64(0x1122334455667788n)
      .u32(0).u32(0x55).u24(0x123456).u8(4).u24(0).u8(2).u24(0).u8((21 << 3) | (1 << 1) | 1)
      .u24(0xfedcba).u8((22 << 3) | 6).u16(0xffff).u8((5 << 4) | 3).u8((15 << 4) | (1 << 3))
      .u16(0xffff).u16(0xfffe).zeros(15).u8(1).zeros(16).u32((0xabcde << 12) | 0x2a).u8(0x11).u8(0x40)
      .u8((5 << 4) | (1 << 3)).u8(19 << 3).zeros(44).u8(0xee).zeros(91).build()
    expect(expected).toHaveLength(256)
    expect(toHex(req)).toBe(toHex(expected))
  })

  it('refuses oversized private data with RangeError', () => {
    expect(() => encodeCm({type: 'RTU', transactionId: 1n, localCommId: 1, remoteCommId: 2,
      privateData: new Uint8Array(225)})).toThrow(RangeError)
  })
})

describe('decodeCm errors', () => {
  const good = encodeCm({type: 'DREP', transactionId: 1n, localCommId: 1, remoteCommId: 2, privateData: new Uint8Array()})
  const mutate = (i: number, v: number): Uint8Array => { const m = good.slice(); m[i] = v; return m }
  it.each([
    ['MAD_SHORT', good.subarray(0, 255)],
    ['MAD_BASE_VERSION', mutate(0, 2)],
    ['MAD_NOT_CM', mutate(1, 0x81)],
    ['MAD_CLASS_VERSION', mutate(2, 1)],
    ['MAD_METHOD', mutate(3, 0x81)],
    ['CM_UNKNOWN_ATTRIBUTE', mutate(17, 0x19)],
  ] as const)('%s', (reason, mad) => {
    const r = decodeCm(mad)
    expect(r).toBeInstanceOf(WireError)
    expect((r as WireError).reason).toBe(reason)
  })
  it('CM_BAD_FIELD for a REJ info length over 72', () => {
    const rej = encodeCm({type: 'REJ', transactionId: 1n, localCommId: 1, remoteCommId: 2, messageRejected: 0,
      rejectInfoLength: 0, reason: 28, ari: new Uint8Array(), privateData: new Uint8Array()})
    rej[24 + 9] = 73 << 1
    expect((decodeCm(rej) as WireError).reason).toBe('CM_BAD_FIELD')
  })
})

describe('REQ private data (cma_hdr + MasQ header)', () => {
  const cma = {srcPort: 40000, srcIp: ipToU32('192.168.1.5'), dstIp: ipToU32('192.168.1.9')}

  it('lays out cma_hdr, MasQ header and user bytes by hand', () => {
    const b = encodeReqPrivate({cma, masq: {version: 1, flags: 0x80, vni: 0x0a0b0c}, user: new Uint8Array([1, 2])})
    const expected = new ByteList().u8(0x00, 0x40).u16(40000).zeros(12).u8(192, 168, 1, 5).zeros(12)
      .u8(192, 168, 1, 9).ascii('MQ').u8(1, 0x80).u24(0x0a0b0c).u8(0).u8(1, 2).zeros(46).build()
    expect(toHex(b)).toBe(toHex(expected))
    expect(decodeReqPrivate(b)).toEqual({cma, masq: {version: 1, flags: 0x80, vni: 0x0a0b0c}, user: b.slice(44)})
    expect(decodeReqPrivate(b, {masq: false})).toEqual({cma, user: b.slice(36)})
  })

  it('limits user data to 56 bytes, 48 with a MasQ header', () => {
    expect(encodeReqPrivate({cma, user: new Uint8Array(REQ_USER_MAX)})).toHaveLength(92)
    expect(() => encodeReqPrivate({cma, user: new Uint8Array(57)})).toThrow(RangeError)
    const masq = {version: 1, flags: 0, vni: 1}
    expect(() => encodeReqPrivate({cma, masq, user: new Uint8Array(REQ_USER_MAX_MASQ + 1)})).toThrow(RangeError)
  })

  it('returns typed errors', () => {
    const plain = encodeReqPrivate({cma, user: new Uint8Array()})
    expect((decodeReqPrivate(plain, {masq: true}) as WireError).reason).toBe('MASQ_HEADER')
    expect((decodeReqPrivate(plain.subarray(0, 35)) as WireError).reason).toBe('CMA_SHORT')
    expect((decodeReqPrivate(Uint8Array.of(1, ...plain.subarray(1))) as WireError).reason).toBe('CMA_VERSION')
    expect((decodeReqPrivate(Uint8Array.of(0, 0x60, ...plain.subarray(2))) as WireError).reason).toBe('CMA_IP_VERSION')
  })
})
