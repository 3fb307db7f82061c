// Files shipped with the package, located relative to this module (the same depth in src/ and dist/).
import {fileURLToPath} from 'node:url'

export const SCHEMA_URL = new URL('../../schema/topology.schema.json', import.meta.url)
export const SCHEMA_PATH = fileURLToPath(SCHEMA_URL)
export const TEMPLATES_DIR = new URL('../../templates/', import.meta.url)
export const PACKAGE_ROOT = new URL('../../', import.meta.url)
