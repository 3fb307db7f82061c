// The backend's channel to the lab controller (DESIGN §3: backend <-> controller control RPC): one persistent
// RPC connection, re-dialled with backoff when it drops, announcing this host with `hostHello`.
import {RpcClient, RpcError, RpcErrorCode} from '../lab/rpc.js'

export class ControllerLink {
  private client: RpcClient | undefined
  private closed = false
  private timer: NodeJS.Timeout | undefined
  connects = 0

  constructor(private readonly socket: string, private readonly hello: {host: string; pid: number}) {}

  get connected(): boolean {
    return this.client !== undefined
  }

  start(): void {
    this.dial(10)
  }

  private dial(delay: number): void {
    if (this.closed) return
    RpcClient.connect(this.socket, {timeoutMs: 2000}).then(
      async (c) => {
        if (this.closed) return c.close()
        c.onClose = () => {
          if (this.client === c) this.client = undefined
          this.retry(100)
        }
        try {
          await c.call('hostHello', this.hello, 5000)
          this.client = c
          this.connects++
        } catch {
          c.close()
        }
      },
      () => this.retry(Math.min(delay * 2, 500)),
    )
  }

  private retry(delay: number): void {
    if (this.closed) return
    this.timer = setTimeout(() => this.dial(delay), delay)
    this.timer.unref()
  }

  call<T = any>(method: string, params: unknown, timeoutMs = 5000): Promise<T> {
    if (!this.client) return Promise.reject(new RpcError(RpcErrorCode.Closed, 'not connected to the controller'))
    return this.client.call<T>(method, params, timeoutMs)
  }

  close(): void {
    this.closed = true
    clearTimeout(this.timer)
    this.client?.close()
    this.client = undefined
  }
}
