// The frames the conformance suite writes: every opcode of the table (with NAK / RNR variants and CNP) and a full
// CM exchange, each paired with the tshark field values it must show. Expected values come from the inputs,
// never from our decoder.
import {GSI_QKEY, PortSpace, RejReason} from '../../src/rdma-constants.js'
import {writeGid} from '../../src/wire/addr.js'
import {encodeReqPrivate, rdmaIpServiceId} from '../../src/wire/cma.js'
import {type CmMessage, emptyCmPath, encodeCm} from '../../src/wire/cm.js'
import {FrameEncoder, ipToU32, macFromString} from '../../src/wire/frame.js'
import {encodeMadFrame} from '../../src/wire/gsi.js'
import {Mask, OPCODES, Opcode, AethSyndrome} from '../../src/wire/opcodes.js'
import {PacketView} from '../../src/wire/packet.js'

export type Expected = Record<string, number | bigint | string>
export interface CatalogueFrame {
  label: string
  bytes: Uint8Array
  expect: Expected
}

const MTU = 256
const A = {mac: macFromString('02:00:00:00:00:01'), ip: ipToU32('10.0.0.1')}
const B = {mac: macFromString('02:00:00:00:00:02'), ip: ipToU32('10.0.0.2')}
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')
const bswap = (v: number): number =>
  (((v & 0xff) << 24) | ((v & 0xff00) << 8) | ((v >>> 8) & 0xff00) | (v >>> 24)) >>> 0

function payloadLenFor(mask: number, i: number): number {
  if ((mask & Mask.PAYLOAD) === 0) return 0
  if (mask & Mask.MIDDLE || ((mask & Mask.START) && !(mask & Mask.END))) return MTU // FIRST / MIDDLE = MTU
  return 1 + ((i * 37) % 60) // LAST / ONLY: 1..60, so every pad count shows up
}

// Header-group fields that must be absent when the opcode lacks the header.
const GROUPS: Array<[number, string[]]> = [
  [Mask.RETH | Mask.ATMETH, ['infiniband.reth.va', 'infiniband.reth.r_key']],
  [Mask.RETH, ['infiniband.reth.dmalen']],
  [Mask.AETH, ['infiniband.aeth.syndrome', 'infiniband.aeth.msn']],
  [Mask.DETH, ['infiniband.deth.q_key', 'infiniband.deth.srcqp']],
  [Mask.ATMETH, ['infiniband.atomiceth.swapdt', 'infiniband.atomiceth.cmpdt']],
  [Mask.ATMACK, ['infiniband.atomicacketh.origremdt']],
  [Mask.IMMDT, ['infiniband.immdt']],
  [Mask.IETH, ['infiniband.ieth']],
]

function dataFrame(enc: FrameEncoder, out: Uint8Array, op: number, i: number, syndrome?: number): CatalogueFrame {
  const info = OPCODES[op]!
  const p = new PacketView()
  const response = (info.mask & Mask.ACK) !== 0
  const [src, dst] = response ? [B, A] : [A, B]
  p.srcMac.set(src.mac)
  p.dstMac.set(dst.mac)
  p.srcIp = src.ip
  p.dstIp = dst.ip
  p.dscp = 26
  p.ecn = i % 3
  p.ttl = 64
  p.ipId = 0x100 + i
  p.srcPort = 0xc000 + i * 7
  p.opcode = op
  p.se = (info.mask & Mask.END) && (info.mask & Mask.SEND) ? 1 : 0
  p.destQp = 0x000100 + i
  p.ackReq = info.mask & Mask.END && info.mask & Mask.REQ ? 1 : 0
  p.psn = (0xfffff8 + i) & 0xffffff // walks across the 24-bit wrap
  p.rethVaHi = 0x00007f00
  p.rethVaLo = 0x10000000 + i * 0x100
  p.rethRkey = 0x12345600 + i
  p.rethLen = 4096 + i
  p.aethSyndrome = syndrome ?? AethSyndrome.ACK_UNLIMITED
  p.aethMsn = 0x010000 + i
  p.dethQkey = 0x11111111
  p.dethSrcQp = 0x000042
  p.atomicVaHi = 0x00007f00
  p.atomicVaLo = 0x20000000 + i * 8
  p.atomicRkey = 0x00abcd00 + i
  p.atomicSwapHi = 0x01020304
  p.atomicSwapLo = 0x05060708
  p.atomicCmpHi = op === Opcode.RC_COMPARE_SWAP ? 0x11121314 : 0
  p.atomicCmpLo = op === Opcode.RC_COMPARE_SWAP ? 0x15161718 : 0
  p.origHi = 0xdeadbeef
  p.origLo = 0xcafef00d
  p.immDt = (0xcafe0000 + i) >>> 0
  p.ieth = 0x00beef00 + i
  const len = payloadLenFor(info.mask, i)
  const payload = new Uint8Array(len).map((_, k) => (k * 13 + i) & 0xff)
  const n = enc.encodeInto(out, 0, p, payload, 0, len)
  const pad = (-len) & 3

  const e: Expected = {
    '_ws.col.Protocol': 'RRoCE', 'ip.src': src.ip, 'ip.dst': dst.ip, 'ip.dsfield.dscp': 26, 'ip.dsfield.ecn': p.ecn,
    'ip.ttl': 64, 'ip.id': p.ipId, 'ip.flags.df': 1, 'udp.srcport': p.srcPort, 'udp.dstport': 4791,
    'infiniband.bth.opcode': op, 'infiniband.bth.se': p.se, 'infiniband.bth.m': 0, 'infiniband.bth.padcnt': pad,
    'infiniband.bth.tver': 0, 'infiniband.bth.p_key': 0xffff, 'infiniband.bth.destqp': p.destQp,
    'infiniband.bth.a': p.ackReq, 'infiniband.bth.psn': p.psn,
  }
  for (const [bits, fields] of GROUPS) if (!(info.mask & bits)) for (const f of fields) e[f] = ''
  if (info.mask & Mask.RETH) {
    Object.assign(e, {'infiniband.reth.va': 0x00007f00n << 32n | BigInt(p.rethVaLo),
      'infiniband.reth.r_key': p.rethRkey, 'infiniband.reth.dmalen': p.rethLen})
  }
  if (info.mask & Mask.ATMETH) {
    // Wireshark registers the AtomicETH VA / R_Key under the RETH field names.
    Object.assign(e, {'infiniband.reth.va': 0x00007f00n << 32n | BigInt(p.atomicVaLo),
      'infiniband.reth.r_key': p.atomicRkey, 'infiniband.atomiceth.swapdt': 0x0102030405060708n,
      'infiniband.atomiceth.cmpdt': op === Opcode.RC_COMPARE_SWAP ? 0x1112131415161718n : 0n})
  }
  if (info.mask & Mask.AETH) {
    const type = (p.aethSyndrome >>> 5) & 3 // 0 ACK, 1 RNR NAK, 3 NAK (IBTA table 43)
    const sub = ['infiniband.aeth.syndrome.credit_count', 'infiniband.aeth.syndrome.timer', '',
      'infiniband.aeth.syndrome.error_code'][type]!
    Object.assign(e, {'infiniband.aeth.syndrome': p.aethSyndrome, 'infiniband.aeth.msn': p.aethMsn,
      'infiniband.aeth.syndrome.opcode': type, [sub]: p.aethSyndrome & 0x1f})
  }
  if (info.mask & Mask.DETH) Object.assign(e, {'infiniband.deth.q_key': p.dethQkey, 'infiniband.deth.srcqp': p.dethSrcQp})
  if (info.mask & Mask.ATMACK) e['infiniband.atomicacketh.origremdt'] = 0xdeadbeefcafef00dn
  if (info.mask & Mask.IMMDT) e['infiniband.immdt'] = p.immDt.toString(16).padStart(8, '0')
  if (info.mask & Mask.IETH) e['infiniband.ieth'] = p.ieth.toString(16).padStart(8, '0')
  if (op === Opcode.CNP) {
    e['infiniband.invariant.crc'] = '' // tshark 4.0 shows a CNP as "Unknown OpCode" with opaque data
  } else {
    e['infiniband.invariant.crc'] = bswap(p.icrc) // shown as a big-endian read of the LE wire bytes
    e['data.data'] = len > 0 ? hex(payload) + '00'.repeat(pad) : ''
  }
  const name = info.name.replace('IB_OPCODE_', '')
  return {label: syndrome === undefined ? name : `${name} syndrome 0x${syndrome.toString(16)}`,
    bytes: out.slice(0, n), expect: e}
}

function gid(ip: number): Uint8Array {
  const g = new Uint8Array(16)
  writeGid(g, 0, ip)
  return g
}

export const CM_USER_DATA = new TextEncoder().encode('masq-conformance')
export const MASQ_VNI = 0x00abcd

function cmMessages(): CmMessage[] {
  const req = {
    type: 'REQ' as const, transactionId: 0x0000000100000001n, localCommId: 0x1a2b3c4d,
    serviceId: rdmaIpServiceId(PortSpace.TCP, 18515), localCaGuid: 0x0200000000000001n, localQkey: 0,
    localQpn: 0x000111, responderResources: 16, localEecn: 0, initiatorDepth: 8, remoteEecn: 0,
    remoteCmResponseTimeout: 20, transportServiceType: 0, e2eFlowControl: 1, startingPsn: 0xabcdef,
    localCmResponseTimeout: 20, retryCount: 7, pkey: 0xffff, pathMtu: 3, rdcExists: 0, rnrRetryCount: 6,
    maxCmRetries: 15, srq: 0, extendedTransportType: 0,
    primaryPath: {...emptyCmPath(), localLid: 0xffff, remoteLid: 0xffff, localGid: gid(A.ip), remoteGid: gid(B.ip),
      // Flow label / packet rate stay 0: tshark 4.0 reads them from the wrong bits (our layout follows Linux
      // CM_REQ_PRIMARY_FLOW_LABEL = CM_FIELD32_LOC(88, 20), PACKET_RATE = CM_FIELD_BLOC(91, 2, 6); see cm.test.ts).
      flowLabel: 0, packetRate: 0, trafficClass: 104, hopLimit: 64, sl: 3, subnetLocal: 0, localAckTimeout: 18},
    alternatePath: emptyCmPath(),
    privateData: encodeReqPrivate({cma: {srcPort: 40001, srcIp: ipToU32('192.168.10.1'), dstIp: ipToU32('192.168.10.2')},
      masq: {version: 1, flags: 0x01, vni: MASQ_VNI}, user: CM_USER_DATA}),
  }
  const tid = 0x0000000100000001n
  return [
    req,
    {type: 'MRA', transactionId: tid, localCommId: 0x55667788, remoteCommId: 0x1a2b3c4d, messageMraed: 0,
      serviceTimeout: 23, privateData: new Uint8Array()},
    {type: 'REP', transactionId: tid, localCommId: 0x55667788, remoteCommId: 0x1a2b3c4d, localQkey: 0,
      localQpn: 0x000222, localEecn: 0, startingPsn: 0x123456, responderResources: 8, initiatorDepth: 16,
      targetAckDelay: 15, failoverAccepted: 0, e2eFlowControl: 1, rnrRetryCount: 5, srq: 0,
      localCaGuid: 0x0200000000000002n, privateData: Uint8Array.of(1, 2, 3)},
    {type: 'RTU', transactionId: tid, localCommId: 0x1a2b3c4d, remoteCommId: 0x55667788, privateData: new Uint8Array()},
    {type: 'REJ', transactionId: 0x0000000100000002n, localCommId: 0x99aabbcc, remoteCommId: 0x0d0e0f10,
      messageRejected: 0, rejectInfoLength: 0, reason: RejReason.CONSUMER_DEFINED, ari: new Uint8Array(),
      privateData: new TextEncoder().encode('go away')},
    {type: 'DREQ', transactionId: 0x0000000100000003n, localCommId: 0x1a2b3c4d, remoteCommId: 0x55667788,
      remoteQpn: 0x000222, privateData: new Uint8Array()},
    {type: 'DREP', transactionId: 0x0000000100000003n, localCommId: 0x55667788, remoteCommId: 0x1a2b3c4d,
      privateData: new Uint8Array()},
  ]
}

const ATTR_ID: Record<CmMessage['type'], number> = {REQ: 0x10, MRA: 0x11, REJ: 0x12, REP: 0x13, RTU: 0x14, DREQ: 0x15, DREP: 0x16}
const INFO: Record<CmMessage['type'], string> = {
  REQ: 'CM: ConnectRequest', MRA: 'CM: MsgRcptAck', REP: 'CM: ConnectReply', RTU: 'CM: ReadyToUse',
  REJ: 'CM: ConnectReject', DREQ: 'CM: DisconnectRequest', DREP: 'CM: DisconnectReply',
}
const pad = (b: Uint8Array, n: number): string => hex(b) + '00'.repeat(n - b.length)

function cmExpect(m: CmMessage): Expected {
  const e: Expected = {
    '_ws.col.Info': INFO[m.type], 'infiniband.mad.mgmtclass': 7, 'infiniband.mad.classversion': 2,
    'infiniband.mad.method': 3, 'infiniband.mad.transactionid': m.transactionId,
    'infiniband.mad.attributeid': ATTR_ID[m.type], 'infiniband.deth.q_key': GSI_QKEY, 'infiniband.deth.srcqp': 1,
    'infiniband.bth.destqp': 1, 'infiniband.bth.opcode': Opcode.UD_SEND_ONLY,
  }
  switch (m.type) {
    case 'REQ': {
      const p = m.primaryPath
      Object.assign(e, {
        'infiniband.cm.req': m.localCommId, 'infiniband.cm.req.serviceid': m.serviceId,
        'infiniband.cm.req.serviceid.protocol': 0x06, 'infiniband.cm.req.serviceid.dport': 18515,
        'infiniband.cm.req.localcaguid': m.localCaGuid, 'infiniband.cm.req.localqkey': m.localQkey,
        'infiniband.cm.req.localqpn': m.localQpn, 'infiniband.cm.req.responderres': m.responderResources,
        'infiniband.cm.req.initdepth': m.initiatorDepth, 'infiniband.cm.req.remoteresptout': m.remoteCmResponseTimeout,
        'infiniband.cm.req.transpsvctype': m.transportServiceType, 'infiniband.cm.req.e2eflowctrl': m.e2eFlowControl,
        'infiniband.cm.req.startpsn': m.startingPsn, 'infiniband.cm.req.localresptout': m.localCmResponseTimeout,
        'infiniband.cm.req.retrcount': m.retryCount, 'infiniband.cm.req.pkey': m.pkey,
        'infiniband.cm.req.pppmtu': m.pathMtu, 'infiniband.cm.req.rnrretrcount': m.rnrRetryCount,
        'infiniband.cm.req.maxcmretr': m.maxCmRetries, 'infiniband.cm.req.srq': m.srq,
        'infiniband.cm.req.prim_locallid': p.localLid, 'infiniband.cm.req.prim_remotelid': p.remoteLid,
        'infiniband.cm.req.prim_localgid_ipv4': A.ip, 'infiniband.cm.req.prim_remotegid_ipv4': B.ip,
        'infiniband.cm.req.prim_flowlabel': 0, 'infiniband.cm.req.prim_pktrate': 0, 'infiniband.cm.req.prim_tfcclass': p.trafficClass,
        'infiniband.cm.req.prim_hoplim': p.hopLimit, 'infiniband.cm.req.prim_sl': p.sl,
        'infiniband.cm.req.prim_localacktout': p.localAckTimeout,
        'infiniband.cm.req.ip_cm.ipv': 4, 'infiniband.cm.req.ip_cm.sport': 40001,
        'infiniband.cm.req.ip_cm.sip4': ipToU32('192.168.10.1'), 'infiniband.cm.req.ip_cm.dip4': ipToU32('192.168.10.2'),
        // MasQ header ('MQ', v1, flags, VNI, rsvd) then the user bytes: rdma_cm consumers see both as private data.
        'infiniband.cm.req.ip_cm.private': '4d510101' + MASQ_VNI.toString(16).padStart(6, '0') + '00' + pad(CM_USER_DATA, 48),
      })
      break
    }
    case 'REP':
      Object.assign(e, {
        'infiniband.cm.rep': m.localCommId, 'infiniband.cm.rep.remotecommid': m.remoteCommId,
        'infiniband.cm.rep.localqkey': m.localQkey, 'infiniband.cm.rep.localqpn': m.localQpn,
        'infiniband.cm.rep.startpsn': m.startingPsn, 'infiniband.cm.rep.respres': m.responderResources,
        'infiniband.cm.rep.initdepth': m.initiatorDepth, 'infiniband.cm.rep.tgtackdelay': m.targetAckDelay,
        'infiniband.cm.rep.failoveracc': m.failoverAccepted, 'infiniband.cm.rep.e2eflowctrl': m.e2eFlowControl,
        'infiniband.cm.rep.rnrretrcount': m.rnrRetryCount, 'infiniband.cm.rep.srq': m.srq,
        'infiniband.cm.rep.localcaguid': m.localCaGuid, 'infiniband.cm.rep.private': pad(m.privateData, 196),
      })
      break
    case 'RTU':
      Object.assign(e, {'infiniband.cm.rtu.localcommid': m.localCommId, 'infiniband.cm.rtu.remotecommid': m.remoteCommId,
        'infiniband.cm.rtu.private': pad(m.privateData, 224)})
      break
    case 'REJ':
      Object.assign(e, {'infiniband.cm.rej.localcommid': m.localCommId, 'infiniband.cm.rej.remotecommid': m.remoteCommId,
        'infiniband.cm.rej.msgrej': m.messageRejected, 'infiniband.cm.rej.rejinfolen': m.rejectInfoLength,
        'infiniband.cm.rej.reason': m.reason, 'infiniband.cm.rej.ari': pad(m.ari, 72),
        'infiniband.cm.rej.private': pad(m.privateData, 148)})
      break
    case 'DREQ':
      Object.assign(e, {'infiniband.cm.dreq.localcommid': m.localCommId,
        'infiniband.cm.dreq.remotecommid': m.remoteCommId, 'infiniband.cm.req.remoteqpneecn': m.remoteQpn,
        'infiniband.cm.dreq.private': pad(m.privateData, 220)})
      break
    case 'DREP':
      Object.assign(e, {'infiniband.cm.drsp.localcommid': m.localCommId,
        'infiniband.cm.drsp.remotecommid': m.remoteCommId, 'infiniband.cm.drsp.private': pad(m.privateData, 224)})
      break
    case 'MRA':
      break // tshark 4.0 has no MRA fields beyond the MAD header
  }
  return e
}

/** CM exchange first (so Wireshark's conversation tracking sees it), then every data opcode and the NAK variants. */
export function buildCatalogue(): CatalogueFrame[] {
  const enc = new FrameEncoder()
  const out = new Uint8Array(8192)
  const frames: CatalogueFrame[] = []
  cmMessages().forEach((m, i) => {
    const p = new PacketView()
    const fromA = m.type === 'REQ' || m.type === 'RTU' || m.type === 'DREQ'
    const [src, dst] = fromA ? [A, B] : [B, A]
    p.srcMac.set(src.mac)
    p.dstMac.set(dst.mac)
    p.srcIp = src.ip
    p.dstIp = dst.ip
    p.ipId = i
    p.srcPort = 0xc001
    p.psn = i
    const n = encodeMadFrame(enc, out, 0, p, encodeCm(m))
    frames.push({label: `CM ${m.type}`, bytes: out.slice(0, n), expect: cmExpect(m)})
  })
  let i = 0
  OPCODES.forEach((info, op) => {
    if (info) frames.push(dataFrame(enc, out, op, i++))
  })
  const naks = [0x00, 0x05, 0x20 | 14, 0x20, AethSyndrome.NAK_PSN_SEQ_ERROR, AethSyndrome.NAK_INVALID_REQUEST,
    AethSyndrome.NAK_REMOTE_ACCESS_ERROR, AethSyndrome.NAK_REMOTE_OPERATIONAL_ERROR, AethSyndrome.NAK_INVALID_RD_REQUEST]
  for (const s of naks) frames.push(dataFrame(enc, out, Opcode.RC_ACKNOWLEDGE, i++, s))
  return frames
}
