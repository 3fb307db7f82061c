import {describe, expect, it} from 'vitest'
import {Handles} from '../../../src/backend/handles.js'
import {Errno} from '../../../src/rdma-constants.js'
import {memoryAudit} from './fixtures.js'

function setup() {
  const audit = memoryAudit()
  const h = new Handles(audit)
  h.addVm('a', 'blue')
  h.addVm('b', 'red')
  // b builds PD, CQ, MR, QP; a only a PD
  const ok = <T extends {ok: boolean}>(r: T) => {
    if (!r.ok) throw new Error(JSON.stringify(r))
    return r as Extract<T, {ok: true}>
  }
  const bPd = ok(h.create('b', 'pd', 0x10)).handle
  const bCq = ok(h.create('b', 'cq', 0x20)).handle
  const bMr = ok(h.create('b', 'mr', 0x3301, [{handle: bPd, kind: 'pd'}])).handle
  const bQp = ok(h.create('b', 'qp', 0x4a5b6c, [{handle: bPd, kind: 'pd'}, {handle: bCq, kind: 'cq'}, {handle: bCq, kind: 'cq'}])).handle
  const aPd = ok(h.create('a', 'pd', 0x11)).handle
  return {h, audit, bPd, bCq, bMr, bQp, aPd}
}

describe('per-VM handle tables (C09)', () => {
  it('hands out small per-VM numbers, lowest free first, from 0 like uverbs', () => {
    const {h, bPd, bCq, bMr, bQp, aPd} = setup()
    expect([bPd, bCq, bMr, bQp, aPd]).toEqual([0, 1, 2, 3, 0])
    expect(h.lookup('b', bQp, 'qp')).toEqual({ok: true, ref: 0x4a5b6c})
    expect(h.lookup('a', 0, 'pd')).toEqual({ok: true, ref: 0x11}) // a's 0 is a's own PD, not b's
  })

  it.each([
    ['another VM\'s handle', 3, 'qp', Errno.ENOENT],
    ['a forged number', 77, 'pd', Errno.ENOENT],
    ['a backend QPN passed as a handle', 0x4a5b6c, 'qp', Errno.ENOENT],
    ['a handle of the wrong type', 0, 'mr', Errno.EINVAL],
    ['a negative number', -1, 'pd', Errno.EINVAL],
    ['a fraction', 0.5, 'pd', Errno.EINVAL],
    ['a string', '0', 'pd', Errno.EINVAL],
    ['beyond 32 bits', 2 ** 32, 'pd', Errno.EINVAL],
  ] as const)('refuses %s and audits it', (_what, handle, kind, errno) => {
    const {h, audit} = setup()
    expect(h.lookup('a', handle, kind)).toMatchObject({ok: false, errno})
    expect(audit.query({kind: 'handle'})).toMatchObject([{tenant: 'blue', vm: 'a', detail: {errno, kind}}])
  })

  it('cannot destroy or build on another VM\'s objects; the victim is untouched', () => {
    const {h, audit} = setup()
    expect(h.destroy('a', 3, 'qp')).toMatchObject({ok: false, errno: Errno.ENOENT})
    expect(h.create('a', 'mr', 0x99, [{handle: 1, kind: 'pd'}])).toMatchObject({ok: false, errno: Errno.ENOENT}) // b's CQ number
    expect(h.count('a')).toBe(1)
    expect(h.count('b')).toBe(4)
    expect(h.lookup('b', 3, 'qp')).toEqual({ok: true, ref: 0x4a5b6c})
    expect(audit.counters().handle).toBe(2)
    expect(h.refusals).toEqual({ENOENT: 2, EINVAL: 0, EBUSY: 0})
  })

  it('lifecycle: dependents keep their parents (EBUSY), destroy frees the number for reuse', () => {
    const {h, audit, bPd, bCq, bMr, bQp} = setup()
    expect(h.destroy('b', bPd, 'pd')).toMatchObject({ok: false, errno: Errno.EBUSY, message: 'pd handle 0 is still used by 2 objects'})
    expect(h.destroy('b', bCq, 'cq')).toMatchObject({ok: false, errno: Errno.EBUSY})
    expect(h.destroy('b', bQp, 'qp')).toEqual({ok: true, ref: 0x4a5b6c})
    expect(h.destroy('b', bCq, 'cq')).toEqual({ok: true, ref: 0x20}) // both CQ references were dropped
    expect(h.destroy('b', bMr, 'mr')).toEqual({ok: true, ref: 0x3301})
    expect(h.destroy('b', bPd, 'pd')).toEqual({ok: true, ref: 0x10})
    expect(h.lookup('b', bQp, 'qp')).toMatchObject({errno: Errno.ENOENT}) // destroyed = gone
    expect(h.create('b', 'cq', 0x21)).toEqual({ok: true, handle: 0}) // lowest free
    expect(h.create('b', 'cq', 0x22)).toEqual({ok: true, handle: 1})
    expect(h.refusals.EBUSY).toBe(2)
    expect(audit.query({vm: 'b'}).length).toBe(1) // only the ENOENT lookup, EBUSY is no attack
  })

  it('destroyAll lists a crashed VM\'s objects dependents first and forgets the VM', () => {
    const {h} = setup()
    expect(h.destroyAll('b')).toEqual([
      {kind: 'qp', ref: 0x4a5b6c}, {kind: 'mr', ref: 0x3301}, {kind: 'cq', ref: 0x20}, {kind: 'pd', ref: 0x10},
    ])
    expect(h.count('b')).toBe(0)
    expect(h.lookup('b', 0, 'pd')).toMatchObject({errno: Errno.ENOENT})
    expect(h.destroyAll('b')).toEqual([])
    expect(h.lookup('a', 0, 'pd').ok).toBe(true)
  })
})
