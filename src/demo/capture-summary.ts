// What the demo's capture holds, counted from the per-host pcaps (each frame once: as sent by its host): RoCEv2
// data frames and CM MADs by type, the DSCP classes, and whether any IP header carries an address that is not a
// host's (MasQ puts virtual addresses only inside CM private data: DESIGN §4).
// Offsets: Ethernet 14 | IPv4 20 (no options: masq never sends them) | UDP 8 | BTH 12 | DETH 8 | MAD.
import fs from 'node:fs'
import {readPcap} from '../wire/pcap.js'

const BTH = 42
const UD_SEND_ONLY = 0x64
const CM_CLASS = 0x07
/** IB CM attribute ids (IBA 12.6) */
const CM_ATTR: Record<number, string> = {0x10: 'REQ', 0x11: 'MRA', 0x12: 'REJ', 0x13: 'REP', 0x14: 'RTU', 0x15: 'DREQ', 0x16: 'DREP'}

export interface CaptureSummary {
  frames: number
  data: number
  cm: Record<string, number>
  dscp: Record<number, number>
  /** IP addresses in IP headers that are not host underlay addresses (expected: none) */
  foreign: string[]
}

const ip = (b: Uint8Array, o: number) => `${b[o]}.${b[o + 1]}.${b[o + 2]}.${b[o + 3]}`

export function summarizeCaptures(files: ReadonlyArray<{file: string; hostIp: string}>, hostIps: ReadonlySet<string>): CaptureSummary {
  const s: CaptureSummary = {frames: 0, data: 0, cm: {}, dscp: {}, foreign: []}
  const foreign = new Set<string>()
  for (const {file, hostIp} of files) {
    let pcap
    try {
      pcap = readPcap(fs.readFileSync(file))
    } catch {
      continue // an unreadable file shows up in the merged pcap's frame count instead
    }
    for (const r of pcap.records) {
      const b = r.data
      if (b.length < BTH + 12 || b[12] !== 0x08 || b[13] !== 0x00) continue // IPv4 only
      const src = ip(b, 26)
      if (src !== hostIp) continue // received here: counted at its sender
      s.frames++
      for (const a of [src, ip(b, 30)]) if (!hostIps.has(a)) foreign.add(a)
      const dscp = b[15]! >> 2
      s.dscp[dscp] = (s.dscp[dscp] ?? 0) + 1
      const opcode = b[BTH]!
      const mad = BTH + 12 + 8
      if (opcode === UD_SEND_ONLY && b.length >= mad + 24 && b[mad + 1] === CM_CLASS) {
        const name = CM_ATTR[(b[mad + 16]! << 8) | b[mad + 17]!] ?? 'other'
        s.cm[name] = (s.cm[name] ?? 0) + 1
      } else s.data++
    }
  }
  s.foreign = [...foreign].sort()
  return s
}
