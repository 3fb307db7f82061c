// Where a lab's plan comes from: a .json file holding a ResolvedPlan is read as is (handy for tests and
// `masq up plan.json`); anything else is a topology loaded by the step-1 loader (imported on that path only).
import fs from 'node:fs'
import path from 'node:path'
import {PLAN_VERSION, type ResolvedPlan} from '../topology/types.js'

export interface PlanError {file: string; line: number; col: number; path: string; message: string; hint?: string}

export class PlanLoadError extends Error {
  constructor(readonly errors: PlanError[]) {
    super(formatPlanErrors(errors))
    this.name = 'PlanLoadError'
  }
}

/** Same shape as `masq validate`: file:line:col: message (at path), then the hint. */
export function formatPlanErrors(errors: PlanError[]): string {
  return errors
    .map((e) => `${e.file}:${e.line}:${e.col}: ${e.message}${e.path ? ` (at ${e.path})` : ''}${e.hint ? `\n  hint: ${e.hint}` : ''}`)
    .join('\n')
}

function checkPlanShape(file: string, v: unknown): ResolvedPlan {
  const err = (message: string, p = ''): never => {
    throw new PlanLoadError([{file, line: 1, col: 1, path: p, message}])
  }
  if (typeof v !== 'object' || v === null) return err('a plan must be a JSON object')
  const p = v as Partial<ResolvedPlan>
  if (p.version !== PLAN_VERSION) err(`plan version must be ${PLAN_VERSION}`, 'version')
  if (typeof p.name !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(p.name)) err('plan needs a name of letters, digits, ".", "_", "-"', 'name')
  if (!Array.isArray(p.hosts) || p.hosts.length === 0) err('plan needs at least one host', 'hosts')
  if (!Array.isArray(p.vms)) err('plan needs a vms list', 'vms')
  return p as ResolvedPlan
}

export async function loadPlan(file: string): Promise<ResolvedPlan> {
  if (file.endsWith('.json')) {
    let text: string
    try {
      text = fs.readFileSync(file, 'utf8')
    } catch (e) {
      throw new PlanLoadError([{file, line: 1, col: 1, path: '', message: `cannot read: ${(e as Error).message}`}])
    }
    let json: unknown
    try {
      json = JSON.parse(text)
    } catch (e) {
      throw new PlanLoadError([{file, line: 1, col: 1, path: '', message: `not JSON: ${(e as Error).message}`}])
    }
    return checkPlanShape(file, json)
  }
  // the topology loader (yaml, the schema validator) is loaded for topologies only: a plan .json starts without it
  const {loadTopology} = await import('../topology/load.js')
  const r = await loadTopology(file)
  if (!r.ok) throw new PlanLoadError(r.errors)
  return {...r.plan, source: r.plan.source ?? path.resolve(file)}
}
