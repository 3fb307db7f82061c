// Control verbs travel over a ControlChannel: in process, direct calls to an Rnic; in step 3, a MessagePort to
// the MasQ backend. Arguments and results are structured-cloneable.

import type {Rnic} from '../rnic/rnic.js'

export type CommandName = 'deviceInfo' | 'allocPd' | 'deallocPd' | 'regMr' | 'deregMr' | 'createCq' | 'destroyCq' |
  'createQp' | 'modifyQp' | 'queryQp' | 'destroyQp'
export type RnicCommands = Pick<Rnic, CommandName>

export interface ControlChannel {
  call<K extends CommandName>(cmd: K, ...args: Parameters<RnicCommands[K]>): Promise<ReturnType<RnicCommands[K]>>
}

export class InProcessChannel implements ControlChannel {
  constructor(readonly rnic: Rnic) {}

  async call<K extends CommandName>(cmd: K, ...args: Parameters<RnicCommands[K]>): Promise<ReturnType<RnicCommands[K]>> {
    const fn = this.rnic[cmd] as (...a: unknown[]) => ReturnType<RnicCommands[K]>
    return fn.apply(this.rnic, args)
  }
}
