// Connecting an RC QP pair without rdma_cm: each side publishes {qpn, psn, rkey, addr} under the run id and takes
// the peer's, then INIT -> RTR -> RTS (the modify sequence of perftest / ibv_rc_pingpong).
// The address vector names the peer's *device* address (vBond: its vIP in masq/freeflow); the MasQ backend's
// RConnrename rewrites it to the host GIDs, so the VM never learns where its peer lives on the fabric.
import {Access, QpAttrMask as M, QpState} from '../rdma-constants.js'
import type {Context, Mr, Qp} from '../verbs/index.js'
import type {WorkloadContext} from './api.js'

export interface Endpoint {qpn: number; psn: number; rkey: number; addr: string; deviceIp: string; gid: string}

export const REMOTE_ALL = Access.LOCAL_WRITE | Access.REMOTE_WRITE | Access.REMOTE_READ

/** The GID index of this VM's device address (vBond: masq/freeflow devices have only their own). */
export function sgidIndexOf(ctx: Context, deviceIp: string): number {
  const i = ctx.info.gids.indexOf(`::ffff:${deviceIp}`)
  if (i < 0) throw new Error(`the device has no GID for ${deviceIp} (GIDs: ${ctx.info.gids.join(', ')})`)
  return i
}

/** Publish our endpoint, wait for the peer's, move the QP to RTS. Returns the peer's endpoint. */
export async function connectRc(vm: WorkloadContext, ctx: Context, qp: Qp, mr: Mr, tag = 'qp'): Promise<Endpoint> {
  if (!vm.peer) throw new Error('this workload needs a peer VM (--peer)')
  const sgidIndex = sgidIndexOf(ctx, vm.vm.deviceIp)
  const psn = Math.floor(Math.random() * 0xffffff)
  await qp.modify({qpState: QpState.INIT, pkeyIndex: 0, portNum: 1, qpAccessFlags: REMOTE_ALL}, M.STATE | M.PKEY_INDEX | M.PORT | M.ACCESS_FLAGS)
  const mine: Endpoint = {qpn: qp.qpn, psn, rkey: mr.rkey, addr: mr.addr.toString(), deviceIp: vm.vm.deviceIp, gid: vm.vm.gid}
  await vm.publish(`${vm.runId}/${tag}/${vm.vm.name}`, mine)
  const peer = await vm.waitFor<Endpoint>(`${vm.runId}/${tag}/${vm.peer.name}`)
  await qp.modify({
    qpState: QpState.RTR, pathMtu: ctx.info.maxMtu, destQpNum: peer.qpn, rqPsn: peer.psn, maxDestRdAtomic: 4, minRnrTimer: 12,
    ahAttr: {dgid: `::ffff:${peer.deviceIp}`, sgidIndex},
  }, M.STATE | M.AV | M.PATH_MTU | M.DEST_QPN | M.RQ_PSN | M.MAX_DEST_RD_ATOMIC | M.MIN_RNR_TIMER)
  await qp.modify({qpState: QpState.RTS, sqPsn: psn, timeout: 14, retryCnt: 7, rnrRetry: 7, maxRdAtomic: 4},
    M.STATE | M.TIMEOUT | M.RETRY_CNT | M.RNR_RETRY | M.SQ_PSN | M.MAX_QP_RD_ATOMIC)
  return peer
}
