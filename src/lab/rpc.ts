// Control RPC over Unix stream sockets: u32 big-endian length + UTF-8 JSON.
// Requests {id, method, params}; replies {id, result} or {id, error: {code, message}}.
// Error codes follow JSON-RPC 2.0 (parse error -32700, invalid request -32600, method not found -32601,
// internal -32603); -32000 is a client-side timeout, -32001 a closed connection.
// Hostile bytes are counted drops or error replies, never a crash.
import net from 'node:net'
import fs from 'node:fs'
import {FrameParser} from './framing.js'

export const RPC_MAX_FRAME = 16 * 1024 * 1024
export const RpcErrorCode = {
  ParseError: -32700,
  InvalidRequest: -32600,
  MethodNotFound: -32601,
  Internal: -32603,
  Timeout: -32000,
  Closed: -32001,
  Oversize: -32002,
} as const

export class RpcError extends Error {
  constructor(readonly code: number, message: string) {
    super(message)
    this.name = 'RpcError'
  }
}

export type RpcHandler = (params: any, ctx: {socket: net.Socket}) => unknown | Promise<unknown>
export type RpcHandlers = Record<string, RpcHandler>

export interface RpcServerStats {requests: number; malformed: number; oversize: number; unknownMethod: number; failed: number}

export function encodeFrame(msg: unknown): Buffer {
  const body = Buffer.from(JSON.stringify(msg), 'utf8')
  const out = Buffer.allocUnsafe(4 + body.length)
  out.writeUInt32BE(body.length, 0)
  body.copy(out, 4)
  return out
}

/** Parse one frame body as JSON; undefined on malformed input. */
function decodeJson(buf: Buffer, off: number, len: number): unknown {
  try {
    return JSON.parse(buf.toString('utf8', off, off + len))
  } catch {
    return undefined
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

export class RpcServer {
  readonly stats: RpcServerStats = {requests: 0, malformed: 0, oversize: 0, unknownMethod: 0, failed: 0}
  private server: net.Server | undefined
  private readonly sockets = new Set<net.Socket>()
  private path = ''

  constructor(private readonly handlers: RpcHandlers, private readonly maxFrame = RPC_MAX_FRAME) {}

  async listen(path: string): Promise<void> {
    this.path = path
    try {
      fs.unlinkSync(path) // a stale socket file from a killed process would give EADDRINUSE
    } catch {}
    const server = net.createServer((s) => this.accept(s))
    this.server = server
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(path, () => {
        server.off('error', reject)
        resolve()
      })
    })
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy()
    const server = this.server
    this.server = undefined
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()))
    try {
      if (this.path) fs.unlinkSync(this.path)
    } catch {}
  }

  private accept(socket: net.Socket): void {
    this.sockets.add(socket)
    socket.on('close', () => this.sockets.delete(socket))
    socket.on('error', () => {}) // a peer that vanishes mid-reply is not our failure
    const parser = new FrameParser(
      (buf, off, len) => this.onFrame(socket, decodeJson(buf, off, len)),
      this.maxFrame,
      (len) => {
        this.stats.oversize++
        this.reply(socket, {id: null, error: {code: RpcErrorCode.Oversize, message: `frame of ${len} bytes exceeds ${this.maxFrame}`}})
      },
    )
    socket.on('data', (chunk: Buffer) => parser.push(chunk))
  }

  private onFrame(socket: net.Socket, msg: unknown): void {
    if (!isObject(msg)) {
      this.stats.malformed++
      this.reply(socket, {id: null, error: {code: RpcErrorCode.ParseError, message: 'malformed frame'}})
      return
    }
    const id = typeof msg.id === 'number' || typeof msg.id === 'string' ? msg.id : null
    if (id === null || typeof msg.method !== 'string') {
      this.stats.malformed++
      this.reply(socket, {id, error: {code: RpcErrorCode.InvalidRequest, message: 'request needs an id and a method'}})
      return
    }
    const handler = Object.hasOwn(this.handlers, msg.method) ? this.handlers[msg.method] : undefined
    if (!handler) {
      this.stats.unknownMethod++
      this.reply(socket, {id, error: {code: RpcErrorCode.MethodNotFound, message: `unknown method ${msg.method}`}})
      return
    }
    this.stats.requests++
    Promise.resolve()
      .then(() => handler(msg.params ?? {}, {socket}))
      .then(
        (result) => this.reply(socket, {id, result: result ?? null}),
        (err: unknown) => {
          this.stats.failed++
          const code = err instanceof RpcError ? err.code : RpcErrorCode.Internal
          this.reply(socket, {id, error: {code, message: err instanceof Error ? err.message : String(err)}})
        },
      )
  }

  private reply(socket: net.Socket, msg: unknown): void {
    if (!socket.destroyed && socket.writable) socket.write(encodeFrame(msg))
  }
}

interface Pending {resolve: (v: unknown) => void; reject: (e: Error) => void; timer: NodeJS.Timeout}

export class RpcClient {
  private nextId = 1
  private readonly pending = new Map<number, Pending>()
  private closed = false
  dropped = 0 // replies that matched no pending call or did not parse

  private constructor(private readonly socket: net.Socket, readonly defaultTimeoutMs: number) {
    const parser = new FrameParser((buf, off, len) => this.onFrame(decodeJson(buf, off, len)), RPC_MAX_FRAME, () => this.dropped++)
    socket.on('data', (chunk: Buffer) => parser.push(chunk))
    socket.on('error', () => {})
    socket.on('close', () => {
      this.failAll(new RpcError(RpcErrorCode.Closed, 'connection closed'))
      this.onClose?.()
    })
  }

  /** Called once when the connection ends (either side). */
  onClose: (() => void) | undefined

  static connect(path: string, opts: {timeoutMs?: number} = {}): Promise<RpcClient> {
    const timeoutMs = opts.timeoutMs ?? 5000
    return new Promise((resolve, reject) => {
      const socket = net.createConnection(path)
      const timer = setTimeout(() => {
        socket.destroy()
        reject(new RpcError(RpcErrorCode.Timeout, `connect to ${path} timed out after ${timeoutMs} ms`))
      }, timeoutMs)
      socket.once('error', (err) => {
        clearTimeout(timer)
        reject(err)
      })
      socket.once('connect', () => {
        clearTimeout(timer)
        socket.removeAllListeners('error')
        resolve(new RpcClient(socket, timeoutMs))
      })
    })
  }

  call<T = any>(method: string, params: unknown = {}, timeoutMs = this.defaultTimeoutMs): Promise<T> {
    if (this.closed) return Promise.reject(new RpcError(RpcErrorCode.Closed, 'connection closed'))
    const id = this.nextId++
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id)
        reject(new RpcError(RpcErrorCode.Timeout, `${method} timed out after ${timeoutMs} ms`))
      }, timeoutMs)
      this.pending.set(id, {resolve: resolve as (v: unknown) => void, reject, timer})
      this.socket.write(encodeFrame({id, method, params}))
    })
  }

  close(): void {
    this.closed = true
    this.socket.destroy()
    this.failAll(new RpcError(RpcErrorCode.Closed, 'connection closed'))
  }

  private onFrame(msg: unknown): void {
    if (!isObject(msg) || typeof msg.id !== 'number') {
      this.dropped++
      return
    }
    const p = this.pending.get(msg.id)
    if (!p) {
      this.dropped++
      return
    }
    this.pending.delete(msg.id)
    clearTimeout(p.timer)
    if (isObject(msg.error)) p.reject(new RpcError(Number(msg.error.code) || RpcErrorCode.Internal, String(msg.error.message)))
    else p.resolve(msg.result)
  }

  private failAll(err: Error): void {
    this.closed = true
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer)
      p.reject(err)
      this.pending.delete(id)
    }
  }
}

/** One-shot call: connect, call, close. */
export async function rpcCall<T = any>(path: string, method: string, params: unknown = {}, timeoutMs = 5000): Promise<T> {
  const client = await RpcClient.connect(path, {timeoutMs})
  try {
    return await client.call<T>(method, params, timeoutMs)
  } finally {
    client.close()
  }
}
