// `--out DIR`: results.json and report.html side by side.
import {mkdir, writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {renderReport} from './report.js'
import type {ResultsDoc} from './results.js'

export async function writeBenchOutput(dir: string, doc: ResultsDoc): Promise<{results: string; report: string}> {
  await mkdir(dir, {recursive: true})
  const results = join(dir, 'results.json')
  const report = join(dir, 'report.html')
  await writeFile(results, JSON.stringify(doc, null, 2) + '\n')
  await writeFile(report, renderReport(doc))
  return {results, report}
}
