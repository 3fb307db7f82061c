// A host process: the host agent on the main thread, an RNIC worker and one worker per VM (DESIGN §3).
// Start-up runs the RNIC worker and the VM workers at once (each worker is an isolate that costs tens of ms of
// CPU to boot), then tells `masq up` twice on its readiness socket: 'ready' when the control socket listens,
// 'vms' when every VM runs and the backend's controller link is up (so a workload can start right away).
import path from 'node:path'
import {announce, daemonArgs, log, onTerminate, watchRecorded} from '../lab/daemon.js'
import {RpcServer} from '../lab/rpc.js'
import {HostAgent} from './agent.js'

const args = daemonArgs()
const agent = new HostAgent(args.plan, args.node, args.socketDir, path.dirname(args.planFile))
let server: RpcServer | undefined

async function stop(reason: string): Promise<void> {
  log(`host ${args.node} stopping (${reason})`)
  await server?.close()
  await agent.stop()
}

onTerminate(stop)
watchRecorded(args, stop)
const rnicUp = agent.start()
const vmsUp = agent.startVms()
vmsUp.catch(() => {}) // reported below, once the control socket listens
await rnicUp
server = new RpcServer(agent.handlers(() => void stop('shutdown RPC').finally(() => process.exit(0))))
await server.listen(args.socket)
log(`host ${args.node} (index ${agent.host.index}) listening on ${args.socket} (pid ${process.pid})`)
await announce(args, {event: 'ready'})
try {
  await vmsUp
  // `up` watches the controller itself (and gives up after its --timeout): this wait only has to end some time
  if (!(await agent.controllerConnected(120_000))) throw new Error('no connection to the lab controller after 120 s')
  await announce(args, {event: 'vms', ok: true})
} catch (err) {
  log(`host ${args.node}: VMs did not start: ${(err as Error).message}`)
  await announce(args, {event: 'vms', ok: false, error: (err as Error).message})
}
