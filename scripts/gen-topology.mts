// Regenerates the files derived from schema/topology.schema.json:
//   src/topology/schema-validator.generated.ts (ajv standalone validator) and docs/topology.md (reference).
// Usage: npx tsx scripts/gen-topology.mts
import {writeFileSync} from 'node:fs'
import {GENERATED_VALIDATOR_URL, generateValidatorSource} from '../src/topology/schema-codegen.js'

writeFileSync(GENERATED_VALIDATOR_URL, generateValidatorSource())
console.error(`wrote ${GENERATED_VALIDATOR_URL.pathname}`)

const {TOPOLOGY_DOC_URL, generateTopologyDoc} = await import('../src/topology/docgen.js')
writeFileSync(TOPOLOGY_DOC_URL, generateTopologyDoc())
console.error(`wrote ${TOPOLOGY_DOC_URL.pathname}`)
