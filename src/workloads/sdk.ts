// Everything a workload module needs, in one import: the context type, librdmacm / libibverbs names and numbers,
// and the rdma_cm helpers the built-in workloads use (docs/workload-api.md).
export type {UserWorkload, WorkloadContext, WorkloadVm} from './api.js'
export {requireCm} from './api.js'
export {Access, CmEvent, PortSpace, QpState, RDMA_UDP_QKEY, SendFlags, WC_STATUS_STR, WcFlags, WcOpcode, WcStatus, WrOpcode} from '../rdma-constants.js'
export type {CmId, ConnParam, EventChannel, RdmaCm, RdmaCmEvent} from '../cm/rdma-cm.js'
export type {Cq, Mr, Pd, Qp, Region, SendWr, Wc} from '../verbs/index.js'
export {
  accept, checkWc, CmEvents, connect, type Connection, decodeRemote, DEFAULT_PORT, disconnect, encodeRemote, EVENT_NAMES,
  idleCq, listen, type Listener, peerIp, peerName, pollCq, runKey, waitUntil, WC_NAMES,
} from './rdma.js'
