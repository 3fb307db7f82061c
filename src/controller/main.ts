// The lab controller: one process per lab. Control RPC: ping, status, lookup(vni, vip), shutdown.
import {daemonArgs, log, memoryMiB, onTerminate} from '../lab/daemon.js'
import {RpcError, RpcServer} from '../lab/rpc.js'
import {Rendezvous} from './rendezvous.js'
import {VpcRegistry} from './vpc-registry.js'

const args = daemonArgs()
const registry = new VpcRegistry(args.plan)
const started = Date.now()
let lookups = 0
const rendezvous = new Rendezvous()
// Hosts whose backend holds a connection to us (hostHello), by host name.
const hosts = new Map<string, {pid: number; connectedAt: string}>()

const server: RpcServer = new RpcServer({
  ping: () => ({node: args.node, role: 'controller', pid: process.pid}),
  status: () => ({
    node: args.node,
    role: 'controller',
    pid: process.pid,
    uptimeMs: Date.now() - started,
    ...registry.summary(),
    memory: memoryMiB(),
    hostsConnected: [...hosts.keys()],
    rendezvousKeys: rendezvous.size,
    counters: {lookups, hostsConnected: hosts.size, rpc: server.stats},
  }),
  hostHello: (p: {host?: unknown; pid?: unknown}, {socket}) => {
    const host = args.plan.hosts.find((h) => h.name === p.host)
    if (!host || typeof p.pid !== 'number') throw new RpcError(-32602, 'hostHello needs {host: a host of the plan, pid}')
    hosts.set(host.name, {pid: p.pid, connectedAt: new Date().toISOString()})
    socket.once('close', () => {
      if (hosts.get(host.name)?.pid === p.pid) hosts.delete(host.name)
    })
    return {lab: args.plan.name}
  },
  lookup: (p: {vni?: unknown; vip?: unknown}) => {
    if (typeof p.vni !== 'number' || typeof p.vip !== 'string') throw new RpcError(-32602, 'lookup needs {vni: number, vip: string}')
    lookups++
    const loc = registry.lookup(p.vni, p.vip)
    if (!loc) throw new RpcError(-32004, `no VM with vIP ${p.vip} in VNI ${p.vni}`)
    return loc
  },
  publish: (p: {key?: unknown; value?: unknown}) => {
    if (typeof p.key !== 'string') throw new RpcError(-32602, 'publish needs {key: string, value}')
    rendezvous.publish(p.key, p.value ?? null)
    return {ok: true}
  },
  waitFor: (p: {key?: unknown; timeoutMs?: unknown}) => {
    const t = Number(p.timeoutMs ?? 20_000)
    if (typeof p.key !== 'string' || !(t > 0)) throw new RpcError(-32602, 'waitFor needs {key: string, timeoutMs > 0}')
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
}

onTerminate(stop)
await server.listen(args.socket)
log(`controller of lab ${args.plan.name} listening on ${args.socket} (pid ${process.pid})`)
