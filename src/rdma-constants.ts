// Names and numbers from rdma-core (libibverbs/verbs.h, librdmacm/rdma_cma.h) and the IBTA spec.
// Everything user-visible (statuses, opcodes, events) uses these exact names and values.

export const WcStatus = {
  SUCCESS: 0, LOC_LEN_ERR: 1, LOC_QP_OP_ERR: 2, LOC_EEC_OP_ERR: 3, LOC_PROT_ERR: 4, WR_FLUSH_ERR: 5,
  MW_BIND_ERR: 6, BAD_RESP_ERR: 7, LOC_ACCESS_ERR: 8, REM_INV_REQ_ERR: 9, REM_ACCESS_ERR: 10, REM_OP_ERR: 11,
  RETRY_EXC_ERR: 12, RNR_RETRY_EXC_ERR: 13, LOC_RDD_VIOL_ERR: 14, REM_INV_RD_REQ_ERR: 15, REM_ABORT_ERR: 16,
  INV_EECN_ERR: 17, INV_EEC_STATE_ERR: 18, FATAL_ERR: 19, RESP_TIMEOUT_ERR: 20, GENERAL_ERR: 21,
} as const
export type WcStatusName = keyof typeof WcStatus

// ibv_wc_status_str()
export const WC_STATUS_STR: Record<number, string> = {
  0: 'success', 1: 'local length error', 2: 'local QP operation error', 3: 'local EE context operation error',
  4: 'local protection error', 5: 'Work Request Flushed Error', 6: 'memory management operation error',
  7: 'bad response error', 8: 'local access error', 9: 'remote invalid request error', 10: 'remote access error',
  11: 'remote operation error', 12: 'transport retry counter exceeded', 13: 'RNR retry counter exceeded',
  14: 'local RDD violation error', 15: 'remote invalid RD request', 16: 'aborted error', 17: 'invalid EE context number',
  18: 'invalid EE context state', 19: 'fatal error', 20: 'response timeout error', 21: 'general error',
}

export const WcOpcode = {SEND: 0, RDMA_WRITE: 1, RDMA_READ: 2, COMP_SWAP: 3, FETCH_ADD: 4, BIND_MW: 5, LOCAL_INV: 6, RECV: 128, RECV_RDMA_WITH_IMM: 129} as const

export const WcFlags = {WITH_IMM: 1 << 1, GRH: 1 << 0, WITH_INV: 1 << 3} as const

export const WrOpcode = {
  RDMA_WRITE: 0, RDMA_WRITE_WITH_IMM: 1, SEND: 2, SEND_WITH_IMM: 3, RDMA_READ: 4,
  ATOMIC_CMP_AND_SWP: 5, ATOMIC_FETCH_AND_ADD: 6, LOCAL_INV: 7, BIND_MW: 8, SEND_WITH_INV: 9,
} as const

export const SendFlags = {FENCE: 1 << 0, SIGNALED: 1 << 1, SOLICITED: 1 << 2, INLINE: 1 << 3} as const

export const Access = {
  LOCAL_WRITE: 1, REMOTE_WRITE: 1 << 1, REMOTE_READ: 1 << 2, REMOTE_ATOMIC: 1 << 3, MW_BIND: 1 << 4, ZERO_BASED: 1 << 5,
} as const

export const QpType = {RC: 2, UC: 3, UD: 4, RAW_PACKET: 8} as const
export const QpState = {RESET: 0, INIT: 1, RTR: 2, RTS: 3, SQD: 4, SQE: 5, ERR: 6} as const
export type QpStateName = keyof typeof QpState

export const QpAttrMask = {
  STATE: 1 << 0, CUR_STATE: 1 << 1, EN_SQD_ASYNC_NOTIFY: 1 << 2, ACCESS_FLAGS: 1 << 3, PKEY_INDEX: 1 << 4,
  PORT: 1 << 5, QKEY: 1 << 6, AV: 1 << 7, PATH_MTU: 1 << 8, TIMEOUT: 1 << 9, RETRY_CNT: 1 << 10, RNR_RETRY: 1 << 11,
  RQ_PSN: 1 << 12, MAX_QP_RD_ATOMIC: 1 << 13, ALT_PATH: 1 << 14, MIN_RNR_TIMER: 1 << 15, SQ_PSN: 1 << 16,
  MAX_DEST_RD_ATOMIC: 1 << 17, PATH_MIG_STATE: 1 << 18, CAP: 1 << 19, DEST_QPN: 1 << 20,
} as const

export const Mtu = {256: 1, 512: 2, 1024: 3, 2048: 4, 4096: 5} as const // ibv_mtu enum by bytes

// enum ibv_event_type (async events)
export const AsyncEvent = {
  CQ_ERR: 0, QP_FATAL: 1, QP_REQ_ERR: 2, QP_ACCESS_ERR: 3, COMM_EST: 4, SQ_DRAINED: 5, PATH_MIG: 6,
  PATH_MIG_ERR: 7, DEVICE_FATAL: 8, PORT_ACTIVE: 9, PORT_ERR: 10, LID_CHANGE: 11, PKEY_CHANGE: 12, SM_CHANGE: 13,
  SRQ_ERR: 14, SRQ_LIMIT_REACHED: 15, QP_LAST_WQE_REACHED: 16, CLIENT_REREGISTER: 17, GID_CHANGE: 18,
} as const

// enum rdma_cm_event_type
export const CmEvent = {
  ADDR_RESOLVED: 0, ADDR_ERROR: 1, ROUTE_RESOLVED: 2, ROUTE_ERROR: 3, CONNECT_REQUEST: 4, CONNECT_RESPONSE: 5,
  CONNECT_ERROR: 6, UNREACHABLE: 7, REJECTED: 8, ESTABLISHED: 9, DISCONNECTED: 10, DEVICE_REMOVAL: 11,
  MULTICAST_JOIN: 12, MULTICAST_ERROR: 13, ADDR_CHANGE: 14, TIMEWAIT_EXIT: 15,
} as const

export const PortSpace = {IPOIB: 0x0002, TCP: 0x0106, UDP: 0x0111, IB: 0x013f} as const
export const RDMA_UDP_QKEY = 0x01234567
export const GSI_QKEY = 0x80010000
export const ROCE_V2_UDP_PORT = 4791

// IB CM REJ reasons (IBTA table 112) that masq emits.
export const RejReason = {
  NO_QP: 1, NO_RESOURCES: 3, TIMEOUT: 4, INVALID_COMM_ID: 6, INVALID_SERVICE_ID: 8, STALE_CONN: 10,
  PRIMARY_REMOTE_GID_REJECTED: 12, INVALID_MTU: 26, INSUFFICIENT_RESP_RESOURCES: 27, CONSUMER_DEFINED: 28,
} as const

export const Errno = {EPERM: 1, ENOENT: 2, EIO: 5, EAGAIN: 11, ENOMEM: 12, EFAULT: 14, EBUSY: 16, EINVAL: 22, ENOSPC: 28, EADDRNOTAVAIL: 99, ETIMEDOUT: 110, ECONNREFUSED: 111, EHOSTUNREACH: 113, EDQUOT: 122} as const
