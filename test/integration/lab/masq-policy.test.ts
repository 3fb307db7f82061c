// Step 4 over the real path (issue 5 "Done when"): two tenants with the same CIDR and vIPs connect with rdma_cm
// at once through the hosts' CM agents; no byte crosses tenants and the capture shows only underlay addresses;
// a cross-tenant address does not resolve; a security-group deny is a REJ; `masq rules remove` resets exactly
// the connections it no longer allows (both ends DISCONNECTED, flushed WRs) and re-adding allows new ones;
// a raw QP, a controlled Q_Key and a forged destination QPN are refused and land in audit.jsonl.
import fs from 'node:fs'
import path from 'node:path'
import {spawnSync} from 'node:child_process'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {readAuditFile} from '../../../src/backend/audit.js'
import {rpcCall} from '../../../src/lab/rpc.js'
import {type Cli, runJson, useLab} from './helpers.js'

const FIXTURES = path.join(path.dirname(new URL(import.meta.url).pathname), 'fixtures')
const PAIR = path.join(FIXTURES, 'cm-pair.mjs')

let dir: string
let masq: Cli
let topo: string
let up: any

useLab('policy', path.join(FIXTURES, 'masq-policy.yaml'), (l) => ({dir, masq, topo, up} = l), ['--capture'])

const run = (vm: string, peer: string | undefined, params: Record<string, string | number>) => runJson(masq, topo, PAIR, vm, peer, params, 90)
const ctlSocket = () => path.join(up.socketDir, 'ctl.sock')
const audit = () => readAuditFile(path.join(up.labDir, 'audit.jsonl')).entries

describe('MasQ policy in a running lab (rdma_cm through the host CM agents)', () => {
  it('two tenants with the same vIPs run at once and each receives only its own bytes; attacks are refused and audited', async () => {
    const [blue, red] = await Promise.all([
      run('b2', 'b1', {port: 7000, attacks: 1}),
      run('r2', 'r1', {port: 7000}),
    ])
    expect(blue.ok, JSON.stringify(blue)).toBe(true)
    expect(red.ok, JSON.stringify(red)).toBe(true)
    expect(blue.server.result.received).toBe('tenant:blue')
    expect(red.server.result.received).toBe('tenant:red')
    // the same virtual addresses on both sides of both tenants
    expect(blue.client.result.peer.ip).toBe(red.client.result.peer.ip)
    // EPERM for each attack
    expect(blue.client.result).toMatchObject({forgedQpn: 1, rawQp: 1, qkey: 1})
    const mine = audit().filter((e) => e.vm === 'b2' && e.tenant === 'blue').map((e) => e.kind)
    expect(mine).toEqual(expect.arrayContaining(['dest-qpn', 'raw-qp', 'qkey']))
  }, 120_000)

  it('a cross-tenant address does not resolve and a security-group deny is a REJ (12) with no CONNECT_REQUEST', async () => {
    const cross = await run('b2', undefined, {dst: '10.0.0.3', expect: 'addr-error'}) // 10.0.0.3 is red's only
    expect(cross.client.result).toEqual({event: 'ADDR_ERROR', status: -113})
    const denied = await run('b1', 'b2', {port: 7000, expect: 'reject'}) // b2 admits nothing
    expect(denied.client.result).toEqual({event: 'REJECTED', status: 12})
    expect(denied.server.result).toEqual({requests: 0})
    expect(audit().some((e) => e.kind === 'rule' && e.vm === 'b1' && e.detail.reason === 'ingress-denied')).toBe(true)
  }, 120_000)

  it('masq rules remove resets exactly the connections it no longer allows; re-adding the rule allows new ones', async () => {
    const keep = run('b2', 'b1', {port: 7000, hold: 1, tag: 'keep'})
    const cut = run('b2', 'b1', {port: 7100, hold: 1, tag: 'cut', skip: 1 << 20})
    for (let i = 0; i < 600; i++) {
      const conns = await rpcCall<unknown[]>(ctlSocket(), 'connections')
      if (conns.length >= 2) break
      await new Promise((r) => setTimeout(r, 100))
    }
    expect(await rpcCall<unknown[]>(ctlSocket(), 'connections')).toHaveLength(2)
    const r = await masq.run(['rules', topo, 'remove', 'blue-srv', 'ingress', '--cidr', '10.0.0.0/24', '--ports', '7100-7199', '--json'])
    expect(r.exitCode, r.stderr).toBe(0)
    const rules = JSON.parse(r.stdout)
    expect(rules.resets).toMatchObject([{src: 'b2', dst: 'b1', port: 7100}])
    // the controller's time from the change to both hosts' reset (QPs in ERR, DREQ sent): target 100 ms
    console.log(`rules remove: reset in ${rules.controllerMs.toFixed(1)} ms at the controller, ${rules.ms.toFixed(1)} ms round trip`)
    expect(rules.controllerMs).toBeLessThan(1000) // generous on a loaded 2-core CI machine; the target is 100
    const c = await cut
    for (const side of [c.client, c.server]) {
      expect(side.ok, JSON.stringify(side)).toBe(true)
      expect(side.result.event, JSON.stringify(side)).toBe('DISCONNECTED')
      expect(side.result.flushed).toBeGreaterThan(0)
    }
    // both applications saw DISCONNECTED this long after the change (same machine, same wall clock)
    const seen = Math.max(c.client.result.disconnectedAt, c.server.result.disconnectedAt) - rules.startedAt
    console.log(`rules remove: both ends DISCONNECTED ${seen} ms after the change`)
    expect(seen).toBeLessThan(1000) // target 100 ms; generous for a loaded 2-core CI machine
    // the allowed connection is untouched: still tracked, and it ends normally when released
    expect(await rpcCall<Array<{port: number}>>(ctlSocket(), 'connections')).toMatchObject([{port: 7000}])
    await rpcCall(ctlSocket(), 'publish', {key: 'release/keep', value: true})
    const k = await keep
    expect(k.ok, JSON.stringify(k)).toBe(true)
    expect(k.client.result).toMatchObject({released: true, event: 'DISCONNECTED'})
    // a new connection on the removed range is refused; re-adding the rule allows it again
    expect((await run('b2', 'b1', {port: 7100, expect: 'reject'})).client.result).toEqual({event: 'REJECTED', status: 12})
    const add = await masq.run(['rules', topo, 'add', 'blue-srv', 'ingress', '--cidr', '10.0.0.0/24', '--ports', '7100-7199', '--json'])
    expect(add.exitCode, add.stderr).toBe(0)
    expect(JSON.parse(add.stdout).resets).toEqual([])
    expect((await run('b2', 'b1', {port: 7100})).ok).toBe(true)
    expect(audit().some((e) => e.kind === 'reset' && e.detail.port === 7100)).toBe(true)
  }, 180_000)

  it('the capture shows only underlay addresses in every IP header and CM GID (tshark)', async () => {
    const out = path.join(dir, 'merged.pcap')
    const r = await masq.run(['capture', topo, '-o', out, '--json'])
    expect(r.exitCode, r.stderr).toBe(0)
    const fields = ['ip.src', 'ip.dst', 'infiniband.cm.req.prim_localgid_ipv4', 'infiniband.cm.req.prim_remotegid_ipv4']
    const t = spawnSync('tshark', ['-r', out, '--disable-protocol', 'rpcordma', '-T', 'fields', ...fields.flatMap((f) => ['-e', f])], {encoding: 'utf8'})
    expect(t.status, t.stderr).toBe(0)
    const seen = new Set(t.stdout.split(/[\t\n,]/).filter((s) => s !== ''))
    const underlay = new Set(['192.168.0.1', '192.168.0.2'])
    expect([...seen].filter((a) => !underlay.has(a))).toEqual([])
    // the CM REQs were captured (their GIDs are in the set) and carried host addresses only
    const reqs = spawnSync('tshark', ['-r', out, '--disable-protocol', 'rpcordma', '-Y', 'infiniband.cm.req', '-T', 'fields', '-e', 'infiniband.cm.req.prim_localgid_ipv4'], {encoding: 'utf8'})
    expect(reqs.stdout.trim().split('\n').filter(Boolean).length).toBeGreaterThan(0)
  }, 60_000)
})

describe('rdma_cm in every virtualization mode (examples/modes.yaml)', () => {
  let modes: string

  beforeAll(async () => {
    modes = path.join(dir, 'modes.yaml')
    fs.copyFileSync(path.join(FIXTURES, '..', '..', '..', '..', 'examples', 'modes.yaml'), modes)
    const r = await masq.run(['up', modes, '--json'])
    expect(r.exitCode, r.stderr).toBe(0)
  }, 120_000)

  afterAll(async () => {
    await masq.run(['down', modes])
  })

  // masq/freeflow through the backend and the VPC hooks, hyv through the backend only, sriov/bare straight to the
  // RNIC; the CM agent of each host sets every connection up (sriov: over the VF address, no rules)
  for (const prefix of ['masq', 'ff', 'sriov', 'hyv', 'bare']) {
    it(`${prefix}: connect, SEND, disconnect over rdma_cm between two hosts`, async () => {
      const args = ['run', modes, PAIR, '--vm', `${prefix}2`, '--peer', `${prefix}1`, '--json', '--param', 'port=7000']
      const r = await masq.run(args)
      const res = JSON.parse(r.stdout)
      expect(res.ok, r.stdout).toBe(true)
      expect(res.server.result.received).toBe('tenant:t1')
      expect(res.client.result.event).toBe('DISCONNECTED')
    }, 60_000)
  }
})
