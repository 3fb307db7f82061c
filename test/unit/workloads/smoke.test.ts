// The built-in smoke (rendezvous-connected RC QPs) also runs on in-process VMs, with and without frame loss.
import {describe, expect, it} from 'vitest'
import {runInProcess} from '../../../src/vm/inprocess.js'

describe('smoke in process', () => {
  for (const loss of [0, 0.05]) {
    it(`SEND, WRITE and READ of every size arrive intact${loss ? ' with 5% frame loss' : ''}`, async () => {
      const res = await runInProcess('smoke', {loss, seed: 2})
      for (const r of res) expect(r, JSON.stringify(r)).toMatchObject({ok: true, result: {ok: true}})
      const ops = (res[0] as {result: {ops: Array<{op: string}>}}).result.ops
      expect(new Set(ops.map((o) => o.op))).toEqual(new Set(['SEND', 'RDMA_WRITE', 'RDMA_READ']))
    })
  }
})
