// JSON Schema (draft 2020-12 subset, for ajv) of results.json version 1: the contract `masq bench --out`
// writes and `masq bench compare` reads. Extra properties are allowed so that additions stay version 1.
import {Ajv} from 'ajv'
import {CONTROL_VERBS, MODES, parseResults, RESULTS_VERSION, type ResultsDoc} from './results.js'

const num = {type: 'number'} as const
const nullableNum = {type: ['number', 'null']} as const
const op = {enum: ['send', 'write', 'read', 'atomic']} as const
const spread = {type: 'object', required: ['min', 'median', 'max', 'n'], properties: {min: num, median: num, max: num, n: num}} as const

const bwRow = {
  type: 'object',
  required: ['op', 'bytes', 'iterations', 'bwPeak', 'bwAverage', 'msgRate', 'unit'],
  properties: {op, bytes: {type: 'integer', minimum: 1}, iterations: {type: 'integer', minimum: 0}, bwPeak: num, bwAverage: num, msgRate: num, unit: {enum: ['MB/sec', 'Gb/sec']}, spread},
} as const

const latRow = {
  type: 'object',
  required: ['op', 'bytes', 'iterations', 'tMin', 'tMax', 'tTypical', 'tAvg', 'tStdev', 'p99', 'p999'],
  properties: {
    op, bytes: {type: 'integer', minimum: 1}, iterations: {type: 'integer', minimum: 0},
    tMin: num, tMax: num, tTypical: num, tAvg: num, tStdev: num, p99: num, p999: num, spread,
    cdf: {type: 'array', items: {type: 'object', required: ['value', 'fraction'], properties: {value: num, fraction: {type: 'number', minimum: 0, maximum: 1}}}},
  },
} as const

const stat = {type: 'object', required: ['count', 'medianUs', 'p99Us', 'meanUs'], properties: {count: num, medianUs: num, p99Us: num, meanUs: num, spread}} as const

const modeResults = {
  type: 'object',
  required: ['bw', 'lat'],
  properties: {
    bw: {type: 'array', items: bwRow},
    lat: {type: 'array', items: latRow},
    conn: {...stat, required: [...stat.required, 'connsPerSec'], properties: {...stat.properties, connsPerSec: num}},
    verbs: {type: 'object', propertyNames: {enum: [...CONTROL_VERBS]}, additionalProperties: stat},
    transcript: {type: 'string'},
  },
} as const

export const RESULTS_SCHEMA = {
  $id: 'https://masq.invalid/schemas/bench-results-v1.json',
  title: 'masq bench results',
  type: 'object',
  required: ['version', 'createdAt', 'env', 'config', 'modes', 'ratios'],
  properties: {
    version: {const: RESULTS_VERSION},
    createdAt: {type: 'string'},
    env: {
      type: 'object',
      required: ['cpuModel', 'cores', 'node', 'platform', 'kernel', 'topologyHash'],
      properties: {cpuModel: {type: 'string'}, cores: {type: 'integer'}, node: {type: 'string'}, platform: {type: 'string'}, kernel: {type: 'string'}, topologyHash: {type: 'string'}},
    },
    config: {
      type: 'object',
      required: ['modes', 'ops', 'test', 'sizes', 'qps', 'connection', 'reportGbits', 'runs'],
      properties: {
        modes: {type: 'array', items: {enum: [...MODES]}}, ops: {type: 'array', items: op}, test: {enum: ['bw', 'lat', 'conn', 'verbs', 'all']},
        sizes: {type: 'array', items: {type: 'integer', minimum: 1}}, iterations: num, durationSeconds: num, qps: {type: 'integer', minimum: 1},
        connection: {enum: ['RC', 'UC', 'UD']}, reportGbits: {type: 'boolean'}, runs: {type: 'integer', minimum: 1},
      },
    },
    wireLimit: {type: 'object', required: ['throughput', 'pingPong']},
    modes: {type: 'object', propertyNames: {enum: [...MODES]}, additionalProperties: modeResults},
    ratios: {
      type: 'array',
      items: {
        type: 'object',
        required: ['op', 'bytes', 'metric', 'mode', 'value', 'vsBare', 'vsSriov'],
        properties: {op, bytes: num, metric: {enum: ['bw_average', 'lat_typical']}, mode: {enum: [...MODES]}, value: num, vsBare: nullableNum, vsSriov: nullableNum},
      },
    },
  },
} as const

let validator: ReturnType<Ajv['compile']> | undefined

/** Every schema violation as "path: message"; empty when the document conforms. */
export function validateResults(doc: unknown): string[] {
  validator ??= new Ajv({allErrors: true, strict: false}).compile(RESULTS_SCHEMA)
  if (validator(doc)) return []
  return (validator.errors ?? []).map((e) => `${e.instancePath || '/'}: ${e.message ?? 'invalid'}${e.params && 'allowedValues' in e.params ? ` (${(e.params.allowedValues as unknown[]).join(', ')})` : ''}`)
}

/** parseResults plus the full schema: one error listing every violation. */
export function readResults(text: string, name = 'results.json'): ResultsDoc {
  const doc = parseResults(text, name)
  const errors = validateResults(doc)
  if (errors.length) throw new Error(`${name}: not a valid results document:\n  ${errors.join('\n  ')}`)
  return doc
}
