// Issue 5 "Done when": quota exhaustion by one VM leaves other VMs able to create QPs; a raw QP, a privileged
// Q_Key, another VM's handle and a forged destination QPN are all refused and audited. Each refusal comes with
// its positive control, so the test cannot pass by refusing everything.
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, describe, expect, it} from 'vitest'
import {AuditLog, readAuditFile} from '../../../src/backend/audit.js'
import {Handles} from '../../../src/backend/handles.js'
import {QuotaLedger} from '../../../src/backend/quota.js'
import {trackedPeerOf, VerbsGuard} from '../../../src/backend/verbs-guard.js'
import {Errno, GSI_QKEY, QpAttrMask, QpType, RDMA_UDP_QKEY} from '../../../src/rdma-constants.js'
import {tenants, vms} from './fixtures.js'

const dir = mkdtempSync(join(tmpdir(), 'masq-denials-'))
afterAll(() => rmSync(dir, {recursive: true, force: true}))

describe('control-path denials, end to end through one backend', () => {
  it('refuses and audits each attack while the legitimate twin succeeds', () => {
    const file = join(dir, 'audit.jsonl')
    const audit = new AuditLog({lab: 'unit', host: 'h1', file})
    const quota = new QuotaLedger(tenants, vms, audit)
    const handles = new Handles(audit)
    const guard = new VerbsGuard(audit)
    for (const v of vms) handles.addVm(v.name, v.tenant)
    const b1 = {tenant: 'blue', vm: 'b1'}
    const r1 = {tenant: 'red', vm: 'r1'}

    // create_qp as the backend does it: type guard, quota charge, then the handle
    let qpn = 0x51
    const createQp = (ctx: {tenant: string; vm: string}, type: number) => {
      const g = guard.checkQpType(ctx, type)
      if (!g.ok) return g.errno
      const c = quota.charge(ctx.vm, 'qps')
      if (!c.ok) return c.errno
      const h = handles.create(ctx.vm, 'qp', qpn++)
      return h.ok ? 0 : h.errno
    }
    expect(createQp(b1, QpType.RC)).toBe(0)
    expect(createQp(b1, QpType.UD)).toBe(0)
    expect(createQp(b1, QpType.RC)).toBe(Errno.EAGAIN) // b1's quota (2) is exhausted
    expect(createQp({tenant: 'blue', vm: 'b2'}, QpType.RC)).toBe(0) // another VM still can
    expect(createQp(r1, QpType.RC)).toBe(0) // and another tenant
    expect(createQp(r1, QpType.RAW_PACKET)).toBe(Errno.EPERM)

    expect(guard.checkQkey(r1, GSI_QKEY)).toMatchObject({ok: false, errno: Errno.EPERM})
    expect(guard.checkQkey(r1, RDMA_UDP_QKEY)).toEqual({ok: true})

    // r1 names b1's QP handle 1: r1 owns only handle 0
    expect(handles.lookup('r1', 1, 'qp')).toMatchObject({ok: false, errno: Errno.ENOENT})
    expect(handles.lookup('r1', 0, 'qp')).toMatchObject({ok: true})

    const conn = {srcVm: 'b1', dstVm: 'b2', srcVip: '10.0.0.1', dstVip: '10.0.0.2', srcQpn: 0x51, dstQpn: 0x53}
    const peer = trackedPeerOf(conn, 'b1')
    const rtr = (destQpNum: number) => guard.checkModifyQp(b1, peer, {destQpNum, ahAttr: {grh: {dgid: '::ffff:10.0.0.2'}}}, QpAttrMask.DEST_QPN | QpAttrMask.AV)
    expect(rtr(0x54)).toMatchObject({ok: false, errno: Errno.EPERM}) // r1's QP, the next number
    expect(rtr(0x53)).toEqual({ok: true})
    audit.close()

    const {entries, bad} = readAuditFile(file)
    expect(bad).toBe(0)
    expect(entries.map((e) => [e.kind, e.tenant, e.vm])).toEqual([
      ['quota', 'blue', 'b1'], ['raw-qp', 'red', 'r1'], ['qkey', 'red', 'r1'], ['handle', 'red', 'r1'], ['dest-qpn', 'blue', 'b1'],
    ])
    expect(entries.every((e) => e.lab === 'unit' && e.host === 'h1' && typeof e.detail.errno === 'number')).toBe(true)
  })
})
