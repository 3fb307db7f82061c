// sriov QoS (DESIGN §2: "per-VF rate limit"): an sriov VM drives its virtual function straight from the RNIC
// worker (no backend), so no one outside the RNIC sees its QPs being created. As on real NICs, whose VF rate
// limit covers every queue of the VF, the VF's command port is served through this wrapper: every QP the VM
// creates joins the VF's rate-limit group (Rnic.setRateLimit, one token bucket per VF at its tenant's rate), and
// leaves it when destroyed. Control path only: nothing here runs per packet.

import {isRnicError, type Rnic} from '../rnic/rnic.js'

export interface VfRate {group: string; bytesPerSec: number; burstBytes?: number}

/** The RNIC as a VF's command port sees it: createQp/destroyQp keep the VF's rate-limit group up to date. */
export function vfRnic(rnic: Rnic, rate: VfRate): Rnic {
  const qpns = new Set<number>()
  const update = () => {
    rnic.setRateLimit({group: rate.group, qpns: [...qpns], bytesPerSec: qpns.size ? rate.bytesPerSec : 0, burstBytes: rate.burstBytes})
  }
  const createQp: Rnic['createQp'] = (...args) => {
    const r = rnic.createQp(...args)
    if (!isRnicError(r)) {
      qpns.add(r.qpn)
      update()
    }
    return r
  }
  const destroyQp: Rnic['destroyQp'] = (...args) => {
    const r = rnic.destroyQp(...args)
    if (!isRnicError(r) && qpns.delete(args[0])) update()
    return r
  }
  return new Proxy(rnic, {
    get(target, key) {
      if (key === 'createQp') return createQp
      if (key === 'destroyQp') return destroyQp
      const v = Reflect.get(target, key, target) as unknown
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v
    },
  })
}
