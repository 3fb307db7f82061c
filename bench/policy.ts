// Policy-core throughput: security-group checks, cached lookups, the re-evaluation a rule change triggers
// (it must leave most of the 100 ms reset budget to the pushes), audit appends, handle lookups, quota charges.
// Usage: npx tsx bench/policy.ts [vmsPerTenant=250] [connections=10000]
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {AuditLog} from '../src/backend/audit.js'
import {Handles} from '../src/backend/handles.js'
import {QuotaLedger} from '../src/backend/quota.js'
import {ConnTrack} from '../src/controller/conntrack.js'
import {LookupCache, Registry} from '../src/controller/registry.js'
import {applyRuleChange} from '../src/controller/rule-change.js'
import {evaluate, sgStateFromPlan} from '../src/controller/security-groups.js'
import {resolveTopology} from '../src/topology/resolve.js'
import type {TopologyRaw} from '../src/topology/types.js'

const perTenant = Number(process.argv[2] ?? 250)
const nConns = Number(process.argv[3] ?? 10_000)

const ip = (i: number) => `10.0.${i >> 8}.${(i & 255) || 1}`
const raw: TopologyRaw = {
  name: 'bench', mode: 'masq',
  hosts: Array.from({length: 8}, (_, i) => ({name: `h${i}`, underlay: `192.168.0.${i + 1}`})),
  tenants: [{name: 'blue', vni: 100, cidr: '10.0.0.0/16'}, {name: 'red', vni: 200, cidr: '10.0.0.0/16'}],
  securityGroups: ['blue', 'red'].flatMap((t) => [
    {name: `${t}-web`, tenant: t, ingress: [{group: `${t}-app`, ports: '18515-18520'}, {cidr: '10.0.0.0/28'}]},
    {name: `${t}-app`, tenant: t, ingress: [{group: `${t}-app`}], egress: [{cidr: '10.0.0.0/17', ports: '18515-18600'}]},
  ]),
  vms: ['blue', 'red'].flatMap((t) => Array.from({length: perTenant}, (_, i) => ({
    name: `${t}${i}`, tenant: t, host: `h${i % 8}`, ip: ip(i + 1), securityGroups: [i % 2 ? `${t}-app` : `${t}-web`],
  }))),
}
const plan = resolveTopology(raw)
const reg = new Registry(plan)
const sg = sgStateFromPlan(plan)
const vms = plan.vms

function rate(name: string, n: number, fn: (i: number) => void): void {
  fn(0)
  const t0 = performance.now()
  for (let i = 0; i < n; i++) fn(i)
  const ms = performance.now() - t0
  console.log(`${name.padEnd(44)} ${((n / ms) * 1000).toExponential(2).padStart(9)} ops/s  (${(ms * 1000 / n).toFixed(2)} us/op)`)
}

console.log(`${vms.length} VMs, ${plan.securityGroups.length} groups, ${nConns} tracked connections`)
rate('security-group evaluate', 200_000, (i) => {
  evaluate(sg, {src: vms[i % vms.length], dst: vms[(i * 7 + 3) % vms.length], port: 18515 + (i & 7)})
})
const cache = new LookupCache()
rate('lookup through cache (hits)', 1_000_000, (i) => { cache.through(reg, 100, ip((i % perTenant) + 1)) })
rate('registry lookup (uncached)', 1_000_000, (i) => { reg.lookup(200, ip((i % perTenant) + 1)) })

// a table of admitted connections, then a rule removal that re-checks all of them
const track = new ConnTrack()
for (let i = 0; track.size < nConns && i < nConns * 50; i++) {
  const s = vms[i % vms.length]
  const d = vms[(i * 13 + 5) % vms.length]
  const port = 18515 + (i % 5)
  if (!evaluate(sg, {src: s, dst: d, port}).allowed) continue
  track.add({tenant: s.tenant, vni: s.vni, srcVm: s.name, dstVm: d.name, srcVip: s.vip, dstVip: d.vip, port,
    srcHost: s.host, dstHost: d.host, srcQpn: i, dstQpn: i + 1, establishedAt: 0})
}
const runs: number[] = []
let resets = 0
for (let r = 0; r < 9; r++) {
  const t0 = performance.now()
  const res = applyRuleChange(sg, {op: 'remove', group: 'blue-web', direction: 'ingress', rule: {group: 'blue-app', portMin: 18515, portMax: 18520}},
    track, (n) => reg.vm(n))
  runs.push(performance.now() - t0)
  if (res.ok) resets = res.resets.length
}
runs.sort((a, b) => a - b)
console.log(`${'rule change: re-evaluate all connections'.padEnd(44)} median ${runs[4].toFixed(2)} ms for ${track.size} connections (${resets} to reset)`)

const dir = mkdtempSync(join(tmpdir(), 'masq-bench-'))
const audit = new AuditLog({lab: 'bench', file: join(dir, 'audit.jsonl')})
rate('audit append (sync write + ring)', 20_000, (i) => { audit.record({tenant: 'blue', vm: 'blue1'}, 'quota', {resource: 'qps', limit: 256, i}) })
audit.close()
rmSync(dir, {recursive: true, force: true})

const handles = new Handles()
handles.addVm('v', 'blue')
for (let i = 0; i < 1000; i++) handles.create('v', 'qp', i)
rate('handle lookup', 2_000_000, (i) => { handles.lookup('v', i % 1000, 'qp') })
const quota = new QuotaLedger(plan.tenants, vms)
rate('quota charge + release', 2_000_000, (i) => {
  const vm = vms[i % vms.length].name
  quota.charge(vm, 'qps')
  quota.release(vm, 'qps')
})
