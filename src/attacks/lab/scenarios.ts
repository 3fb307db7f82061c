// The scenarios that need the MasQ backend, the CM agents and the controller (catalogue §2 A, B, C, D), run against
// a real lab. Attackers are red (same CIDR and vIPs as the victim tenant blue), the victim is blue1 → blue2, green
// is a bystander whose security group the suite changes live. VM steps: src/attacks/lab/vm-steps.ts.
import type {LabEnv} from '../lab-env.js'
import type {StepRecord} from './record.js'
import type {LabScenario, LabScenarioContext} from './runner.js'
import {VICTIM_MEMORY} from './victim.js'

const SKIP = {skip: VICTIM_MEMORY} // a step on a victim VM works above the victim's memory

/** A listener step in `vm` on `port`; resolves once it listens. `done()` ends it and returns its record. */
async function listener(env: LabEnv, vm: string, port: number, tag: string, accept: boolean, extra: Record<string, unknown> = {}):
  Promise<{done: () => Promise<StepRecord>}> {
  const run = env.step(vm, 'listener', {tag, port, accept, ...extra}, 120_000)
  run.catch(() => undefined)
  await Promise.race([env.read(`${tag}/listening`, 30_000), run.then(() => undefined)])
  return {done: async () => {
    await env.publish(`${tag}/listener-done`)
    return run
  }}
}

type Outcome = {event: string; status: number; sent?: boolean}
const connectFrom = async (env: LabEnv, vm: string, dst: string, port: number, extra: Record<string, unknown> = {}): Promise<Outcome> =>
  (await env.step(vm, 'client', {tag: 'c', dst, port, ...extra})).data as Outcome
const show = (o: Outcome) => (o.event === 'REJECTED' ? `REJECTED(${o.status})` : o.status && o.event !== 'ESTABLISHED' ? `${o.event}(${o.status})` : o.event)

export const labC09: LabScenario = {
  id: 'C09', catalogue: 'C09', title: 'forged / foreign handles in control verbs', attackerModel: 'T1', quick: true,
  audit: {tenant: 'red', kinds: ['handle']},
  async run(env, ctx) {
    // red2 shares host2 and its backend with the victim's blue2
    ctx.merge(await env.step('red2', 'c09', {victim: ctx.victim}))
  },
}

export const labC11: LabScenario = {
  id: 'C11', catalogue: 'C11', title: 'QPN hijack: RTR to the victim\'s QPN', attackerModel: 'T1', quick: true,
  audit: {tenant: 'red', kinds: ['dest-qpn']},
  async run(env, ctx) {
    // red1 lives on host1 like blue1 (the victim's peer): packets from it would pass rxe's check_addr at host2.
    // red's vIP 10.0.0.2 (red2) lives on host2, where the victim's QP is.
    await withQpHolder(env, ctx, async (qpn) => {
      ctx.merge(await env.step('red1', 'c11', {victim: ctx.victim, via: env.vm('red2').vip, peerQpn: qpn}))
    })
  },
}

export const labC14b: LabScenario = {
  id: 'C14b', catalogue: 'C14', title: 'controlled Q_Keys, raw packet QPs and QP1 from a tenant', attackerModel: 'T1', quick: true,
  audit: {tenant: 'red', kinds: ['qkey', 'raw-qp']},
  async run(env, ctx) {
    ctx.merge(await env.step('red1', 'c14b'))
  },
}

export const labC17: LabScenario = {
  id: 'C17', catalogue: 'C17', title: 'cross-tenant and cross-VPC connect', attackerModel: 'T1', quick: true,
  audit: {tenant: 'red', kinds: ['rule']},
  async run(env, ctx) {
    // blue3's vIP 10.0.0.3 exists only in blue's VPC; green's range has no 10.0.0.x at all
    const tag = ctx.tag('l')
    const l = await listener(env, 'blue3', 7300, tag, true)
    try {
      const red = await connectFrom(env, 'red1', env.vm('blue3').vip, 7300)
      ctx.probe({name: 'red1 → blue3\'s vIP (not in red\'s VPC)', want: 'denied', expected: 'ADDR_ERROR / UNREACHABLE / REJECTED', observed: show(red),
        ok: red.event !== 'ESTABLISHED' && !red.event.startsWith('error')})
      const green = await connectFrom(env, 'green1', env.vm('blue3').vip, 7300)
      ctx.probe({name: 'green1 → 10.0.0.3 (another VPC\'s range)', want: 'denied', expected: 'ADDR_ERROR / UNREACHABLE / REJECTED', observed: show(green),
        ok: green.event !== 'ESTABLISHED' && !green.event.startsWith('error')})
      const rtr = (await env.step('red1', 'rtr-to', {dst: env.vm('blue3').vip})).data as {errno: string}
      ctx.probe({name: 'red1 modify_qp(RTR, dgid ::ffff:10.0.0.3) with native verbs', want: 'denied', expected: 'EHOSTUNREACH/EINVAL/EPERM', observed: rtr.errno,
        ok: rtr.errno !== 'OK'})
      const blue = await connectFrom(env, 'blue1', env.vm('blue3').vip, 7300, SKIP)
      ctx.control('blue1 → blue3 (same VPC) connects and SENDs', blue.event === 'ESTABLISHED' && blue.sent === true, show(blue))
    } finally {
      const r = (await l.done()).data as {requests: number; received: string[]}
      ctx.invariant('blue3 saw only its own tenant\'s connection request', r.requests === 1 && r.received.every((x) => x.startsWith('blue:')),
        `${r.requests} requests, received ${JSON.stringify(r.received)}`)
    }
  },
}

export const labC19: LabScenario = {
  id: 'C19', catalogue: 'C19', title: 'overlapping CIDRs: same vIP in two VPCs', attackerModel: 'T1', quick: false,
  async run(env, ctx) {
    // red2 and blue2 both have 10.0.0.2; red1 (and red2 itself, same host) must reach red's only
    const tr = ctx.tag('red')
    const tb = ctx.tag('blue')
    const redL = await listener(env, 'red2', 7400, tr, true)
    const blueL = await listener(env, 'blue2', 7400, tb, true, SKIP)
    try {
      const a = await connectFrom(env, 'red1', '10.0.0.2', 7400)
      ctx.control('red1 → 10.0.0.2 connects (red\'s own VM)', a.event === 'ESTABLISHED' && a.sent === true, show(a))
      const b = await connectFrom(env, 'blue1', '10.0.0.2', 7400, SKIP)
      ctx.control('blue1 → 10.0.0.2 connects (blue\'s own VM)', b.event === 'ESTABLISHED' && b.sent === true, show(b))
    } finally {
      const r = (await redL.done()).data as {requests: number; received: string[]}
      const bl = (await blueL.done()).data as {requests: number; received: string[]}
      ctx.probe({name: 'red2 (10.0.0.2 in red) received', want: 'denied', expected: 'only red:red1', observed: JSON.stringify(r.received),
        ok: r.received.length === 1 && r.received[0] === 'red:red1'})
      ctx.probe({name: 'blue2 (10.0.0.2 in blue) received', want: 'denied', expected: 'only blue:blue1', observed: JSON.stringify(bl.received),
        ok: bl.received.length === 1 && bl.received[0] === 'blue:blue1'})
    }
  },
}

export const labC20: LabScenario = {
  id: 'C20', catalogue: 'C20', title: 'security groups: deny, live rule removal resets, re-add', attackerModel: 'T1', quick: true,
  audit: {tenant: 'green', kinds: ['reset', 'rule']},
  async run(env, ctx) {
    const rule = ['green-intra', 'ingress', '--group', 'green-intra']
    const tag = ctx.tag('l')
    const l = await listener(env, 'green2', 7500, tag, true)
    let removed = false
    try {
      const ok = await connectFrom(env, 'green1', env.vm('green2').vip, 7500)
      ctx.control('(b) green1 → green2 admitted by green-intra', ok.event === 'ESTABLISHED' && ok.sent === true, show(ok))
      // (d) a live connection, then the rule goes: both ends reset within the bound
      const hold = env.step('green1', 'holder', {tag, dst: env.vm('green2').vip, port: 7500})
      hold.catch(() => undefined)
      await Promise.race([env.read(`${tag}/held`, 30_000), hold])
      const change = await env.rules(['remove', ...rule])
      removed = true
      const h = (await hold).data as {event: string; at: number; state: string; afterReset: string}
      const ms = h.at - change.startedAt
      ctx.log(`rule removed: ${change.resets.length} resets, controller ${change.controllerMs.toFixed(1)} ms; holder saw ${h.event} after ${ms} ms`)
      // the reset is done when both hosts moved their QPs to ERR (the controller's reply); the application's
      // DISCONNECTED comes after its VM's event loop gets to it (bounded loosely: a loaded machine delays it)
      ctx.probe({name: '(d) live connection after the rule is removed', want: 'denied',
        expected: 'both ends reset within 100 ms, DISCONNECTED in the app, QP ERR, later WR flushed',
        observed: `reset in ${change.controllerMs.toFixed(1)} ms, ${h.event} after ${ms} ms, QP ${h.state}, WR ${h.afterReset}`,
        ok: change.resets.length > 0 && change.controllerMs <= 100 && h.event === 'DISCONNECTED' && ms <= 2000 && h.state === 'ERR' && h.afterReset !== 'SUCCESS'})
      const denied = await connectFrom(env, 'green1', env.vm('green2').vip, 7500)
      ctx.probe({name: '(a) new connect with no inbound rule', want: 'denied', expected: 'REJECTED(12)', observed: show(denied),
        ok: denied.event === 'REJECTED' && denied.status === 12})
      await env.rules(['add', ...rule])
      removed = false
      const again = await connectFrom(env, 'green1', env.vm('green2').vip, 7500)
      ctx.control('(e) the rule re-added: new connects succeed', again.event === 'ESTABLISHED' && again.sent === true, show(again))
    } finally {
      if (removed) await env.rules(['add', ...rule]).catch(() => undefined)
      const r = (await l.done()).data as {requests: number; accepted: number}
      ctx.log(`green2 saw ${r.requests} requests, accepted ${r.accepted}`)
      ctx.invariant('the denied request never reached green2 (3 admitted setups only)', r.requests === 3, `${r.requests} requests`)
    }
  },
}

export const labC23: LabScenario = {
  id: 'C23', catalogue: 'C23', title: 'QP exhaustion by one tenant', attackerModel: 'T1', quick: false,
  audit: {tenant: 'red', kinds: ['quota']},
  async run(env, ctx) {
    const quota = env.plan.tenants.find((t) => t.name === 'red')?.perVm.qps ?? 0
    const tag = ctx.tag('x')
    const ex = env.step('red2', 'exhaust', {tag})
    ex.catch(() => undefined)
    const got = await Promise.race([env.read<{created: number; errno: string; deviceLimit: number}>(`${tag}/exhausted`, 60_000), ex.then((r) => r.data as never)])
    ctx.probe({name: 'create QPs until failure', want: 'denied', expected: `EAGAIN/ENOMEM/EDQUOT at the quota (${quota}), below the device limit`,
      observed: `${got.errno} after ${got.created} QPs (device ${got.deviceLimit})`,
      ok: ['EAGAIN', 'ENOMEM', 'EDQUOT'].includes(got.errno) && got.created <= quota && got.created < got.deviceLimit})
    ctx.control('the attacker\'s QPs within its quota were created', got.created > 0, `${got.created}`)
    // while red holds its quota: the victim tenant creates and connects on the same host (NL-std iv)
    const lt = ctx.tag('l')
    const l = await listener(env, 'blue2', 7600, lt, true, SKIP)
    try {
      const b = await connectFrom(env, 'blue1', env.vm('blue2').vip, 7600, SKIP)
      ctx.invariant('the victim tenant still creates QPs and connects on the same host', b.event === 'ESTABLISHED' && b.sent === true, show(b))
    } finally {
      await l.done()
      await env.publish(`${tag}/release`)
      await ex
    }
  },
}

export const labC18: LabScenario = {
  id: 'C18', catalogue: 'C18', title: 'spoofed source vIP / sgid_index', attackerModel: 'T1', quick: false,
  async run(env, ctx) {
    await withQpHolder(env, ctx, async (qpn) => {
      // another VM's vIP in the same VPC, an unused vIP of the VPC, the host's underlay address
      ctx.merge(await env.step('red1', 'spoof', {foreign: [env.vm('red2').vip, '10.0.0.254', env.plan.hosts[0]!.underlay], peer: env.vm('red2').vip, peerQpn: qpn}))
    })
  },
}

export const labC21: LabScenario = {
  id: 'C21', catalogue: 'C21', title: 'path-changing modify_qp on a connected QP (TOCTOU)', attackerModel: 'T1', quick: false,
  audit: {tenant: 'red', kinds: ['dest-qpn', 'dgid']},
  async run(env, ctx) {
    const tag = ctx.tag('l')
    const l = await listener(env, 'red2', 7700, tag, true)
    try {
      ctx.merge(await env.step('red1', 'repoint', {tag, dst: env.vm('red2').vip, port: 7700, victimQpn: ctx.victim.qpn, other: env.vm('red1').vip}))
    } finally {
      await l.done()
    }
  },
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN

export const labC25: LabScenario = {
  id: 'C25', catalogue: 'C25', title: 'control-verb and connection-setup flood', attackerModel: 'T1', quick: false,
  audit: {tenant: 'red', kinds: ['connect-rate']},
  async run(env, ctx) {
    const lb = ctx.tag('blue')
    const lr = ctx.tag('red')
    const blueL = await listener(env, 'blue3', 7800, lb, true, {quiet: true})
    const redL = await listener(env, 'red2', 7801, lr, false) // rejects (REJ 28) what reaches it: red2 keeps no QPs
    try {
      const dst = env.vm('blue3').vip
      const base = (await env.step('blue1', 'setups', {tag: lb, dst, port: 7800, n: 3, gapMs: 50, ...SKIP})).data as {lat: number[]; outcomes: Record<string, number>}
      ctx.control('victim tenant setups before the flood', base.outcomes.ESTABLISHED === 3, JSON.stringify(base.outcomes))
      const rate = env.plan.tenants.find((t) => t.name === 'red')?.perTenant.connectRate ?? 0
      // four rdma_cm loops in parallel (each in its own slice of red1's memory) and a verbs loop
      const reds = [1, 2, 3, 4].map((k) => env.step('red1', 'setups', {tag: lr, dst: env.vm('red2').vip, port: 7801, n: rate, skip: k << 20}))
      const [verbs, during, ...red] = await Promise.all([
        env.step('red1', 'flood', {ms: 2000, skip: 8 << 20}),
        env.step('blue1', 'setups', {tag: lb, dst, port: 7800, n: 5, gapMs: 100, ...SKIP}),
        ...reds,
      ])
      const r = {outcomes: {} as Record<string, number>}
      for (const x of red) for (const [k, n] of Object.entries((x.data as {outcomes: Record<string, number>}).outcomes)) r.outcomes[k] = (r.outcomes[k] ?? 0) + n
      const v = verbs.data as {verbs: number; errnos: Record<string, number>}
      const d = during.data as {lat: number[]; outcomes: Record<string, number>}
      ctx.log(`red setups ${JSON.stringify(r.outcomes)}; red verbs ${v.verbs} in 2 s, errnos ${JSON.stringify(v.errnos)}`)
      ctx.probe({name: `${rate * 4} connection setups by red, 4 at a time (connect rate ${rate}/s)`, want: 'denied', expected: 'REJECTED(3) over the rate',
        observed: Object.entries(r.outcomes).map(([k, n]) => `${k} ×${n}`).join(' / '), ok: (r.outcomes['REJECTED(3)'] ?? 0) > 0})
      ctx.control('red\'s setups within its rate were admitted (and reached red2, which rejects them: REJ 28)', (r.outcomes['REJECTED(28)'] ?? 0) > 0,
        JSON.stringify(r.outcomes))
      const bound = Math.max(10 * median(base.lat), 500)
      ctx.invariant('victim tenant setups all succeed during the flood', d.outcomes.ESTABLISHED === 5, JSON.stringify(d.outcomes))
      ctx.invariant('victim setup latency within 10× its baseline (or 500 ms)', median(d.lat) <= bound,
        `median ${median(base.lat).toFixed(1)} ms → ${median(d.lat).toFixed(1)} ms (bound ${bound.toFixed(0)} ms)`)
    } finally {
      await blueL.done()
      await redL.done()
    }
  },
}

export const labC26: LabScenario = {
  id: 'C26', catalogue: 'C26', title: 'bandwidth flood against tenant QoS', attackerModel: 'T1', quick: false,
  async run(env, ctx) {
    const limit = env.plan.tenants.find((t) => t.name === 'red')?.qos.rateBps ?? 0
    type Bulk = {bytes: number; ms: number; bps: number; errors: string[]}
    const pair = async (src: string, dstVm: string, port: number, ms: number, extra: Record<string, unknown>, startKey?: string): Promise<Bulk> => {
      const tag = ctx.tag('bulk')
      const s = env.step(dstVm, 'sink', {tag, port, ...extra})
      s.catch(() => undefined)
      try {
        return (await env.step(src, 'bulk', {tag, dst: env.vm(dstVm).vip, port, ms, startKey, ...extra})).data as Bulk
      } finally {
        await env.publish(`${tag}/sink-done`)
        await s
      }
    }
    const alone = await pair('blue1', 'blue2', 7900, 1000, SKIP)
    ctx.control('victim tenant bulk WRITEs alone', alone.bytes > 0 && alone.errors.length === 0, `${(alone.bps / 1e6).toFixed(0)} Mbit/s`)
    const go = ctx.tag('go')
    const both = Promise.all([pair('red1', 'red2', 7901, 1500, {}, go), pair('blue1', 'blue2', 7902, 1500, SKIP, go)])
    await new Promise((r) => setTimeout(r, 300)) // both connected (the writers wait for the start key)
    await env.publish(go)
    const [red, blue] = await both
    ctx.log(`red ${(red.bps / 1e6).toFixed(0)} Mbit/s (limit ${(limit / 1e6).toFixed(0)}), blue ${(blue.bps / 1e6).toFixed(0)} Mbit/s (alone ${(alone.bps / 1e6).toFixed(0)})`)
    ctx.probe({name: 'red floods with 64 KiB WRITEs on its rate-limited tenant budget', want: 'denied', expected: `at most its limit (${(limit / 1e6).toFixed(0)} Mbit/s +30%)`,
      observed: `${(red.bps / 1e6).toFixed(0)} Mbit/s`, ok: limit > 0 && red.bps <= limit * 1.3})
    ctx.control('red\'s WRITEs complete (throttled, not failed)', red.bytes > 0 && red.errors.length === 0, red.errors.join(', ') || `${red.bytes} bytes`)
    ctx.invariant('victim tenant keeps at least 30% of its alone throughput (Husky alpha)', blue.bps >= 0.3 * alone.bps && blue.errors.length === 0,
      `${(blue.bps / 1e6).toFixed(0)} of ${(alone.bps / 1e6).toFixed(0)} Mbit/s${blue.errors.length ? `; ${blue.errors.join(', ')}` : ''}`)
  },
}

export const LAB_SCENARIOS: readonly LabScenario[] = [labC09, labC11, labC14b, labC17, labC18, labC19, labC20, labC21, labC23, labC25, labC26]

export type {LabScenarioContext}

/** red2 holds a connected-looking QP (the "qp-holder" step) while `body` runs against its QPN. */
async function withQpHolder(env: LabEnv, ctx: LabScenarioContext, body: (qpn: number) => Promise<void>): Promise<void> {
  const tag = ctx.tag('holder')
  const holder = env.step('red2', 'qp-holder', {tag})
  holder.catch(() => undefined)
  const {qpn} = await env.read<{qpn: number}>(`${tag}/holder`, 30_000)
  try {
    await body(qpn)
  } finally {
    await env.publish(`${tag}/holder-done`)
    await holder
  }
}
