// Regenerates the files derived from schema/topology.schema.json:
//   src/topology/schema-validator.generated.ts (ajv standalone validator) and docs/topology.md (reference).
// Usage: npx tsx scripts/gen-topology.ts
import {writeFileSync} from 'node:fs'
import {GENERATED_VALIDATOR_URL, generateValidatorSource} from '../src/topology/schema-codegen.js'

writeFileSync(GENERATED_VALIDATOR_URL, generateValidatorSource())
console.error(`wrote ${GENERATED_VALIDATOR_URL.pathname}`)
