// RConnrename for UD, backend side: a masq/freeflow UD QP gets its VPC context in the RNIC at create (its VNI's
// vIP -> host table from the cached lookups, the tenant's traffic class); the tables are rebuilt on a registry
// change; hyv/sriov/bare UD QPs are untouched; without a way to program the RNIC a VPC UD QP is refused.
import {describe, expect, it} from 'vitest'
import {Backend, type BackendOptions} from '../../../src/backend/backend.js'
import {Errno} from '../../../src/rdma-constants.js'
import {isRnicError, Rnic} from '../../../src/rnic/rnic.js'
import type {Vm} from '../../../src/topology/types.js'
import {openDevice} from '../../../src/verbs/index.js'
import {attach, testVm} from './attach.js'

const vm = (name: string, mode: Vm['mode'], vni = 1): Vm => testVm(name, {mode, vni})

async function udQp(backend: Backend, rnic: Rnic, v: Vm) {
  const {mem, channel} = attach(backend, rnic, v)
  const ctx = await openDevice(channel, {memory: mem})
  const pd = await ctx.allocPd()
  const cq = await ctx.createCq(8)
  return pd.createQp({type: 'UD', sendCq: cq, recvCq: cq, cap: {}})
}

/** A lookup over a mutable registry (VNI 1: 10.0.0.2 on host 192.168.0.2; 10.0.0.3 is nobody's), counting calls. */
function world(rnic: Rnic) {
  const registry = new Map<string, string>([['1/10.0.0.2', '192.168.0.2']])
  const calls: string[] = []
  const opts: BackendOptions = {
    hostGids: ['192.168.0.1'],
    dscpOf: () => 26,
    lookup: async (vni, vip) => {
      calls.push(`${vni}/${vip}`)
      const w = registry.get(`${vni}/${vip}`)
      return w ? {wireIp: w} : null
    },
    vpc: {
      members: (vni) => (vni === 1 ? ['10.0.0.1', '10.0.0.2', '10.0.0.3'] : []),
      routes: async (vni, routes) => {
        const r = rnic.setVpcRoutes({vni, routes})
        if (isRnicError(r)) throw new Error(r.message)
      },
      qp: async (qpn, vni, trafficClass) => {
        const r = rnic.setVpcQp({qpn, vni, trafficClass})
        if (isRnicError(r)) throw new Error(r.message)
      },
    },
  }
  return {registry, calls, opts}
}

describe('Backend: UD QPs in a VPC', () => {
  it('masq and freeflow UD QPs get their VNI table and the tenant DSCP in the RNIC; the table is built once per VNI', async () => {
    const rnic = new Rnic({name: 'rxe0', gids: ['192.168.0.1']})
    const w = world(rnic)
    w.registry.set('1/10.0.0.1', '192.168.0.1')
    const backend = new Backend(w.opts)
    const q1 = await udQp(backend, rnic, vm('a', 'masq'))
    const q2 = await udQp(backend, rnic, vm('b', 'freeflow'))
    expect(rnic.qps.get(q1.qpn)!.vpc).toMatchObject({vni: 1, trafficClass: 26 << 2})
    expect(rnic.qps.get(q2.qpn)!.vpc).toMatchObject({vni: 1, trafficClass: 26 << 2})
    // absent vIPs are not in the table: a WQE naming them is refused by the RNIC
    expect(rnic.vpcTables.toJSON()).toEqual({1: {'10.0.0.1': '192.168.0.1', '10.0.0.2': '192.168.0.2'}})
    expect(w.calls).toEqual(['1/10.0.0.1', '1/10.0.0.2', '1/10.0.0.3'])
  })

  it('a registry change rebuilds the tables the RNIC holds (a moved VM, a removed one)', async () => {
    const rnic = new Rnic({name: 'rxe0', gids: ['192.168.0.1']})
    const w = world(rnic)
    const backend = new Backend(w.opts)
    const q = await udQp(backend, rnic, vm('a', 'masq'))
    expect(rnic.vpcTables.toJSON()).toEqual({1: {'10.0.0.2': '192.168.0.2'}})
    w.registry.set('1/10.0.0.2', '192.168.0.7')
    w.registry.set('1/10.0.0.3', '192.168.0.2')
    await backend.refreshVpc()
    expect(rnic.vpcTables.toJSON()).toEqual({1: {'10.0.0.2': '192.168.0.7', '10.0.0.3': '192.168.0.2'}})
    expect(rnic.qps.get(q.qpn)!.vpc!.routes.get(0x0a000003)).toBe(0xc0a80002)
  })

  it('hyv UD QPs have no VPC context; a VPC UD QP without a programmer is refused and not left behind', async () => {
    const rnic = new Rnic({name: 'rxe0', gids: ['192.168.0.1']})
    const w = world(rnic)
    const q = await udQp(new Backend(w.opts), rnic, vm('h', 'hyv'))
    expect(rnic.qps.get(q.qpn)!.vpc).toBeUndefined()
    expect(w.calls).toEqual([])
    const bare = new Backend({lookup: w.opts.lookup})
    await expect(udQp(bare, rnic, vm('m', 'masq'))).rejects.toMatchObject({errno: Errno.EPERM})
    expect(rnic.qps.size).toBe(1)
    expect(bare.stats().m).toMatchObject({qps: 0})
  })
})
