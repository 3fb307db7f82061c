// What a scenario step that ran inside a lab VM hands back to the suite: the same probes, invariants and controls
// a ScenarioContext records (types.ts), as plain JSON, plus step-specific data for the orchestrator.
import type {Check, Probe} from '../types.js'

export interface StepRecord {
  vm: string
  step: string
  probes: Probe[]
  invariants: Check[]
  controls: Check[]
  log: string[]
  data: Record<string, unknown>
}

export class StepRecorder {
  readonly probes: Probe[] = []
  readonly invariants: Check[] = []
  readonly controls: Check[] = []
  readonly log: string[] = []
  data: Record<string, unknown> = {}

  constructor(readonly vm: string, readonly step: string) {}

  probe(p: Probe): void {
    this.probes.push(p)
  }
  invariant(name: string, ok: boolean | 'n/a', detail?: string): void {
    this.invariants.push({name, ok, detail})
  }
  control(name: string, ok: boolean, detail?: string): void {
    this.controls.push({name, ok, detail})
  }
  note(msg: string): void {
    this.log.push(msg)
  }

  toJSON(): StepRecord {
    return {vm: this.vm, step: this.step, probes: this.probes, invariants: this.invariants, controls: this.controls, log: this.log, data: this.data}
  }
}
