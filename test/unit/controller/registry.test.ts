import {describe, expect, it} from 'vitest'
import {flatLocation, LookupCache, Registry} from '../../../src/controller/registry.js'
import {policyPlan, vmOf} from './fixtures/plan.js'

describe('VPC registry', () => {
  it('resolves the same vIP per VPC (C19): blue 10.0.0.1 and red 10.0.0.1 are different VMs', () => {
    const reg = new Registry(policyPlan())
    const blue = reg.lookup(100, '10.0.0.1')
    const red = reg.lookup(200, '10.0.0.1')
    expect(blue?.vm.name).toBe('web1')
    expect(red?.vm.name).toBe('red1')
    expect(blue?.underlay).toBe('192.168.0.1')
    expect(blue?.wireIp).toBe('192.168.0.1') // masq: the host address is on the wire
    expect(blue?.wireGid).toBe('::ffff:192.168.0.1')
    expect(reg.lookup(200, '10.0.0.2')?.host.name).toBe('h2')
  })

  it('flattens a location for RPC replies', () => {
    const loc = new Registry(policyPlan()).lookup(200, '10.0.0.2')!
    expect(flatLocation(loc)).toEqual({
      vm: 'red2', tenant: 'red', vni: 200, vip: '10.0.0.2', host: 'h2', underlay: '192.168.0.2', wireIp: '192.168.0.2',
      gid: '::ffff:10.0.0.2', hostGid: '::ffff:192.168.0.2',
    })
  })

  it.each([
    [100, '10.0.0.77'], // free address in the VPC
    [300, '10.0.0.1'], // unknown VNI
    [200, '10.0.0.3'], // blue-only address asked in red
    [100, '192.168.0.1'], // an underlay address is no vIP
  ])('lookup(%i, %s) is null', (vni, vip) => {
    expect(new Registry(policyPlan()).lookup(vni, vip)).toBeNull()
  })

  it('lists the VMs of a host and of a tenant', () => {
    const reg = new Registry(policyPlan())
    expect(reg.vmsOfHost('h1').map((v) => v.name)).toEqual(['web1', 'app2', 'far', 'red1'])
    expect(reg.vmsOfHost('nope')).toEqual([])
    expect(reg.vmsOfTenant('red').map((v) => v.name)).toEqual(['red1', 'red2'])
    expect(reg.tenant(200)?.name).toBe('red')
    expect(reg.tenant('blue')?.vni).toBe(100)
  })

  it('bumps the generation on every change and not on a refused one', () => {
    const plan = policyPlan()
    const reg = new Registry(plan)
    const g0 = reg.generation
    expect(reg.moveVm('web1', 'h2')).toEqual({ok: true, generation: g0 + 1})
    expect(reg.lookup(100, '10.0.0.1')?.wireIp).toBe('192.168.0.2')
    expect(reg.moveVm('web1', 'h9')).toMatchObject({ok: false, error: 'unknown-host'})
    expect(reg.removeVm('red2')).toEqual({ok: true, generation: g0 + 2})
    expect(reg.lookup(200, '10.0.0.2')).toBeNull()
    expect(reg.removeVm('red2')).toMatchObject({ok: false, error: 'unknown-vm'})
    expect(reg.addVm({...vmOf(plan, 'red2')})).toEqual({ok: true, generation: g0 + 3})
    expect(reg.addVm({...vmOf(plan, 'red2'), name: 'red3'})).toMatchObject({ok: false, error: 'duplicate-address'})
    expect(reg.addVm(vmOf(plan, 'red2'))).toMatchObject({ok: false, error: 'duplicate-vm'})
    expect(reg.addVm({...vmOf(plan, 'red2'), name: 'x', vni: 999})).toMatchObject({ok: false, error: 'unknown-tenant'})
    expect(reg.generation).toBe(g0 + 3)
  })
})

describe('LookupCache', () => {
  it('serves hits within a generation and refetches after the registry changes', () => {
    const reg = new Registry(policyPlan())
    let fetches = 0
    const source = {get generation() { return reg.generation }, lookup: (vni: number, vip: string) => (fetches++, reg.lookup(vni, vip))}
    const cache = new LookupCache()
    expect(cache.through(source, 100, '10.0.0.1')?.host.name).toBe('h1')
    expect(cache.through(source, 100, '10.0.0.1')?.host.name).toBe('h1')
    expect(cache.through(source, 100, '10.0.0.99')).toBeNull()
    expect(cache.through(source, 100, '10.0.0.99')).toBeNull() // negative answers are cached too
    expect(fetches).toBe(2)
    expect(cache.stats).toMatchObject({hits: 2, misses: 2})

    reg.moveVm('web1', 'h2')
    expect(cache.through(source, 100, '10.0.0.1')?.host.name).toBe('h2') // not the stale h1
    expect(fetches).toBe(3)
    expect(cache.stats.invalidations).toBe(1)
    expect(cache.generation).toBe(reg.generation)
  })

  it('ignores a reply computed under an older generation than a pushed one', () => {
    const reg = new Registry(policyPlan())
    const cache = new LookupCache()
    const old = reg.generation
    const stale = reg.lookup(100, '10.0.0.1')
    reg.moveVm('web1', 'h2')
    cache.invalidate(reg.generation) // the controller's push arrives first
    cache.put(old, 100, '10.0.0.1', stale) // then the reply to a request sent before the move
    expect(cache.get(100, '10.0.0.1')).toBeUndefined()
    cache.invalidate(old) // an older announcement does not clear newer entries
    cache.put(reg.generation, 100, '10.0.0.1', reg.lookup(100, '10.0.0.1'))
    cache.invalidate(old)
    expect(cache.get(100, '10.0.0.1')?.host.name).toBe('h2')
    expect(cache.size).toBe(1)
  })
})
