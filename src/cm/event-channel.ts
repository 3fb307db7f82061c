// rdma_cm events (struct rdma_cm_event) and the event channel (rdma_create_event_channel): a queue the
// application drains with getCmEvent, in arrival order.

import {CmEvent} from '../rdma-constants.js'
import type {CmId} from './rdma-cm.js'

export type CmEventName = keyof typeof CmEvent
export const EVENT_NAME = Object.fromEntries(Object.entries(CmEvent).map(([k, v]) => [v, k])) as Record<number, CmEventName>

/** struct rdma_conn_param */
export interface ConnParam {
  privateData?: Uint8Array
  responderResources?: number
  initiatorDepth?: number
  flowControl?: number
  retryCount?: number // ignored by accept
  rnrRetryCount?: number
  srq?: number
  qpNum?: number
}

/** struct rdma_cm_event */
export interface RdmaCmEvent {
  event: number
  name: CmEventName
  status: number
  id: CmId
  listenId?: CmId
  param: {
    conn: Required<Omit<ConnParam, 'privateData'>> & {privateData: Uint8Array}
    /** struct rdma_ud_param: set on UD (RDMA_PS_UDP) CONNECT_REQUEST / ESTABLISHED / UNREACHABLE */
    ud?: {privateData: Uint8Array; ahAttr: {dgid: string; sgidIndex: number}; qpNum: number; qkey: number}
  }
}

export class EventChannel {
  private readonly queue: RdmaCmEvent[] = []
  private readonly waiters: Array<(e: RdmaCmEvent) => void> = []
  unacked = 0

  push(e: RdmaCmEvent): void {
    this.unacked++
    const w = this.waiters.shift()
    if (w) w(e)
    else this.queue.push(e)
  }

  /** rdma_get_cm_event: the next event (waits for one). */
  get(): Promise<RdmaCmEvent> {
    const e = this.queue.shift()
    if (e) return Promise.resolve(fetched(e))
    return new Promise((resolve) => this.waiters.push((ev) => resolve(fetched(ev))))
  }

  /** Non-blocking variant (an O_NONBLOCK channel fd): undefined when nothing is queued. */
  tryGet(): RdmaCmEvent | undefined {
    const e = this.queue.shift()
    return e && fetched(e)
  }

  get pending(): number {
    return this.queue.length
  }
}

/** A fetched CONNECT_REQUEST frees one backlog slot of its listener (ucma_get_event). */
function fetched(e: RdmaCmEvent): RdmaCmEvent {
  if (e.listenId && e.listenId.backlogUsed > 0) e.listenId.backlogUsed--
  return e
}

export function emptyParam(): RdmaCmEvent['param'] {
  return {conn: {privateData: new Uint8Array(0), responderResources: 0, initiatorDepth: 0, flowControl: 0,
    retryCount: 0, rnrRetryCount: 0, srq: 0, qpNum: 0}}
}
