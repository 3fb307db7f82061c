// Go-back-N under a rate limit: the retransmit timer fires while the paced requester is still re-sending a WQE,
// and ACKs from the first transmission arrive for the PSN range being re-sent. They must complete the WQE
// (IBTA 9.7.5.1.2: an ACK covers every earlier PSN), not move comp.psn past a WQE that stays open: that made the
// next req_retry skip the whole WQE and shift every later PSN, until the responder NAKed Invalid Request.
// Virtual time (ManualClock), seeded fabric: deterministic.

import {describe, expect, it} from 'vitest'
import {Access, SendFlags, WcStatus, WrOpcode} from '../../../src/rdma-constants.js'
import {connect, endpoint, fill, makeLab} from './helpers.js'

const MSG = 64 * 1024
const N = 32

async function pacedWrites(seed: number, timeout: number) {
  const lab = makeLab(2, {seed, impairments: {loss: 0.02, delayUs: 20000}})
  const a = await endpoint(lab.nics[0]!, 1 << 22)
  const b = await endpoint(lab.nics[1]!, 1 << 22)
  const src = a.mem.alloc(N * MSG)
  const dst = b.mem.alloc(N * MSG)
  fill(src.bytes, seed)
  const smr = await a.pd.regMr(src, 0)
  const dmr = await b.pd.regMr(dst, Access.LOCAL_WRITE | Access.REMOTE_WRITE)
  const [qa] = await connect(a, b, {timeout})
  // 2 MB/s with a 64 KiB burst: one WQE takes ~33 ms to send, about one timeout 13 (33.5 ms)
  expect(lab.nics[0]!.setRateLimit({group: 'tenant', qpns: [qa.qpn], bytesPerSec: 2e6, burstBytes: MSG})).toEqual({})
  qa.postSend(Array.from({length: N}, (_, i) => ({
    wrId: BigInt(i), opcode: WrOpcode.RDMA_WRITE, sendFlags: SendFlags.SIGNALED,
    sgList: [{addr: src.addr + BigInt(i * MSG), length: MSG, lkey: smr.lkey}],
    rdma: {remoteAddr: dst.addr + BigInt(i * MSG), rkey: dmr.rkey},
  })))
  lab.run({untilUs: 600e6})
  return {lab, a, src, dst}
}

describe('retransmit timeout while a rate-limited requester re-sends', () => {
  // seeds 7 and 2 failed with REM_INV_REQ_ERR before the fix (timeout 13; 6 of seeds 1..8 did)
  for (const seed of [7, 2]) {
    it(`seed ${seed}: every WRITE completes successfully, in order, and the bytes arrive intact`, async () => {
      const {lab, a, src, dst} = await pacedWrites(seed, 13)
      expect(lab.nics[0]!.counters().port.COMP_RETRY).toBeGreaterThan(0) // the retry path was exercised
      const wcs = a.cq.poll(2 * N)
      expect(wcs.map((w) => [Number(w.wrId), w.status])).toEqual(Array.from({length: N}, (_, i) => [i, WcStatus.SUCCESS]))
      expect(Buffer.compare(Buffer.from(src.bytes), Buffer.from(dst.bytes))).toBe(0)
    }, 120_000)
  }
})
