// hdr_check (rxe_recv.c): every hostile or misdirected frame is a silent drop counted by reason, and
// decoder failures are counted by DecodeStatus name. Nothing throws.

import {describe, expect, it} from 'vitest'
import {Access} from '../../../src/rdma-constants.js'
import {FrameEncoder} from '../../../src/wire/frame.js'
import {Opcode} from '../../../src/wire/opcodes.js'
import {PacketView} from '../../../src/wire/packet.js'
import {connect, endpoint, makeLab} from './helpers.js'

function frame(build: (p: PacketView) => void, payload = 0): Buffer {
  const p = new PacketView()
  p.srcIp = 0x0a000001
  p.dstIp = 0x0a000002
  p.opcode = Opcode.RC_SEND_ONLY
  p.ackReq = 1
  build(p)
  const out = Buffer.alloc(4200)
  const n = new FrameEncoder().encodeInto(out, 0, p, payload ? Buffer.alloc(payload) : null, 0, payload)
  return out.subarray(0, n)
}

describe('receive path checks', () => {
  it('drops by hdr_check reason, counted, without side effects', async () => {
    const lab = makeLab(3)
    const a = await endpoint(lab.nics[0]!)
    const b = await endpoint(lab.nics[1]!)
    const [, qb] = await connect(a, b)
    const nic = lab.nics[1]!
    qb.postRecv({wrId: 1})
    lab.run()
    const send = (f: Buffer) => nic.receive(f, 0, f.length)
    send(frame((p) => { p.dstIp = 0x0a000009; p.destQp = qb.qpn }))
    send(frame((p) => { p.destQp = 0 }))
    send(frame((p) => { p.destQp = 0x123456 }))
    send(frame((p) => { p.destQp = qb.qpn; p.opcode = Opcode.UC_SEND_ONLY }))
    send(frame((p) => { p.destQp = qb.qpn; p.srcIp = 0x0a000003; p.psn = 0x100 }))
    send(frame((p) => { p.destQp = qb.qpn; p.pkey = 0x8001; p.psn = 0x100 }))
    const corrupt = Buffer.from(frame((p) => { p.destQp = qb.qpn; p.psn = 0x100 }, 16))
    corrupt[60] ^= 1
    send(corrupt)
    send(Buffer.alloc(10))
    expect(nic.counters().drops).toEqual({
      dgid_not_local: 1, qpn_zero: 1, no_such_qp: 1, opcode_qp_type: 1, addr_mismatch: 1, bad_pkey: 1, BAD_ICRC: 1, TRUNCATED: 1,
    })
    expect(b.cq.poll(4)).toEqual([])
    // a well-formed request from the right peer is accepted
    send(frame((p) => { p.destQp = qb.qpn; p.psn = 0x100 }))
    expect(b.cq.poll(4)).toMatchObject([{wrId: 1n, status: 0}])
  })

  it('requests to a QP that is not yet in RTR are dropped (qp_state)', async () => {
    const lab = makeLab()
    const b = await endpoint(lab.nics[1]!)
    const qp = await b.pd.createQp({type: 'RC', sendCq: b.cq, recvCq: b.cq, cap: {}})
    const f = frame((p) => { p.destQp = qp.qpn })
    lab.nics[1]!.receive(f, 0, f.length)
    expect(lab.nics[1]!.counters().drops).toMatchObject({qp_state: 1})
  })

  it('1000 random frames never throw and never complete anything', async () => {
    const lab = makeLab()
    const a = await endpoint(lab.nics[0]!)
    const b = await endpoint(lab.nics[1]!)
    const [, qb] = await connect(a, b)
    const dst = b.mem.alloc(4096)
    const mr = await b.pd.regMr(dst, Access.LOCAL_WRITE | Access.REMOTE_WRITE)
    void mr
    qb.postRecv({wrId: 1, sgList: []})
    let x = 12345
    const rnd = () => ((x = (Math.imul(x, 1103515245) + 12345) >>> 0) / 4294967296)
    for (let i = 0; i < 1000; i++) {
      const f = frame((p) => { p.destQp = qb.qpn; p.psn = 0x100 }, 64)
      for (let k = 0; k < 4; k++) f[(rnd() * f.length) | 0] = (rnd() * 256) | 0
      lab.nics[1]!.receive(f, 0, f.length)
    }
    expect(dst.bytes.every((v) => v === 0)).toBe(true)
  })
})
