import {afterEach, beforeEach, describe, expect, it} from 'vitest'
import fc from 'fast-check'
import fs from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import {FrameParser} from '../../../src/lab/framing.js'
import {RpcClient, RpcError, RpcErrorCode, RpcServer, encodeFrame, rpcCall} from '../../../src/lab/rpc.js'

let dir: string
let sock: string
let server: RpcServer

beforeEach(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'masq-rpc-'))
  sock = path.join(dir, 's.sock')
  server = new RpcServer(
    {
      echo: (p) => p,
      fail: () => {
        throw new RpcError(42, 'nope')
      },
      never: () => new Promise(() => {}),
    },
    1024,
  )
  await server.listen(sock)
})

afterEach(async () => {
  await server.close()
  fs.rmSync(dir, {recursive: true, force: true})
})

/** Send raw bytes, collect replies until `n` arrive. */
function raw(bytes: Buffer[], n: number): Promise<any[]> {
  return new Promise((resolve, reject) => {
    const out: any[] = []
    const s = net.createConnection(sock)
    const p = new FrameParser((b, o, l) => {
      out.push(JSON.parse(b.toString('utf8', o, o + l)))
      if (out.length === n) {
        s.destroy()
        resolve(out)
      }
    }, 1 << 20)
    s.on('data', (c: Buffer) => p.push(c))
    s.on('error', reject)
    s.on('connect', () => {
      for (const b of bytes) s.write(b)
    })
  })
}

describe('rpc', () => {
  it('answers calls with matching ids, concurrently', async () => {
    const c = await RpcClient.connect(sock)
    const rs = await Promise.all([1, 2, 3].map((i) => c.call('echo', {i})))
    expect(rs).toEqual([{i: 1}, {i: 2}, {i: 3}])
    c.close()
  })

  it('reports handler errors and unknown methods as error replies', async () => {
    await expect(rpcCall(sock, 'fail')).rejects.toMatchObject({code: 42, message: 'nope'})
    await expect(rpcCall(sock, 'nope')).rejects.toMatchObject({code: RpcErrorCode.MethodNotFound})
    await expect(rpcCall(sock, 'toString')).rejects.toMatchObject({code: RpcErrorCode.MethodNotFound})
    expect(server.stats.unknownMethod).toBe(2)
  })

  it('times out a call that gets no reply', async () => {
    await expect(rpcCall(sock, 'never', {}, 100)).rejects.toMatchObject({code: RpcErrorCode.Timeout})
  })

  it('handles a request split into single bytes', async () => {
    const f = encodeFrame({id: 7, method: 'echo', params: {x: 'y'}})
    const parts = [...f].map((b) => Buffer.from([b]))
    expect(await raw(parts, 1)).toEqual([{id: 7, result: {x: 'y'}}])
  })

  it('answers malformed and oversize frames with errors and keeps serving', async () => {
    const junk = Buffer.from('not json')
    const h = Buffer.alloc(4)
    h.writeUInt32BE(junk.length)
    const big = Buffer.alloc(4 + 5000)
    big.writeUInt32BE(5000)
    const replies = await raw(
      [Buffer.concat([h, junk]), encodeFrame([1, 2]), encodeFrame({id: 1}), big, encodeFrame({id: 2, method: 'echo', params: 5})],
      5,
    )
    expect(replies.map((r) => r.error?.code ?? r.result)).toEqual([
      RpcErrorCode.ParseError,
      RpcErrorCode.ParseError,
      RpcErrorCode.InvalidRequest,
      RpcErrorCode.Oversize,
      5,
    ])
    expect(server.stats).toMatchObject({malformed: 3, oversize: 1})
  })

  it('survives hostile byte streams', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.uint8Array({maxLength: 200}), {maxLength: 10}), async (chunks) => {
        await new Promise<void>((resolve) => {
          const s = net.createConnection(sock)
          s.on('error', () => resolve())
          s.on('connect', () => {
            for (const c of chunks) s.write(Buffer.from(c))
            s.end(() => resolve())
          })
        })
      }),
      {numRuns: 30},
    )
    expect(await rpcCall(sock, 'echo', 'still up')).toBe('still up')
  })
})
