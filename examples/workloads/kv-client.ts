// A tiny client of kv-store.ts: PUT the pairs of options.put ("k=v,k2=v2"), then GET options.get ("k,k2").
// The peer VM serves the store (the same module on rank 1).
//   masq run <lab> examples/workloads/kv-client.ts --vm A --peer B --param put=color=blue,size=3 --param get=color,size,nope
import {peerIp, runKey, type WorkloadVm} from '../../src/workloads/sdk.js'
import {openKv, serveKv} from './kv-store.js'

export default async function (vm: WorkloadVm, options: {put?: string; get?: string}): Promise<unknown> {
  if (vm.rank !== 0) return {role: 'server', puts: await serveKv(vm)}
  await vm.waitFor(runKey(vm, 'kv-listening'), 60_000)
  const kv = await openKv(vm, peerIp(vm))
  for (const pair of (options.put ?? '').split(',').filter(Boolean)) {
    const [k, v = ''] = pair.split('=')
    await kv.put(k!, v)
  }
  const got: Record<string, string | null> = {}
  for (const k of (options.get ?? '').split(',').filter(Boolean)) got[k] = (await kv.get(k)) ?? null
  await kv.close()
  return {got}
}
