import {AuditLog} from '../../../src/backend/audit.js'
import type {Quota, Tenant} from '../../../src/topology/types.js'

const q = (over: Partial<Quota>): Quota => ({qps: 2, mrs: 3, cqs: 2, pds: 1, mrBytes: 4096, cmIds: 2, connectRate: 5, ...over})

/** blue: 2 QPs per VM, 3 per tenant; red: 1 QP per VM, 10 per tenant */
export const tenants: Tenant[] = [
  {name: 'blue', vni: 100, cidr: '10.0.0.0/24', perVm: q({}), perTenant: q({qps: 3, mrs: 100, cqs: 100, pds: 100, mrBytes: 6000, cmIds: 100}), qos: {rateBps: 0, dscp: 26}},
  {name: 'red', vni: 200, cidr: '10.0.0.0/24', perVm: q({qps: 1}), perTenant: q({qps: 10, mrs: 100, cqs: 100, pds: 100, mrBytes: 1 << 20, cmIds: 100, connectRate: 0}), qos: {rateBps: 0, dscp: 26}},
]

export const vms = [
  {name: 'b1', tenant: 'blue'}, {name: 'b2', tenant: 'blue'}, {name: 'b3', tenant: 'blue'}, {name: 'r1', tenant: 'red'},
]

export const memoryAudit = () => new AuditLog({lab: 'unit', host: 'h1', clock: () => 0})
