// RConnrename for UD over the real path: rdma_cm UD (SIDR) and datagrams between masq VMs and between freeflow VMs
// on two hosts, captured; tshark shows only the hosts' underlay addresses in every IP header (the VMs' AHs name
// vIPs, their RNICs rename each WQE) and the tenant's DSCP on every tenant datagram.
import path from 'node:path'
import {spawnSync} from 'node:child_process'
import {describe, expect, it} from 'vitest'
import {ROOT, type Cli, useLab} from './helpers.js'

let dir: string
let masq: Cli
let topo: string

useLab('ud-vpc', path.join(ROOT, 'examples', 'modes.yaml'), (l) => ({dir, masq, topo} = l), ['--capture'])

describe('UD between VPC VMs: only underlay addresses on the wire', () => {
  for (const [a, b] of [['masq1', 'masq2'], ['ff1', 'ff2']]) {
    it(`${a} -> ${b}: the ud workload echoes every datagram`, async () => {
      const r = await masq.run(['run', topo, 'ud', '--vm', a!, '--peer', b!, '--param', 'count=20', '--param', 'size=256', '--json'])
      expect(r.exitCode, r.stderr + r.stdout).toBe(0)
      expect(JSON.parse(r.stdout).ok).toBe(true)
    }, 120_000)
  }

  it('the capture has UD datagrams between the two hosts only, with the tenant DSCP', async () => {
    const out = path.join(dir, 'merged.pcap')
    const r = await masq.run(['capture', topo, '-o', out, '--json'])
    expect(r.exitCode, r.stderr).toBe(0)
    const t = spawnSync('tshark', ['-r', out, '--disable-protocol', 'rpcordma', '-T', 'fields', '-E', 'separator=,',
      '-e', 'ip.src', '-e', 'ip.dst', '-e', 'ip.dsfield.dscp', '-e', 'infiniband.bth.opcode', '-e', 'infiniband.bth.destqp'], {encoding: 'utf8'})
    expect(t.status, t.stderr).toBe(0)
    const rows = t.stdout.trim().split('\n').map((l) => l.split(','))
    const hosts = new Set(['192.168.0.1', '192.168.0.2'])
    for (const [src, dst] of rows) {
      expect(hosts.has(src!), `source ${src}`).toBe(true)
      expect(hosts.has(dst!), `destination ${dst}`).toBe(true)
    }
    // UD SEND ONLY (opcode 100, 101 with immediate) to a tenant QP (not QP1's CM MADs): the workload's datagrams and their echoes
    const data = rows.filter(([, , , op, qp]) => (Number(op) === 100 || Number(op) === 101) && Number(qp) !== 1)
    expect(data.length).toBeGreaterThanOrEqual(80)
    // t1's DSCP (the default AF31, 26), never the provider's class whatever the AH asked
    expect(new Set(data.map(([, , d]) => Number(d)))).toEqual(new Set([26]))
  }, 120_000)
})
