// The `masq demo` document (stdout with --json) and what each step reports.

export const DEMO_VERSION = 1

export type StepId = 'up' | 'traffic' | 'isolation' | 'rules' | 'capture' | 'bench' | 'attacks' | 'down'

export interface StepResult {
  id: StepId
  title: string
  ok: boolean
  /** skipped: an earlier step it needs failed (the reason is in `error`) */
  skipped?: boolean
  ms: number
  /** the narrative, one sentence a line, as printed */
  lines: string[]
  error?: string
  /** the step's figures (verdicts, timings, ratios) for machines */
  data?: Record<string, unknown>
}

export interface DemoDoc {
  version: typeof DEMO_VERSION
  ok: boolean
  quick: boolean
  lab: {name: string; labDir: string; kept: boolean; stop?: string}
  outDir: string
  durationMs: number
  steps: StepResult[]
  /** what the out dir holds, relative to it */
  files: string[]
}

export interface DemoOptions {
  quick?: boolean
  keep?: boolean
  /** default: ./masq-demo-<timestamp>/ */
  outDir?: string
  signal?: AbortSignal
  /** a narrative line (the command prints it on stdout, or on stderr with --json) */
  say?: (line: string) => void
  /** progress lines (stderr) */
  progress?: (line: string) => void
  /** listr2 renderer for `up` (default: by terminal) */
  renderer?: 'default' | 'simple' | 'silent'
}
