// Built-in `verbs-lat`: the latency of each control verb, one sample per iteration (ns), through the public verbs
// API. What it measures is the path a control verb takes in each mode (DESIGN §2): sriov/bare straight to the
// RNIC worker, hyv/masq/freeflow through the backend (virtio round trip plus translation and checks). One VM.
//   params.iters (200) measured iterations after params.warmupIters (20); params.size (4096) bytes registered.
// Each iteration: alloc_pd, reg_mr, create_cq, create_qp, modify_qp INIT / RTR / RTS (connected to itself, a
// loopback QP as rxe allows), destroy_qp, destroy_cq, dereg_mr, dealloc_pd: the resource life cycle of an
// rdma_cm connection, with nothing left behind.
import {QpAttrMask as M, QpState} from '../rdma-constants.js'
import type {ControlVerb} from '../bench/results.js'
import type {VerbsRawResult} from '../bench/workload-contract.js'
import type {WorkloadContext} from './api.js'
import {REMOTE_ALL, sgidIndexOf} from './connect.js'

export default async function verbsLat(vm: WorkloadContext): Promise<VerbsRawResult> {
  const p = vm.params
  const iters = Number(p.iters ?? 200)
  const warmupIters = Number(p.warmupIters ?? 20)
  const size = Number(p.size ?? 4096)
  if (!(Number.isInteger(iters) && iters >= 1)) throw new Error(`verbs-lat: iters must be a positive integer (got ${String(p.iters)})`)
  const ctx = await vm.openDevice()
  const buf = vm.memory.alloc(size)
  // the device's own address (vBond: a masq/freeflow device has the VM's vIP, RConnrename maps it back to its host)
  const sgidIndex = sgidIndexOf(ctx, vm.vm.deviceIp)
  const samples: Record<string, number[]> = {}
  let measuring = false
  const timed = async <T>(verb: ControlVerb, f: () => Promise<T>): Promise<T> => {
    const t = performance.now()
    const r = await f()
    if (measuring) (samples[verb] ??= []).push(Math.round((performance.now() - t) * 1e6))
    return r
  }
  for (let i = 0; i < warmupIters + iters; i++) {
    measuring = i >= warmupIters
    const pd = await timed('alloc_pd', () => ctx.allocPd())
    const mr = await timed('reg_mr', () => pd.regMr(buf, REMOTE_ALL))
    const cq = await timed('create_cq', () => ctx.createCq(64))
    const qp = await timed('create_qp', () => pd.createQp({type: 'RC', sendCq: cq, recvCq: cq, cap: {maxSendWr: 16, maxRecvWr: 16}}))
    await timed('modify_qp_init', () => qp.modify({qpState: QpState.INIT, pkeyIndex: 0, portNum: 1, qpAccessFlags: REMOTE_ALL},
      M.STATE | M.PKEY_INDEX | M.PORT | M.ACCESS_FLAGS))
    await timed('modify_qp_rtr', () => qp.modify({
      qpState: QpState.RTR, pathMtu: ctx.info.maxMtu, destQpNum: qp.qpn, rqPsn: 0, maxDestRdAtomic: 4, minRnrTimer: 12,
      ahAttr: {dgid: `::ffff:${vm.vm.deviceIp}`, sgidIndex},
    }, M.STATE | M.AV | M.PATH_MTU | M.DEST_QPN | M.RQ_PSN | M.MAX_DEST_RD_ATOMIC | M.MIN_RNR_TIMER))
    await timed('modify_qp_rts', () => qp.modify({qpState: QpState.RTS, sqPsn: 0, timeout: 14, retryCnt: 7, rnrRetry: 7, maxRdAtomic: 4},
      M.STATE | M.TIMEOUT | M.RETRY_CNT | M.RNR_RETRY | M.SQ_PSN | M.MAX_QP_RD_ATOMIC))
    await timed('destroy_qp', () => qp.destroy())
    await timed('destroy_cq', () => cq.destroy())
    await timed('dereg_mr', () => mr.dereg())
    await timed('dealloc_pd', () => pd.dealloc())
  }
  return {contract: 1, test: 'verbs', iterations: iters, samplesNs: samples}
}
