// Built-in workloads by name; anything else is a path to a user module exporting `default async function (vm, options)`.
import {loadWorkloadFile} from '../vm/loader.js'
import {completeContext, type UserWorkload, type Workload} from './api.js'

/** A (vm, options) workload as the runner's (vm) => result: the context completed, options = params. */
export function adapt(fn: UserWorkload): Workload {
  return (ctx) => {
    const vm = completeContext(ctx)
    return fn(vm, vm.params)
  }
}

export const BUILTIN: Record<string, () => Promise<Workload>> = {
  smoke: async () => (await import('./smoke.js')).default,
  'bench-write': async () => (await import('./bench-write.js')).default,
  'verbs-lat': async () => (await import('./verbs-lat.js')).default as Workload,
  pingpong: async () => adapt((await import('./pingpong.js')).default),
  bw: async () => adapt((await import('./bw.js')).default),
  connrate: async () => adapt((await import('./connrate.js')).default),
  allreduce: async () => adapt((await import('./allreduce.js')).default),
  ud: async () => adapt((await import('./ud.js')).default),
}

/** Whether the workload runs on two VMs or more (--vm and --peer, or --vms). */
export const PAIRED = new Set(['smoke', 'bench-write', 'pingpong', 'bw', 'connrate', 'ud', 'allreduce'])

/** Built-ins that run on any number (≥ 2) of VMs at once (--vms a,b,c,...); other paired ones take exactly two. */
export const MULTI = new Set(['allreduce'])

export async function loadWorkload(name: string): Promise<Workload> {
  const builtin = Object.hasOwn(BUILTIN, name) ? BUILTIN[name] : undefined
  if (builtin) return builtin()
  if (!/[/\\]/.test(name)) throw new Error(`unknown workload ${name}: built-ins are ${Object.keys(BUILTIN).join(', ')}, or give a path to a .js/.mjs/.ts module`)
  return adapt((await loadWorkloadFile(name)).fn)
}
