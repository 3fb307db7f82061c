// A key/value rendezvous in the controller: workloads exchange QP numbers, PSNs, rkeys and addresses here before
// rdma_cm exists (step 5). waitFor resolves when the key is published, or fails after its timeout.
export class Rendezvous {
  private readonly values = new Map<string, unknown>()
  private readonly waiters = new Map<string, Array<(v: unknown) => void>>()
  static readonly MAX_KEYS = 10_000

  publish(key: string, value: unknown): void {
    if (!this.values.has(key) && this.values.size >= Rendezvous.MAX_KEYS) {
      // oldest first: runs publish a handful of keys each, so this only drops long-finished ones
      this.values.delete(this.values.keys().next().value as string)
    }
    this.values.set(key, value)
    const w = this.waiters.get(key)
    this.waiters.delete(key)
    for (const f of w ?? []) f(value)
  }

  waitFor(key: string, timeoutMs: number): Promise<unknown> {
    if (this.values.has(key)) return Promise.resolve(this.values.get(key))
    return new Promise((resolve, reject) => {
      const list = this.waiters.get(key) ?? []
      const timer = setTimeout(() => {
        const l = this.waiters.get(key)
        if (l) l.splice(l.indexOf(done), 1)
        reject(new Error(`rendezvous: nothing published under ${key} within ${timeoutMs} ms`))
      }, timeoutMs)
      const done = (v: unknown) => {
        clearTimeout(timer)
        resolve(v)
      }
      list.push(done)
      this.waiters.set(key, list)
    })
  }

  get size(): number {
    return this.values.size
  }
}
