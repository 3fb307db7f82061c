// Completion queue (rxe_cq.c): a CQE ring in shared memory that the VM polls. Overflow is an error event
// (IB_EVENT_CQ_ERR) and the CQ stays in error; the poster moves its QP to ERR (rxe_resp.c class G).

import * as Q from './queue.js'

export class Cq {
  readonly ring: Q.Ring
  error = false
  overflowReported = false
  users = 0

  constructor(readonly cqn: number, depth: number) {
    this.ring = Q.Ring.create(depth, Q.CQE_WORDS)
  }

  /** rxe_cq_post. Returns false on overflow (nothing written). */
  post(wrIdHi: number, wrIdLo: number, status: number, opcode: number, byteLen: number, imm: number,
    qpNum: number, srcQp: number, wcFlags: number): boolean {
    const r = this.ring
    if (this.error) return false
    const prod = r.producer()
    if (((prod - r.consumer()) >>> 0) >= r.size) {
      this.error = true
      return false
    }
    const w = r.slot(prod)
    const u = r.u32
    u[w + Q.CQE_WRID_HI] = wrIdHi
    u[w + Q.CQE_WRID_LO] = wrIdLo
    u[w + Q.CQE_STATUS] = status
    u[w + Q.CQE_OPCODE] = opcode
    u[w + Q.CQE_VENDOR_ERR] = 0
    u[w + Q.CQE_BYTE_LEN] = byteLen
    u[w + Q.CQE_IMM] = imm
    u[w + Q.CQE_QP_NUM] = qpNum
    u[w + Q.CQE_SRC_QP] = srcQp
    u[w + Q.CQE_WC_FLAGS] = wcFlags
    u[w + Q.CQE_PKEY_INDEX] = 0
    u[w + Q.CQE_SLID] = 0
    u[w + Q.CQE_SL] = 0
    u[w + Q.CQE_DLID_PATH_BITS] = 0
    r.publish(prod + 1)
    if (Atomics.load(r.i32, Q.RING_FLAGS) !== 0) Atomics.notify(r.i32, Q.RING_PRODUCER)
    return true
  }
}
