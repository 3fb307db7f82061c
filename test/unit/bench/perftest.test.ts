import {existsSync, readFileSync} from 'node:fs'
import {dirname, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'
import {describe, expect, it} from 'vitest'
import {
  ALL_SIZES, bwDurationReport, bwReport, deltasFromStamps, formatAddress, formatBwRow, formatBwTable, formatLatDurTable,
  formatLatRow, formatLatTable, formatPerftestReport, formatTestInfo, gidFromIpv4, latDurationReport, latReport,
  parsePerftest, RESULT_FMT, RESULT_FMT_LAT, RESULT_LINE,
} from '../../../src/bench/perftest.js'

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..')

function samplePath(): string {
  const candidates = [resolve(repoRoot, '../shared/vectors/perftest-sample.txt'), '/work/shared/vectors/perftest-sample.txt']
  const found = candidates.find((p) => existsSync(p))
  if (!found) throw new Error(`perftest-sample.txt not found in ${candidates.join(' or ')}`)
  return found
}

const sample = readFileSync(samplePath(), 'utf8')
const sampleLines = sample.split('\n')

describe('perftest 4.5 formatting matches real perftest output byte for byte', () => {
  it('BW table lines', () => {
    expect(sampleLines[0] + '\n').toBe(RESULT_LINE)
    expect(sampleLines[1]).toBe(RESULT_FMT)
    const row = formatBwRow({bytes: 65536, iterations: 5000, bwPeak: 11046.3, bwAverage: 11045.87, msgRate: 0.176734, unit: 'MB/sec'})
    expect(row).toBe(sampleLines[2])
    expect(row).toBe(' 65536      5000             11046.30            11045.87\t\t   0.176734')
  })
  it('a Soft-RoCE (rxe) latency row as perftest printed it', () => {
    const row = formatLatRow({bytes: 2, iterations: 1000, tMin: 6.64, tMax: 725.77, tTypical: 7.92, tAvg: 10.23, tStdev: 24.62, p99: 25.91, p999: 725.77})
    expect(row).toBe(' 2       1000          6.64           725.77       7.92     \t       10.23       \t24.62  \t\t25.91   \t\t725.77 ')
  })
  it('latency table lines', () => {
    expect(sampleLines[5]).toBe(RESULT_FMT_LAT)
    const row = formatLatRow({bytes: 2, iterations: 1000, tMin: 0.98, tMax: 4.31, tTypical: 1.02, tAvg: 1.05, tStdev: 0.09, p99: 1.31, p999: 4.31})
    expect(row).toBe(sampleLines[6])
  })
  it('whole tables reproduce the sample file', () => {
    const bw = formatBwTable([{bytes: 65536, iterations: 5000, bwPeak: 11046.3, bwAverage: 11045.87, msgRate: 0.176734, unit: 'MB/sec'}])
    const lat = formatLatTable([{bytes: 2, iterations: 1000, tMin: 0.98, tMax: 4.31, tTypical: 1.02, tAvg: 1.05, tStdev: 0.09, p99: 1.31, p999: 4.31}])
    expect(bw + lat).toBe(sample)
  })
  it('--report_gbits header, and extra precision below 0.1 Gb/sec', () => {
    const t = formatBwTable([{bytes: 2, iterations: 1000, bwPeak: 0.05, bwAverage: 0.04, msgRate: 2.5, unit: 'Gb/sec'}])
    expect(t.split('\n')[1]).toBe(' #bytes     #iterations    BW peak[Gb/sec]    BW average[Gb/sec]   MsgRate[Mpps]')
    expect(t.split('\n')[2]).toBe(' 2          1000           0.050000            0.040000            2.500000')
  })
  it('-a --report_gbits rows as perftest printed them (linux-rdma/perftest issue #132)', () => {
    const rows = [
      {bytes: 2, iterations: 5000, bwPeak: 0.04235, bwAverage: 0.042185, msgRate: 2.636533, unit: 'Gb/sec' as const},
      {bytes: 8, iterations: 5000, bwPeak: 0.17, bwAverage: 0.17, msgRate: 2.641399, unit: 'Gb/sec' as const},
    ]
    expect(rows.map(formatBwRow)).toEqual([
      ' 2          5000           0.042350            0.042185            2.636533',
      ' 8          5000             0.17               0.17   \t\t   2.641399',
    ])
  })
  it('duration-mode latency table', () => {
    const t = formatLatDurTable([{bytes: 2, iterations: 123456, tAvg: 12.345, tps: 40500.5}])
    expect(t.split('\n')[1]).toBe(' #bytes        #iterations       t_avg[usec]    tps average')
    expect(t.split('\n')[2]).toBe(' 2             123456            12.35          40500.50')
  })
  it('banner block of an RDMA_Write BW client', () => {
    const s = formatTestInfo({verb: 'write', test: 'bw', device: 'rxe0', mtu: 1024, gidIndex: 1})
    expect(s).toBe(
      RESULT_LINE +
        '                    RDMA_Write BW Test\n' +
        ' Dual-port       : OFF\t\tDevice         : rxe0\n' +
        ' Number of qps   : 1\t\tTransport type : IB\n' +
        ' Connection type : RC\t\tUsing SRQ      : OFF\n' +
        ' PCIe relax order: ON\n' +
        ' ibv_wr* API     : OFF\n' +
        ' TX depth        : 128\n' +
        ' CQ Moderation   : 100\n' +
        ' Mtu             : 1024[B]\n' +
        ' Link type       : Ethernet\n' +
        ' GID index       : 1\n' +
        ' Max inline data : 0[B]\n' +
        ' rdma_cm QPs\t : OFF\n' +
        ' Data ex. method : Ethernet\n' +
        RESULT_LINE,
    )
  })
  it('banner of a read latency test and an atomic test', () => {
    const r = formatTestInfo({verb: 'read', test: 'lat', rdmaCm: true}).split('\n')
    expect(r[1]).toBe('                    RDMA_Read Latency Test')
    expect(r).toContain(' TX depth        : 1')
    expect(r).toContain(' Outstand reads  : 16')
    expect(r).toContain(' Data ex. method : rdma_cm')
    expect(r.some((l) => l.startsWith(' CQ Moderation'))).toBe(false)
    expect(formatTestInfo({verb: 'atomic', test: 'bw'}).split('\n')[1]).toBe('                    Atomic FETCH_AND_ADD BW Test')
    const d = formatTestInfo({verb: 'send', test: 'bw', duration: true, cqMod: 1}).split('\n')
    expect(d[0]).toBe(" WARNING: BW peak won't be measured in this run.")
    expect(d[2]).toBe('                    Send BW Test')
    expect(formatTestInfo({verb: 'send', test: 'lat', duration: true}).startsWith(RESULT_LINE)).toBe(true)
  })
  it('address lines: decimal GID bytes, RKey/VAddr for write, OUT first for read', () => {
    const dest = {qpn: 0x108, psn: 0x6b7a4d, rkey: 0x1fffbd, vaddr: 0x7f6f1a4b7000n, gid: gidFromIpv4('10.0.0.1')}
    expect(formatAddress('local', dest, 'write', 1)).toBe(
      ' local address: LID 0000 QPN 0x0108 PSN 0x6b7a4d RKey 0x1fffbd VAddr 0x007f6f1a4b7000\n' +
        ' GID: 00:00:00:00:00:00:00:00:00:00:255:255:10:00:00:01\n',
    )
    expect(formatAddress('remote', dest, 'read', 1).split('\n')[0]).toBe(
      ' remote address: LID 0000 QPN 0x0108 PSN 0x6b7a4d OUT 0x10 RKey 0x1fffbd VAddr 0x007f6f1a4b7000',
    )
    expect(formatAddress('local', dest, 'send', -1)).toBe(' local address: LID 0000 QPN 0x0108 PSN 0x6b7a4d\n')
  })
})

describe('perftest arithmetic', () => {
  it('latency: sort, drop the two largest, median, perftest percentiles, RTT/2 for write', () => {
    // 999 deltas (1000 iterations): 1..999 us RTT shuffled, plus nothing else.
    const rtt = Array.from({length: 999}, (_, i) => ((i * 2) % 999 + 1) * 1000) // a permutation of 1..999 us
    const w = latReport(rtt, {size: 2, verb: 'write'})
    expect(w.iterations).toBe(1000)
    // measure_cnt = 997; sorted values 1..999 us; RTT/2.
    expect(w.tMin).toBe(0.5)
    expect(w.tMax).toBe(998 / 2) // delta[997]: the second largest
    expect(w.tTypical).toBe(499 / 2) // n odd: delta[498] = 499 us
    expect(w.tAvg).toBeCloseTo(((997 * 998) / 2 / 997) / 2, 9)
    expect(w.p99).toBe(989 / 2)
    const r = latReport(rtt, {size: 2, verb: 'read'})
    expect(r.tMin).toBe(1)
    expect(r.p99).toBe(989) // index ceil(987.03) = 988 holds 989 us
    expect(r.p999).toBe(998) // index ceil(996.003) = 997 holds 998 us
  })
  it('latency median of an even count averages the middle two (integer ns)', () => {
    // 6 samples, 4 kept: 10, 20, 31, 40 -> (20 + 31) / 2 = 25 (integer division of 51)
    const r = latReport([40, 10, 1000, 31, 20, 2000], {size: 2, verb: 'read'})
    expect(r.tTypical).toBe(0.025)
    expect(r.tMax).toBe(1) // the second largest sample, as perftest prints delta[measure_cnt]
  })
  it('stdev truncates each deviation to an int as perftest 4.5 does', () => {
    // usec RTTs 1,1,1,4 (+2 dropped big ones): avg 1.75; deviations trunc(0.75)=0 x3, trunc(-2.25)=-2 -> sqrt(4/4)=1
    const r = latReport([1000, 1000, 1000, 4000, 99_000, 98_000], {size: 2, verb: 'read'})
    expect(r.tAvg).toBe(1.75)
    expect(r.tStdev).toBe(1)
  })
  it('deltas from post stamps', () => {
    expect(deltasFromStamps([0, 5, 12, 30])).toEqual([5, 7, 18])
  })
  it('BW average and message rate over the run, MB = 2^20', () => {
    // 1000 x 64 KiB, one every 10 us, each completing 10 us after posting.
    const n = 1000
    const tposted = Float64Array.from({length: n}, (_, i) => i * 10_000)
    const tcompleted = Float64Array.from({length: n}, (_, i) => i * 10_000 + 10_000)
    const row = bwReport({size: 65536, tposted, tcompleted})
    expect(row.iterations).toBe(1000)
    const seconds = (n * 10_000) / 1e9
    expect(row.bwAverage).toBeCloseTo((65536 * n) / seconds / 2 ** 20, 9)
    expect(row.msgRate).toBeCloseTo(n / seconds / 1e6, 12)
    expect(row.bwPeak).toBeCloseTo(65536 * 1e9 / (10_000 * 2 ** 20), 9)
  })
  it('BW peak is the best cq_mod-aligned window', () => {
    // 400 WRs; WRs 100..199 run twice as fast. Windows end on signalled WRs (99, 199, 299, 399).
    const tposted: number[] = []
    const tcompleted: number[] = []
    let t = 0
    for (let i = 0; i < 400; i++) {
      tposted.push(t)
      t += i >= 100 && i < 200 ? 1000 : 2000
      tcompleted.push(t)
    }
    const row = bwReport({size: 4096, tposted, tcompleted, cqMod: 100})
    // best window: i = 100, j = 199 -> 100 WRs in 100 us -> 1000 ns per WR
    expect(row.bwPeak).toBeCloseTo(4096 * 1e9 / (1000 * 2 ** 20), 9)
    const g = bwReport({size: 4096, tposted, tcompleted, cqMod: 100, gbits: true})
    expect(g.bwPeak).toBeCloseTo((4096 * 8) / 1000, 9)
    expect(bwReport({size: 4096, tposted, tcompleted, noPeak: true}).bwPeak).toBe(0)
  })
  it('duration modes', () => {
    const bw = bwDurationReport({size: 65536, iters: 20_000, elapsedNs: 1e9})
    expect(bw.bwPeak).toBe(0)
    expect(bw.bwAverage).toBeCloseTo(20_000 * 65536 / 2 ** 20, 9)
    const lat = latDurationReport({size: 2, iters: 50_000, elapsedNs: 2e9, verb: 'send'})
    expect(lat.tAvg).toBe(20) // 40 us per round trip, half of it
    expect(lat.tps).toBe(25_000)
  })
  it('-a covers 2 .. 2^23', () => {
    expect(ALL_SIZES[0]).toBe(2)
    expect(ALL_SIZES.at(-1)).toBe(8_388_608)
    expect(ALL_SIZES).toHaveLength(23)
  })
})

describe('parsePerftest', () => {
  it('reads the real perftest sample', () => {
    const p = parsePerftest(sample)
    expect(p.errors).toEqual([])
    expect(p.tables).toHaveLength(2)
    expect(p.tables[0]).toEqual({kind: 'bw', unit: 'MB/sec', rows: [{bytes: 65536, iterations: 5000, bwPeak: 11046.3, bwAverage: 11045.87, msgRate: 0.176734, unit: 'MB/sec'}]})
    expect(p.tables[1]).toEqual({kind: 'lat', rows: [{bytes: 2, iterations: 1000, tMin: 0.98, tMax: 4.31, tTypical: 1.02, tAvg: 1.05, tStdev: 0.09, p99: 1.31, p999: 4.31}]})
  })
  it('round-trips a full -a transcript of our own', () => {
    const bw = ALL_SIZES.map((bytes, i) => ({bytes, iterations: 5000, bwPeak: 100 + i * 13.37, bwAverage: 90 + i * 11.11, msgRate: 1 / (i + 1), unit: 'MB/sec' as const}))
    const text = formatPerftestReport({
      info: {verb: 'write', test: 'bw', gidIndex: 1},
      local: [{qpn: 0x11, psn: 0xabcdef, rkey: 0x1234, vaddr: 0x7f00n, gid: gidFromIpv4('10.0.0.1')}],
      remote: [{qpn: 0x12, psn: 0x123456, rkey: 0x5678, vaddr: 0x7f80n, gid: gidFromIpv4('10.0.0.2')}],
      bw,
    })
    const p = parsePerftest(text)
    expect(p.errors).toEqual([])
    expect(p.titles).toEqual(['RDMA_Write BW Test'])
    expect(p.info['Device']).toBe('rxe0')
    expect(p.info['CQ Moderation']).toBe('100')
    expect(p.info['Data ex. method']).toBe('Ethernet')
    expect(p.addresses).toEqual([
      {side: 'local', lid: 0, qpn: 0x11, psn: 0xabcdef, rkey: 0x1234, vaddr: 0x7f00n, gid: gidFromIpv4('10.0.0.1')},
      {side: 'remote', lid: 0, qpn: 0x12, psn: 0x123456, rkey: 0x5678, vaddr: 0x7f80n, gid: gidFromIpv4('10.0.0.2')},
    ])
    const rows = p.tables[0]!.rows as typeof bw
    expect(rows).toHaveLength(23)
    rows.forEach((r, i) => {
      expect(r.bytes).toBe(bw[i]!.bytes)
      expect(r.bwPeak).toBeCloseTo(bw[i]!.bwPeak, 2)
      expect(r.msgRate).toBeCloseTo(bw[i]!.msgRate, 6)
    })
  })
  it('round-trips computed latency rows and duration rows', () => {
    const rtt = Array.from({length: 199}, (_, i) => 20_000 + ((i * 7919) % 5000))
    const row = latReport(rtt, {size: 64, verb: 'send'})
    const p = parsePerftest(formatLatTable([row]) + formatLatDurTable([{bytes: 2, iterations: 10, tAvg: 1.5, tps: 3}]))
    const back = p.tables[0]!.rows[0] as typeof row
    for (const k of ['tMin', 'tMax', 'tTypical', 'tAvg', 'tStdev', 'p99', 'p999'] as const) expect(back[k]).toBeCloseTo(row[k], 2)
    expect(p.tables[1]).toEqual({kind: 'latDuration', rows: [{bytes: 2, iterations: 10, tAvg: 1.5, tps: 3}]})
  })
  it('reads a real InfiniBand client banner (linux-rdma/perftest issue #132) and formats its address lines back', () => {
    const text = [
      '---------------------------------------------------------------------------------------',
      '                    RDMA_Write BW Test',
      ' Dual-port       : OFF\t\tDevice         : mlx5_0',
      ' Number of qps   : 1\t\tTransport type : IB',
      ' Connection type : RC\t\tUsing SRQ      : OFF',
      ' PCIe relax order: ON',
      ' ibv_wr* API     : ON',
      ' TX depth        : 128',
      ' CQ Moderation   : 100',
      ' Mtu             : 4096[B]',
      ' Link type       : IB',
      ' Max inline data : 0[B]',
      ' rdma_cm QPs\t : OFF',
      ' Data ex. method : Ethernet',
      '---------------------------------------------------------------------------------------',
      ' local address: LID 0x02 QPN 0x0032 PSN 0x5f2841 RKey 0x002440 VAddr 0x007f2e5f64b000',
      ' remote address: LID 0x01 QPN 0x003a PSN 0xc0fd7e RKey 0x002442 VAddr 0x007f443b2f8000',
      '---------------------------------------------------------------------------------------',
      '',
    ].join('\n')
    const p = parsePerftest(text)
    expect(p.titles).toEqual(['RDMA_Write BW Test'])
    expect(p.info).toMatchObject({'Dual-port': 'OFF', Device: 'mlx5_0', 'Transport type': 'IB', 'Using SRQ': 'OFF', 'Link type': 'IB', 'rdma_cm QPs': 'OFF'})
    expect(p.addresses[0]).toEqual({side: 'local', lid: 2, qpn: 0x32, psn: 0x5f2841, rkey: 0x2440, vaddr: 0x7f2e5f64b000n})
    const again = p.addresses.map((a) => formatAddress(a.side, a, 'write', -1)).join('')
    expect(again).toBe(text.split('\n').slice(15, 17).join('\n') + '\n')
    expect(formatTestInfo({verb: 'write', test: 'bw', device: 'mlx5_0', mtu: 4096, linkType: 'IB', ibvWrApi: true})).toBe(text.split('\n').slice(0, 15).join('\n') + '\n')
  })
  it('counts malformed table rows instead of throwing', () => {
    const p = parsePerftest(RESULT_LINE + RESULT_FMT + '\n 65536 garbage\n 2 3 4 5 6\n\u0000\u0001\n' + RESULT_LINE)
    expect(p.tables[0]!.rows).toHaveLength(1)
    expect(p.errors.map((e) => e.line)).toEqual([3, 5])
    expect(() => parsePerftest('')).not.toThrow()
  })
})
