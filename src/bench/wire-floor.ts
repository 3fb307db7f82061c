// The emulator's floor on this machine, measured in the same run as the raw ceiling: the least work any RoCEv2
// emulator on this design must do per 4 KiB data packet, with no engine at all. Sender: copy the payload out of
// "VM memory" (a SharedArrayBuffer, rnic/dma.ts copy), ICRC over the frame (wire/crc.ts), a padded record into a
// 64 KiB write (lab/wire-link.ts layout). Receiver (another process): in-place reads (lab/framing.ts InPlaceReader),
// ICRC check, copy of the payload into its VM memory. Read a WRITE figure against it: the gap between the floor
// and the raw stream is what DESIGN §4 (ICRC checked on receive) and the DMA copies cost, whatever the engine does.
// measureLatencyFloor does the same for a 2-byte ping-pong: the hand-offs every half round trip of this design
// takes with no engine (VM thread → doorbell → RNIC thread → Unix socket → RNIC thread → DMA epoch → VM thread),
// with the same waits the lab uses (RnicLoop: Atomics.waitAsync on the doorbell; verbs waitMemory: spin 20 µs,
// then Atomics.wait on the DMA epoch).
//   node dist/bench/wire-floor.js <socket> <warmup ms>       the receiving peer (spawned by measureWireFloor)
//   node dist/bench/wire-floor.js --lat <socket> <iters>     the echoing host of measureLatencyFloor
import {spawn} from 'node:child_process'
import {once} from 'node:events'
import {mkdtemp, rm} from 'node:fs/promises'
import net from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {fileURLToPath, pathToFileURL} from 'node:url'
import {isMainThread, Worker, workerData} from 'node:worker_threads'
import {Histogram} from './histogram.js'
import {InPlaceReader, padRecord} from '../lab/framing.js'
import {waitAsync} from '../host/rnic-loop.js'
import {copy} from '../rnic/dma.js'
import * as Q from '../rnic/queue.js'
import {CRC_IMPL, crc32Update} from '../wire/crc.js'

// The peer process and the VM workers run this module's compiled file (under vitest or tsx this one is src/*.ts)
const SELF = fileURLToPath(import.meta.url).replace(/\/src\/(.*)\.ts$/, '/dist/$1.js')

const HEADERS = 58 // Ethernet 14 + IPv4 20 + UDP 8 + BTH 12 + 4 bytes of RETH-sized padding: a word-aligned payload
const PAYLOAD = 4096
const FRAME = HEADERS + PAYLOAD + 4 // + ICRC
const REC = padRecord(FRAME)
const WRITE_BYTES = 64 * 1024
const VM_BYTES = 1 << 20

export interface WireFloor {
  /** Payload bytes per second (2^20), as a WRITE's MB/sec counts them. */
  mbPerSec: number
  frames: number
  badIcrc: number
  seconds: number
  crc: string
}

/** Stream framed, ICRC'd 4 KiB packets to a peer process for durationMs after warmupMs; payload MB/s at the peer. */
export async function measureWireFloor(opts: {durationMs?: number; warmupMs?: number} = {}): Promise<WireFloor> {
  const dir = await mkdtemp(join(tmpdir(), 'masq-floor-'))
  const path = join(dir, 'floor.sock')
  const server = net.createServer()
  await new Promise<void>((r) => server.listen(path, () => r()))
  const child = spawn(process.execPath, [SELF, path, String(opts.warmupMs ?? 200)], {stdio: ['ignore', 'pipe', 'inherit']})
  try {
    const [sock] = (await once(server, 'connection')) as [net.Socket]
    const reply: Buffer[] = []
    child.stdout!.on('data', (b: Buffer) => reply.push(b))
    const vm = new Uint8Array(new SharedArrayBuffer(VM_BYTES))
    for (let i = 0; i < vm.length; i += 4096) vm[i] = i >>> 12
    const pool: Buffer[] = []
    const fresh = () => Buffer.allocUnsafeSlow(WRITE_BYTES + REC)
    let k = 0
    const deadline = performance.now() + (opts.warmupMs ?? 200) + (opts.durationMs ?? 1000)
    while (performance.now() < deadline) {
      const b = pool.pop() ?? fresh()
      let o = 2 // records start at 2 mod 4, so payloads (after the u32 length and 58 header bytes) are word-aligned
      for (; o + REC <= WRITE_BYTES + 2; o += REC, k++) {
        b.writeUInt32BE(FRAME, o)
        copy(b, o + 4 + HEADERS, vm, (k * PAYLOAD) % VM_BYTES, PAYLOAD)
        b.writeInt32LE(crc32Update(0, b, o + 4, o + FRAME), o + FRAME)
      }
      const ok = sock.write(b.subarray(2, o), () => pool.length < 8 && pool.push(b))
      if (!ok) await once(sock, 'drain')
    }
    sock.end()
    await once(child, 'exit')
    sock.destroy()
    const r = JSON.parse(Buffer.concat(reply).toString()) as {frames: number; bad: number; ns: number}
    const seconds = r.ns / 1e9
    if (!(seconds > 0)) throw new Error('wire floor: the stream was too short to time')
    return {mbPerSec: (r.frames * PAYLOAD) / seconds / 2 ** 20, frames: r.frames, badIcrc: r.bad, seconds, crc: CRC_IMPL}
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill()
    server.close()
    await rm(dir, {recursive: true, force: true})
  }
}

function peer(path: string, warmupMs: number): void {
  const vm = new Uint8Array(new SharedArrayBuffer(VM_BYTES))
  let frames = 0
  let bad = 0
  let warm = 0n
  let start = 0n
  let last = 0n
  let counted = 0
  const reader = new InPlaceReader(512 * 1024, (buf, off, len) => {
    if (crc32Update(0, buf, off, off + len - 4) !== buf.readInt32LE(off + len - 4)) bad++
    copy(vm, (frames * PAYLOAD) % VM_BYTES, buf, off + HEADERS, len - HEADERS - 4)
    frames++
  }, WRITE_BYTES)
  const warmNs = BigInt(Math.round(warmupMs * 1e6))
  const s = net.createConnection({
    path,
    onread: {
      buffer: () => reader.next(),
      callback: (n: number) => {
        const now = process.hrtime.bigint()
        if (!warm) warm = now
        reader.push(n)
        if (!start && now - warm >= warmNs) {
          start = now
          counted = frames
        }
        last = now
        return true
      },
    },
  })
  s.on('end', () => {
    if (!start) {
      start = warm
      counted = 0
    }
    process.stdout.write(JSON.stringify({frames: frames - counted, bad, ns: Number(last - start)}))
    s.destroy()
  })
}

// One emulated host's shared memory: the RNIC's doorbell words (rnic/queue.ts: counter, DMA_EPOCH, DMA_WAITERS),
// then the byte the VM posts and the byte the RNIC places. The VM and RNIC sides use the lab's own primitives.
const TX = Q.DOORBELL_WORDS * 4
const RX = TX + 1
const VM_SPIN_US = Number(process.env.MASQ_FLOOR_SPIN_US ?? 20) // waitMemory's default spin
const hostMemory = () => new SharedArrayBuffer(Q.DOORBELL_WORDS * 4 + 8)

/** The VM thread: ping-pongs `iters` values (1..255, never 0) with the peer; the client times each round trip. */
function vmThread(mem: SharedArrayBuffer, client: boolean, iters: number): number[] {
  const db = new Int32Array(mem, 0, Q.DOORBELL_WORDS)
  const bytes = new Uint8Array(mem)
  const rtt: number[] = []
  const wait = (v: number) => {
    if (!Q.waitDmaByte(db, bytes, RX, v, VM_SPIN_US, 5000)) throw new Error(`latency floor: no ${v} from the peer in 5 s (${client ? 'client' : 'server'})`)
  }
  const post = (v: number) => {
    Atomics.store(bytes, TX, v)
    Q.ringDoorbell(db)
  }
  for (let i = 0; i < iters; i++) {
    const v = (i % 255) + 1
    if (client) {
      const t = performance.now()
      post(v)
      wait(v)
      rtt.push(performance.now() - t)
    } else {
      wait(v)
      post(v)
    }
  }
  return rtt
}

/**
 * One end: reads the socket it dials (placing each byte as the responder places a WRITE, then Q.dmaWritten),
 * writes on the one it accepted, and runs the VM in a worker; the RNIC role sleeps on the doorbell with
 * Atomics.waitAsync as RnicLoop does. Resolves with the VM's round trips once its last post has been sent.
 */
async function floorHost(accepted: Promise<[net.Socket]>, dialPath: string, client: boolean, iters: number): Promise<number[]> {
  const mem = hostMemory()
  const db = new Int32Array(mem, 0, Q.DOORBELL_WORDS)
  const bytes = new Uint8Array(mem)
  const reader = new InPlaceReader(64 * 1024, (buf, off) => {
    Atomics.store(bytes, RX, buf[off]!)
    Q.dmaWritten(db)
  }, 64)
  const rx = net.createConnection({path: dialPath, onread: {buffer: () => reader.next(), callback: (n: number) => {
    reader.push(n)
    return true
  }}})
  const [tx] = await accepted
  if (rx.connecting) await once(rx, 'connect')
  const vm = new Worker(SELF, {workerData: {floorVm: true, memory: mem, client, iters}})
  const done = once(vm, 'message') as Promise<[number[]]>
  let seen = 0
  let stopped = false
  const keep = setInterval(() => {}, 1000) // a pending waitAsync alone does not keep the thread alive
  const onDoorbell = (): void => {
    if (stopped) return
    const d = Atomics.load(db, 0)
    if (d !== seen) {
      seen = d
      const out = Buffer.alloc(8) // a record: u32 length 1, the byte, padding (a queued write keeps its buffer)
      out.writeUInt32BE(1, 0)
      out[4] = Atomics.load(bytes, TX)
      tx.write(out)
    }
    const r = waitAsync(db, 0, seen)
    if (r.async) void r.value.then(() => setImmediate(onDoorbell))
    else setImmediate(onDoorbell)
  }
  onDoorbell()
  try {
    const [rtt] = await done
    // the VM's last post may still wait for this thread's next turn: send it before the socket closes
    for (let k = 0; k < 1000 && seen !== Atomics.load(db, 0); k++) await new Promise((r) => setImmediate(r))
    return rtt
  } finally {
    stopped = true
    clearInterval(keep)
    await vm.terminate()
    tx.end()
    rx.destroy()
  }
}

export interface LatencyFloor {halfRttUs: {median: number; p99: number}; iterations: number}

/** The 2-byte ping-pong through the design's hand-offs, between this process and a child, no engine. */
export async function measureLatencyFloor(opts: {iterations?: number; warmup?: number} = {}): Promise<LatencyFloor> {
  const warmup = opts.warmup ?? 200
  const iters = (opts.iterations ?? 2000) + warmup
  const dir = await mkdtemp(join(tmpdir(), 'masq-floor-'))
  const server = net.createServer()
  await new Promise<void>((r) => server.listen(join(dir, 'a.sock'), () => r()))
  const accepted = once(server, 'connection') as Promise<[net.Socket]> // the child may dial before it says it listens
  const child = spawn(process.execPath, [SELF, '--lat', join(dir, 'b.sock'), String(iters), join(dir, 'a.sock')], {stdio: ['ignore', 'pipe', 'inherit']})
  try {
    await once(child.stdout!, 'data') // the child listens
    const rtt = await floorHost(accepted, join(dir, 'b.sock'), true, iters)
    const h = new Histogram({significantDigits: 3})
    for (const x of rtt.slice(warmup)) h.record(x * 1000)
    return {halfRttUs: {median: h.percentile(50) / 2, p99: h.percentile(99) / 2}, iterations: rtt.length - warmup}
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill()
    server.close()
    await rm(dir, {recursive: true, force: true})
  }
}

async function latPeer(path: string, iters: number, peerPath: string): Promise<void> {
  const server = net.createServer()
  await new Promise<void>((r) => server.listen(path, () => r()))
  const accepted = once(server, 'connection') as Promise<[net.Socket]>
  process.stdout.write('listening\n')
  await floorHost(accepted, peerPath, false, iters)
  server.close()
}

if (!isMainThread && (workerData as {floorVm?: boolean})?.floorVm) {
  const d = workerData as {memory: SharedArrayBuffer; client: boolean; iters: number}
  const {parentPort} = await import('node:worker_threads')
  parentPort!.postMessage(vmThread(d.memory, d.client, d.iters))
} else if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  if (process.argv[2] === '--lat') await latPeer(process.argv[3]!, Number(process.argv[4]), process.argv[5]!)
  else peer(process.argv[2]!, Number(process.argv[3] ?? 200))
}
