// Conformance: the CM exchange of real rdma_cm runs (connect / accept / data / disconnect, an application reject,
// nobody listening) captured from the fabric into a pcap; tshark 4.0.17 decodes every CM MAD with the
// infiniband.cm.* values the engine sent, and reports nothing malformed.
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {CmEvent, PortSpace, RejReason, SendFlags, WrOpcode} from '../../src/rdma-constants.js'
import {RnicMadTransport} from '../../src/cm/transport.js'
import {type CmMessage, decodeCm} from '../../src/wire/cm.js'
import {decodeReqPrivate} from '../../src/wire/cma.js'
import {PcapWriter} from '../../src/wire/pcap.js'
import {activeId, CAP, ep, expectEvent, hostIp, listen, makeCmLab, RW} from '../unit/cm/helpers.js'
import {normalise, tshark, tsharkFields} from './tshark.js'

const dir = mkdtempSync(path.join(tmpdir(), 'masq-cm-conformance-'))
const file = path.join(dir, 'cm.pcap')
const sent: Array<{msg: CmMessage; src: number; dst: number}> = []

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')

async function scenario(): Promise<void> {
  const lab = makeCmLab(2, {}, {}, (nic) => {
    const t = new RnicMadTransport(nic)
    return {
      onMad: (h) => t.onMad(h),
      send: (dst, mad, opts) => {
        const m = decodeCm(mad)
        if (!(m instanceof Error)) sent.push({msg: m, src: opts.srcIp, dst})
        t.send(dst, mad, opts)
      },
    }
  })
  const w = new PcapWriter(file)
  lab.fabric.tap = (f, o, l, t) => w.writeAt(1_700_000_000 + Math.floor(t / 1e6), Math.floor(t % 1e6) * 1000, f, o, l)
  try {
    // 1. connect (MasQ VM: cma_hdr + MasQ header) / accept / SEND / disconnect
    const scm = lab.agents[1]!.vm({vni: 4242, addresses: [hostIp(1)]})
    const ccm = lab.agents[0]!.vm({vni: 4242, addresses: [hostIp(0)]})
    const se = await ep(lab.nics[1]!)
    const ce = await ep(lab.nics[0]!)
    const l = listen(scm, hostIp(1), 18515)
    const c = await activeId(lab, ccm, ce, hostIp(1), 18515)
    await c.id.connect({privateData: new TextEncoder().encode('masq-req'), responderResources: 2, initiatorDepth: 3,
      retryCount: 6, rnrRetryCount: 5})
    const req = expectEvent(await lab.next(l.ch), CmEvent.CONNECT_REQUEST)
    await req.id.createQp(se.pd, {sendCq: se.cq, recvCq: se.cq, cap: CAP})
    await req.id.accept({privateData: new TextEncoder().encode('masq-rep'), responderResources: 3, initiatorDepth: 2})
    expectEvent(await lab.next(c.ch), CmEvent.ESTABLISHED)
    expectEvent(await lab.next(l.ch), CmEvent.ESTABLISHED)
    const src = ce.mem.alloc(64)
    src.bytes.fill(7)
    const dst = se.mem.alloc(64)
    const smr = await ce.pd.regMr(src, 0)
    const dmr = await se.pd.regMr(dst, RW)
    req.id.qp!.postRecv({wrId: 1n, sgList: [{addr: dst.addr, length: 64, lkey: dmr.lkey}]})
    c.id.qp!.postSend({wrId: 2n, opcode: WrOpcode.SEND, sendFlags: SendFlags.SIGNALED, sgList: [{addr: src.addr, length: 64, lkey: smr.lkey}]})
    await lab.pump(() => se.cq.poll(1).length > 0)
    await c.id.disconnect()
    expectEvent(await lab.next(l.ch), CmEvent.DISCONNECTED)
    expectEvent(await lab.next(c.ch), CmEvent.DISCONNECTED)
    // 2. an application reject with private data
    const c2 = await activeId(lab, ccm, ce, hostIp(1), 18515)
    await c2.id.connect()
    const req2 = expectEvent(await lab.next(l.ch), CmEvent.CONNECT_REQUEST)
    req2.id.reject(new TextEncoder().encode('not today'))
    expectEvent(await lab.next(c2.ch), CmEvent.REJECTED, RejReason.CONSUMER_DEFINED)
    // 3. nobody listening (a plain rdma_cm VM: cma_hdr only)
    const bare = lab.agents[0]!.vm({addresses: [hostIp(0)]})
    const c3 = await activeId(lab, bare, ce, hostIp(1), 7000)
    await c3.id.connect()
    expectEvent(await lab.next(c3.ch), CmEvent.REJECTED, RejReason.INVALID_SERVICE_ID)
    // 4. a UD id: SIDR_REQ / SIDR_REP (tshark has no SIDR fields; they must still decode cleanly)
    const uch = scm.createEventChannel()
    const ul = scm.createId(uch, null, PortSpace.UDP)
    ul.bindAddr({ip: hostIp(1), port: 18516})
    ul.listen()
    const cch = ccm.createEventChannel()
    const u = ccm.createId(cch, null, PortSpace.UDP)
    u.resolveAddr(undefined, {ip: hostIp(1), port: 18516})
    expectEvent(await lab.next(cch), CmEvent.ADDR_RESOLVED)
    u.resolveRoute()
    expectEvent(await lab.next(cch), CmEvent.ROUTE_RESOLVED)
    await u.connect()
    const ureq = expectEvent(await lab.next(uch), CmEvent.CONNECT_REQUEST)
    await ureq.id.createQp(se.pd, {sendCq: se.cq, recvCq: se.cq, cap: CAP})
    await ureq.id.accept()
    expectEvent(await lab.next(cch), CmEvent.ESTABLISHED)
  } finally {
    w.close()
  }
}

/** The tshark fields (and expected values) for one CM message. */
function expected(m: CmMessage): Record<string, number | bigint | string> {
  const e: Record<string, number | bigint | string> = {'infiniband.mad.transactionid': m.transactionId}
  switch (m.type) {
    case 'REQ': {
      const priv = decodeReqPrivate(m.privateData)
      if (priv instanceof Error) throw priv
      Object.assign(e, {
        'infiniband.cm.req': m.localCommId, 'infiniband.cm.req.serviceid': m.serviceId,
        'infiniband.cm.req.serviceid.dport': Number(m.serviceId & 0xffffn), 'infiniband.cm.req.localcaguid': m.localCaGuid,
        'infiniband.cm.req.localqpn': m.localQpn, 'infiniband.cm.req.startpsn': m.startingPsn,
        'infiniband.cm.req.responderres': m.responderResources, 'infiniband.cm.req.initdepth': m.initiatorDepth,
        'infiniband.cm.req.retrcount': m.retryCount, 'infiniband.cm.req.rnrretrcount': m.rnrRetryCount,
        'infiniband.cm.req.maxcmretr': m.maxCmRetries, 'infiniband.cm.req.pkey': m.pkey,
        'infiniband.cm.req.pppmtu': m.pathMtu, 'infiniband.cm.req.remoteresptout': m.remoteCmResponseTimeout,
        'infiniband.cm.req.localresptout': m.localCmResponseTimeout,
        'infiniband.cm.req.prim_locallid': m.primaryPath.localLid, 'infiniband.cm.req.prim_remotelid': m.primaryPath.remoteLid,
        'infiniband.cm.req.prim_localgid_ipv4': ipOfGid(m.primaryPath.localGid),
        'infiniband.cm.req.prim_remotegid_ipv4': ipOfGid(m.primaryPath.remoteGid),
        'infiniband.cm.req.prim_hoplim': m.primaryPath.hopLimit,
        'infiniband.cm.req.ip_cm.sport': priv.cma.srcPort, 'infiniband.cm.req.ip_cm.sip4': priv.cma.srcIp,
        'infiniband.cm.req.ip_cm.dip4': priv.cma.dstIp,
        'infiniband.cm.req.ip_cm.private': hex(m.privateData.subarray(36)),
      })
      break
    }
    case 'REP':
      Object.assign(e, {
        'infiniband.cm.rep': m.localCommId, 'infiniband.cm.rep.remotecommid': m.remoteCommId,
        'infiniband.cm.rep.localqpn': m.localQpn, 'infiniband.cm.rep.startpsn': m.startingPsn,
        'infiniband.cm.rep.respres': m.responderResources, 'infiniband.cm.rep.initdepth': m.initiatorDepth,
        'infiniband.cm.rep.rnrretrcount': m.rnrRetryCount, 'infiniband.cm.rep.localcaguid': m.localCaGuid,
        'infiniband.cm.rep.private': hex(m.privateData),
      })
      break
    case 'RTU':
      Object.assign(e, {'infiniband.cm.rtu.localcommid': m.localCommId, 'infiniband.cm.rtu.remotecommid': m.remoteCommId})
      break
    case 'REJ':
      Object.assign(e, {
        'infiniband.cm.rej.localcommid': m.localCommId, 'infiniband.cm.rej.remotecommid': m.remoteCommId,
        'infiniband.cm.rej.msgrej': m.messageRejected, 'infiniband.cm.rej.reason': m.reason,
        'infiniband.cm.rej.private': hex(m.privateData),
      })
      break
    case 'DREQ':
      Object.assign(e, {
        'infiniband.cm.dreq.localcommid': m.localCommId, 'infiniband.cm.dreq.remotecommid': m.remoteCommId,
        'infiniband.cm.req.remoteqpneecn': m.remoteQpn,
      })
      break
    case 'DREP':
      Object.assign(e, {'infiniband.cm.drsp.localcommid': m.localCommId, 'infiniband.cm.drsp.remotecommid': m.remoteCommId})
      break
    case 'MRA':
      break // tshark 4.0.17 has no MRA fields; the MAD header is still checked
  }
  return e
}

function ipOfGid(g: Uint8Array): number {
  return ((g[12]! << 24) | (g[13]! << 16) | (g[14]! << 8) | g[15]!) >>> 0
}

const CM_ATTR: Record<string, number> = {REQ: 0x10, MRA: 0x11, REJ: 0x12, REP: 0x13, RTU: 0x14, DREQ: 0x15, DREP: 0x16}
let rows: Array<Record<string, string>> = []
let sidrRows = 0
let fields: string[] = []

beforeAll(async () => {
  await scenario()
  fields = [...new Set(['frame.number', 'infiniband.mad.attributeid', 'infiniband.mad.mgmtclass', 'ip.src', 'ip.dst',
    ...sent.flatMap((s) => Object.keys(expected(s.msg)))])]
  const all = tsharkFields(file, fields).filter((r) => r['infiniband.mad.attributeid'] !== '')
  sidrRows = all.filter((r) => [0x17, 0x18].includes(Number(r['infiniband.mad.attributeid']))).length
  rows = all.filter((r) => Number(r['infiniband.mad.attributeid']) <= 0x16)
}, 60_000)
afterAll(() => rmSync(dir, {recursive: true, force: true}))

describe('CM exchange decoded by tshark', () => {
  it('captures the expected message sequence', () => {
    expect(sent.map((s) => s.msg.type)).toEqual(['REQ', 'MRA', 'REP', 'RTU', 'DREQ', 'DREP', 'REQ', 'MRA', 'REJ', 'REQ', 'REJ'])
    expect(rows.map((r) => Number(r['infiniband.mad.attributeid']))).toEqual(sent.map((s) => CM_ATTR[s.msg.type]))
    expect(sidrRows).toBe(2)
  })

  it('shows the infiniband.cm.* values the engine sent, between host addresses', () => {
    rows.forEach((row, i) => {
      const s = sent[i]!
      expect(normalise(7, row['infiniband.mad.mgmtclass']!)).toBe('7')
      expect([normalise(0, row['ip.src']!), normalise(0, row['ip.dst']!)]).toEqual([String(s.src), String(s.dst)])
      const actual: Record<string, string> = {}
      const want: Record<string, string> = {}
      for (const [k, v] of Object.entries(expected(s.msg))) {
        actual[k] = normalise(v, row[k] ?? '')
        want[k] = typeof v === 'string' ? v.toLowerCase() : v.toString()
      }
      expect({type: s.msg.type, ...actual}).toEqual({type: s.msg.type, ...want})
    })
  })

  it('the MasQ REQ carries the MasQ header (VNI 4242) after cma_hdr; the plain REQ does not', () => {
    const reqs = sent.filter((s) => s.msg.type === 'REQ').map((s) => decodeReqPrivate(s.msg.privateData))
    expect(reqs.map((r) => (r instanceof Error ? 'err' : r.masq?.vni))).toEqual([4242, 4242, undefined])
    const priv = rows.filter((r) => r['infiniband.cm.req.ip_cm.private'])[0]!['infiniband.cm.req.ip_cm.private']!
    expect(priv.replace(/:/g, '').slice(0, 16)).toBe('4d51010000109200') // 'M' 'Q' v1 flags VNI=0x001092
  })

  it('reports no malformed packet and no expert error', () => {
    const bad = tshark(['-r', file, '-Y', '_ws.malformed || _ws.expert.severity >= 8388608', '-T', 'fields', '-e', 'frame.number'])
    expect(bad.trim()).toBe('')
    const info = tshark(['-r', file, '-T', 'fields', '-e', '_ws.col.Info', '-Y', 'infiniband.mad.mgmtclass == 7'])
    expect(info).toMatch(/CM: ConnectRequest/)
    expect(info).toMatch(/CM: ServiceIDResReqResp/)
  })
})
