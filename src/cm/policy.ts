// The MasQ hooks of the CM agent (step 4 plugs the backend in): egress / ingress policy on connection set-up,
// address resolution (vIP → host address, reachability) and translation of a VM's own device address.
// Defaults: allow everything, identity addressing.

export type PolicyDecision = {allow: true} | {allow: false; reason: number}
export interface ReqPolicyContext {
  vni: number // 0 when the VM has none
  ps: number
  srcIp: string // device (virtual) addresses, as in cma_hdr
  srcPort: number
  dstIp: string
  dstPort: number
  srcWireIp: string // host addresses on the wire
  dstWireIp: string
}
export interface CmPolicy {
  /** Egress check before any REQ leaves (a deny surfaces as REJECTED with `reason`, nothing on the wire). */
  onOutgoingReq?(ctx: ReqPolicyContext): PolicyDecision | Promise<PolicyDecision>
  /** Ingress check when a REQ has found its listener (a deny sends REJ with `reason`). */
  onIncomingReq?(ctx: ReqPolicyContext): PolicyDecision | Promise<PolicyDecision>
}

/** Address resolution (ARP/neighbour, or in MasQ the controller): device ip → wire ip and reachability. */
export type AddrResolver = (vni: number, ip: number) => {wireIp: number; reachable: boolean} | undefined |
  Promise<{wireIp: number; reachable: boolean} | undefined>
/** Device (virtual) ip of this host's VM → the wire ip it sends from. */
export type AddrTranslator = (vni: number, ip: number) => number
