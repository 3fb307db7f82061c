// The complete example in docs/workload-api.md runs as written (through the loader, in process).
import fs from 'node:fs'
import path from 'node:path'
import {fileURLToPath} from 'node:url'
import {afterAll, describe, expect, it} from 'vitest'
import {createInProcessLab} from '../../../src/vm/inprocess.js'
import {loadWorkloadFile} from '../../../src/vm/loader.js'

const here = path.dirname(fileURLToPath(import.meta.url))
const root = path.resolve(here, '../../..')

describe('docs/workload-api.md', () => {
  const lab = createInProcessLab()
  afterAll(() => lab.stop())

  it('the fixture is the documented example (only the import differs: the package entry masq re-exports sdk.ts)', () => {
    const doc = fs.readFileSync(path.join(root, 'docs/workload-api.md'), 'utf8')
    const from = doc.indexOf('```ts\n', doc.indexOf('Copy this into')) + 6
    const code = doc.slice(from, doc.indexOf('```\n', from))
      .replace("from 'masq'", "from '../../../../src/workloads/sdk.js'")
    const fixture = fs.readFileSync(path.join(here, 'fixtures/hello.ts'), 'utf8')
    expect(fixture.slice(fixture.indexOf('\n') + 1)).toBe(code)
  })

  it('runs: the server receives what the client sent', async () => {
    const w = await loadWorkloadFile(path.join(here, 'fixtures/hello.ts'))
    const [c, s] = await lab.run(w, {message: 'hi from the docs'})
    expect(c, JSON.stringify(c)).toMatchObject({ok: true, result: {sent: 16}})
    expect(s, JSON.stringify(s)).toMatchObject({ok: true, result: {received: 'hi from the docs'}})
  })
})
