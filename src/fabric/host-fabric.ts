// The fabric model as a host's RNIC worker runs it (DESIGN §3): the host's uplink (egress queue by DSCP priority,
// paced at the link rate, propagation delay) between the engine and the wire socket, and the switch's downlink
// toward this host (impairments, then the same queueing) between the wire socket and the engine. A frame crosses
// one socket: sender uplink -> socket -> receiver downlink. Time is a PolledClock that the RNIC loop drives, so
// queued frames add one deadline to the loop's sleep instead of a scheduler of their own.

import {PolledClock} from './clock.js'
import {createDownlink, type Downlink} from './downlink.js'
import {createEgressPort, type PortTuning} from './egress.js'
import {Impairer, type ImpairCounters} from './impair.js'
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
}

/**
 * How close (ns) a fabric deadline must be for the loop to keep spinning rather than sleep on a timer: Node's
 * timers have 1 ms resolution, so a frame in serialisation or propagation would otherwise leave up to 1 ms late.
 */
export const SPIN_HORIZON_NS = 1_000_000

export class HostFabric implements LoopTimers {
  readonly clock = new PolledClock()
  /** The engine transmits here (the uplink port). */
  readonly uplink: Port
  readonly downlink: Downlink

  /**
   * `wire`: toward the switch (the socket link); `deliver`: into this host's engine. `seedSalt` (the host index)
   * gives each host its own reproducible impairment stream.
   */
  constructor(fabric: Fabric, wire: FrameSink, deliver: FrameSink, seedSalt: number, tuning: PortTuning = {},
    private readonly spinHorizonNs = SPIN_HORIZON_NS) {
    this.uplink = createEgressPort(fabric, this.clock, wire, tuning)
    this.downlink = createDownlink(fabric, this.clock, {receive: (f, o, l) => deliver.transmit(f, o, l)}, tuning, seedSalt)
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
    return {uplink: this.uplink.counters, downlink: this.downlink.port.counters, impairments: this.downlink.impairer?.counters}
  }
}

/**
 * The worker's fabric, or undefined when the plan's fabric is transparent (frames go straight to the socket);
 * `force` models even a transparent one (MASQ_FABRIC_MODEL=1, to measure the model's cost).
 */
export function hostFabric(fabric: Fabric | undefined, wire: FrameSink, deliver: FrameSink, seedSalt: number, force = false): HostFabric | undefined {
  if (!fabric || (fabricIsTransparent(fabric) && !force)) return undefined
  return new HostFabric(fabric, wire, deliver, seedSalt)
}
