// One entry point: topology file (or text) -> resolved plan, or every error found.
// Order: YAML syntax -> JSON Schema -> semantic checks (schema and semantic errors are reported together).
import {readFile} from 'node:fs/promises'
import {sortErrors, type TopologyError} from './errors.js'
import {parseTopologyText} from './parse.js'
import {resolveTopology} from './resolve.js'
import {schemaErrors} from './schema.js'
import type {ResolvedPlan, TopologyRaw} from './types.js'
import {semanticErrors} from './validate.js'

export type LoadResult = {ok: true; plan: ResolvedPlan; errors?: undefined} | {ok: false; errors: TopologyError[]; plan?: undefined}

export function loadTopologyText(text: string, file: string): LoadResult {
  try {
    return check(text, file)
  } catch (error) {
    // last resort for hostile input (e.g. nesting deep enough to exhaust the stack): an error, not a crash
    return {ok: false, errors: [{file, line: 1, col: 1, path: '$', message: `cannot check topology: ${(error as Error).message}`}]}
  }
}

function check(text: string, file: string): LoadResult {
  const parsed = parseTopologyText(text, file)
  if (parsed.errors.length > 0) return {ok: false, errors: sortErrors(parsed.errors)}
  const errors = [...schemaErrors(parsed), ...semanticErrors(parsed)]
  if (errors.length > 0) return {ok: false, errors: sortErrors(errors)}
  return {ok: true, plan: resolveTopology(parsed.data as TopologyRaw, file)}
}

export async function loadTopology(file: string): Promise<LoadResult> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    const message = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory, not a topology file' : (error as Error).message
    return {ok: false, errors: [{file, line: 1, col: 1, path: '$', message: `cannot read topology: ${message}`}]}
  }
  return loadTopologyText(text, file)
}
