import {describe, expect, it} from 'vitest'
import {DeriveError, deriveLab, vfAddresses} from '../../../src/bench/derive.js'
import {DEFAULT_TOPOLOGY, DEFAULT_TOPOLOGY_FILE} from '../../../src/topology/default.js'
import {MODES} from '../../../src/topology/types.js'

describe('deriveLab: one two-VM, two-host lab per mode from the default topology', () => {
  for (const mode of MODES) {
    it(`${mode}: validates, two hosts, the blue pair, mode overridden`, () => {
      const d = deriveLab(DEFAULT_TOPOLOGY, DEFAULT_TOPOLOGY_FILE, mode, {name: `bench-${mode}-x`})
      expect(d.plan.name).toBe(`bench-${mode}-x`)
      expect(d.plan.mode).toBe(mode)
      expect(d.plan.hosts.map((h) => h.name)).toEqual(['host1', 'host2'])
      expect(d.plan.vms.map((v) => [v.name, v.host, v.mode])).toEqual([['blue1', 'host1', mode], ['blue2', 'host2', mode]])
      expect([d.client, d.server]).toEqual(['blue1', 'blue2'])
      expect(d.plan.tenants.map((t) => t.name)).toEqual(['blue'])
    })
  }

  it('sriov and hyv VMs get distinct underlay-style addresses that are no host address', () => {
    for (const mode of ['sriov', 'hyv'] as const) {
      const {plan} = deriveLab(DEFAULT_TOPOLOGY, DEFAULT_TOPOLOGY_FILE, mode)
      const wire = plan.vms.map((v) => v.wireIp)
      expect(wire).toEqual(['192.168.1.1', '192.168.1.2'])
      expect(plan.vms.map((v) => v.deviceIp)).toEqual(wire)
      for (const h of plan.hosts) expect(wire).not.toContain(h.underlay)
    }
  })

  it('masq and freeflow keep the vIPs and the security groups; the other modes drop the groups', () => {
    for (const mode of MODES) {
      const {plan} = deriveLab(DEFAULT_TOPOLOGY, DEFAULT_TOPOLOGY_FILE, mode)
      const rules = mode === 'masq' || mode === 'freeflow'
      expect(plan.vms.every((v) => v.securityGroups.length === (rules ? 1 : 0))).toBe(true)
      expect(plan.securityGroups.map((g) => g.name)).toEqual(rules ? ['blue-intra'] : [])
      if (rules) expect(plan.vms.map((v) => v.vip)).toEqual(['10.0.0.1', '10.0.0.2'])
      if (rules || mode === 'bare') expect(plan.vms.map((v) => v.wireIp)).toEqual(['192.168.0.1', '192.168.0.2'])
    }
  })

  it('sizes guest memory when asked (large -a sizes)', () => {
    const {plan} = deriveLab(DEFAULT_TOPOLOGY, DEFAULT_TOPOLOGY_FILE, 'masq', {memoryBytes: 128 << 20})
    expect(plan.vms.map((v) => v.memoryBytes)).toEqual([128 << 20, 128 << 20])
  })

  it('refuses a topology without two VMs of one tenant on two hosts', () => {
    const one = DEFAULT_TOPOLOGY.replace(/host: host2/g, 'host: host1')
    expect(() => deriveLab(one, 'one.yaml', 'masq')).toThrow(DeriveError)
    expect(() => deriveLab(one, 'one.yaml', 'masq')).toThrow(/two VMs of one tenant on two different hosts/)
  })

  it('reports the loader\'s errors for a broken topology', () => {
    expect(() => deriveLab('name: x\nhosts: 3\n', 'bad.yaml', 'masq')).toThrow(DeriveError)
  })
})

describe('vfAddresses', () => {
  it('takes the subnet after the first host and skips host addresses, .0 and .255', () => {
    expect(vfAddresses(['10.1.2.3', '10.1.3.1'])).toEqual(['10.1.3.2', '10.1.3.3'])
    expect(vfAddresses(['192.168.0.1'], 3)).toEqual(['192.168.1.1', '192.168.1.2', '192.168.1.3'])
  })
})
