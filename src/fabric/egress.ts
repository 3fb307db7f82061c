// The host's uplink port (DESIGN §3): frames from this host's RNIC are queued by DSCP priority, paced at the link
// rate, delayed by the link's propagation delay and handed to the wire (the socket link to the destination host).
// Together with the destination's downlink (downlink.ts) a frame crosses exactly one socket.

import type {Clock} from './clock.js'
import {Port, type FrameSink} from './port.js'
import type {Fabric} from '../topology/types.js'

export interface PortTuning {
  burstBytes?: number
  maxFrameBytes?: number
  queueBytes?: readonly number[]
  ecnMarkBytes?: number
}

export function portOptionsFromFabric(fabric: Fabric, clock: Clock, next: FrameSink, tuning: PortTuning = {}) {
  return {
    clock,
    next,
    rateBps: fabric.linkRateBps,
    delayNs: fabric.delayNs,
    priorities: fabric.priorities,
    dscpPriority: fabric.dscpPriority,
    bufferBytes: fabric.bufferBytes,
    ...tuning,
  }
}

/** Uplink of a host: `next` is the wire toward the switch (in the lab, the socket to the destination host). */
export function createEgressPort(fabric: Fabric, clock: Clock, wire: FrameSink, tuning: PortTuning = {}): Port {
  return new Port(portOptionsFromFabric(fabric, clock, wire, tuning))
}
