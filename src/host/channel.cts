// Request/response over a worker MessagePort: {id, ...} out, {id, result | error} back.
import type {MessagePort, Worker} from 'node:worker_threads'

type Target = Worker | MessagePort
interface Pending {resolve: (v: any) => void; reject: (e: Error) => void; timer: NodeJS.Timeout}

export class WorkerChannel {
  private nextId = 1
  private readonly pending = new Map<number, Pending>()

  constructor(private readonly target: Target) {
    target.on('message', (m: {id?: number; result?: unknown; error?: string}) => {
      if (typeof m?.id !== 'number') return
      const p = this.pending.get(m.id)
      if (!p) return
      this.pending.delete(m.id)
      clearTimeout(p.timer)
      if (m.error !== undefined) p.reject(new Error(m.error))
      else p.resolve(m.result)
    })
  }

  request<T = any>(msg: Record<string, unknown>, timeoutMs: number, transfer?: any[]): Promise<T> {
    const id = this.nextId++
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id)
        reject(new Error(`${String(msg.type)} timed out after ${timeoutMs} ms`))
      }, timeoutMs)
      this.pending.set(id, {resolve, reject, timer})
      this.target.postMessage({...msg, id}, transfer)
    })
  }

  failAll(reason: string): void {
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer)
      p.reject(new Error(reason))
      this.pending.delete(id)
    }
  }
}

/** Worker side: answer requests with a handler; errors become {error: message}. */
export function serve(port: MessagePort, handler: (m: any) => unknown | Promise<unknown>): void {
  port.on('message', (m: {id?: number}) => {
    if (typeof m?.id !== 'number') return
    Promise.resolve()
      .then(() => handler(m))
      .then(
        (result) => port.postMessage({id: m.id, result}),
        (err: unknown) => port.postMessage({id: m.id, error: err instanceof Error ? err.message : String(err)}),
      )
  })
}
