// Wire codec micro-benchmark: ns per encode / decode (ICRC included) for 64 B and 4 KiB payloads, where the time
// goes (crc32, copy), and heap bytes allocated per op. Run: npx tsx bench/wire-codec.ts [--json]
import {PerformanceObserver} from 'node:perf_hooks'
import {setFlagsFromString} from 'node:v8'
import {runInNewContext} from 'node:vm'
import {crc32} from 'node:zlib'
import {DecodeStatus, FrameEncoder, decodeFrame, ipToU32, macFromString} from '../src/wire/frame.js'
import {Opcode} from '../src/wire/opcodes.js'
import {PacketView} from '../src/wire/packet.js'

setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void

const OPS = 100_000 // per allocation pass
const ROUNDS = 7 // timing: best of 7 rounds of OPS / 5 ops (the machine is shared; the minimum is the signal)
let gcCount = 0
new PerformanceObserver(list => { gcCount += list.getEntries().length }).observe({entryTypes: ['gc']})

interface Result {name: string; nsPerOp: number; bytesPerOp: number; gcs: number}

function measure(name: string, op: () => void): Result {
  for (let i = 0; i < 20_000; i++) op() // warm up (JIT)
  let best = Infinity
  for (let r = 0; r < ROUNDS; r++) {
    const t0 = process.hrtime.bigint()
    for (let i = 0; i < OPS / 5; i++) op()
    best = Math.min(best, Number(process.hrtime.bigint() - t0) / (OPS / 5))
  }
  // Allocation: heap growth over OPS ops after a full GC, with no GC in between (gcs must read 0).
  gc()
  const gcBefore = gcCount
  const heapBefore = process.memoryUsage().heapUsed
  for (let i = 0; i < OPS; i++) op()
  const heapAfter = process.memoryUsage().heapUsed
  return {name, nsPerOp: best, bytesPerOp: Math.max(0, heapAfter - heapBefore) / OPS, gcs: gcCount - gcBefore}
}

function packet(opcode: number): PacketView {
  const p = new PacketView()
  p.dstMac.set(macFromString('02:00:00:00:00:02'))
  p.srcMac.set(macFromString('02:00:00:00:00:01'))
  p.srcIp = ipToU32('10.0.0.1')
  p.dstIp = ipToU32('10.0.0.2')
  p.opcode = opcode
  p.destQp = 0x12
  p.psn = 0x100
  p.ackReq = 1
  return p
}

const enc = new FrameEncoder()
const mr = new Uint8Array(new SharedArrayBuffer(1 << 20)).map((_, i) => i & 0xff) // a VM's registered memory
const PASSES = 2 // every case runs in each pass; the best pass counts (JIT and neighbour noise settle)
const best = new Map<string, Result>()
function record(r: Result): void {
  const prev = best.get(r.name)
  if (!prev || r.nsPerOp < prev.nsPerOp) best.set(r.name, {...r, bytesPerOp: Math.min(r.bytesPerOp, prev?.bytesPerOp ?? Infinity)})
}
for (let pass = 0; pass < PASSES; pass++) for (const size of [64, 4096]) {
  const p = packet(Opcode.RC_SEND_ONLY)
  const exact = mr.subarray(4096, 4096 + size) // caller passes the exact payload view: no subarray per call
  const out = new Uint8Array(8192)
  const out2 = new Uint8Array(8192)
  let n = 0
  record(measure(`encode ${size} B (exact payload view)`, () => { n = enc.encodeInto(out, 0, p, exact, 0, size) }))
  let off = 0
  record(measure(`encode ${size} B (offset into a 1 MiB SAB MR)`, () => {
    off = (off + 4096) & 0xfffff
    enc.encodeInto(out, 0, p, mr, off, size)
  }))
  out2.set(out.subarray(0, n))
  const q = new PacketView()
  record(measure(`decode ${size} B (same rx slot)`, () => {
    if (decodeFrame(out, 0, n, q) !== DecodeStatus.OK) throw new Error('decode failed')
  }))
  let flip = false
  record(measure(`decode ${size} B (alternating rx buffers)`, () => {
    flip = !flip
    if (decodeFrame(flip ? out : out2, 0, n, q) !== DecodeStatus.OK) throw new Error('decode failed')
  }))
  const view = out.subarray(54, 54 + size)
  record(measure(`  for scale: one zlib.crc32 call, ${size} B`, () => { crc32(view, 0) }))
  record(measure(`  for scale: copy ${size} B out of a SAB`, () => { out2.set(exact, 54) }))
}

const results = [...best.values()]
if (process.argv.includes('--json')) {
  process.stdout.write(JSON.stringify({version: 1, node: process.version, ops: OPS, results}, null, 2) + '\n')
} else {
  process.stdout.write(`node ${process.version}, ${OPS} ops per row\n`)
  process.stdout.write(`${'case'.padEnd(48)} ${'ns/op'.padStart(8)} ${'B/op'.padStart(7)} ${'GCs'.padStart(4)}\n`)
  for (const r of results) {
    process.stdout.write(`${r.name.padEnd(48)} ${r.nsPerOp.toFixed(0).padStart(8)} ${r.bytesPerOp.toFixed(1).padStart(7)} ${String(r.gcs).padStart(4)}\n`)
  }
}
