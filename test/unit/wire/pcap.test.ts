import {mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {afterAll, describe, expect, it} from 'vitest'
import {toHex} from '../../../src/wire/bytes.js'
import {WireError} from '../../../src/wire/errors.js'
import {mergePcaps, PcapWriter, readPcap} from '../../../src/wire/pcap.js'
import {ByteList} from './byte-list.js'

const dir = mkdtempSync(path.join(tmpdir(), 'masq-pcap-'))
afterAll(() => rmSync(dir, {recursive: true, force: true}))

describe('PcapWriter', () => {
  it('writes a nanosecond LINKTYPE_ETHERNET file byte by byte as expected', () => {
    const file = path.join(dir, 'a.pcap')
    const w = new PcapWriter(file, 64) // tiny buffer: forces flushes between records
    w.writeAt(1700000000, 123456789, Uint8Array.of(1, 2, 3))
    w.write(Uint8Array.of(9, 9, 4, 5, 9), 2, 2, 1700000001_000000007n)
    w.close()
    w.close() // idempotent
    const expected = new ByteList()
    const le32 = (v: number): ByteList => expected.u8(v, v >>> 8, v >>> 16, v >>> 24)
    le32(0xa1b23c4d); expected.u8(2, 0, 4, 0); le32(0); le32(0); le32(65535); le32(1)
    le32(1700000000); le32(123456789); le32(3); le32(3); expected.u8(1, 2, 3)
    le32(1700000001); le32(7); le32(2); le32(2); expected.u8(4, 5)
    expect(toHex(readFileSync(file))).toBe(toHex(expected.build()))
    expect(() => w.writeAt(0, 0, Uint8Array.of(1))).toThrow()
  })
})

describe('readPcap', () => {
  it('reads big-endian microsecond files', () => {
    const f = new ByteList().u32(0xa1b2c3d4).u16(2).u16(4).u32(0).u32(0).u32(65535).u32(1)
      .u32(10).u32(5).u32(2).u32(60).u8(0xaa, 0xbb).build()
    const p = readPcap(f)
    expect(p).toMatchObject({linktype: 1, nanos: false, snaplen: 65535, truncated: false})
    expect(p.records).toHaveLength(1)
    expect(p.records[0]!.tsNs).toBe(10_000_005_000n)
    expect(p.records[0]!.origLen).toBe(60)
    expect(Array.from(p.records[0]!.data)).toEqual([0xaa, 0xbb])
  })
  it('keeps complete records of a file cut mid-record and flags it', () => {
    const file = path.join(dir, 'cut.pcap')
    const w = new PcapWriter(file)
    w.writeAt(1, 0, new Uint8Array(10))
    w.writeAt(2, 0, new Uint8Array(10))
    w.close()
    const bytes = readFileSync(file)
    const p = readPcap(bytes.subarray(0, bytes.length - 3))
    expect(p.truncated).toBe(true)
    expect(p.records).toHaveLength(1)
  })
  it('throws a WireError on a file that is not pcap', () => {
    expect(() => readPcap(new Uint8Array(10))).toThrow(WireError)
    expect(() => readPcap(new Uint8Array(24))).toThrow(/not a pcap/)
  })
})

describe('mergePcaps', () => {
  it('orders by timestamp, ties in input order', () => {
    const a = path.join(dir, 'h1.pcap')
    const b = path.join(dir, 'h2.pcap')
    const w1 = new PcapWriter(a)
    w1.writeAt(1, 0, Uint8Array.of(1))
    w1.writeAt(3, 0, Uint8Array.of(3))
    w1.writeAt(5, 0, Uint8Array.of(5))
    w1.close()
    const w2 = new PcapWriter(b)
    w2.writeAt(2, 0, Uint8Array.of(2))
    w2.writeAt(3, 0, Uint8Array.of(33))
    w2.writeAt(4, 0, Uint8Array.of(4))
    w2.close()
    const out = path.join(dir, 'merged.pcap')
    expect(mergePcaps([a, b], out)).toBe(6)
    expect(readPcap(readFileSync(out)).records.map(r => r.data[0])).toEqual([1, 2, 3, 33, 4, 5])
    writeFileSync(path.join(dir, 'empty.pcap'), new Uint8Array(0))
    expect(() => mergePcaps([path.join(dir, 'empty.pcap')], out)).toThrow(WireError)
  })
})

describe('PcapWriter.writeNow', () => {
  it('stamps records with the wall clock', () => {
    const file = path.join(dir, 'now.pcap')
    const before = BigInt(Date.now() - 1000) * 1_000_000n
    const w = new PcapWriter(file)
    w.writeNow(Uint8Array.of(7, 8, 9), 1)
    w.close()
    const r = readPcap(readFileSync(file)).records[0]!
    expect(Array.from(r.data)).toEqual([8, 9])
    expect(r.tsNs > before && r.tsNs < before + 10_000_000_000n).toBe(true)
  })
})
