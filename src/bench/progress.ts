// Progress of a bench run on stderr: which mode, which test and size, how far, and an ETA from the
// mean duration of the steps done so far. One rewritten line on a TTY, plain lines otherwise (CI logs).

export interface ProgressStep {
  mode: string
  test: string
  op?: string
  size?: number
}

export interface ProgressOptions {
  total: number
  stream?: {write(s: string): unknown; isTTY?: boolean}
  /** Overrides stream.isTTY. */
  tty?: boolean
  /** ms clock; injectable for tests. */
  now?: () => number
}

export class Progress {
  private readonly stream: {write(s: string): unknown}
  private readonly tty: boolean
  private readonly now: () => number
  private readonly started: number
  private done = 0
  private current: ProgressStep | undefined

  constructor(private readonly opts: ProgressOptions) {
    this.stream = opts.stream ?? process.stderr
    this.tty = opts.tty ?? Boolean((opts.stream ?? process.stderr).isTTY)
    this.now = opts.now ?? (() => performance.now())
    this.started = this.now()
  }

  /** A step begins: print what runs now and the ETA of the rest. */
  start(step: ProgressStep): void {
    this.current = step
    this.write(this.line(step))
  }

  /** The current step finished. */
  finish(): void {
    this.done = Math.min(this.done + 1, this.opts.total)
  }

  /** Leave the TTY line and print a closing line. */
  end(message = 'done'): void {
    const elapsed = formatDuration(this.now() - this.started)
    if (this.tty) this.stream.write('\r\x1b[2K')
    this.stream.write(`[bench] ${message} in ${elapsed}\n`)
  }

  /** ms left, from the mean step so far; undefined before the first step completes. */
  eta(): number | undefined {
    if (this.done === 0) return undefined
    return ((this.now() - this.started) / this.done) * (this.opts.total - this.done)
  }

  line(step: ProgressStep = this.current ?? {mode: '-', test: '-'}): string {
    const what = [step.mode, step.test, step.op, step.size === undefined ? undefined : `${formatSize(step.size)}`].filter((x) => x !== undefined).join(' ')
    const eta = this.eta()
    return `[bench ${this.done + 1}/${this.opts.total}] ${what}  ETA ${eta === undefined ? '?' : formatDuration(eta)}`
  }

  private write(line: string): void {
    this.stream.write(this.tty ? `\r\x1b[2K${line}` : `${line}\n`)
  }
}

/** 2 -> "2 B", 65536 -> "64 KiB", 8388608 -> "8 MiB". */
export function formatSize(bytes: number): string {
  if (bytes >= 1 << 20 && bytes % (1 << 20) === 0) return `${bytes / (1 << 20)} MiB`
  if (bytes >= 1024 && bytes % 1024 === 0) return `${bytes / 1024} KiB`
  return `${bytes} B`
}

/** 4200 -> "4s", 125000 -> "2m05s". */
export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000))
  if (s < 60) return `${s}s`
  const m = Math.floor(s / 60)
  if (m < 60) return `${m}m${String(s % 60).padStart(2, '0')}s`
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`
}
