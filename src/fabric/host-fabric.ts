// The fabric model as a host's RNIC worker runs it (DESIGN §3): the host's uplink (egress queue by DSCP priority,
// paced at the link rate, propagation delay) between the engine and the wire socket, and the switch's downlink
// toward this host (impairments, then the same queueing) between the wire socket and the engine. A frame crosses
// one socket: sender uplink -> socket -> receiver downlink. Time is a PolledClock that the RNIC loop drives, so
// queued frames add one deadline to the loop's sleep instead of a scheduler of their own.

import {PolledClock} from './clock.js'
import {createDownlink, type Downlink} from './downlink.js'
import {createEgressPort, type PortTuning} from './egress.js'
import {Impairer, type ImpairCounters} from './impair.js'
import {FabricProbe, type ProbeCounters} from './probe.js'
import type {FrameSink, Port, PortCounters} from './port.js'
import type {Fabric} from '../topology/types.js'

/**
 * The default fabric (100 Gbps, 1 µs, no impairments) is faster than the emulated RNIC can drive it (a few Gbps)
 * and its delay is below what the worker's loop can time, so modelling it would change no result and cost a queue
 * pass per frame: such a fabric is transparent and frames go straight from the engine to the socket.
 */
export const TRANSPARENT_RATE_BPS = 100e9
export const TRANSPARENT_DELAY_NS = 1000

export function fabricIsTransparent(f: Fabric): boolean {
  return f.linkRateBps >= TRANSPARENT_RATE_BPS && f.delayNs <= TRANSPARENT_DELAY_NS && Impairer.isNoop(f.impairments) && f.impairments.jitterNs <= 0
}

/** What the RNIC loop asks of extra timers (src/host/rnic-loop.ts): times in µs on the engine's clock. */
export interface LoopTimers {
  /** Fire due timers; > 0 means "keep polling" (timers fired, or one is due within the spin horizon). */
  poll(): number
  /** Earliest pending deadline in µs (performance.now() × 1000), Infinity when idle. */
  nextDeadline(): number
}

export interface HostFabricCounters {
  uplink: PortCounters
  downlink: PortCounters
  impairments: ImpairCounters | undefined
  probe: ProbeCounters
}

/**
 * How close (ns) a fabric deadline must be for the loop to keep spinning rather than sleep on a timer. Node's
 * timers have 1 ms resolution, so a later deadline is met up to ~1 ms late; the ports keep their schedule anyway
 * (port.ts departs queued frames at their model times), so this costs delivery jitter, not link rate. Spinning
 * for every deadline within 1 ms kept both RNIC workers of a flooded link busy and starved the rest of the lab on
 * 2 cores (CM setups 3.6x slower, the flood itself 40% slower than with 100 µs).
 */
export const SPIN_HORIZON_NS = 100_000

export class HostFabric implements LoopTimers {
  readonly clock = new PolledClock()
  /** The engine transmits here (the uplink port). */
  readonly uplink: Port
  readonly downlink: Downlink
  /** Provider-traffic probe: sends through the uplink; the worker hands it delivered frames first (probe.ts). */
  readonly probe: FabricProbe

  /**
   * `wire`: toward the switch (the socket link); `deliver`: into this host's engine. `seedSalt` (the host index)
   * gives each host its own reproducible impairment stream.
   */
  constructor(fabric: Fabric, wire: FrameSink, deliver: FrameSink, seedSalt: number, tuning: PortTuning = {},
    private readonly spinHorizonNs = SPIN_HORIZON_NS) {
    this.uplink = createEgressPort(fabric, this.clock, wire, tuning)
    this.downlink = createDownlink(fabric, this.clock, {receive: (f, o, l) => deliver.transmit(f, o, l)}, tuning, seedSalt)
    this.probe = new FabricProbe(this.clock, this.uplink)
  }

  /** Frames from the wire socket enter here (impairments, then the downlink port). The buffer may be reused after. */
  get input(): FrameSink {
    return this.downlink.input
  }

  poll(): number {
    const fired = this.clock.runDue()
    return fired + (this.clock.nextDeadline() - this.clock.now() < this.spinHorizonNs ? 1 : 0)
  }

  nextDeadline(): number {
    return this.clock.nextDeadline() / 1000
  }

  counters(): HostFabricCounters {
    return {uplink: this.uplink.counters, downlink: this.downlink.port.counters, impairments: this.downlink.impairer?.counters, probe: this.probe.counters}
  }
}

/**
 * The worker's fabric, or undefined when the plan's fabric is transparent (frames go straight to the socket);
 * `force` models even a transparent one (MASQ_FABRIC_MODEL=1, to measure the model's cost).
 */
export function hostFabric(fabric: Fabric | undefined, wire: FrameSink, deliver: FrameSink, seedSalt: number, force = false,
  spinHorizonNs = SPIN_HORIZON_NS): HostFabric | undefined {
  if (!fabric || (fabricIsTransparent(fabric) && !force)) return undefined
  return new HostFabric(fabric, wire, deliver, seedSalt, {}, spinHorizonNs)
}

/** rdma_cm's default QP ACK timeout exponent in the testbed (src/cm/agent.ts): 4.096 µs × 2^14 ≈ 67 ms. */
export const DEFAULT_ACK_TIMEOUT = 14

/**
 * The RC local ACK timeout (IBTA exponent) rdma_cm gives QPs in a lab. On a modelled link a sender may be held
 * to a slow link or tenant rate: the timeout must cover several messages at that rate, else the retransmit
 * timer fires while ACKs are still queued, and rxe's completer ignores ACKs for a WQE the requester is re-sending,
 * so the QP retries forever (measured: 16 Mbps tenants with the 67 ms default never finished). The bound is 8 x a
 * 64 KiB message at the slowest rate, between the testbed's 14 and the 18 (≈1 s) that kernel RoCE setups use.
 */
export function rcAckTimeout(fabric: Fabric, tenantRatesBps: readonly number[]): number {
  if (fabricIsTransparent(fabric)) return DEFAULT_ACK_TIMEOUT
  const rates = [fabric.linkRateBps, ...tenantRatesBps].filter((r) => r > 0)
  const slowest = Math.min(...rates)
  const needUs = (8 * 64 * 1024 * 8 * 1e6) / slowest + 2 * fabric.delayNs / 1000
  let t = DEFAULT_ACK_TIMEOUT
  while (t < 18 && 4.096 * 2 ** t < needUs) t++
  return t
}
