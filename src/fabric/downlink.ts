// The switch's port toward a host (DESIGN §3), modelled in the receiving host's RNIC worker: frames arriving from
// any sender first meet the fabric's impairments (the "switch"), then queue by DSCP priority and are paced at this
// host's link rate. N senders to one host therefore congest this port: it is where strict priority and tenant
// shares show. Then the frame is delivered to the RNIC (`rnic.receive(frame, off, len)`).

import type {Clock} from './clock.js'
import {type PortTuning, portOptionsFromFabric} from './egress.js'
import {Impairer, uniformJitter} from './impair.js'
import {Port, type FrameSink} from './port.js'
import type {Fabric} from '../topology/types.js'

export interface Downlink {
  /** Where frames from the wire enter (the impairer when one is configured, else the port). */
  readonly input: FrameSink
  readonly port: Port
  readonly impairer: Impairer | undefined
}

export interface RnicReceiver {
  receive(frame: Uint8Array, off: number, len: number): void
}

/** `seedSalt` (e.g. the host index) gives every host its own reproducible impairment stream. */
export function createDownlink(fabric: Fabric, clock: Clock, rnic: RnicReceiver, tuning: PortTuning = {}, seedSalt = 0): Downlink {
  const deliver: FrameSink = {transmit: (f, o, l) => rnic.receive(f, o, l)}
  const imp = fabric.impairments
  const seed = (imp.seed + Math.imul(seedSalt, 0x9e3779b1)) >>> 0
  const port = new Port({...portOptionsFromFabric(fabric, clock, deliver, tuning), jitter: uniformJitter(imp.jitterNs, seed)})
  const impairer = Impairer.isNoop(imp)
    ? undefined
    : new Impairer({loss: imp.loss, duplicate: imp.duplicate, reorder: imp.reorder, seed, maxFrameBytes: tuning.maxFrameBytes}, clock, port)
  return {input: impairer ?? port, port, impairer}
}
