// Go-back-N under a rate limit: the retransmit timer fires while the paced requester is still re-sending a WQE,
// and ACKs from the first transmission arrive for the PSN range being re-sent. They must complete the WQE
// (an ACK covers every earlier PSN: IBTA coalesced ACKs), not move comp.psn past a WQE that stays open: that made the
// next req_retry skip the whole WQE and shift every later PSN, until the responder NAKed Invalid Request.
// Virtual time (ManualClock), seeded fabric: deterministic.

import {describe, expect, it} from 'vitest'
import {Access, Mtu, SendFlags, WcStatus, WrOpcode} from '../../../src/rdma-constants.js'
import {connect, endpoint, fill, makeLab} from './helpers.js'

const MSG = 64 * 1024
const N = 32

async function pacedWrites(seed: number, timeout: number, mtu: number) {
  const lab = makeLab(2, {seed, impairments: {loss: 0.02, delayUs: 20000}})
  const a = await endpoint(lab.nics[0]!, 1 << 22)
  const b = await endpoint(lab.nics[1]!, 1 << 22)
  const src = a.mem.alloc(N * MSG)
  const dst = b.mem.alloc(N * MSG)
  fill(src.bytes, seed)
  const smr = await a.pd.regMr(src, 0)
  const dmr = await b.pd.regMr(dst, Access.LOCAL_WRITE | Access.REMOTE_WRITE)
  const [qa] = await connect(a, b, {timeout, mtu})
  // 2 MB/s with a 64 KiB burst: one WQE takes ~33 ms to send, about one timeout 13 (33.5 ms)
  expect(lab.nics[0]!.setRateLimit({group: 'tenant', qpns: [qa.qpn], bytesPerSec: 2e6, burstBytes: MSG})).toEqual({})
  qa.postSend(Array.from({length: N}, (_, i) => ({
    wrId: BigInt(i), opcode: WrOpcode.RDMA_WRITE, sendFlags: SendFlags.SIGNALED,
    sgList: [{addr: src.addr + BigInt(i * MSG), length: MSG, lkey: smr.lkey}],
    rdma: {remoteAddr: dst.addr + BigInt(i * MSG), rkey: dmr.rkey},
  })))
  lab.run({untilUs: 60e6}) // ~3-10 s of virtual time when correct
  return {lab, a, src, dst}
}

describe('retransmit timeout while a rate-limited requester re-sends', () => {
  // each failed before the fix: REM_INV_REQ_ERR, or (MTU 1024, timeout 10, seed 11) two WRITEs never completed
  const cases: Array<[seed: number, timeout: number, mtu: number]> = [[7, 13, 1024], [2, 13, 1024], [4, 14, 4096], [11, 10, 1024]]
  for (const [seed, timeout, mtu] of cases) {
    it(`seed ${seed}, timeout ${timeout}, MTU ${mtu}: every WRITE completes successfully, in order, bytes intact`, async () => {
      const {lab, a, src, dst} = await pacedWrites(seed, timeout, Mtu[mtu as 1024 | 4096])
      expect(lab.nics[0]!.counters().port.COMP_RETRY).toBeGreaterThan(0) // the retry path was exercised
      const wcs = a.cq.poll(2 * N)
      expect(wcs.map((w) => [Number(w.wrId), w.status])).toEqual(Array.from({length: N}, (_, i) => [i, WcStatus.SUCCESS]))
      expect(Buffer.compare(Buffer.from(src.bytes), Buffer.from(dst.bytes))).toBe(0)
    }, 120_000)
  }
})
