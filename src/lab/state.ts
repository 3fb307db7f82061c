// The lab directory: masq-<lab>/ next to the topology (or --lab-dir) holding plan.json, state.json and
// logs/<node>.log. state.json is rewritten (atomically) as each process is spawned, so a SIGKILLed `up`
// leaves enough behind for `down` to clean up.
import fs from 'node:fs'
import path from 'node:path'
import type {ResolvedPlan} from '../topology/types.js'

export type Role = 'controller' | 'host'

export interface ProcRecord {
  node: string
  role: Role
  pid: number
  pgid: number
  startTime: string // field 22 of /proc/<pid>/stat
  startedAt: string // ISO wall clock, for uptime
  socket: string
  log: string
}

export const STATE_VERSION = 1

export interface LabState {
  version: typeof STATE_VERSION
  lab: string
  labDir: string
  socketDir: string
  source?: string
  status: 'starting' | 'running' | 'stopping'
  createdAt: string
  processes: ProcRecord[]
}

export const labPaths = (labDir: string) => ({
  plan: path.join(labDir, 'plan.json'),
  state: path.join(labDir, 'state.json'),
  logs: path.join(labDir, 'logs'),
  log: (node: string) => path.join(labDir, 'logs', `${node}.log`),
})

export function defaultLabDir(plan: ResolvedPlan, topologyFile: string): string {
  return path.join(path.dirname(path.resolve(topologyFile)), `masq-${plan.name}`)
}

function writeAtomic(file: string, text: string): void {
  const tmp = `${file}.${process.pid}.tmp`
  fs.writeFileSync(tmp, text)
  fs.renameSync(tmp, file)
}

export function writePlan(labDir: string, plan: ResolvedPlan): string {
  fs.mkdirSync(labPaths(labDir).logs, {recursive: true})
  const file = labPaths(labDir).plan
  writeAtomic(file, JSON.stringify(plan, null, 2) + '\n')
  return file
}

export function writeState(state: LabState): void {
  writeAtomic(labPaths(state.labDir).state, JSON.stringify(state, null, 2) + '\n')
}

export function readState(labDir: string): LabState | undefined {
  try {
    return JSON.parse(fs.readFileSync(labPaths(labDir).state, 'utf8')) as LabState
  } catch {
    return undefined
  }
}

export function removeState(labDir: string): void {
  fs.rmSync(labPaths(labDir).state, {force: true})
}

export function readPlanFile(labDir: string): ResolvedPlan | undefined {
  try {
    return JSON.parse(fs.readFileSync(labPaths(labDir).plan, 'utf8')) as ResolvedPlan
  } catch {
    return undefined
  }
}
