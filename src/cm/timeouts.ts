// CM timing (IBTA §12.7.34: a "timeout" exponent t means 4.096 µs × 2^t) and the testbed defaults.
// rdma_cm uses CMA_CM_RESPONSE_TIMEOUT 20 (≈4.3 s per try) and CMA_MAX_CM_RETRIES 15: a dead peer would take a
// minute. The testbed defaults to t = 16 (≈268 ms) so lossy runs recover quickly; set 20 for the kernel's value.

/** Microseconds for an IBTA timeout exponent. */
export function ibTimeoutUs(t: number): number {
  return 4.096 * 2 ** Math.min(31, Math.max(0, t))
}

export interface CmTimeouts {
  /** Our CM response timeout exponent (REQ local/remote CM response timeout). Kernel rdma_cm: 20. */
  cmResponseTimeout: number
  /** Max CM retries (REQ/REP/DREQ retransmissions). Kernel rdma_cm: CMA_MAX_CM_RETRIES 15. */
  maxCmRetries: number
  /** Service timeout exponent an MRA announces. Kernel rdma_cm: CMA_CM_MRA_SETTING 24 (≈68 s); testbed 18. */
  mraServiceTimeout: number
  /** Packet life time exponent of the path (RoCE: CMA_IBOE_PACKET_LIFETIME 16); testbed 12. */
  packetLifeTime: number
  /** Time a connection lingers in TIMEWAIT before TIMEWAIT_EXIT (µs). */
  timewaitUs: number
}

export const KERNEL_TIMEOUTS: CmTimeouts = {
  cmResponseTimeout: 20, maxCmRetries: 15, mraServiceTimeout: 24, packetLifeTime: 16, timewaitUs: ibTimeoutUs(16) * 2,
}
export const TESTBED_TIMEOUTS: CmTimeouts = {
  cmResponseTimeout: 16, maxCmRetries: 15, mraServiceTimeout: 18, packetLifeTime: 12, timewaitUs: 100_000,
}
