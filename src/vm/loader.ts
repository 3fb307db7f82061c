// Loading and running a user's workload module: `export default async function (vm, options)` in a .js/.mjs file,
// or a .ts/.mts file compiled on the fly by tsx (its ESM loader hook, registered once). A run never throws: a
// workload that throws, rejects or hangs becomes {ok: false, error: {message, stack}}.
import path from 'node:path'
import {pathToFileURL} from 'node:url'
import {completeContext, type UserWorkload, type WorkloadContext} from '../workloads/api.js'

export interface LoadedWorkload {
  name: string
  fn: UserWorkload
}

export type RunOutcome =
  | {vm: string; ok: true; ms: number; result: unknown}
  | {vm: string; ok: false; ms: number; error: {message: string; stack?: string}}

export class WorkloadLoadError extends Error {}

const TS = /\.[cm]?ts$/
const JS = /\.[cm]?js$/

// tsx is loaded only when a .ts workload runs, so a VM worker still starts with node: built-ins only
// (test/unit/lab/entry-imports.test.ts); the specifier is a variable for that reason.
const TSX_ESM_API = 'tsx/esm/api'
let tsxRegistered: Promise<void> | undefined
function registerTsx(): Promise<void> {
  tsxRegistered ??= (import(TSX_ESM_API) as Promise<{register: () => unknown}>).then((m) => {
    m.register()
  })
  return tsxRegistered
}

/** Load a workload module by path; its default export must be a function (the workload). */
export async function loadWorkloadFile(file: string): Promise<LoadedWorkload> {
  const abs = path.resolve(file)
  if (!TS.test(abs) && !JS.test(abs)) throw new WorkloadLoadError(`${file}: a workload module is a .js, .mjs or .ts file`)
  if (TS.test(abs)) await registerTsx()
  let mod: Record<string, unknown>
  try {
    mod = (await import(pathToFileURL(abs).href)) as Record<string, unknown>
  } catch (err) {
    const msg = (err as Error)?.message ?? String(err)
    // tsx compiles a .ts file as CommonJS unless its package.json says "type": "module"; ESM imports then fail
    const hint = /\.ts$/.test(abs) && /require\(\)|require\(esm\)|ERR_REQUIRE_ESM/.test(msg)
      ? ' (a .ts file outside an ESM package is compiled as CommonJS: rename it .mts, or put {"type": "module"} in its package.json)'
      : ''
    throw new WorkloadLoadError(`cannot load workload ${file}: ${msg}${hint}`)
  }
  return asWorkload(mod.default, file)
}

/** Validate a module's default export. */
export function asWorkload(fn: unknown, name: string): LoadedWorkload {
  if (typeof fn !== 'function') {
    throw new WorkloadLoadError(`${name} must export a default function: export default async function (vm, options) {...} (its default export is ${fn === undefined ? 'missing' : typeof fn})`)
  }
  return {name, fn: fn as UserWorkload}
}

/** Run a workload on one VM context with a deadline; every failure becomes a result. */
export async function runWithTimeout(w: LoadedWorkload, ctx: WorkloadContext, timeoutMs: number): Promise<RunOutcome> {
  const t0 = performance.now()
  const vm = ctx.vm.name
  let timer: NodeJS.Timeout | undefined
  try {
    const full = completeContext(ctx)
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`workload ${w.name} did not finish within ${timeoutMs} ms`)), timeoutMs)
    })
    const result = await Promise.race([Promise.resolve().then(() => w.fn(full, full.params)), timeout])
    return {vm, ok: true, ms: performance.now() - t0, result}
  } catch (err) {
    const e = err instanceof Error ? err : new Error(typeof err === 'string' ? err : `non-Error thrown: ${safeString(err)}`)
    return {vm, ok: false, ms: performance.now() - t0, error: {message: `${w.name} on ${vm}: ${e.message}`, stack: e.stack}}
  } finally {
    clearTimeout(timer)
  }
}

function safeString(v: unknown): string {
  try {
    return JSON.stringify(v) ?? String(v)
  } catch {
    return String(v)
  }
}
