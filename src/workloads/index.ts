// Built-in workloads by name; anything else is a path to a user module exporting `default async function (vm)`.
import path from 'node:path'
import {pathToFileURL} from 'node:url'
import type {Workload} from './api.js'

export const BUILTIN: Record<string, () => Promise<Workload>> = {
  smoke: async () => (await import('./smoke.js')).default,
  'bench-write': async () => (await import('./bench-write.js')).default,
  'verbs-lat': async () => (await import('./verbs-lat.js')).default as Workload,
}

/** Whether the workload runs on two VMs (--vm and --peer). */
export const PAIRED = new Set(['smoke', 'bench-write'])

export async function loadWorkload(name: string): Promise<Workload> {
  const builtin = Object.hasOwn(BUILTIN, name) ? BUILTIN[name] : undefined
  if (builtin) return builtin()
  if (!path.isAbsolute(name)) throw new Error(`unknown workload ${name}: built-ins are ${Object.keys(BUILTIN).join(', ')}, or give an absolute path to a module`)
  const mod = (await import(pathToFileURL(name).href)) as {default?: unknown}
  if (typeof mod.default !== 'function') throw new Error(`${name} does not export a default function`)
  return mod.default as Workload
}
