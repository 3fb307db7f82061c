// A host process: the host agent on the main thread, an RNIC worker and one worker per VM (DESIGN §3).
import path from 'node:path'
import {daemonArgs, log, onTerminate} from '../lab/daemon.js'
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
await agent.start()
server = new RpcServer(agent.handlers(() => void stop('shutdown RPC').finally(() => process.exit(0))))
await server.listen(args.socket)
log(`host ${args.node} (index ${agent.host.index}) listening on ${args.socket} (pid ${process.pid})`)
