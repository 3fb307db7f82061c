// Hardware counters with rxe's names (rxe_hw_counters.h, enum rxe_counters), per QP and per port,
// plus drops by decoder status and by hdr_check reason.

export const Counter = {
  SENT_PKTS: 0, RCVD_PKTS: 1, DUP_REQ: 2, OUT_OF_SEQ_REQ: 3, RCV_RNR: 4, SND_RNR: 5, RCV_SEQ_ERR: 6,
  COMPLETER_SCHED: 7, RETRY_EXCEEDED: 8, RNR_RETRY_EXCEEDED: 9, COMP_RETRY: 10, SEND_ERR: 11, LINK_DOWNED: 12,
  RDMA_SEND: 13, RDMA_RECV: 14, SENT_BYTES: 15, RCVD_BYTES: 16, NAK_SENT: 17, NAK_RCVD: 18,
} as const
export type CounterName = keyof typeof Counter
export const COUNTER_NAMES = Object.keys(Counter) as CounterName[]
export const N_COUNTERS = COUNTER_NAMES.length

/** Reasons hdr_check (rxe_recv.c) and the responder drop a packet silently. */
export const DropReason = {
  DGID: 'dgid_not_local', TVER: 'bad_tver', QPN0: 'qpn_zero', NO_QP: 'no_such_qp', QP_TYPE: 'opcode_qp_type',
  QP_STATE: 'qp_state', ADDR: 'addr_mismatch', PKEY: 'bad_pkey', QKEY: 'qkey_violation', UC_DROP: 'uc_drop',
  UD_NO_WQE: 'ud_no_recv_wqe', UD_LENGTH: 'ud_length', BAD_RESPONSE: 'bad_response', DUPLICATE: 'duplicate_drop',
  REENTRANT: 'reentrant_receive',
} as const

export class Counters {
  readonly v = new Float64Array(N_COUNTERS)

  inc(c: number, by = 1): void {
    this.v[c]! += by
  }

  toJSON(): Record<CounterName, number> {
    const out = {} as Record<CounterName, number>
    for (let i = 0; i < N_COUNTERS; i++) out[COUNTER_NAMES[i]!] = this.v[i]!
    return out
  }
}

/** Named drop counts: keys are DecodeStatus names or DropReason values. */
export class DropCounters {
  readonly byReason = new Map<string, number>()
  inc(reason: string): void {
    this.byReason.set(reason, (this.byReason.get(reason) ?? 0) + 1)
  }
  get(reason: string): number {
    return this.byReason.get(reason) ?? 0
  }
  toJSON(): Record<string, number> {
    return Object.fromEntries(this.byReason)
  }
}
