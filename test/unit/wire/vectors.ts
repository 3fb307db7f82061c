// Locates ../shared/vectors beside the repo (CI) or /work/shared/vectors (dev machine). Missing vectors fail.
import {existsSync, readFileSync} from 'node:fs'
import path from 'node:path'
import {fileURLToPath} from 'node:url'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..')

export function vectorsDir(): string {
  for (const dir of [path.resolve(ROOT, '..', 'shared', 'vectors'), '/work/shared/vectors']) {
    if (existsSync(path.join(dir, 'roce-sample-22.pcap'))) return dir
  }
  throw new Error('test vectors not found: expected ../shared/vectors beside the repo or /work/shared/vectors')
}

export function readVector(name: string): Uint8Array {
  return new Uint8Array(readFileSync(path.join(vectorsDir(), name)))
}
