// Process identity from /proc: a pid is only "ours" if its start time (field 22 of /proc/<pid>/stat, clock
// ticks since boot) matches the one recorded at spawn. This guards every kill against pid reuse.
import fs from 'node:fs'

export interface ProcStat {state: string; pgid: number; startTime: string}

export function readProcStat(pid: number): ProcStat | undefined {
  let text: string
  try {
    text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8')
  } catch {
    return undefined
  }
  // comm (field 2) may contain spaces and parentheses: split after the last ')'.
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ')
  // rest[0] is field 3 (state), rest[2] field 5 (pgrp), rest[19] field 22 (starttime)
  return {state: rest[0], pgid: Number(rest[2]), startTime: rest[19]}
}

/** Alive and the same process we started: not reused, not a zombie. */
export function isOurs(pid: number, startTime: string): boolean {
  const st = readProcStat(pid)
  return st !== undefined && st.state !== 'Z' && st.state !== 'X' && st.startTime === startTime
}

export async function sleep(ms: number): Promise<void> {
  await new Promise((r) => setTimeout(r, ms))
}

/** Poll until pred() is true or timeout; returns the last value of pred(). */
export async function waitFor(pred: () => boolean, timeoutMs: number, stepMs = 25): Promise<boolean> {
  const deadline = Date.now() + timeoutMs
  while (!pred()) {
    if (Date.now() >= deadline) return pred()
    await sleep(stepMs)
  }
  return true
}
