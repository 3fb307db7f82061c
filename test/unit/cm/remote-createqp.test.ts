// rdma_create_qp as one request to the host (CmLink.qpViaAgent: the backend shares the CM agent's thread): the
// create_qp command travels inside the rdma_cm request, and the VM's verbs still own and release the QP.
import {describe, expect, it} from 'vitest'
import {type CmLink, RemoteCm} from '../../../src/cm/remote.js'
import {CmError} from '../../../src/cm/errors.js'
import {QpState} from '../../../src/rdma-constants.js'
import {isRnicError} from '../../../src/rnic/errors.js'
import {Rnic} from '../../../src/rnic/rnic.js'
import {InProcessChannel, openDevice, TrackingChannel, VerbsError, VmMemory} from '../../../src/verbs/index.js'

/** A host end that creates the QP on `rnic` (standing in for the backend) and then fails rdma_cm if told to. */
function fakeHost(rnic: Rnic, o: {cmFails?: boolean} = {}) {
  const requests: Array<Record<string, unknown>> = []
  const link: CmLink = {
    qpViaAgent: true,
    send: () => undefined,
    call: async <T>(_op: string, p: Record<string, unknown>): Promise<T> => (await answer(p)) as T,
  }
  async function answer(p: Record<string, unknown>): Promise<unknown> {
    requests.push(p)
    if (p.op !== 'createQp' || p.create === undefined) return {}
    const r = rnic.createQp(p.create as Parameters<Rnic['createQp']>[0])
    if (isRnicError(r)) return {error: {errno: r.errno, message: r.message, verbs: true}}
    if (o.cmFails) return {qp: r, error: {errno: 22, message: 'rdma_cm refused'}}
    return {qp: r, qpState: QpState.INIT}
  }
  return {link, requests}
}

async function setup(rnic: Rnic) {
  const ch = new TrackingChannel(new InProcessChannel(rnic))
  const ctx = await openDevice(ch, {memory: new VmMemory(1 << 16)})
  const pd = await ctx.allocPd()
  const cq = await ctx.createCq(8)
  return {ch, pd, cq}
}

describe('RemoteCmId.createQp through the host (qpViaAgent)', () => {
  it('sends one request carrying the create_qp command; the run releases the QP like one it created itself', async () => {
    const rnic = new Rnic({name: 'rxe0', gids: ['10.0.0.1']})
    const {ch, pd, cq} = await setup(rnic)
    const {link, requests} = fakeHost(rnic)
    const cm = new RemoteCm(link)
    const id = cm.createId(cm.createEventChannel())
    const qp = await id.createQp(pd, {sendCq: cq, recvCq: cq, cap: {maxSendWr: 4, maxRecvWr: 4}})
    const creates = requests.filter((r) => r.op === 'createQp')
    expect(creates).toHaveLength(1)
    expect(creates[0]!.create).toMatchObject({pdn: pd.pdn, sendCqn: cq.cqn, recvCqn: cq.cqn, cap: {maxSendWr: 4, maxRecvWr: 4}})
    expect(qp.state).toBe(QpState.INIT) // mirrored from the reply
    expect(id.qp).toBe(qp)
    expect(rnic.qps.has(qp.qpn)).toBe(true)
    expect(ch.counts.qp).toBe(1) // adopted by the tracking channel
    expect(await ch.releaseAll()).toBe(3) // QP, CQ, PD
    expect(rnic.qps.has(qp.qpn)).toBe(false)
  })

  it('a refused create_qp is the verbs error pd.createQp would throw, and nothing is held', async () => {
    const rnic = new Rnic({name: 'rxe0', gids: ['10.0.0.1']})
    const {ch, pd, cq} = await setup(rnic)
    const cm = new RemoteCm(fakeHost(rnic).link)
    const id = cm.createId(cm.createEventChannel())
    const err = await id.createQp(pd, {sendCq: cq, recvCq: cq, cap: {maxSendWr: 1 << 30}}).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(VerbsError)
    expect((err as VerbsError).message).toMatch(/^createQp: /)
    expect(id.qp).toBeUndefined()
    expect(ch.counts.qp).toBe(0)
  })

  it('when rdma_cm fails after the QP exists, the id keeps it (as a separate create would) and the run releases it', async () => {
    const rnic = new Rnic({name: 'rxe0', gids: ['10.0.0.1']})
    const {ch, pd, cq} = await setup(rnic)
    const cm = new RemoteCm(fakeHost(rnic, {cmFails: true}).link)
    const id = cm.createId(cm.createEventChannel())
    await expect(id.createQp(pd, {sendCq: cq, recvCq: cq, cap: {}})).rejects.toBeInstanceOf(CmError)
    expect(id.qp).toBeDefined()
    expect(ch.counts.qp).toBe(1)
    await ch.releaseAll()
    expect(rnic.qps.size).toBe(0)
  })

  it('without qpViaAgent (sriov, bare) the QP is created through the verbs and only its number is sent', async () => {
    const rnic = new Rnic({name: 'rxe0', gids: ['10.0.0.1']})
    const {ch, pd, cq} = await setup(rnic)
    const {link, requests} = fakeHost(rnic)
    const cm = new RemoteCm({...link, qpViaAgent: false})
    const id = cm.createId(cm.createEventChannel())
    const qp = await id.createQp(pd, {sendCq: cq, recvCq: cq, cap: {}})
    const creates = requests.filter((r) => r.op === 'createQp')
    expect(creates).toHaveLength(1)
    expect(creates[0]!.create).toBeUndefined()
    expect(creates[0]!.qpn).toBe(qp.qpn)
    expect(ch.counts.qp).toBe(1)
  })

  it('a tracking channel that wraps another passes the adopted QP on (attack steps wrap the run\'s channel)', async () => {
    const rnic = new Rnic({name: 'rxe0', gids: ['10.0.0.1']})
    const inner = new TrackingChannel(new InProcessChannel(rnic))
    const outer = new TrackingChannel(inner)
    const ctx = await openDevice(outer, {memory: new VmMemory(1 << 16)})
    const pd = await ctx.allocPd()
    const cq = await ctx.createCq(8)
    const cm = new RemoteCm(fakeHost(rnic).link)
    await cm.createId(cm.createEventChannel()).createQp(pd, {sendCq: cq, recvCq: cq, cap: {}})
    expect(outer.counts.qp).toBe(1)
    expect(inner.counts.qp).toBe(1)
    await outer.releaseAll()
    expect(rnic.qps.size).toBe(0)
    expect(await inner.releaseAll()).toBe(0) // already gone: nothing left to release
  })
})
