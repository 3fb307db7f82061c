// Command results: errors are values {errno, message} (never exceptions), so they cross a MessagePort unchanged.

export interface RnicError {
  errno: number
  message: string
}

export function isRnicError(v: unknown): v is RnicError {
  return typeof v === 'object' && v !== null && typeof (v as RnicError).errno === 'number' && 'message' in v
}

export const fail = (errno: number, message: string): RnicError => ({errno, message})
