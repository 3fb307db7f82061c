// Q_Key rules (IBA 1.6 §3.5.3, §10.2.5 C10-15; catalogue C14). Q_Keys with bit 31 set are "controlled": a
// consumer may not choose one (kernel commit 0cadb4db: modify_qp with such a Q_Key needs CAP_NET_RAW, else
// -EPERM). The MasQ backend holds CAP_NET_RAW, so it must make the same refusal on the tenant's behalf;
// otherwise a tenant could take the GSI Q_Key 0x80010000 and talk to QP1 (CM MADs) of any host.
import {Errno} from '../rdma-constants.js'

export const CONTROLLED_QKEY_BIT = 0x80000000

export const isControlledQkey = (qkey: number): boolean => ((qkey >>> 0) & CONTROLLED_QKEY_BIT) !== 0

export type QkeyCheck = {ok: true; qkey: number} | {ok: false; errno: number; code: 'EPERM' | 'EINVAL'; message: string}

/** a Q_Key a tenant asks for (modify_qp with IBV_QP_QKEY, or a UD QP's creation attributes) */
export function checkTenantQkey(qkey: unknown): QkeyCheck {
  if (typeof qkey !== 'number' || !Number.isInteger(qkey) || qkey < 0 || qkey > 0xffffffff) {
    return {ok: false, errno: Errno.EINVAL, code: 'EINVAL', message: `Q_Key ${String(qkey)} is not a 32-bit value`}
  }
  if (isControlledQkey(qkey)) {
    const hex = `0x${qkey.toString(16).padStart(8, '0')}`
    return {ok: false, errno: Errno.EPERM, code: 'EPERM', message: `Q_Key ${hex} is a controlled Q_Key (bit 31 set): not available to tenants`}
  }
  return {ok: true, qkey}
}

/** C10-15: a send WR whose remote Q_Key has bit 31 set uses the QP's own Q_Key (hns, erdma, mthca do so) */
export const effectiveRemoteQkey = (wrQkey: number, qpQkey: number): number =>
  isControlledQkey(wrQkey) ? qpQkey >>> 0 : wrQkey >>> 0
