// Entry point of `npm run bench:wire` (node dist/bench/wire.js) and `npx tsx bench/wire.ts`: in one run, the raw
// ceiling of this machine (two Node processes over a Unix socket) and the emulated path between two VMs on two
// hosts (RDMA WRITE 64 KiB throughput, 2-byte WRITE ping-pong), with the ratios to the targets of issue 4:
// throughput >= 50% of raw, half round trip <= 2x raw. Flags: --json, --duration MS, --iters N, --spin US[,US...].
import {pathToFileURL} from 'node:url'
import {SPIN_US} from '../host/rnic-loop.js'
import {measureEmulated} from './wire-emulated.js'
import {measureLatencyFloor, measureWireFloor} from './wire-floor.js'
import {formatWireLimit, measureWireLimit} from './wire-limit.js'

export async function main(args: readonly string[] = process.argv.slice(2)): Promise<void> {
  const opt = (name: string): number | undefined => {
    const i = args.indexOf(name)
    const v = i >= 0 ? Number(args[i + 1]) : Number.NaN
    return Number.isFinite(v) && v > 0 ? v : undefined
  }
  const si = args.indexOf('--spin')
  const spinUs = si >= 0 ? String(args[si + 1]).split(',').map(Number).filter((n) => n >= 0) : [SPIN_US]
  const log = (m: string) => process.stderr.write(m + '\n')
  log('measuring the wire limit (two node processes over a unix socket)...')
  const raw = await measureWireLimit({durationMs: opt('--duration'), iterations: opt('--iters')})
  log('measuring the emulator floor (framed 4 KiB packets with ICRC and DMA copies, no engine)...')
  const floor = await measureWireFloor({durationMs: opt('--duration')})
  const latFloor = await measureLatencyFloor({iterations: opt('--iters')})
  const ti = args.indexOf('--tests') // bw,lat,ev (default: all)
  const tests = ti >= 0 ? String(args[ti + 1]).split(',') : undefined
  const emu = await measureEmulated({spinUs, durationMs: opt('--duration'), iterations: opt('--iters'), log, tests})
  const rows = emu.runs.map((r) => ({
    spinUs: r.spinUs,
    writeMbPerSec: r.write64k.mbPerSec,
    throughputRatio: r.write64k.mbPerSec / raw.throughput.mbPerSec,
    throughputVsFloor: r.write64k.mbPerSec / floor.mbPerSec,
    halfRttUs: r.lat2.halfRttUs.median,
    latencyRatio: r.lat2.halfRttUs.median / raw.pingPong.halfRttUs.median,
    latencyVsFloor: r.lat2.halfRttUs.median / latFloor.halfRttUs.median,
    halfRttEventsUs: r.lat2Events.halfRttUs.median,
    latencyEventsRatio: r.lat2Events.halfRttUs.median / raw.pingPong.halfRttUs.median,
  }))
  const report = {version: 1, raw, floor: {...floor, vsRaw: floor.mbPerSec / raw.throughput.mbPerSec},
    latencyFloor: {...latFloor, vsRaw: latFloor.halfRttUs.median / raw.pingPong.halfRttUs.median}, emulated: emu.runs, hostMemoryMiB: emu.hostMemoryMiB, ratios: rows,
    targets: {throughputRatioMin: 0.5, latencyRatioMax: 2}}
  if (args.includes('--json')) {
    process.stdout.write(JSON.stringify(report, null, 2) + '\n')
    return
  }
  const f = (n: number, d = 1) => n.toFixed(d)
  let out = formatWireLimit(raw) +
    `emulator floor: 4 KiB packets framed, ICRC (${floor.crc}) on both ends, DMA copies, no engine: ${f(floor.mbPerSec)} MB/sec = ` +
    `${f(floor.mbPerSec / raw.throughput.mbPerSec, 2)} of the raw stream${floor.badIcrc ? ` (${floor.badIcrc} bad ICRC!)` : ''}\n` +
    `emulator floor: 2 B ping-pong through the design's hand-offs (doorbell, RNIC thread, socket, DMA epoch), no engine: ` +
    `half-RTT median ${f(latFloor.halfRttUs.median, 2)} us = ${f(latFloor.halfRttUs.median / raw.pingPong.halfRttUs.median, 2)}x the raw ping-pong\n` +
    '\nemulated path: VM a (host h1) -> VM b (host h2), RC RDMA WRITE\n'
  out += ' spin_us  write_64KiB_MB/s  vs_raw  vs_floor  target>=0.50   half_rtt_2B_us  vs_raw  vs_floor  target<=2.0   with_-e_us  vs_raw\n'
  for (const r of rows) {
    out += ` ${String(r.spinUs).padStart(7)}  ${f(r.writeMbPerSec).padStart(16)}  ${f(r.throughputRatio, 2).padStart(6)}  ${f(r.throughputVsFloor, 2).padStart(8)}  ${(r.throughputRatio >= 0.5 ? 'met' : 'MISSED').padStart(12)}` +
      `   ${f(r.halfRttUs, 2).padStart(14)}  ${f(r.latencyRatio, 2).padStart(6)}  ${f(r.latencyVsFloor, 2).padStart(8)}  ${(r.latencyRatio <= 2 ? 'met' : 'MISSED').padStart(11)}` +
      `   ${f(r.halfRttEventsUs, 2).padStart(10)}  ${f(r.latencyEventsRatio, 2).padStart(6)}\n`
  }
  for (const r of emu.runs) {
    const c = (n: string, k: {cpuMsPerUnit: number; rnicCpuMsPerUnit: number; txWritesPerUnit: number; rxReadsPerUnit: number; rnicSleepsPerUnit: number; rnicPassesPerUnit: number}, unit: string) =>
      ` ${n}: host CPU ${k.cpuMsPerUnit.toFixed(3)} ms/${unit} (RNIC threads ${k.rnicCpuMsPerUnit.toFixed(3)}), socket writes ${k.txWritesPerUnit.toFixed(2)}/${unit}, ` +
      `reads ${k.rxReadsPerUnit.toFixed(2)}/${unit}, rnic sleeps ${k.rnicSleepsPerUnit.toFixed(2)}/${unit}, passes ${k.rnicPassesPerUnit.toFixed(1)}/${unit}\n`
    out += `cost (both host processes, all threads), spin ${r.spinUs} us:\n` + c('write 64 KiB', r.cost.write64k, 'MiB') +
      c('ping-pong', r.cost.lat2, 'round trip') + c('ping-pong -e', r.cost.lat2Events, 'round trip')
  }
  out += `host process RSS: ${emu.hostMemoryMiB.map((m) => `${m} MiB`).join(', ')}\n`
  process.stdout.write(out)
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main()
