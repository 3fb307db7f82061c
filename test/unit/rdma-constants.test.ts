import {describe, expect, it} from 'vitest'
import {CmEvent, QpAttrMask, WcStatus, WC_STATUS_STR} from '../../src/rdma-constants.js'

describe('rdma constants follow rdma-core', () => {
  it('work-completion statuses', () => {
    expect(WcStatus.REM_ACCESS_ERR).toBe(10)
    expect(WC_STATUS_STR[WcStatus.WR_FLUSH_ERR]).toBe('Work Request Flushed Error')
    expect(WC_STATUS_STR[WcStatus.RETRY_EXC_ERR]).toBe('transport retry counter exceeded')
  })
  it('rdma_cm events and qp attr mask bits', () => {
    expect(CmEvent.TIMEWAIT_EXIT).toBe(15)
    expect(QpAttrMask.DEST_QPN).toBe(1 << 20)
  })
})
