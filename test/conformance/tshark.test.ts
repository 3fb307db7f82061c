// Conformance: tshark decodes every frame the codecs emit (all opcodes, NAK/RNR codes, CNP, a full CM exchange)
// with no malformed packets or expert errors, and shows exactly the field values we encoded.
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {DECODE_STATUS_NAME, FrameEncoder, decodeFrame} from '../../src/wire/frame.js'
import {OPCODES} from '../../src/wire/opcodes.js'
import {PacketView} from '../../src/wire/packet.js'
import {PcapWriter} from '../../src/wire/pcap.js'
import {buildCatalogue} from './catalogue.js'
import {normalise, tshark, tsharkFields} from './tshark.js'

const catalogue = buildCatalogue()
const dir = mkdtempSync(path.join(tmpdir(), 'masq-conformance-'))
const file = path.join(dir, 'catalogue.pcap')
const fields = [...new Set(['frame.number', ...catalogue.flatMap(f => Object.keys(f.expect))])]
let rows: Array<Record<string, string>> = []

beforeAll(() => {
  const w = new PcapWriter(file)
  catalogue.forEach((f, i) => w.writeAt(1_700_000_000, i * 1000, f.bytes))
  w.close()
  rows = tsharkFields(file, fields)
})
afterAll(() => rmSync(dir, {recursive: true, force: true}))

describe('tshark conformance', () => {
  it('covers every opcode of the table', () => {
    const ops = new Set(catalogue.map(f => Number(f.expect['infiniband.bth.opcode'])))
    OPCODES.forEach((info, op) => { if (info) expect(ops.has(op)).toBe(true) })
    expect(rows).toHaveLength(catalogue.length)
  })

  it('our decoder accepts every catalogue frame and re-encodes it byte-identically', () => {
    const p = new PacketView()
    const out = new Uint8Array(8192)
    for (const f of catalogue) {
      expect(DECODE_STATUS_NAME[decodeFrame(f.bytes, 0, f.bytes.length, p)]).toBe('OK')
      const n = new FrameEncoder().encodeInto(out, 0, p, f.bytes, p.payloadOff, p.payloadLen)
      expect(Buffer.from(out.subarray(0, n)).equals(Buffer.from(f.bytes))).toBe(true)
    }
  })

  it('reports no malformed packet and no expert error', () => {
    // Stronger than "no errors": tshark has no expert info at all (no warning, note or chat) for these frames.
    const expert = tshark(['-r', file, '-q', '-z', 'expert'])
    expect(expert).not.toMatch(/Errors \(\d+\)|Malformed/i)
    expect(expert.trim()).toBe('')
    const bad = tshark(['-r', file, '-Y', '_ws.malformed || _ws.expert.severity >= 8388608', '-T', 'fields',
      '-e', 'frame.number'])
    expect(bad.trim()).toBe('')
    const proto = tshark(['-r', file, '-T', 'fields', '-e', 'frame.protocols'])
    for (const line of proto.trim().split('\n')) expect(line).toMatch(/^eth:ethertype:ip:udp:infiniband(:data)?$/)
  })

  it.each(catalogue.map((f, i) => [i + 1, f.label, f] as const))('frame %i (%s): fields equal what was encoded',
    (n, _label, frame) => {
      const row = rows[n - 1]!
      expect(row['frame.number']).toBe(String(n))
      const actual: Record<string, string> = {}
      const expected: Record<string, string> = {}
      for (const [k, v] of Object.entries(frame.expect)) {
        actual[k] = normalise(v, row[k] ?? '')
        expected[k] = typeof v === 'string' ? v.toLowerCase() : v.toString()
      }
      expect(actual).toEqual(expected)
    })
})
