import {describe, expect, it} from 'vitest'
import {formatDuration, formatSize, Progress} from '../../../src/bench/progress.js'

function sink(isTTY: boolean) {
  const out: string[] = []
  return {out, stream: {isTTY, write: (s: string) => out.push(s)}}
}

describe('Progress', () => {
  it('plain lines when not a TTY, with mode, test, size and an ETA from the mean step', () => {
    const {out, stream} = sink(false)
    let t = 0
    const p = new Progress({total: 4, stream, now: () => t})
    p.start({mode: 'masq', test: 'bw', op: 'write', size: 65536})
    t = 10_000
    p.finish()
    p.start({mode: 'masq', test: 'bw', op: 'write', size: 2})
    t = 20_000
    p.finish()
    p.start({mode: 'sriov', test: 'lat', op: 'send', size: 2})
    p.end()
    expect(out).toEqual([
      '[bench 1/4] masq bw write 64 KiB  ETA ?\n',
      '[bench 2/4] masq bw write 2 B  ETA 30s\n',
      '[bench 3/4] sriov lat send 2 B  ETA 20s\n',
      '[bench] done in 20s\n',
    ])
    expect(out.join('')).not.toContain('\r')
  })
  it('one rewritten line on a TTY', () => {
    const {out, stream} = sink(true)
    const p = new Progress({total: 2, stream, now: () => 0})
    p.start({mode: 'bare', test: 'conn'})
    p.end('finished')
    expect(out[0]).toBe('\r\x1b[2K[bench 1/2] bare conn  ETA ?')
    expect(out.at(-1)).toBe('[bench] finished in 0s\n')
  })
  it('formats sizes and durations', () => {
    expect([2, 1024, 65536, 8388608, 1000].map(formatSize)).toEqual(['2 B', '1 KiB', '64 KiB', '8 MiB', '1000 B'])
    expect([0, 4_200, 125_000, 3_700_000].map(formatDuration)).toEqual(['0s', '4s', '2m05s', '1h01m'])
  })
})
