// Public surface of the emulated RNIC for the host process (step 3): the command API, the pumpable engine,
// the in-process fabric and drivers, the shared ring layout.
export {Rnic, isRnicError, DEFAULT_LIMITS} from './rnic.js'
export type {RnicOptions, RnicError, RnicLimits, RegMrArgs, CreateQpArgs, AsyncEventRecord} from './rnic.js'
export type {QpAttr, QpCap} from './qp.js'
export type {AhAttr} from './av.js'
export {type Port, LoopbackFabric, mulberry32} from './port.js'
export type {Impairments, FabricOptions, FrameTap} from './port.js'
export {runUntilIdle, RnicDriver, type FrameSource} from './pump.js'
export {type Clock, ManualClock, realClock} from './clock.js'
export {Counter, COUNTER_NAMES, DropReason} from './counters.js'
export * as queue from './queue.js'
