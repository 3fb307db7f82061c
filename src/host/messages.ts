// Data handed to the host's workers at start-up.
import type {MessagePort} from 'node:worker_threads'
import type {Fabric, Vm} from '../topology/types.js'
import type {Station} from './link-test.js'

export interface RnicWorkerData {
  host: string
  index: number
  wireSockets: string[]
  routes: Array<[string, number]>
  stations: Station[]
  counters: SharedArrayBuffer // Float64Array of WIRE_COUNTERS, read by the host agent for status
  gids: string[] // host underlay first (sgid_index 0), then the wire addresses of this host's sriov/hyv VMs
  mtu: number
  capture?: string // pcap path: what the port sends and receives
  spinUs?: number // busy-poll window after activity (default SPIN_US)
  fabric?: Fabric // the plan's fabric: link rate, delay, buffer, DSCP priorities, impairments (src/fabric/host-fabric.ts)
}

export interface VmWorkerData {
  vm: Vm
  memory: SharedArrayBuffer // guest RAM; the RNIC worker holds the same buffer ("DMA")
  port: MessagePort // host agent <-> VM: ping, run a workload, rendezvous calls
  verbs: MessagePort // control verbs: to the backend (hyv/masq/freeflow) or straight to the RNIC worker (sriov/bare)
}
