// A VM attached to a Backend the way a host does it: a virtio channel to the backend and a command port from the
// backend to the RNIC (served in process). Ports are closed after each test.
import {MessageChannel, type MessagePort} from 'node:worker_threads'
import {afterEach} from 'vitest'
import type {Backend} from '../../../src/backend/backend.js'
import type {Rnic} from '../../../src/rnic/rnic.js'
import type {Vm} from '../../../src/topology/types.js'
import {MessagePortChannel, serveRnic, VmMemory} from '../../../src/verbs/index.js'

const ports: MessagePort[] = []
afterEach(() => {
  for (const p of ports.splice(0)) p.close()
})

export function testVm(name: string, over: Partial<Vm> = {}): Vm {
  return {name, index: 0, tenant: 't', vni: 1, host: 'h', mode: 'masq', vip: '10.0.0.1', deviceIp: '10.0.0.1', wireIp: '192.168.0.1',
    gid: '::ffff:10.0.0.1', mac: '02:00:0a:00:00:01', securityGroups: [], memoryBytes: 1 << 16, ...over}
}

export function attach(backend: Backend, rnic: Rnic, v: Vm): {mem: VmMemory; channel: MessagePortChannel} {
  const toRnic = new MessageChannel()
  const virtio = new MessageChannel()
  ports.push(toRnic.port1, toRnic.port2, virtio.port1, virtio.port2)
  serveRnic(toRnic.port2, rnic)
  const mem = new VmMemory(1 << 16)
  backend.attach(v, virtio.port1, toRnic.port1, mem.sab)
  return {mem, channel: new MessagePortChannel(virtio.port2)}
}
