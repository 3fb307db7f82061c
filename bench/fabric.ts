// Cost of the fabric model per frame: `npx tsx bench/fabric.ts [--json] [--frames N]`.
// 1. processing: uplink -> impairments -> downlink with infinitely fast links (cut-through, no waiting): the fixed
//    cost of classification, counters and impairment draws.
// 2. paced: the same chain in real time (RealClock) at 100 Gbps with 1 µs propagation delay per port, so every frame
//    is copied into the in-flight ring and released by the clock's setImmediate drain loop; fed with backpressure.
// 3. allocation: heap growth and GC counts (scavenges = minor GCs) over N frames (default 1e6), paced in real time
//    (event loop included) and in virtual time (the model alone).
// Timings are the best of 3 runs.
import {PerformanceObserver, constants as perfConstants} from 'node:perf_hooks'
import {setImmediate as yieldToLoop} from 'node:timers/promises'
import {type Clock, RealClock, VirtualClock} from '../src/fabric/clock.js'
import {createDownlink} from '../src/fabric/downlink.js'
import {createEgressPort} from '../src/fabric/egress.js'
import {ipv4HeaderChecksum} from '../src/fabric/dscp.js'
import type {Fabric} from '../src/topology/types.js'

const args = process.argv.slice(2)
const json = args.includes('--json')
const framesArg = Number(args[args.indexOf('--frames') + 1])
const N = args.includes('--frames') && framesArg > 0 ? framesArg : 1_000_000

function fabric(rateBps: number, delayNs: number): Fabric {
  const dscpPriority = new Array<number>(64).fill(1)
  dscpPriority[48] = 0
  return {
    mtu: 4096, linkRateBps: rateBps, delayNs, bufferBytes: 4 << 20, dscpPriority, priorities: 2,
    impairments: {loss: 0.001, duplicate: 0.001, reorder: 0.001, jitterNs: 0, seed: 1}, capture: false,
  }
}

function frame(len: number): Uint8Array {
  const b = new Uint8Array(len)
  b[12] = 0x08
  b[14] = 0x45
  b[15] = 26 << 2
  b[16] = (len - 14) >> 8
  b[17] = (len - 14) & 0xff
  b[23] = 17
  const c = ipv4HeaderChecksum(b, 0)
  b[24] = c >> 8
  b[25] = c & 0xff
  return b
}

function chain(f: Fabric, clock: Clock) {
  const sink = {frames: 0, bytes: 0, receive(_f: Uint8Array, _o: number, l: number) { this.frames++; this.bytes += l }}
  const down = createDownlink(f, clock, sink)
  const up = createEgressPort(f, clock, down.input)
  return {sink, up, down}
}

function processing(len: number, n: number, rateBps = 0, delayNs = 0): number {
  const clock = new VirtualClock()
  const {sink, up} = chain(fabric(rateBps, delayNs), clock)
  const buf = frame(len)
  for (let i = 0; i < 10_000; i++) up.transmit(buf, 0, len) // warm-up
  const t0 = process.hrtime.bigint()
  for (let i = 0; i < n; i++) up.transmit(buf, 0, len)
  const ns = Number(process.hrtime.bigint() - t0)
  clock.runUntilIdle()
  if (sink.frames < n * 0.99) throw new Error('frames lost in the processing run')
  return ns / n
}

async function paced(len: number, n: number) {
  const clock = new RealClock()
  const {sink, up, down} = chain(fabric(100e9, 1000), clock)
  const buf = frame(len)
  const prio = up.classify(buf, 0, len)
  const t0 = process.hrtime.bigint()
  const c0 = process.cpuUsage()
  let sent = 0
  while (sent < n) {
    for (let k = 0; k < 256 && sent < n; k++) {
      if (!up.canAccept(prio, len)) break
      up.transmit(buf, 0, len)
      sent++
    }
    await yieldToLoop()
  }
  while (up.backlogFrames > 0 || down.port.backlogFrames > 0 || (down.impairer?.counters.frames ?? 0) < n) await yieldToLoop()
  await new Promise((r) => setTimeout(r, 1)) // a held (reordered) frame is released by its timeout
  const ns = Number(process.hrtime.bigint() - t0)
  const cpu = process.cpuUsage(c0)
  clock.close()
  return {nsPerFrame: ns / n, cpuNsPerFrame: ((cpu.user + cpu.system) * 1000) / n, gbps: (sink.bytes * 8) / ns, delivered: sink.frames, drops: up.counters.queues[prio]!.droppedFrames + down.port.counters.queues[prio]!.droppedFrames}
}

/** GC counts while `fn` runs. */
async function gcDuring<T>(fn: () => Promise<T> | T) {
  let minor = 0
  let major = 0
  const obs = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      const kind = (e as unknown as {detail?: {kind?: number}}).detail?.kind
      if (kind === perfConstants.NODE_PERFORMANCE_GC_MINOR) minor++
      else major++
    }
  })
  const before = process.memoryUsage().heapUsed
  obs.observe({entryTypes: ['gc']})
  const r = await fn()
  await yieldToLoop() // observer entries are delivered asynchronously
  obs.disconnect()
  return {result: r, heapGrowthBytes: process.memoryUsage().heapUsed - before, scavenges: minor, majorGcs: major}
}

async function allocationVirtual(n: number) {
  // the model's own per-frame path with a virtual clock at 100 Gbps / 1 us (frames wait in the in-flight ring),
  // no event loop involved: what it allocates, it allocates per frame
  const clock = new VirtualClock()
  const {sink, up} = chain(fabric(100e9, 1000), clock)
  const buf = frame(64)
  const run = (k: number) => {
    for (let i = 0; i < k; i++) {
      up.transmit(buf, 0, 64)
      clock.advance(6)
    }
    clock.runUntilIdle()
  }
  run(20_000)
  const t0 = process.hrtime.bigint()
  const g = await gcDuring(() => run(n))
  const nsPerFrame = Number(process.hrtime.bigint() - t0) / n
  return {frames: n, delivered: sink.frames, nsPerFrame, heapGrowthBytes: g.heapGrowthBytes, scavenges: g.scavenges, majorGcs: g.majorGcs}
}

async function allocation(n: number) {
  await paced(64, 20_000) // warm-up (JIT, ring sizes)
  const g = await gcDuring(() => paced(64, n))
  return {frames: n, heapGrowthBytes: g.heapGrowthBytes, scavenges: g.scavenges, majorGcs: g.majorGcs, paced: g.result}
}

/** Best of 3: the machine is shared, and the least disturbed run is the closest to the model's own cost. */
async function best<T extends {nsPerFrame: number}>(f: () => Promise<T>): Promise<T> {
  let b: T | undefined
  for (let i = 0; i < 3; i++) {
    const r = await f()
    if (!b || r.nsPerFrame < b.nsPerFrame) b = r
  }
  return b!
}

await paced(64, 20_000) // warm-up (JIT)
await paced(4096, 20_000)
const bestProcessing = async (len: number, n: number) => (await best(async () => ({nsPerFrame: processing(len, n)}))).nsPerFrame
const result = {
  processingNsPerFrame: {b64: await bestProcessing(64, Math.min(N, 500_000)), b4096: await bestProcessing(4096, Math.min(N, 200_000))},
  paced100G: {b64: await best(() => paced(64, Math.min(N, 200_000))), b4096: await best(() => paced(4096, Math.min(N, 100_000)))},
  allocation: await allocation(N),
  allocationVirtual: await allocationVirtual(N),
}

if (json) process.stdout.write(JSON.stringify(result, null, 2) + '\n')
else {
  const p = result.processingNsPerFrame
  const q = result.paced100G
  const a = result.allocation
  const v = result.allocationVirtual
  process.stdout.write(
    [
      `fabric model cost per frame (uplink + impairments + downlink)`,
      `  processing (cut-through, no wait)   64 B: ${p.b64.toFixed(0)} ns   4 KiB: ${p.b4096.toFixed(0)} ns`,
      `  paced real time, 100 Gbps, 1 us      64 B: ${q.b64.nsPerFrame.toFixed(0)} ns (${q.b64.gbps.toFixed(2)} Gbps)   4 KiB: ${q.b4096.nsPerFrame.toFixed(0)} ns (${q.b4096.gbps.toFixed(2)} Gbps)`,
      `  paced in virtual time, 100 Gbps, 1 us 64 B: ${v.nsPerFrame.toFixed(0)} ns (model only: in-flight copies and timers, no event loop)`,
      `  paced CPU time per frame             64 B: ${q.b64.cpuNsPerFrame.toFixed(0)} ns   4 KiB: ${q.b4096.cpuNsPerFrame.toFixed(0)} ns`,
      `  allocation, ${a.frames} paced 64 B frames (real clock, event loop): heap ${(a.heapGrowthBytes / 1024).toFixed(0)} KiB, ${a.scavenges} scavenges, ${a.majorGcs} major GCs`,
      `  allocation, ${v.frames} 64 B frames (virtual clock, model only):   heap ${(v.heapGrowthBytes / 1024).toFixed(0)} KiB, ${v.scavenges} scavenges, ${v.majorGcs} major GCs`,
      '',
    ].join('\n'),
  )
}
