// RNIC worker: owns the host's fabric port (the wire link). The step-2 RNIC engine plugs in here: it gets
// `link` as its Port (transmit + onFrame) and the VMs' memory buffers from attachVm.
import {parentPort, workerData} from 'node:worker_threads'
import {WireLink} from '../lab/wire-link.js'
import {serve} from './channel.js'
import {LinkTester} from './link-test.js'
import type {RnicWorkerData} from './messages.js'

const d = workerData as RnicWorkerData
const port = parentPort!
const link = new WireLink({index: d.index, sockets: d.wireSockets, routes: d.routes, counters: new Float64Array(d.counters)})
const tester = new LinkTester(link, d.index, d.stations)
const vmMemory = new Map<string, SharedArrayBuffer>()
let engineFrames = 0 // frames for the RNIC engine (none until step 2 is merged)

link.onFrame = (buf, off, len) => {
  if (!tester.onFrame(buf, off, len)) engineFrames++
}

serve(port, async (m: {type: string; [k: string]: any}) => {
  switch (m.type) {
    case 'attachVm':
      vmMemory.set(m.vm, m.memory)
      return {vms: vmMemory.size}
    case 'detachVm':
      vmMemory.delete(m.vm)
      return {vms: vmMemory.size}
    case 'linkTest':
      return tester.run(m.peer, m.frames, m.size, m.timeoutMs, m.batchBytes)
    case 'info':
      return {
        linksUp: d.wireSockets.map((_, j) => j !== d.index && link.isConnected(j)).filter(Boolean).length,
        vmsAttached: vmMemory.size,
        vmMemoryBytes: [...vmMemory.values()].reduce((a, b) => a + b.byteLength, 0),
        linkTestRxFrames: tester.rxFrames,
        engineFrames,
      }
    case 'shutdown':
      await link.close()
      return {ok: true}
    default:
      throw new Error(`unknown request ${m.type}`)
  }
})

await link.start()
port.postMessage({type: 'ready'})
