// RNIC worker: runs the emulated RNIC engine (src/rnic) on the host's fabric port (the wire link). Frames from the
// link go to rnic.receive; control verbs arrive on one MessagePort per VM (from the backend, or from the VM itself
// in sriov/bare); data verbs arrive only as doorbells on the shared doorbell word, which RnicLoop watches.
import {parentPort, workerData, type MessagePort} from 'node:worker_threads'
import {hostFabric} from '../fabric/host-fabric.js'
import {type VfRate, vfRnic} from '../fabric/vf-limiter.js'
import {WIRE_MAX_FRAME, WireLink} from '../lab/wire-link.js'
import {Rnic, type AsyncEventRecord} from '../rnic/rnic.js'
import type {Port} from '../rnic/port.js'
import {serveRnic} from '../verbs/channel.js'
import {PcapWriter} from '../wire/pcap.js'
import {serve} from './channel.cjs'
import {LinkTester} from './link-test.js'
import type {RnicWorkerData} from './messages.js'
import {RnicLoop, threadCpuMs} from './rnic-loop.js'

const d = workerData as RnicWorkerData
const parent = parentPort!
const link = new WireLink({index: d.index, sockets: d.wireSockets, routes: d.routes, counters: new Float64Array(d.counters)})
if (process.env.MASQ_WIRE_FLUSH_BYTES) link.flushBytes = Number(process.env.MASQ_WIRE_FLUSH_BYTES)
if (process.env.MASQ_ACK_HOLD_US) link.ackHoldUs = Number(process.env.MASQ_ACK_HOLD_US) // A/B switch for bench:wire
const tester = new LinkTester(link, d.index, d.stations)
const capture = d.capture ? new PcapWriter(d.capture) : undefined
const asyncEvents: Record<string, number> = {}

// The port the engine transmits on: straight to the socket, or through the fabric model (src/fabric/host-fabric.ts:
// uplink queue, link rate, delay; the receiver's downlink applies impairments) when the plan's fabric is not
// transparent. The capture records what leaves this host's uplink and what its downlink delivers.
const wire: Port = {
  transmit(frame, off, len) {
    capture?.writeNow(frame, off, len)
    link.transmit(frame, off, len)
  },
}
const fabric = hostFabric(d.fabric, wire, {transmit: (f, o, l) => deliver(f as Buffer, o, l)}, d.index, !!process.env.MASQ_FABRIC_MODEL,
  process.env.MASQ_FABRIC_SPIN_US ? Number(process.env.MASQ_FABRIC_SPIN_US) * 1000 : undefined)
const port: Port = fabric?.uplink ?? wire
const rnic = new Rnic({
  name: `rxe-${d.host}`, gids: d.gids, mtu: d.mtu, port, randomQpn: true,
  onAsyncEvent: (ev: AsyncEventRecord) => {
    asyncEvents[ev.name] = (asyncEvents[ev.name] ?? 0) + 1
  },
})
const loop = new RnicLoop(rnic, d.spinUs, link, fabric)
link.onHold = () => loop.kick()
if (process.env.MASQ_BULK_SPIN_US) loop.bulkSpinMs = Number(process.env.MASQ_BULK_SPIN_US) / 1000 // A/B switch

// The engine copies payloads into VM memory (a SharedArrayBuffer) word-wise only when the payload is 4-byte aligned
// relative to its destination, i.e. when the frame starts at 2 mod 4 (14 + 20 + 8 + 12 = 54 bytes of headers);
// otherwise V8 copies byte by byte into the SharedArrayBuffer (src/rnic/dma.ts). The wire link hands frames out at
// 2 mod 4 (framing.ts InPlaceReader); a misplaced one (same-host loopback) is first moved into an aligned buffer.
const ALIGNED_AT = 2
const BULK_FRAME = 1024 // a data packet near a (minimum rxe) MTU: a stream is flowing
const aligned = Buffer.allocUnsafeSlow(WIRE_MAX_FRAME + 8)
link.onFrame = (buf, off, len) => {
  if (tester.onFrame(buf, off, len)) return
  if (!fabric) return deliver(buf, off, len)
  fabric.input.transmit(buf, off, len) // copies what it keeps; a queued frame's deadline joins the loop's sleep
  loop.kick()
}
// the fabric's queues and the socket parser hand Buffers (frame-ring.ts, impair.ts)
function deliver(buf: Buffer, off: number, len: number): void {
  capture?.writeNow(buf, off, len)
  if (fabric?.probe.onFrame(buf, off, len)) return
  if (((buf.byteOffset + off) & 3) !== ALIGNED_AT && len <= WIRE_MAX_FRAME) {
    buf.copy(aligned, ALIGNED_AT, off, off + len)
    rnic.receive(aligned, ALIGNED_AT, len)
  } else {
    rnic.receive(buf, off, len)
  }
  if (len >= BULK_FRAME) loop.bulk()
  loop.kick()
}

/**
 * Attacker model T2 (a compromised host, rdma-security.md §2): raw bytes leave on this host's wire link as if the
 * engine had sent them. Only reachable through the host agent's attackInject, which attack-test labs enable.
 */
function injectFrame(frame: Uint8Array): {bytes: number} {
  const b = Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength)
  capture?.writeNow(b, 0, b.length)
  link.transmit(b, 0, b.length)
  loop.kick()
  return {bytes: b.length}
}

interface Attached {memory: SharedArrayBuffer; verbs?: MessagePort; unserve?: () => void}
const vms = new Map<string, Attached>()

function attachVm(name: string, memory: SharedArrayBuffer, verbs?: MessagePort, vfRate?: VfRate): {vms: number} {
  const a: Attached = {memory, verbs}
  if (verbs) {
    a.unserve = serveRnic(verbs, vfRate ? vfRnic(rnic, vfRate) : rnic) // an sriov VF: its QPs share the VF's limiter
    verbs.on('message', () => loop.kick()) // a modify to RTS or a new QP may have made work
  }
  vms.set(name, a)
  return {vms: vms.size}
}

// QP1 (GSI): CM MADs go to the host CM agent on the main thread and come back from it to be sent (provider
// traffic; the agent picks the DSCP). The MAD view is only valid during the call: copy it.
rnic.gsi.onMad = (mad, from) => parent.postMessage({type: 'mad', mad: mad.slice(), from: {...from}})
parent.on('message', (m: {type?: string; id?: unknown; srcIp?: number; dstIp?: number; dscp?: number; mad?: Uint8Array}) => {
  if (m?.type !== 'sendMad' || m.id !== undefined || !m.mad) return
  rnic.sendMad(m.srcIp!, m.dstIp!, m.dscp ?? 0, m.mad)
  loop.kick()
})

const flushTimer = capture ? setInterval(() => capture.flush(), 500) : undefined
flushTimer?.unref()

serve(parent, async (m: {type: string; [k: string]: any}) => {
  switch (m.type) {
    case 'attachVm':
      return attachVm(m.vm, m.memory, m.verbs, m.vfRate)
    case 'detachVm': {
      const a = vms.get(m.vm)
      a?.unserve?.()
      a?.verbs?.close()
      vms.delete(m.vm)
      return {vms: vms.size}
    }
    case 'linkTest':
      return tester.run(m.peer, m.frames, m.size, m.timeoutMs, m.batchBytes)
    case 'info': {
      const c = rnic.counters()
      return {
        linksUp: d.wireSockets.map((_, j) => j !== d.index && link.isConnected(j)).filter(Boolean).length,
        vmsAttached: vms.size,
        vmMemoryBytes: [...vms.values()].reduce((a, b) => a + b.memory.byteLength, 0),
        linkTestRxFrames: tester.rxFrames,
        qps: rnic.qps.size,
        port: c.port,
        drops: c.drops,
        asyncEvents,
        loop: {passes: loop.passes, sleeps: loop.sleeps, spinUs: loop.spinMs * 1000, cpuMs: threadCpuMs()},
        capture: capture ? {path: capture.path, records: capture.records} : undefined,
        lastFault: rnic.lastFault,
        fabric: fabric?.counters(),
      }
    }
    case 'setRateLimit': { // from the host agent only (trusted): a tenant's QPs share one budget
      const r = rnic.setRateLimit({group: m.group, qpns: m.qpns, bytesPerSec: m.bytesPerSec, burstBytes: m.burstBytes})
      loop.kick()
      return r
    }
    case 'setVpcRoutes': // from the host agent only (trusted): a VNI's vIP -> host table for UD renaming (rnic/vpc.ts)
      return rnic.setVpcRoutes({vni: m.vni, routes: m.routes})
    case 'setVpcQp':
      return rnic.setVpcQp({qpn: m.qpn, vni: m.vni, trafficClass: m.trafficClass})
    case 'fabricProbe': { // from the host agent: an open-loop provider-class stream to another host (src/fabric/probe.ts)
      if (!fabric) throw new Error('fabricProbe: this lab\'s fabric is transparent (no model to probe)')
      const r = fabric.probe.run(m.probe)
      loop.kick()
      return r
    }
    case 'qpCounters':
      return rnic.counters().qps
    case 'objectCounts':
      return rnic.objectCounts()
    case 'injectFrame': // attack-test labs only (the agent checks): the T2 attacker's raw frame on this host's wire
      return injectFrame(m.frame)
    case 'setSpin': // bench:wire sweeps
      if (m.spinUs !== undefined) loop.spinMs = Number(m.spinUs) / 1000
      if (m.ackHoldUs !== undefined) link.ackHoldUs = Number(m.ackHoldUs)
      if (m.bulkSpinUs !== undefined) loop.bulkSpinMs = Number(m.bulkSpinUs) / 1000
      return {spinUs: loop.spinMs * 1000, ackHoldUs: link.ackHoldUs, bulkSpinUs: loop.bulkSpinMs * 1000}
    case 'shutdown':
      loop.stop()
      capture?.close()
      await link.close()
      return {ok: true}
    default:
      throw new Error(`unknown request ${m.type}`)
  }
})

await link.start()
loop.start()
parent.postMessage({type: 'ready'})
