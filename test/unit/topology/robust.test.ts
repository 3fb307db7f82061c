// The loader never throws on hostile or mangled input: it returns a plan or positioned errors.
import {readFileSync} from 'node:fs'
import fc from 'fast-check'
import {stringify} from 'yaml'
import {describe, expect, it} from 'vitest'
import {loadTopologyText} from '../../../src/topology/load.js'

const example = readFileSync(new URL('../../../examples/multi-tenant.yaml', import.meta.url), 'utf8')
const lines = example.split('\n')

function check(text: string): void {
  const r = loadTopologyText(text, 'f.yaml')
  if (r.ok) {
    expect(r.plan.version).toBe(1)
    return
  }
  expect(r.errors.length).toBeGreaterThan(0)
  for (const e of r.errors) {
    expect(e.line).toBeGreaterThanOrEqual(1)
    expect(e.col).toBeGreaterThanOrEqual(1)
    expect(e.path.startsWith('$')).toBe(true)
    expect(e.message.length).toBeGreaterThan(0)
  }
}

describe('loader robustness', () => {
  it('arbitrary text', () => {
    fc.assert(fc.property(fc.string({maxLength: 200}), (s) => check(s)), {numRuns: 300})
  })
  it('arbitrary data shapes as YAML', () => {
    fc.assert(fc.property(fc.anything({maxDepth: 3}), (v) => {
      let text: string | undefined
      try {
        text = stringify(v) as string | undefined
      } catch {
        return // not representable in YAML
      }
      if (typeof text === 'string') check(text)
    }), {numRuns: 300})
  })
  it('a valid topology with lines deleted or duplicated', () => {
    fc.assert(fc.property(fc.array(fc.tuple(fc.nat(lines.length - 1), fc.boolean()), {minLength: 1, maxLength: 4}), (edits) => {
      const l = [...lines]
      for (const [i, dup] of edits) {
        const at = i % l.length
        if (dup) l.splice(at, 0, l[at])
        else l.splice(at, 1)
      }
      check(l.join('\n'))
    }), {numRuns: 300})
  })
  it('keys that look like prototypes and alias bombs are errors, not crashes', () => {
    check('__proto__: {polluted: true}\nconstructor: 1\n')
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
    const bomb = ['a: &a [x, x, x, x, x, x, x, x, x]']
    for (let i = 0; i < 8; i++) bomb.push(`${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [*${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}]`)
    const r = loadTopologyText(bomb.join('\n'), 'bomb.yaml')
    expect(r.ok).toBe(false)
    expect(r.errors?.[0].message).toMatch(/alias/i)
  })
})
