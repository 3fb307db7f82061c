// VM worker: one per VM. Holds the guest memory (SharedArrayBuffer) and the virtio channel to the backend.
// The frontend driver and workloads (steps 4-5) run here; for now it answers ping with its memory size.
import {workerData} from 'node:worker_threads'
import {serve} from './channel.js'
import type {VmWorkerData} from './messages.js'

const d = workerData as VmWorkerData
serve(d.port, (m: {type: string}) => {
  if (m.type === 'ping') return {vm: d.vm.name, memoryBytes: d.memory.byteLength}
  throw new Error(`unknown request ${m.type}`)
})
