// Data handed to the host's workers at start-up.
import type {Vm} from '../topology/types.js'
import type {Station} from './link-test.js'

export interface RnicWorkerData {
  host: string
  index: number
  wireSockets: string[]
  routes: Array<[string, number]>
  stations: Station[]
  counters: SharedArrayBuffer // Float64Array of WIRE_COUNTERS, read by the host agent for status
}

export interface VmWorkerData {
  vm: Vm
  memory: SharedArrayBuffer // guest RAM; the RNIC worker holds the same buffer ("DMA")
  port: import('node:worker_threads').MessagePort // the virtio channel to the backend (main thread)
}
