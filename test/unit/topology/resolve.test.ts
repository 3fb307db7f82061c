import {readFileSync} from 'node:fs'
import {describe, expect, it} from 'vitest'
import {loadTopology, loadTopologyText} from '../../../src/topology/load.js'
import {addressPlan, hostMac, vmMac} from '../../../src/topology/resolve.js'
import type {ResolvedPlan} from '../../../src/topology/types.js'

const example = (name: string) => new URL(`../../../examples/${name}`, import.meta.url).pathname

async function plan(name: string): Promise<ResolvedPlan> {
  const r = await loadTopology(example(name))
  if (!r.ok) throw new Error(r.errors.map((e) => e.message).join('\n'))
  return r.plan
}

const minimal = `
name: min
hosts: [{name: h1, underlay: 192.168.0.1}]
tenants: [{name: t, vni: 5, cidr: 10.0.0.0/24}]
vms: [{name: v1, tenant: t, host: h1, ip: 10.0.0.9}]
`

describe('resolve: defaults', () => {
  it('fills every default of the model', () => {
    const r = loadTopologyText(minimal, 'min.yaml')
    expect(r.ok).toBe(true)
    const p = r.plan!
    expect(p.version).toBe(1)
    expect(p.source).toBe('min.yaml')
    expect(p.mode).toBe('masq')
    expect(p.fabric).toMatchObject({mtu: 4096, linkRateBps: 100e9, delayNs: 1000, bufferBytes: 4 * 1024 ** 2, priorities: 2, capture: false})
    expect(p.fabric.impairments).toEqual({loss: 0, duplicate: 0, reorder: 0, jitterNs: 0, seed: 1})
    expect(p.fabric.dscpPriority).toHaveLength(64)
    expect(p.fabric.dscpPriority[48]).toBe(0) // provider
    expect(p.fabric.dscpPriority[26]).toBe(1)
    expect(p.provider).toEqual({dscp: 48})
    expect(p.hosts[0].rnic).toEqual({maxQp: 4096, maxMr: 16384, maxCq: 4096, maxPd: 1024, qpcCache: 512, rateLimiters: 128})
    expect(p.tenants[0].perVm).toEqual({qps: 256, mrs: 1024, cqs: 256, pds: 64, mrBytes: 1024 ** 3, cmIds: 256, connectRate: 1000})
    expect(p.tenants[0].perTenant).toEqual({qps: 1024, mrs: 4096, cqs: 1024, pds: 256, mrBytes: 4 * 1024 ** 3, cmIds: 1024, connectRate: 1000})
    expect(p.tenants[0].qos).toEqual({rateBps: 0, dscp: 26})
    expect(p.securityGroups).toEqual([])
    expect(p.vms[0]).toMatchObject({index: 0, vni: 5, securityGroups: [], memoryBytes: 64 * 1024 ** 2})
  })

  it('per-tenant quotas default to 4 x the per-VM values written', () => {
    const r = loadTopologyText(minimal.replace('cidr: 10.0.0.0/24}', 'cidr: 10.0.0.0/24, quotas: {perVm: {qps: 10, mrBytes: 1MiB}}}'), 'q.yaml')
    expect(r.plan?.tenants[0].perTenant).toMatchObject({qps: 40, mrBytes: 4 * 1024 ** 2, mrs: 4096})
  })

  it('the qos example: units, dscp map, priorities and the tenant rate limit', async () => {
    const p = await plan('qos.yaml')
    expect(p.fabric).toMatchObject({linkRateBps: 10e9, delayNs: 2000, bufferBytes: 1024 ** 2, priorities: 3})
    expect([p.fabric.dscpPriority[48], p.fabric.dscpPriority[26], p.fabric.dscpPriority[10], p.fabric.dscpPriority[0]]).toEqual([0, 1, 2, 1])
    expect(p.tenants.map((t) => t.qos)).toEqual([{rateBps: 2e9, dscp: 10}, {rateBps: 0, dscp: 26}])
  })

  it('security groups: ports resolve to ranges, egress restricted only when written', async () => {
    const p = await plan('multi-tenant.yaml')
    const g = new Map(p.securityGroups.map((s) => [s.name, s]))
    expect(g.get('blue-server')).toEqual({name: 'blue-server', tenant: 'blue', ingress: [{group: 'blue-client', portMin: 18515, portMax: 18515}], egress: [], egressRestricted: false})
    expect(g.get('green-db')?.ingress[0]).toEqual({cidr: '172.16.1.0/24', portMin: 20000, portMax: 20099})
    expect(g.get('green-db')?.egressRestricted).toBe(true)
    expect(g.get('red-all')?.ingress[0]).toEqual({cidr: '10.0.0.0/24', portMin: 1, portMax: 65535})
  })
})

describe('resolve: address plan per mode (DESIGN §2)', () => {
  it.each([
    ['masq', '10.0.0.1', '192.168.0.1'],
    ['freeflow', '10.0.0.1', '192.168.0.1'],
    ['sriov', '172.16.0.1', '172.16.0.1'],
    ['hyv', '172.16.0.1', '172.16.0.1'],
    ['bare', '192.168.0.1', '192.168.0.1'],
  ] as const)('%s: deviceIp %s, wireIp %s', (mode, deviceIp, wireIp) => {
    const vip = mode === 'sriov' || mode === 'hyv' ? '172.16.0.1' : '10.0.0.1'
    expect(addressPlan(mode, vip, '192.168.0.1')).toEqual({deviceIp, wireIp})
  })

  it('the modes example: every VM gets the address, GID and MAC of its mode', async () => {
    const p = await plan('modes.yaml')
    const vm = new Map(p.vms.map((v) => [v.name, v]))
    expect(vm.get('masq1')).toMatchObject({mode: 'masq', vip: '10.0.0.1', deviceIp: '10.0.0.1', wireIp: '192.168.0.1', gid: '::ffff:10.0.0.1'})
    expect(vm.get('ff2')).toMatchObject({mode: 'freeflow', deviceIp: '10.0.0.4', wireIp: '192.168.0.2'})
    expect(vm.get('sriov1')).toMatchObject({mode: 'sriov', deviceIp: '192.168.1.1', wireIp: '192.168.1.1', gid: '::ffff:192.168.1.1'})
    expect(vm.get('hyv2')).toMatchObject({mode: 'hyv', deviceIp: '192.168.2.2', wireIp: '192.168.2.2'})
    expect(vm.get('bare2')).toMatchObject({mode: 'bare', deviceIp: '192.168.0.2', wireIp: '192.168.0.2', gid: '::ffff:192.168.0.2'})
  })

  it('overlapping VPCs: same vIP, different VNI and MAC, host address on the wire', async () => {
    const p = await plan('multi-tenant.yaml')
    const blue = p.vms.find((v) => v.name === 'blue-server')!
    const red = p.vms.find((v) => v.name === 'red2')!
    expect(blue.vip).toBe(red.vip)
    expect(blue.gid).toBe('::ffff:10.0.0.1')
    expect([blue.vni, red.vni]).toEqual([100, 200])
    expect(blue.wireIp).toBe('192.168.0.1')
    expect(red.wireIp).toBe('192.168.0.2')
    expect(new Set(p.vms.map((v) => v.mac)).size).toBe(p.vms.length)
  })

  it('MACs: hosts 02:00 + underlay octets; VMs 02 + VNI + index', async () => {
    expect(hostMac('192.168.0.1')).toBe('02:00:c0:a8:00:01')
    expect(vmMac(100, 3)).toBe('02:00:00:64:00:03')
    expect(vmMac(0xabcdef, 0x1234)).toBe('02:ab:cd:ef:12:34')
    const p = await plan('two-host.yaml')
    expect(p.hosts.map((h) => [h.mac, h.gid])).toEqual([['02:00:c0:a8:00:01', '::ffff:192.168.0.1'], ['02:00:c0:a8:00:02', '::ffff:192.168.0.2']])
  })

  it('the plan is plain JSON (it is written to the lab directory)', async () => {
    const p = await plan('multi-tenant.yaml')
    expect(JSON.parse(JSON.stringify(p))).toEqual(p)
  })

  it('examples and templates are the same files', () => {
    for (const n of ['two-host', 'multi-tenant', 'qos', 'modes']) {
      expect(readFileSync(example(`${n}.yaml`), 'utf8'), n).toBe(readFileSync(new URL(`../../../templates/${n}.yaml`, import.meta.url), 'utf8'))
    }
  })
})
