import fs from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import {afterEach, beforeEach, describe, expect, it} from 'vitest'
import {LinkTester, buildUdpFrame} from '../../../src/host/link-test.js'
import {FLUSH_BYTES, WIRE_COUNTERS, WireLink, wireCounterIndex} from '../../../src/lab/wire-link.js'

const stations = [0, 1, 2].map((i) => ({mac: `02:00:c0:a8:00:0${i + 1}`, underlay: `192.168.0.${i + 1}`}))
let dir: string
let links: WireLink[]
let got: Array<Array<{len: number; tag: number}>>

const counter = (l: WireLink, n: (typeof WIRE_COUNTERS)[number]) => l.counters[wireCounterIndex[n]]

function frameTo(dst: number, tag: number, size = 100): Buffer {
  const b = Buffer.alloc(size)
  buildUdpFrame(b, size, stations[0], stations[dst], 4791)
  b.writeUInt32BE(tag, 42)
  return b
}

async function until(pred: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms
  while (!pred()) {
    if (Date.now() > end) throw new Error('condition not met')
    await new Promise((r) => setTimeout(r, 5))
  }
}

beforeEach(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'masq-wire-'))
  const sockets = [0, 1, 2].map((i) => path.join(dir, `w${i}.sock`))
  const routes: Array<[string, number]> = [...stations.map((s, i) => [s.underlay, i] as [string, number]), ['10.9.0.7', 2]]
  got = [[], [], []]
  links = [0, 1, 2].map((index) => {
    const l = new WireLink({index, sockets, routes})
    l.onFrame = (buf, off, len) => got[index].push({len, tag: buf.readUInt32BE(off + 42)})
    return l
  })
  // Start out of order: dialers retry until the listener exists.
  await links[2].start()
  await links[0].start()
  await links[1].start()
})

afterEach(async () => {
  await Promise.all(links.map((l) => l.close()))
  fs.rmSync(dir, {recursive: true, force: true})
})

describe('WireLink', () => {
  it('stops accepting frames for a peer that does not read (backpressure) and counts the drops', async () => {
    const stuck = path.join(dir, 'stuck.sock')
    const held: net.Socket[] = []
    const server = net.createServer((s) => {
      s.pause() // never reads: the kernel buffer fills, then the link's own queue
      held.push(s)
    })
    await new Promise<void>((r) => server.listen(stuck, () => r()))
    const l = new WireLink({index: 0, sockets: [path.join(dir, 'x0.sock'), stuck], routes: [[stations[1].underlay, 1]]})
    await l.start()
    // the stuck peer dials us too (we send on that socket), says hello, and never reads
    const back = net.createConnection(path.join(dir, 'x0.sock'))
    back.on('connect', () => back.write(Buffer.from('000000084d51574c00000001', 'hex')))
    back.pause()
    held.push(back)
    await l.waitConnected(1, 5000)
    const f = Buffer.alloc(4096)
    buildUdpFrame(f, 4096, stations[0], stations[1], 4791)
    let accepted = 0
    for (let i = 0; i < 20_000 && l.transmit(f, 0, f.length); i++) {
      accepted++
      if (i % 64 === 63) await new Promise((r) => setImmediate(r))
    }
    expect(counter(l, 'txDropped')).toBe(1)
    expect(accepted).toBeLessThan(20_000)
    expect(l.backlog(1)).toBeLessThanOrEqual(8 * 1024 * 1024 + 4100)
    for (const s of held) s.destroy()
    await l.close()
    await new Promise<void>((r) => server.close(() => r()))
  })

  it('routes by destination IPv4 over a full mesh and batches frames into few writes', async () => {
    await links[0].waitConnected(1, 5000)
    await links[0].waitConnected(2, 5000)
    for (let i = 0; i < 1000; i++) expect(links[0].transmit(frameTo(1 + (i % 2), i, 64 + (i % 500)), 0, 64 + (i % 500))).toBe(true)
    const vf = frameTo(2, 99999)
    vf.writeUInt32BE(0x0a090007, 30) // a VF address owned by host 2
    links[0].transmit(vf, 0, vf.length)
    await until(() => got[1].length === 500 && got[2].length === 501)
    expect(got[1].map((f) => f.tag)).toEqual(Array.from({length: 500}, (_, k) => 2 * k))
    expect(got[2].slice(0, 500).map((f) => f.len)).toEqual(Array.from({length: 500}, (_, k) => 64 + ((2 * k + 1) % 500)))
    expect(got[2][500].tag).toBe(99999)
    expect(counter(links[0], 'txFrames')).toBe(1001)
    expect(counter(links[0], 'txWrites')).toBeLessThan(20)
    expect(counter(links[1], 'rxFrames')).toBe(500)
  })

  it('frames sent inside a batch leave in one write per peer when the batch ends, without waiting a loop turn', async () => {
    await links[0].waitConnected(1, 5000)
    await links[0].waitConnected(2, 5000)
    const w0 = counter(links[0], 'txWrites')
    links[0].beginBatch()
    links[0].beginBatch() // batches nest: only the outer end writes
    for (let i = 0; i < 10; i++) links[0].transmit(frameTo(1 + (i % 2), i), 0, 100)
    links[0].endBatch()
    expect(counter(links[0], 'txWrites')).toBe(w0)
    links[0].endBatch()
    expect(counter(links[0], 'txWrites')).toBe(w0 + 2) // synchronously, one per peer
    await until(() => got[1].length === 5 && got[2].length === 5)
    expect(got[1].map((f) => f.tag)).toEqual([0, 2, 4, 6, 8])
    await new Promise((r) => setImmediate(r))
    expect(counter(links[0], 'txWrites')).toBe(w0 + 2) // nothing left for the setImmediate path
    links[0].transmit(frameTo(1, 77), 0, 100) // outside a batch: written on setImmediate
    expect(counter(links[0], 'txWrites')).toBe(w0 + 2)
    await until(() => got[1].length === 6)
    expect(counter(links[0], 'txWrites')).toBe(w0 + 3)
  })

  it('holds a plain ACK for a frame to ride with, and writes it after ackHoldUs or when released', async () => {
    await links[0].waitConnected(1, 5000)
    const ack = (syndrome: number) => {
      const f = frameTo(1, 0, 66)
      f[42] = 0x11 // BTH opcode RC ACKNOWLEDGE
      f[54] = syndrome // AETH syndrome: 0x00 ACK, 0x60 NAK
      return f
    }
    let holds = 0
    links[0].onHold = () => holds++
    links[0].ackHoldUs = 60_000_000 // a minute: only a release or a companion frame writes it here
    const w0 = counter(links[0], 'txWrites')
    links[0].transmit(ack(0), 0, 66)
    expect(holds).toBe(1)
    await new Promise((r) => setTimeout(r, 20))
    expect(counter(links[0], 'txWrites')).toBe(w0) // held, not written on setImmediate
    expect(links[0].releaseHeld(false)).toBe(1) // not old enough
    // a data frame to the same peer takes the ACK along: one write, in order
    links[0].transmit(frameTo(1, 5), 0, 100)
    await until(() => got[1].length === 2)
    expect(got[1].map((f) => f.len)).toEqual([66, 100])
    expect(counter(links[0], 'txWrites')).toBe(w0 + 1)
    expect(links[0].releaseHeld(false)).toBe(0)
    // released by force (the loop goes to sleep), or once older than ackHoldUs
    links[0].transmit(ack(0), 0, 66)
    expect(links[0].releaseHeld(true)).toBe(0)
    links[0].ackHoldUs = 1
    links[0].transmit(ack(0), 0, 66)
    await new Promise((r) => setTimeout(r, 2))
    expect(links[0].releaseHeld(false)).toBe(0)
    await until(() => got[1].length === 4)
    expect(counter(links[0], 'txWrites')).toBe(w0 + 3)
    // a NAK is never held; neither is anything with ackHoldUs 0
    links[0].ackHoldUs = 60_000_000
    links[0].transmit(ack(0x60), 0, 66)
    links[0].ackHoldUs = 0
    links[0].transmit(ack(0), 0, 66)
    expect(holds).toBe(3)
    await until(() => got[1].length === 6)
  })

  it('answers in both directions and delivers to itself by loopback', async () => {
    await links[2].waitConnected(0, 5000)
    const back = Buffer.alloc(100)
    buildUdpFrame(back, 100, stations[2], stations[0], 4791)
    back.writeUInt32BE(7, 42)
    links[2].transmit(back, 0, 100)
    const self = frameTo(0, 8)
    links[0].transmit(self, 0, self.length)
    await until(() => got[0].length === 2)
    expect(got[0].map((f) => f.tag).sort()).toEqual([7, 8])
    expect(counter(links[0], 'loopback')).toBe(1)
  })

  it('counts and refuses frames with no route or too short to carry an IPv4 header', () => {
    const f = frameTo(1, 1)
    f.writeUInt32BE(0x01020304, 30)
    expect(links[0].transmit(f, 0, f.length)).toBe(false)
    expect(links[0].transmit(f, 0, 20)).toBe(false)
    expect(counter(links[0], 'txNoRoute')).toBe(1)
    expect(counter(links[0], 'txRunt')).toBe(1)
  })

  it('drops a connection that does not start with a valid hello, and keeps serving', async () => {
    await new Promise<void>((resolve) => {
      const s = net.createConnection(path.join(dir, 'w2.sock'))
      s.on('connect', () => s.write(Buffer.from('00000008deadbeef00000000', 'hex')))
      s.on('close', () => resolve())
      s.on('error', () => {})
    })
    expect(counter(links[2], 'rxBadHello')).toBe(1)
    await links[0].waitConnected(2, 5000)
    links[0].transmit(frameTo(2, 5), 0, 100)
    await until(() => got[2].length === 1)
  })

  it('hosts re-dial a peer that restarted', async () => {
    await links[0].waitConnected(1, 5000)
    await links[1].close()
    await until(() => !links[0].isConnected(1)) // frames sent while the link is down are lost, like a link flap
    const sockets = [0, 1, 2].map((i) => path.join(dir, `w${i}.sock`))
    links[1] = new WireLink({index: 1, sockets, routes: stations.map((s, i) => [s.underlay, i] as [string, number])})
    links[1].onFrame = (buf, off, len) => got[1].push({len, tag: buf.readUInt32BE(off + 42)})
    await links[1].start()
    await until(() => links[0].isConnected(1))
    links[0].transmit(frameTo(1, 42), 0, 100)
    await until(() => got[1].length === 1)
    expect(got[1][0].tag).toBe(42)
  })

  it('linkTest pushes N frames to the peer, which counts them and acks', async () => {
    const testers = links.map((l, i) => new LinkTester(l, i, stations))
    links.forEach((l, i) => (l.onFrame = (b, o, n) => void testers[i].onFrame(b, o, n)))
    const r = await testers[0].run(1, 5000, 4096, 30_000, 65536)
    expect(r).toMatchObject({peer: 1, frames: 5000, delivered: 5000, size: 4096, bytes: 5000 * 4096, batchBytes: 65536})
    expect(testers[1].rxFrames).toBe(5000)
    expect(links[0].flushBytes).toBe(FLUSH_BYTES) // restored after the test
    await expect(testers[0].run(0, 1, 100)).rejects.toThrow(/another host/)
  })
})
