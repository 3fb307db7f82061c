// Lab start-up, tear-down, memory and wire throughput.   npx tsx bench/lab-up.ts [--runs N] [--no-link]
// Needs dist/ built (npm run build). Uses a private registry (MASQ_DATA_DIR) in a temp dir.
// Targets (issue 4): up of 16 hosts x 4 VMs ready in <= 5 s, down in <= 2 s; memory per host reported;
// linkTest of 4 KiB frames batched into 64 KiB (and 256 KiB) writes against the raw Unix-socket ceiling.
// Start-up is CPU-bound on a small machine (every host is a process with 1 + 1 + VMs isolates), so next to the
// wall time it reports the CPU the lab's processes used until ready: that figure does not move with other load.
import fs from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import {performance} from 'node:perf_hooks'
import {fileURLToPath} from 'node:url'
import {execa} from 'execa'
import {makePlan} from '../test/fixtures/plans/generate.js'
import {rpcCall} from '../src/lab/rpc.js'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const runs = Number(process.argv[process.argv.indexOf('--runs') + 1]) || 2
const withLink = !process.argv.includes('--no-link')
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'masq-bench-'))
const env = {MASQ_DATA_DIR: path.join(tmp, 'data')}
const cli = (args: string[]) => execa(process.execPath, [path.join(ROOT, 'bin', 'run.js'), ...args], {env, reject: false})

function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))
  return m ? Number(m[1]) / 1024 : NaN
}
/** CPU time (user + system, all threads) of a live process, in ms: fields 14 and 15 of /proc/<pid>/stat. */
function cpuMs(pid: number): number {
  const text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8')
  const f = text.slice(text.lastIndexOf(')') + 2).split(' ')
  return ((Number(f[11]) + Number(f[12])) * 1000) / CLK_TCK
}
const CLK_TCK = 100 // sysconf(_SC_CLK_TCK) on Linux x86-64 and arm64
const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const f1 = (x: number) => x.toFixed(1)
const progress = (msg: string) => process.stderr.write(`${msg}\n`)

/** Raw ceiling: a child Node process receives 64 KiB writes over a Unix socket and acks the total. */
async function rawUnixSocket(totalBytes: number, writeBytes: number): Promise<number> {
  const sock = path.join(tmp, `raw-${performance.now().toFixed(0)}.sock`)
  const receiver = `
    const net = require('node:net'); let n = 0
    const s = net.createServer((c) => c.on('data', (d) => { n += d.length; if (n >= ${totalBytes}) c.end('k') }))
    s.listen(${JSON.stringify(sock)}, () => process.stdout.write('ready\\n'))`
  const child = execa(process.execPath, ['-e', receiver], {reject: false})
  await new Promise<void>((resolve, reject) => {
    child.stdout!.once('data', () => resolve())
    void child.then((r) => reject(new Error(`raw receiver exited: ${r.stderr}`)))
  })
  const c = net.createConnection(sock)
  await new Promise((r) => c.once('connect', r))
  const buf = Buffer.alloc(writeBytes, 1)
  const t0 = performance.now()
  const done = new Promise((r) => c.once('data', r))
  for (let sent = 0; sent < totalBytes; sent += writeBytes) if (!c.write(buf)) await new Promise((r) => c.once('drain', r))
  await done
  const mbps = totalBytes / 1e6 / ((performance.now() - t0) / 1000)
  c.destroy()
  child.kill()
  await child
  return mbps
}

try {
  const plan16 = path.join(tmp, 'sixteen.json')
  fs.writeFileSync(plan16, JSON.stringify(makePlan('bench16', 16, 4)))
  const ups: number[] = []
  const downs: number[] = []
  let hostRss: number[] = []
  let ctlRss = 0
  const labCpu: number[] = []
  let hostCpu: number[] = []
  let ctlCpu = 0
  for (let i = 0; i < runs; i++) {
    progress(`up/down 16 hosts x 4 VMs, run ${i + 1}`)
    let t = performance.now()
    const u = await cli(['up', plan16, '--json'])
    ups.push((performance.now() - t) / 1000)
    if (u.exitCode !== 0) throw new Error(`up failed: ${u.stderr}`)
    const lab = JSON.parse(String(u.stdout))
    hostRss = lab.processes.filter((p: any) => p.role === 'host').map((p: any) => rssMiB(p.pid))
    ctlRss = rssMiB(lab.processes.find((p: any) => p.role === 'controller').pid)
    hostCpu = lab.processes.filter((p: any) => p.role === 'host').map((p: any) => cpuMs(p.pid))
    ctlCpu = cpuMs(lab.processes.find((p: any) => p.role === 'controller').pid)
    labCpu.push((hostCpu.reduce((a, b) => a + b, 0) + ctlCpu) / 1000)
    t = performance.now()
    const d = await cli(['down', plan16])
    downs.push((performance.now() - t) / 1000)
    if (d.exitCode !== 0) throw new Error(`down failed: ${d.stderr}`)
  }
  // The CLI's own start (oclif) is part of what a user waits for; measure it alone for reference.
  let t = performance.now()
  await cli(['version'])
  const cliStart = (performance.now() - t) / 1000

  const link: Record<string, any> = {}
  let raw = NaN
  if (withLink) {
    progress('linkTest h1 -> h2')
    const plan2 = path.join(tmp, 'two.json')
    fs.writeFileSync(plan2, JSON.stringify(makePlan('bench2', 2, 1)))
    const u2 = await cli(['up', plan2, '--json'])
    if (u2.exitCode !== 0) throw new Error(`up failed: ${u2.stderr}`)
    const h1 = JSON.parse(String(u2.stdout)).processes.find((p: any) => p.node === 'h1')
    const frames = 50_000
    for (const batch of [65536, 262144]) {
      await rpcCall(h1.socket, 'linkTest', {peer: 'h2', frames: 2000, size: 4096, batch}, 60_000) // warm-up
      const rs = []
      for (let i = 0; i < 3; i++) rs.push(await rpcCall<any>(h1.socket, 'linkTest', {peer: 'h2', frames, size: 4096, batch}, 120_000))
      link[batch] = {mbPerSec: med(rs.map((r) => r.mbPerSec)), framesPerSec: med(rs.map((r) => r.framesPerSec)), delivered: rs.map((r) => r.delivered)}
    }
    await cli(['down', plan2])
    progress('raw Unix socket ceiling')
    raw = med([await rawUnixSocket(1 << 30, 65536), await rawUnixSocket(1 << 30, 65536), await rawUnixSocket(1 << 30, 65536)])
  }

  const out = {
    machine: {cpus: os.cpus().length, node: process.version, loadavg: os.loadavg().map((x) => Number(x.toFixed(2)))},
    up16x4Seconds: {runs: ups.map((x) => Number(x.toFixed(2))), median: Number(med(ups).toFixed(2)), target: 5},
    down16x4Seconds: {runs: downs.map((x) => Number(x.toFixed(2))), median: Number(med(downs).toFixed(2)), target: 2},
    cliStartSeconds: Number(cliStart.toFixed(2)),
    // CPU the controller and the 16 hosts used from spawn to ready (all threads), and per process (last run)
    labCpuSecondsAtReady: {runs: labCpu.map((x) => Number(x.toFixed(2))), median: Number(med(labCpu).toFixed(2)), cores: os.cpus().length},
    cpuMsAtReady: {host: {min: Math.round(Math.min(...hostCpu)), median: Math.round(med(hostCpu)), max: Math.round(Math.max(...hostCpu))}, controller: Math.round(ctlCpu)},
    rssMiB: {host: {min: f1(Math.min(...hostRss)), median: f1(med(hostRss)), max: f1(Math.max(...hostRss)), vmsPerHost: 4}, controller: f1(ctlRss)},
    linkTest4KiB: !withLink ? 'skipped (--no-link)' : {
      batch64KiB: {MBps: Math.round(link[65536].mbPerSec), kfps: Math.round(link[65536].framesPerSec / 1000), delivered: link[65536].delivered},
      batch256KiB: {MBps: Math.round(link[262144].mbPerSec), kfps: Math.round(link[262144].framesPerSec / 1000), delivered: link[262144].delivered},
      rawUnixSocket64KiBWritesMBps: Math.round(raw),
      ratio64KiB: Number((link[65536].mbPerSec / raw).toFixed(2)),
    },
  }
  console.log(JSON.stringify(out, null, 2))
} finally {
  await cli(['down', '--all'])
  fs.rmSync(tmp, {recursive: true, force: true})
}
