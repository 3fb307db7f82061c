// NO_COLOR (https://no-color.org) and non-terminal output: the commands that colour their output (listr2 progress
// in up, oclif's help and errors) print no colour when NO_COLOR is set, even on a terminal (a pty from
// util-linux `script`), and no escape sequence at all when their output is not a terminal. A positive control
// shows that the same commands do colour a terminal without NO_COLOR, so the checks can fail.
import fs from 'node:fs'
import path from 'node:path'
import {execa} from 'execa'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {ensureBuilt, ROOT, tempDir} from '../integration/lab/helpers.js'

const BIN = path.join(ROOT, 'bin', 'run.js')
const dir = tempDir('nocolor')
const topo = path.join(dir, 'lab.yaml')
const SGR = /\x1b\[[0-9;]*m/ // a colour or style sequence
const ESC = '\x1b['

// FORCE_COLOR unset in every run; MASQ_DATA_DIR private
const baseEnv = () => {
  const env: Record<string, string> = {}
  // CI (set by most CI runners) makes supports-color answer 'no colour' even on a terminal: the positive control
  // needs a plain terminal, so the variables that decide colour are left out
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !['FORCE_COLOR', 'NO_COLOR', 'CI', 'TERM'].includes(k)) env[k] = v
  env.TERM = 'xterm-256color'
  env.MASQ_DATA_DIR = path.join(dir, 'data')
  return env
}
const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`

/** On a pty: `script` merges stdout and stderr into its own stdout. */
async function onTty(args: string[], noColor: boolean): Promise<{exitCode: number; out: string}> {
  const env = {...baseEnv(), ...(noColor ? {NO_COLOR: '1'} : {})}
  const r = await execa('script', ['-qec', ['node', BIN, ...args].map(quote).join(' '), '/dev/null'], {env, extendEnv: false, reject: false, cwd: dir, stdin: 'ignore'})
  return {exitCode: r.exitCode ?? -1, out: r.stdout}
}

/** Piped (not a terminal), NO_COLOR unset. */
async function piped(args: string[]): Promise<{exitCode: number; stdout: string; stderr: string}> {
  const r = await execa('node', [BIN, ...args], {env: baseEnv(), extendEnv: false, reject: false, cwd: dir})
  return {exitCode: r.exitCode ?? -1, stdout: r.stdout, stderr: r.stderr}
}

beforeAll(async () => {
  await ensureBuilt()
  const r = await piped(['init', topo, '--template', 'two-host'])
  expect(r.exitCode, r.stderr).toBe(0)
}, 300_000)

afterAll(async () => {
  await piped(['down', '--all'])
  fs.rmSync(dir, {recursive: true, force: true})
})

// every command that reports something, on a running lab where it needs one
const LAB_COMMANDS = [
  ['status', 'two-host'],
  ['run', 'two-host', 'smoke', '--vm', 'vm1', '--peer', 'vm2'],
  ['rules', 'two-host', 'add', 'rdma', 'ingress', '--cidr', '10.0.0.0/24', '--ports', '9000'],
  ['capture', 'two-host', '-o', 'lab.pcap'],
]
// (kept short: every CLI start costs seconds on a loaded 2-core machine) help, an error, a table
const PLAIN_COMMANDS = [['--help'], ['validate', 'missing.yaml'], ['attack-test', '--scenario', 'C01']]

describe('NO_COLOR and non-terminal output', () => {
  it('positive control: on a terminal without NO_COLOR, help and up are coloured', async () => {
    expect((await onTty(['--help'], false)).out).toMatch(SGR)
    const up = await onTty(['up', 'lab.yaml', '--capture'], false)
    expect(up.exitCode, up.out).toBe(0)
    expect(up.out).toMatch(SGR) // listr2's progress
    expect((await onTty(['down', 'two-host'], false)).exitCode).toBe(0)
  }, 120_000)

  it('NO_COLOR=1 on a terminal: no colour from any command, lab commands included', async () => {
    for (const args of PLAIN_COMMANDS) {
      const r = await onTty(args, true)
      expect(r.out, args.join(' ')).not.toMatch(SGR)
    }
    const up = await onTty(['up', 'lab.yaml', '--capture'], true)
    expect(up.exitCode, up.out).toBe(0)
    expect(up.out).not.toMatch(SGR)
    expect(up.out).toContain('Start controller')
    for (const args of LAB_COMMANDS) {
      const r = await onTty(args, true)
      expect(r.exitCode, `${args.join(' ')}: ${r.out}`).toBe(0)
      expect(r.out, args.join(' ')).not.toMatch(SGR)
    }
    const down = await onTty(['down', 'two-host'], true)
    expect(down.exitCode, down.out).toBe(0)
    expect(down.out).not.toMatch(SGR)
  }, 240_000)

  it('not a terminal (NO_COLOR unset): no escape sequence at all on stdout or stderr', async () => {
    for (const args of PLAIN_COMMANDS) {
      const r = await piped(args)
      expect(r.stdout + r.stderr, args.join(' ')).not.toContain(ESC)
    }
    const up = await piped(['up', 'lab.yaml', '--capture'])
    expect(up.exitCode, up.stderr).toBe(0)
    expect(up.stdout + up.stderr).not.toContain(ESC)
    for (const args of LAB_COMMANDS) {
      const r = await piped(args)
      expect(r.exitCode, `${args.join(' ')}: ${r.stderr}`).toBe(0)
      expect(r.stdout + r.stderr, args.join(' ')).not.toContain(ESC)
    }
    const down = await piped(['down', 'two-host'])
    expect(down.exitCode, down.stderr).toBe(0)
    expect(down.stdout + down.stderr).not.toContain(ESC)
  }, 240_000)
})
