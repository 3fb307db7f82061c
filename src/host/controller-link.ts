// The backend's channel to the lab controller (DESIGN §3: backend <-> controller control RPC): one persistent
// RPC connection, re-dialled with backoff when it drops, announcing this host with `hostHello`.
import {RpcClient, RpcError, RpcErrorCode} from '../lab/rpc.js'

export class ControllerLink {
  private client: RpcClient | undefined
  private closed = false
  private timer: NodeJS.Timeout | undefined
  private waiters: Array<() => void> = []
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
          const w = this.waiters
          this.waiters = []
          for (const f of w) f()
        } catch {
          c.close()
        }
      },
      // `up` starts the controller and the hosts at once: keep re-dialling often while it comes up
      () => this.retry(Math.min(delay * 2, 100)),
    )
  }

  private retry(delay: number): void {
    if (this.closed) return
    this.timer = setTimeout(() => this.dial(delay), delay)
    this.timer.unref()
  }

  /** Resolves true once connected (and announced), false after timeoutMs. */
  waitConnected(timeoutMs: number): Promise<boolean> {
    if (this.client) return Promise.resolve(true)
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(t)
        resolve(true)
      }
      const t = setTimeout(() => {
        this.waiters = this.waiters.filter((f) => f !== done)
        resolve(false)
      }, timeoutMs)
      this.waiters.push(done)
    })
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
