// The raw ceiling of this machine, measured in the same run as the benchmark: what two Node processes can
// move over a Unix stream socket (the emulator's "wire"), as bulk throughput and as a 2-byte ping-pong.
// Every emulated figure can then be read as a fraction of it.
import {spawn, type ChildProcess} from 'node:child_process'
import {once} from 'node:events'
import {mkdtemp, rm} from 'node:fs/promises'
import net from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {Histogram} from './histogram.js'

export interface WireThroughput {
  /** Bytes written per write() call. */
  chunkBytes: number
  /** Bytes counted by the receiver after its warm-up. */
  bytes: number
  seconds: number
  /** 2^20 bytes per second, like perftest's MB/sec. */
  mbPerSec: number
  gbitsPerSec: number
}

export interface WirePingPong {
  messageBytes: number
  iterations: number
  warmup: number
  rttUs: {min: number; median: number; p99: number; p999: number; max: number; mean: number; stdev: number}
  /** Half of the round trip, as perftest reports send/write latency. */
  halfRttUs: {median: number; p99: number}
}

export interface WireLimit {
  throughput: WireThroughput
  pingPong: WirePingPong
}

export interface WireLimitOptions {
  /** Measured streaming time after warm-up (default 1000 ms). */
  durationMs?: number
  warmupMs?: number
  chunkBytes?: number
  /** Ping-pong round trips measured (default 2000) and discarded first (default 200). */
  iterations?: number
  warmupIterations?: number
  messageBytes?: number
}

// The peer process: `sink` counts bytes and reports them when the sender half-closes; `echo` returns every byte.
// Node's CLOCK_MONOTONIC hrtime is shared by processes on one machine, but only the receiver's own clock is used.
const PEER = `
const net = require('node:net');
const [mode, path, warmupMs] = process.argv.slice(1);
const server = net.createServer({allowHalfOpen: true}, (sock) => {
  server.close();
  if (mode === 'echo') { sock.on('data', (b) => sock.write(b)); sock.on('end', () => sock.end()); return; }
  let bytes = 0, first = 0n, firstBytes = 0, warm = 0n, warmBytes = 0, last = 0n;
  const warmNs = BigInt(Math.round(Number(warmupMs) * 1e6));
  sock.on('data', (b) => {
    const now = process.hrtime.bigint();
    if (first === 0n) { first = now; firstBytes = b.length; }
    bytes += b.length;
    if (warm === 0n && now - first >= warmNs) { warm = now; warmBytes = bytes; }
    last = now;
  });
  sock.on('end', () => {
    // Bytes that arrived after the warm-up mark, over the time they took; a stream too short for its
    // warm-up is timed from its first read instead.
    if (warm === 0n || last === warm) { warm = first; warmBytes = firstBytes; }
    sock.end(JSON.stringify({bytes: bytes - warmBytes, ns: Number(last - warm)}));
  });
});
server.listen(path, () => process.stdout.write('ready\\n'));
`

/** Measure both figures; the peers and their socket directory are gone when it resolves or rejects. */
export async function measureWireLimit(opts: WireLimitOptions = {}): Promise<WireLimit> {
  const dir = await mkdtemp(join(tmpdir(), 'masq-wire-'))
  try {
    const throughput = await withPeer(dir, 'sink', opts.warmupMs ?? 200, (path) => streamTo(path, opts))
    const pingPong = await withPeer(dir, 'echo', 0, (path) => runPingPong(path, opts))
    return {throughput, pingPong}
  } finally {
    await rm(dir, {recursive: true, force: true})
  }
}

async function withPeer<T>(dir: string, mode: 'sink' | 'echo', warmupMs: number, fn: (path: string) => Promise<T>): Promise<T> {
  const path = join(dir, `${mode}.sock`)
  const child = spawn(process.execPath, ['-e', PEER, mode, path, String(warmupMs)], {stdio: ['ignore', 'pipe', 'inherit']})
  try {
    await waitReady(child)
    return await fn(path)
  } finally {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = once(child, 'exit')
      child.kill()
      await exited
    }
  }
}

function waitReady(child: ChildProcess): Promise<void> {
  return new Promise((resolve, reject) => {
    let out = ''
    const onData = (b: Buffer) => {
      out += b.toString()
      if (out.includes('ready\n')) { cleanup(); resolve() }
    }
    const onExit = (code: number | null) => { cleanup(); reject(new Error(`wire peer exited before listening (code ${code})`)) }
    const cleanup = () => { child.stdout!.off('data', onData); child.off('exit', onExit); child.off('error', onError) }
    const onError = (err: Error) => { cleanup(); reject(err) }
    child.stdout!.on('data', onData)
    child.once('exit', onExit)
    child.once('error', onError)
  })
}

async function connect(path: string): Promise<net.Socket> {
  const sock = net.createConnection({path, allowHalfOpen: true})
  await once(sock, 'connect')
  return sock
}

async function streamTo(path: string, opts: WireLimitOptions): Promise<WireThroughput> {
  const chunkBytes = opts.chunkBytes ?? 65536
  const totalMs = (opts.warmupMs ?? 200) + (opts.durationMs ?? 1000)
  const sock = await connect(path)
  const reply: Buffer[] = []
  sock.on('data', (b: Buffer) => reply.push(b))
  const ended = once(sock, 'end')
  const chunk = Buffer.alloc(chunkBytes, 0x5a)
  const deadline = performance.now() + totalMs
  while (performance.now() < deadline) {
    if (!sock.write(chunk)) await once(sock, 'drain')
  }
  sock.end()
  await ended
  sock.destroy()
  const {bytes, ns} = JSON.parse(Buffer.concat(reply).toString()) as {bytes: number; ns: number}
  if (!(ns > 0) || !(bytes > 0)) throw new Error(`wire limit: the stream was too short to time (${bytes} bytes in ${ns} ns)`)
  const seconds = ns / 1e9
  return {chunkBytes, bytes, seconds, mbPerSec: bytes / seconds / 2 ** 20, gbitsPerSec: (bytes * 8) / seconds / 1e9}
}

async function runPingPong(path: string, opts: WireLimitOptions): Promise<WirePingPong> {
  const iterations = opts.iterations ?? 2000
  const warmup = opts.warmupIterations ?? 200
  const size = opts.messageBytes ?? 2
  const sock = await connect(path)
  const msg = Buffer.alloc(size, 1)
  let got = 0
  let wake: (() => void) | undefined
  sock.on('data', (b: Buffer) => {
    got += b.length
    if (got >= size && wake) { const w = wake; wake = undefined; w() }
  })
  const hist = new Histogram({significantDigits: 3})
  for (let i = 0; i < warmup + iterations; i++) {
    got = 0
    const back = new Promise<void>((resolve) => { wake = resolve })
    const t0 = process.hrtime.bigint()
    sock.write(msg)
    await back
    if (i >= warmup) hist.record(Number(process.hrtime.bigint() - t0))
  }
  sock.end()
  sock.destroy()
  const us = (ns: number) => ns / 1000
  return {
    messageBytes: size,
    iterations,
    warmup,
    rttUs: {
      min: us(hist.min), median: us(hist.percentile(50)), p99: us(hist.percentile(99)), p999: us(hist.percentile(99.9)),
      max: us(hist.max), mean: us(hist.mean), stdev: us(hist.stdev),
    },
    halfRttUs: {median: us(hist.percentile(50)) / 2, p99: us(hist.percentile(99)) / 2},
  }
}

/** Two plain lines for a terminal. */
export function formatWireLimit(w: WireLimit): string {
  const t = w.throughput
  const p = w.pingPong
  return (
    `wire limit: unix socket stream, ${t.chunkBytes / 1024} KiB writes: ${t.mbPerSec.toFixed(2)} MB/sec ` +
    `(${t.gbitsPerSec.toFixed(2)} Gb/sec, ${t.seconds.toFixed(2)} s)\n` +
    `wire limit: unix socket ping-pong, ${p.messageBytes} B x ${p.iterations}: RTT median ${p.rttUs.median.toFixed(2)} us, ` +
    `p99 ${p.rttUs.p99.toFixed(2)} us; half-RTT median ${p.halfRttUs.median.toFixed(2)} us, p99 ${p.halfRttUs.p99.toFixed(2)} us\n`
  )
}
