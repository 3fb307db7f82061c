// The lab controller: one process per lab. The VPC registry, the security groups, the connection table and live
// rule changes (admission.ts), served over control RPC to the hosts' backends and to the CLI (`masq rules`).
// A rule change re-checks every tracked connection and pushes `resetConnections` to the hosts of both ends.
import path from 'node:path'
import {AuditLog} from '../backend/audit.js'
import {ConnectRateLimiter} from '../backend/connect-rate.js'
import {RejReason} from '../rdma-constants.js'
import {announce, daemonArgs, log, memoryMiB, onTerminate, watchRecorded} from '../lab/daemon.js'
import {RpcClient, RpcError, RpcServer} from '../lab/rpc.js'
import {socketNames} from '../lab/sockets.js'
import {Admission} from './admission.js'
import type {Connection} from './conntrack.js'
import {flatLocation} from './registry.js'
import {Rendezvous} from './rendezvous.js'
import {parseRuleArgs} from './rule-change.js'

const args = daemonArgs()
const audit = new AuditLog({lab: args.plan.name, host: 'controller', file: path.join(path.dirname(args.planFile), 'audit.jsonl')})
const admission = new Admission(args.plan, audit)
const registry = admission.registry
// connection setups per second per tenant, lab-wide: every active setup of a masq VM asks `admit` here first
const connectRate = new ConnectRateLimiter(args.plan.tenants, {audit})
const started = Date.now()
const counters = {lookups: 0, admits: 0, refused: 0, established: 0, closed: 0, ruleChanges: 0, resets: 0}
const rendezvous = new Rendezvous()
// Hosts whose backend holds a connection to us (hostHello), by host name.
const hosts = new Map<string, {pid: number; connectedAt: string}>()

const bad = (m: string) => new RpcError(-32602, m)

/** Push resets to the hosts of both ends (in parallel): their CM agents move the QPs to ERR and send DREQ. */
async function pushResets(byHost: Map<string, Connection[]>): Promise<Record<string, number | string>> {
  const out: Record<string, number | string> = {}
  await Promise.all([...byHost].map(async ([name, conns]) => {
    const h = args.plan.hosts.find((x) => x.name === name)
    if (!h) return
    try {
      const c = await RpcClient.connect(path.join(args.socketDir, socketNames.host(h.index)), {timeoutMs: 2000})
      try {
        out[name] = (await c.call<{reset: number}>('resetConnections', {conns}, 5000)).reset
      } finally {
        c.close()
      }
    } catch (err) {
      out[name] = `failed: ${(err as Error).message}`
    }
  }))
  return out
}

/**
 * Every host drops its cached ingress verdicts (cm-host.ts) before a rule change returns: the next REQ asks again.
 * In parallel with the resets; a host that cannot be reached keeps its cache until it reconnects, and the
 * connections it then admits are still re-checked at establishment.
 */
async function pushRulesChanged(version: number): Promise<void> {
  await Promise.all(args.plan.hosts.map(async (h) => {
    try {
      const c = await RpcClient.connect(path.join(args.socketDir, socketNames.host(h.index)), {timeoutMs: 2000})
      try {
        await c.call('rulesChanged', {version}, 5000)
      } finally {
        c.close()
      }
    } catch (err) {
      log(`rulesChanged to ${h.name}: ${(err as Error).message}`)
    }
  }))
}

const server: RpcServer = new RpcServer({
  ping: () => ({node: args.node, role: 'controller', pid: process.pid}),
  status: () => ({
    node: args.node,
    role: 'controller',
    pid: process.pid,
    uptimeMs: Date.now() - started,
    tenants: args.plan.tenants.length, vms: registry.allVms().length, hosts: args.plan.hosts.length,
    generation: registry.generation,
    rulesVersion: admission.sg.version,
    connections: admission.track.list().length,
    memory: memoryMiB(),
    hostsConnected: [...hosts.keys()],
    rendezvousKeys: rendezvous.size,
    counters: {...counters, hostsConnected: hosts.size, audit: audit.counters(), rpc: server.stats},
  }),
  hostHello: (p: {host?: unknown; pid?: unknown}, {socket}) => {
    const host = args.plan.hosts.find((h) => h.name === p.host)
    if (!host || typeof p.pid !== 'number') throw bad('hostHello needs {host: a host of the plan, pid}')
    hosts.set(host.name, {pid: p.pid, connectedAt: new Date().toISOString()})
    socket.once('close', () => {
      if (hosts.get(host.name)?.pid === p.pid) hosts.delete(host.name)
    })
    return {lab: args.plan.name}
  },
  // RConnrename: where (VNI, vIP) lives
  lookup: (p: {vni?: unknown; vip?: unknown}) => {
    if (typeof p.vni !== 'number' || typeof p.vip !== 'string') throw bad('lookup needs {vni: number, vip: string}')
    counters.lookups++
    const loc = registry.lookup(p.vni, p.vip)
    if (!loc) throw new RpcError(-32004, `no VM with vIP ${p.vip} in VNI ${p.vni}`)
    return {...flatLocation(loc), generation: registry.generation}
  },
  // RConntrack at set-up: egress (the active host) and ingress (the passive host)
  admit: (p: {srcVm?: unknown; dstVip?: unknown; port?: unknown}) => {
    if (typeof p.srcVm !== 'string' || typeof p.dstVip !== 'string' || typeof p.port !== 'number') throw bad('admit needs {srcVm, dstVip, port}')
    counters.admits++
    const src = registry.vm(p.srcVm)
    const rate = src ? connectRate.tryConnect(src.tenant, src.name) : {ok: true as const}
    if (!rate.ok) {
      counters.refused++
      return {ok: false, reason: 'connect-rate', rej: RejReason.NO_RESOURCES, message: rate.message}
    }
    const r = admission.admit({srcVm: p.srcVm, dstVip: p.dstVip, port: p.port})
    if (!r.ok) counters.refused++
    return r.ok ? {ok: true, dst: flatLocation(r.dst)} : {ok: false, reason: r.reason, rej: 'rej' in r ? r.rej : 12, message: r.message}
  },
  admitIncoming: (p: {vni?: unknown; srcVip?: unknown; fromHost?: unknown; dstVip?: unknown; port?: unknown}) => {
    if (typeof p.vni !== 'number' || typeof p.srcVip !== 'string' || typeof p.fromHost !== 'string' || typeof p.dstVip !== 'string' || typeof p.port !== 'number') {
      throw bad('admitIncoming needs {vni, srcVip, fromHost, dstVip, port}')
    }
    counters.admits++
    const r = admission.admitIncoming(p.vni, p.srcVip, p.fromHost, p.dstVip, p.port)
    if (!r.ok) counters.refused++
    // rulesVersion: the rules this verdict was computed under (a host caches an allow until the next rule change)
    return r.ok ? {ok: true, rulesVersion: admission.sg.version} : {ok: false, reason: r.reason, rej: 'rej' in r ? r.rej : 12, message: r.message}
  },
  establish: (p: {srcVm?: unknown; dstVip?: unknown; port?: unknown; srcQpn?: unknown; dstQpn?: unknown}) => {
    const src = typeof p.srcVm === 'string' ? registry.vm(p.srcVm) : undefined
    if (!src || typeof p.dstVip !== 'string' || typeof p.port !== 'number' || typeof p.srcQpn !== 'number' || typeof p.dstQpn !== 'number') {
      throw bad('establish needs {srcVm, dstVip, port, srcQpn, dstQpn}')
    }
    const dst = registry.lookup(src.vni, p.dstVip)
    if (!dst) throw new RpcError(-32004, `no VM with vIP ${p.dstVip} in VNI ${src.vni}`)
    const r = admission.establish({tenant: src.tenant, vni: src.vni, srcVm: src.name, dstVm: dst.vm.name, srcVip: src.vip,
      dstVip: dst.vm.vip, port: p.port, srcHost: src.host, dstHost: dst.host.name, srcQpn: p.srcQpn, dstQpn: p.dstQpn, establishedAt: Date.now()})
    if (!r.ok) throw new RpcError(-32005, `${r.reason}: ${r.message}`)
    counters.established++
    return {id: r.conn.id}
  },
  closeConnection: (p: {id?: unknown}) => {
    if (typeof p.id !== 'number') throw bad('closeConnection needs {id}')
    const c = admission.close(p.id)
    if (c) counters.closed++
    return {closed: c !== undefined}
  },
  connections: () => admission.track.list(),
  // `masq rules <lab> add|remove ...`: argv after the lab name
  changeRules: async (p: {argv?: unknown}) => {
    if (!Array.isArray(p.argv) || !p.argv.every((a) => typeof a === 'string')) throw bad('changeRules needs {argv: string[]}')
    const parsed = parseRuleArgs(p.argv as string[])
    if (!parsed.ok) throw new RpcError(-32602, parsed.errors.join('; '))
    const t0 = performance.now()
    const startedAt = Date.now()
    const r = admission.changeRules(parsed.change)
    if (!r.ok) throw new RpcError(-32006, r.message)
    counters.ruleChanges++
    counters.resets += r.resets.length
    const [hostsReset] = await Promise.all([pushResets(r.byHost), pushRulesChanged(r.version)])
    return {version: r.version, resets: r.resets.map((v) => ({id: v.conn.id, src: v.conn.srcVm, dst: v.conn.dstVm, port: v.conn.port, reason: v.reason})),
      hosts: hostsReset, ms: performance.now() - t0, startedAt}
  },
  publish: (p: {key?: unknown; value?: unknown}) => {
    if (typeof p.key !== 'string') throw bad('publish needs {key: string, value}')
    rendezvous.publish(p.key, p.value ?? null)
    return {ok: true}
  },
  waitFor: (p: {key?: unknown; timeoutMs?: unknown}) => {
    const t = Number(p.timeoutMs ?? 20_000)
    if (typeof p.key !== 'string' || !(t > 0)) throw bad('waitFor needs {key: string, timeoutMs > 0}')
    return rendezvous.waitFor(p.key, Math.min(t, 600_000))
  },
  shutdown: () => {
    setImmediate(() => void stop('shutdown RPC').finally(() => process.exit(0)))
    return {ok: true}
  },
})

async function stop(reason: string): Promise<void> {
  log(`controller stopping (${reason})`)
  await server.close()
  audit.close()
}

onTerminate(stop)
watchRecorded(args, stop)
await server.listen(args.socket)
log(`controller of lab ${args.plan.name} listening on ${args.socket} (pid ${process.pid})`)
await announce(args, {event: 'ready'})
