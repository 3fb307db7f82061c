// Typed decode errors for wire input. Decoders return these (never throw) so callers can count drops by reason.

export type WireErrorReason =
  | 'MAD_SHORT' // fewer than 256 bytes
  | 'MAD_BASE_VERSION' // BaseVersion != 1
  | 'MAD_NOT_CM' // MgmtClass != 0x07
  | 'MAD_CLASS_VERSION' // ClassVersion != 2
  | 'MAD_METHOD' // not Send (0x03)
  | 'CM_UNKNOWN_ATTRIBUTE' // attribute id not REQ/MRA/REJ/REP/RTU/DREQ/DREP
  | 'CM_BAD_FIELD' // a field value outside its range (e.g. REJ info length > 72)
  | 'CMA_SHORT' // REQ private data shorter than the 36-byte cma_hdr
  | 'CMA_VERSION' // cma_hdr version != 0
  | 'CMA_IP_VERSION' // cma_hdr ip_version not 4 or 6
  | 'MASQ_HEADER' // 'MQ' magic present but header malformed
  | 'PCAP_MAGIC'
  | 'PCAP_SHORT'

export class WireError extends Error {
  override readonly name = 'WireError'
  constructor(readonly reason: WireErrorReason, message?: string) {
    super(message ?? reason)
  }
}

export function isWireError(v: unknown): v is WireError {
  return v instanceof WireError
}
