// The emulator's floor on this machine, measured in the same run as the raw ceiling: the least work any RoCEv2
// emulator on this design must do per 4 KiB data packet, with no engine at all. Sender: copy the payload out of
// "VM memory" (a SharedArrayBuffer, rnic/dma.ts copy), ICRC over the frame (wire/crc.ts), a padded record into a
// 64 KiB write (lab/wire-link.ts layout). Receiver (another process): in-place reads (lab/framing.ts InPlaceReader),
// ICRC check, copy of the payload into its VM memory. Read a WRITE figure against it: the gap between the floor
// and the raw stream is what DESIGN §4 (ICRC checked on receive) and the DMA copies cost, whatever the engine does.
//   node dist/bench/wire-floor.js <socket>   the receiving peer (spawned by measureWireFloor)
import {spawn} from 'node:child_process'
import {once} from 'node:events'
import {mkdtemp, rm} from 'node:fs/promises'
import net from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {fileURLToPath, pathToFileURL} from 'node:url'
import {InPlaceReader, padRecord} from '../lab/framing.js'
import {copy} from '../rnic/dma.js'
import {CRC_IMPL, crc32Update} from '../wire/crc.js'

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
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), path, String(opts.warmupMs ?? 200)], {stdio: ['ignore', 'pipe', 'inherit']})
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

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) peer(process.argv[2]!, Number(process.argv[3] ?? 200))
