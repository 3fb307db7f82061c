// Coalescing runner (rxe_task.c rxe_do_task): a request that arrives while the engine runs arms one more pass
// instead of re-entering it, so requester/completer/responder never nest on the same QP.

export class Task {
  private busy = false
  private armed = false

  constructor(private readonly fn: () => void) {}

  run(): void {
    if (this.busy) {
      this.armed = true
      return
    }
    this.busy = true
    try {
      do {
        this.armed = false
        this.fn()
      } while (this.armed)
    } finally {
      this.busy = false
    }
  }
}
