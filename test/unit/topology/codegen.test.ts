import {readFileSync} from 'node:fs'
import {describe, expect, it} from 'vitest'
import {GENERATED_VALIDATOR_URL, generateValidatorSource} from '../../../src/topology/schema-codegen.js'

describe('precompiled schema validator', () => {
  it('is up to date with schema/topology.schema.json (regenerate: npx tsx scripts/gen-topology.mts)', () => {
    expect(readFileSync(GENERATED_VALIDATOR_URL, 'utf8') === generateValidatorSource()).toBe(true)
  })
})
