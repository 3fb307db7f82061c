import {readFileSync} from 'node:fs'
import {describe, expect, it} from 'vitest'
import {TOPOLOGY_DOC_URL, generateTopologyDoc} from '../../../src/topology/docgen.js'

describe('docs/topology.md', () => {
  const doc = generateTopologyDoc()
  it('is up to date with the schema (regenerate: npx tsx scripts/gen-topology.mts)', () => {
    expect(readFileSync(TOPOLOGY_DOC_URL, 'utf8') === doc).toBe(true)
  })
  it('documents every key of every object, with defaults and the address plan', () => {
    for (const k of ['`linkRate`', '`dscpPriority`', '`underlay`', '`rateLimiters`', '`connectRate`', '`egress`', '`ports`', '`memory`']) {
      expect(doc).toContain(`| ${k} |`)
    }
    expect(doc).toContain('| `maxQp` | integer >= 0 | `4096` |')
    expect(doc).toContain('| `masq` | VM `ip` (vIP) | host `underlay` |')
    expect(doc).toContain('| `bare` | host `underlay` | host `underlay` |')
  })
})
