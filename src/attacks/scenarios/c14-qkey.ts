// C14: UD Q_Key abuse. A datagram whose DETH Q_Key differs from the QP's is dropped silently (rxe check_keys,
// qkey_viol_cntr): the sender sees SUCCESS, so the oracle is the victim's RQ and counters (catalogue §8).
// C14b: a tenant asking for a controlled Q_Key (bit 31, e.g. the GSI's 0x80010000) gets EPERM from the backend
// (kernel commit 0cadb4db); an RNIC alone has no such gate, so C14b needs the MasQ backend.

import {Access, QpAttrMask as M, QpState} from '../../rdma-constants.js'
import type {Qp} from '../../verbs/index.js'
import type {AttackEnv} from '../env.js'
import {deltaString, dropDelta} from '../inject.js'
import {errnoOf, postAndWait, statusName} from '../ops.js'
import type {Scenario} from '../types.js'
import {endpoint, type Endpoint} from './common.js'

const VICTIM_QKEY = 0x11110000 | 0x2345

async function udQp(ep: Endpoint, qkey: number): Promise<Qp> {
  const qp = await ep.pd.createQp({type: 'UD', sendCq: ep.cq, recvCq: ep.cq, cap: {maxSendWr: 16, maxRecvWr: 16}})
  await qp.modify({qpState: QpState.INIT, pkeyIndex: 0, portNum: 1, qkey}, M.STATE | M.PKEY_INDEX | M.PORT | M.QKEY)
  await qp.modify({qpState: QpState.RTR}, M.STATE)
  await qp.modify({qpState: QpState.RTS, sqPsn: 0}, M.STATE | M.SQ_PSN)
  return qp
}

async function udSend(env: AttackEnv, from: Endpoint, qp: Qp, to: Endpoint, qpn: number, qkey: number): Promise<string> {
  from.buf.bytes.fill(0xee, 0, 64)
  const wc = await postAndWait(env, qp, from.cq, {sgList: [{addr: from.mr.addr, length: 64, lkey: from.mr.lkey}],
    ud: {ah: from.pd.createAh({dgid: to.vm.ip}), remoteQpn: qpn, remoteQkey: qkey}})
  return wc ? (wc.status < 0 ? `errno ${-wc.status}` : statusName(wc.status)) : 'NO_COMPLETION'
}

export const c14: Scenario = {
  id: 'C14', catalogue: 'C14', title: 'UD Q_Key mismatch (silent drop, counter, victim RQ untouched)', attackerModel: 'T1', needs: ['rnic-checks'],
  async run(env, ctx) {
    const atk = await endpoint(env, 'red-1')
    const svc = await endpoint(env, 'blue-2')
    const legit = await endpoint(env, 'blue-1')
    const vq = await udQp(svc, VICTIM_QKEY)
    const rx = svc.vm.memory.alloc(4096, 4096)
    const rxMr = await svc.pd.regMr(rx, Access.LOCAL_WRITE)
    vq.postRecv({wrId: 1n, sgList: [{addr: rxMr.addr, length: 4096, lkey: rxMr.lkey}]})
    const aq = await udQp(atk, 0x0badc0de)
    const host = svc.vm.host
    const guesses = [0, 0x0badc0de, VICTIM_QKEY ^ 1, VICTIM_QKEY + 0x100, 0x7fffffff]
    for (const qkey of guesses) {
      const d0 = env.counters(host).drops
      const st = await udSend(env, atk, aq, svc, vq.qpn, qkey)
      const d = dropDelta(d0, env.counters(host).drops)
      const cqes = svc.cq.poll(4)
      const untouched = cqes.length === 0 && rx.bytes.every((b) => b === 0)
      ctx.probe({name: `UD SEND with guessed Q_Key 0x${qkey.toString(16)}`, want: 'denied', expected: 'sender SUCCESS, drop qkey_violation +1, victim RQ untouched',
        observed: `sender ${st}, ${deltaString(d)}, ${untouched ? 'victim RQ untouched' : `victim got ${cqes.length} CQE(s)`}`,
        ok: st === 'SUCCESS' && d.qkey_violation === 1 && untouched})
    }
    // positive control: the legitimate sender with the right Q_Key is delivered (the posted receive is consumed)
    const lq = await udQp(legit, 0x0badc0de)
    const st = await udSend(env, legit, lq, svc, vq.qpn, VICTIM_QKEY)
    await env.settle({until: () => false})
    const got = svc.cq.poll(4)
    ctx.control('UD SEND with the right Q_Key is delivered', st === 'SUCCESS' && got.length === 1 && got[0]!.status === 0 && rx.bytes[40] === 0xee,
      `sender ${st}, ${got.length} receive completion(s)`)
  },
}

export const c14b: Scenario = {
  id: 'C14b', catalogue: 'C14', title: 'privileged (controlled) Q_Key refused to tenants', attackerModel: 'T1', needs: ['backend-policy'],
  async run(env, ctx) {
    const atk = await endpoint(env, 'red-1')
    const qp = await atk.pd.createQp({type: 'UD', sendCq: atk.cq, recvCq: atk.cq, cap: {}})
    for (const qkey of [0x80010000, 0x80000000]) {
      const got = await errnoOf(qp.modify({qpState: QpState.INIT, pkeyIndex: 0, portNum: 1, qkey}, M.STATE | M.PKEY_INDEX | M.PORT | M.QKEY))
      ctx.probe({name: `modify_qp qkey 0x${qkey.toString(16)}`, want: 'denied', expected: 'EPERM', observed: got, ok: got === 'EPERM'})
      if (got === 'OK') await qp.modify({qpState: QpState.RESET}, M.STATE)
    }
    const got = await errnoOf(qp.modify({qpState: QpState.INIT, pkeyIndex: 0, portNum: 1, qkey: 0x1234}, M.STATE | M.PKEY_INDEX | M.PORT | M.QKEY))
    ctx.control('modify_qp with an ordinary Q_Key succeeds', got === 'OK', got)
  },
}
