// Errors of the rdma_cm API: librdmacm returns -1 with errno; here a CmError carries the errno.
import {Errno} from '../rdma-constants.js'

/** errno values rdma_cm needs beyond the shared table (Linux asm-generic/errno.h). */
export const CmErrno = {...Errno, ENOSYS: 38, EADDRINUSE: 98, ENETUNREACH: 101, EHOSTUNREACH: 113, EISCONN: 106} as const

export class CmError extends Error {
  constructor(readonly errno: number, message: string) {
    super(message)
    this.name = 'CmError'
  }
}
