// `masq demo`: the main job on the embedded default topology, one step after another, each told in a few
// sentences: up (capture on), verified traffic in each VPC, a refused cross-tenant connect, a live rule change,
// the merged capture, a short bench, the attack suite, down. The lab is torn down on failure and on Ctrl-C too.
import fs from 'node:fs'
import path from 'node:path'
import {plural} from '../cli/plural.js'
import {captureFiles, mergeCapture} from '../lab/capture.js'
import {down, up} from '../lab/lifecycle.js'
import {loadTopologyText} from '../topology/load.js'
import {DEFAULT_TOPOLOGY} from '../topology/default.js'
import type {ResolvedPlan} from '../topology/types.js'
import {DemoStepError, isolationStep, rulesStep, trafficStep, type LabRef, type StepOutput} from './lab-steps.js'
import {summarizeCaptures} from './capture-summary.js'
import {attackStep, benchStep} from './side-steps.js'
import {DEMO_VERSION, type DemoDoc, type DemoOptions, type StepId, type StepResult} from './types.js'

export const DEMO_LAB = 'demo'

/** ./masq-demo-YYYYMMDD-HHMMSS (local time), made unique if it exists. */
export function defaultOutDir(now = new Date(), cwd = process.cwd()): string {
  const p = (n: number) => String(n).padStart(2, '0')
  const stamp = `${now.getFullYear()}${p(now.getMonth() + 1)}${p(now.getDate())}-${p(now.getHours())}${p(now.getMinutes())}${p(now.getSeconds())}`
  let dir = path.join(cwd, `masq-demo-${stamp}`)
  for (let i = 2; fs.existsSync(dir); i++) dir = path.join(cwd, `masq-demo-${stamp}-${i}`)
  return dir
}

/** The embedded default topology, named `demo`, capture on. */
export function demoPlan(): ResolvedPlan {
  const r = loadTopologyText(DEFAULT_TOPOLOGY.replace(/^name: default$/m, `name: ${DEMO_LAB}`), '<default>')
  if (!r.ok) throw new Error(`embedded default topology is invalid: ${r.errors[0]!.message}`)
  r.plan.fabric.capture = true
  return r.plan
}

const TITLES: Record<StepId, string> = {
  up: 'Start the lab', traffic: 'Verified traffic in each VPC', isolation: 'Cross-tenant connect',
  rules: 'Live security-group change', capture: 'Merged packet capture', bench: 'Side-by-side bench',
  attacks: 'Attack suite', down: 'Tear down',
}

export async function runDemo(o: DemoOptions = {}): Promise<DemoDoc> {
  const t0 = performance.now()
  const say = o.say ?? ((l: string) => process.stdout.write(l + '\n'))
  const progress = o.progress ?? ((l: string) => process.stderr.write(l + '\n'))
  const quick = o.quick ?? false
  const outDir = path.resolve(o.outDir ?? defaultOutDir())
  fs.mkdirSync(outDir, {recursive: true})
  const labDir = path.join(outDir, 'lab')
  const plan = demoPlan()
  const ref: LabRef = {name: plan.name, labDir}
  const steps: StepResult[] = []
  const order: StepId[] = ['up', 'traffic', 'isolation', 'rules', 'down', 'capture', 'bench', 'attacks']
  say(`masq demo${quick ? ' --quick' : ''}: two hosts, two tenants (blue and red) whose VPCs both use 10.0.0.0/24, four VMs; output in ${outDir}`)

  // needsLab: skipped unless the lab is up; always: runs even after Ctrl-C (teardown)
  const run = async (id: StepId, fn: () => Promise<StepOutput>, needsLab = false, always = false): Promise<boolean> => {
    const n = order.indexOf(id) + 1
    const head = `[${n}/${order.length}] ${TITLES[id]}`
    const t = performance.now()
    let r: StepResult
    if (o.signal?.aborted && !always) {
      r = {id, title: TITLES[id], ok: false, skipped: true, ms: 0, lines: [], error: 'interrupted'}
    } else if (needsLab && !steps.find((s) => s.id === 'up')?.ok) {
      r = {id, title: TITLES[id], ok: false, skipped: true, ms: 0, lines: [], error: 'the lab did not start'}
    } else {
      try {
        const out = await (always ? fn() : abortable(fn(), o.signal))
        r = {id, title: TITLES[id], ok: true, ms: Math.round(performance.now() - t), lines: out.lines, data: out.data}
      } catch (err) {
        const e = err as Error
        r = {id, title: TITLES[id], ok: false, ms: Math.round(performance.now() - t), lines: e instanceof DemoStepError ? e.lines : [],
          error: o.signal?.aborted ? 'interrupted' : e.message, ...(e instanceof DemoStepError ? {data: e.data} : {})}
      }
    }
    steps.push(r)
    const status = r.skipped ? 'SKIPPED' : r.ok ? 'ok' : 'FAILED'
    say(`${head}: ${status}${r.skipped ? '' : ` (${(r.ms / 1000).toFixed(1)} s)`}`)
    for (const l of r.lines) say(`    ${l}`)
    if (r.error) say(`    ${r.skipped ? 'skipped' : 'error'}: ${r.error}`)
    return r.ok
  }

  const announceKept = () => {
    steps.push({id: 'down', title: TITLES.down, ok: true, skipped: true, ms: 0, lines: keepLines(ref), error: 'kept (--keep)'})
    say(`[${order.indexOf('down') + 1}/${order.length}] ${TITLES.down}: kept (--keep)`)
    for (const l of keepLines(ref)) say(`    ${l}`)
  }
  let started = false
  let stopped = false
  let downTried = false // a failed down is reported once, not retried
  const stopLab = () => run('down', async () => {
    downTried = true
    const r = await down(ref)
    stopped = true
    return {
      lines: [`${plural(r.processes.length, 'process', 'processes')} stopped (${r.processes.map((p) => `${p.node} ${p.outcome}`).join(', ')}); no socket or process of the lab is left; its logs stay in lab/`],
      data: {processes: r.processes.length},
    }
  }, false, true)
  try {
    await run('up', async () => {
      await up(plan, {labDir, signal: o.signal, renderer: o.renderer})
      started = true
      const tenants = plan.tenants.map((t) => `${t.name} (VNI ${t.vni}, ${t.cidr})`).join(' and ')
      return {
        lines: [
          `lab ${plan.name}: a controller and ${plan.hosts.length} host processes (${plan.hosts.map((h) => `${h.name} ${h.underlay}`).join(', ')}), each with a MasQ backend and an emulated RNIC; capture on`,
          `${plan.vms.length} VMs in tenants ${tenants}: ${plan.vms.map((v) => `${v.name}=${v.vip}@${v.host}`).join(', ')}`,
          'the same virtual IPs exist in both VPCs: only the VNI tells them apart, and the wire carries host addresses only',
        ],
        data: {lab: plan.name, labDir, hosts: plan.hosts.length, vms: plan.vms.length},
      }
    })
    await run('traffic', () => trafficStep(ref, plan, quick ? {iters: 50, size: 4096} : {iters: 200, size: 16384}), true)
    await run('isolation', () => isolationStep(ref, plan), true)
    await run('rules', () => rulesStep(ref, plan, o.signal), true)
    // the bench starts labs of its own: stop this one first (its pcaps are complete once its hosts have exited)
    if (started && !o.keep) await stopLab()
    else if (started) announceKept()
    await run('capture', () => captureStep(ref, plan, outDir, {waitFlush: !stopped}), true)
    await run('bench', () => benchStep(outDir, {quick, signal: o.signal, progress}))
    await run('attacks', () => attackStep(outDir, {quick}))
  } finally {
    // also on failure and Ctrl-C: the demo lab never outlives a failed or interrupted demo
    if (started && !stopped && !downTried && (!o.keep || o.signal?.aborted)) {
      const kept = steps.findIndex((s) => s.id === 'down')
      if (kept >= 0) steps.splice(kept, 1) // --keep, then Ctrl-C: stopped after all
      await stopLab()
    }
  }
  const kept = started && !stopped
  const doc: DemoDoc = {
    version: DEMO_VERSION,
    ok: steps.every((s) => s.ok),
    quick,
    lab: {name: ref.name, labDir, kept, ...(kept ? {stop: `masq down ${ref.name}`} : {})},
    outDir,
    durationMs: Math.round(performance.now() - t0),
    steps,
    files: listFiles(outDir),
  }
  fs.writeFileSync(path.join(outDir, 'demo.json'), JSON.stringify({...doc, files: [...doc.files, 'demo.json'].sort()}, null, 2) + '\n')
  doc.files = [...doc.files, 'demo.json'].sort()
  return doc
}

/** Merge the hosts' pcaps into capture.pcap and say what is in it. */
async function captureStep(ref: LabRef, plan: ResolvedPlan, outDir: string, o: {waitFlush: boolean}): Promise<StepOutput> {
  // a running lab's pcap writers flush every 500 ms (src/host/rnic-worker.ts): let the last frames reach the files
  if (o.waitFlush) await new Promise((r) => setTimeout(r, 700))
  const file = path.join(outDir, 'capture.pcap')
  const r = mergeCapture(ref.labDir, file)
  const byName = new Map(plan.hosts.map((h) => [h.name, h.underlay]))
  const files = captureFiles(ref.labDir).flatMap((f) => {
    const ip = byName.get(path.basename(f, '.pcap'))
    return ip ? [{file: f, hostIp: ip}] : []
  })
  const c = summarizeCaptures(files, new Set(byName.values()))
  const cm = Object.entries(c.cm).map(([k, v]) => `${v} ${k}`).join(', ')
  const dscp = Object.entries(c.dscp).map(([k, v]) => `DSCP ${k}: ${v}`).join(', ')
  const lines = [
    `${plural(c.frames, 'frame')} on the fabric: ${c.data} RoCEv2 data and ACK frames, ${plural(Object.values(c.cm).reduce((a, b) => a + b, 0), 'CM MAD')} (${cm || 'none'}) [${dscp}]`,
    c.foreign.length === 0
      ? `every IP header carries a host address (${[...byName.values()].join(', ')}): the VMs' 10.0.0.x appear only inside the CM REQs' private data`
      : `IP headers carry addresses that are not hosts': ${c.foreign.join(', ')}`,
    `capture.pcap: ${r.frames} records, both hosts' ports merged in time order (so each frame twice: as sent and as received)`,
    `read it: tshark -r ${path.relative(process.cwd(), file) || file} --disable-protocol rpcordma -Y infiniband.cm   (Wireshark: docs/capture.md)`,
  ]
  const data = {records: r.frames, ...c}
  if (c.foreign.length) throw new DemoStepError('virtual addresses leaked into IP headers', lines, data)
  return {lines, data}
}

export function keepLines(ref: LabRef): string[] {
  return [
    `the lab is still running: masq status ${ref.name}   ·   masq logs ${ref.name} host1`,
    `run a workload on it: masq run ${ref.name} smoke --vm blue1 --peer blue2`,
    `stop it: masq down ${ref.name}`,
  ]
}

/** Top-level files of the out dir, and the lab dir as one entry. */
function listFiles(dir: string): string[] {
  return fs.readdirSync(dir, {withFileTypes: true}).map((e) => (e.isDirectory() ? `${e.name}/` : e.name)).sort()
}

/** Reject as soon as the signal fires; the finally above tears the lab down. */
function abortable<T>(p: Promise<T>, signal?: AbortSignal): Promise<T> {
  if (!signal) return p
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new Error('interrupted'))
    if (signal.aborted) return onAbort()
    signal.addEventListener('abort', onAbort, {once: true})
    p.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort))
  })
}
