// report.html in a real browser: headless Chromium lays it out, screenshots it at 1280 px, and we check that
// every chart is in the rendered DOM and that each mode's colour is actually painted.
// Needs /usr/bin/chromium (Debian: `apt-get install -y chromium`); fails, not skips, without it.
import {execFile} from 'node:child_process'
import {existsSync} from 'node:fs'
import {mkdtemp, readFile, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {promisify} from 'node:util'
import {inflateSync} from 'node:zlib'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {renderReport, reportCharts} from '../../src/bench/report.js'
import {MODE_COLORS} from '../../src/bench/svg.js'
import {syntheticDoc} from '../unit/bench/fixtures/synthetic.js'

const CHROMIUM = '/usr/bin/chromium'
const run = promisify(execFile)

/** Decode an 8-bit RGB/RGBA, non-interlaced PNG (what Chromium writes) into RGBA rows. */
function decodePng(png: Buffer): {width: number; height: number; rgba: Uint8Array} {
  if (png.readUInt32BE(0) !== 0x89504e47) throw new Error('not a PNG')
  let off = 8
  let width = 0, height = 0, channels = 0
  const idat: Buffer[] = []
  while (off < png.length) {
    const len = png.readUInt32BE(off)
    const type = png.toString('latin1', off + 4, off + 8)
    const data = png.subarray(off + 8, off + 8 + len)
    if (type === 'IHDR') {
      width = data.readUInt32BE(0)
      height = data.readUInt32BE(4)
      if (data[8] !== 8 || data[12] !== 0) throw new Error('only 8-bit non-interlaced PNGs')
      channels = data[9] === 6 ? 4 : data[9] === 2 ? 3 : 0
      if (!channels) throw new Error(`colour type ${data[9]} not supported`)
    } else if (type === 'IDAT') idat.push(data)
    off += 12 + len
  }
  const raw = inflateSync(Buffer.concat(idat))
  const stride = width * channels
  const out = new Uint8Array(width * height * 4)
  let prev = new Uint8Array(stride)
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)]!
    const line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1))
    const cur = new Uint8Array(stride)
    for (let i = 0; i < stride; i++) {
      const a = i >= channels ? cur[i - channels]! : 0
      const b = prev[i]!
      const c = i >= channels ? prev[i - channels]! : 0
      let v = line[i]!
      if (filter === 1) v += a
      else if (filter === 2) v += b
      else if (filter === 3) v += (a + b) >> 1
      else if (filter === 4) {
        const p = a + b - c
        const pa = Math.abs(p - a), pb = Math.abs(p - b), pc = Math.abs(p - c)
        v += pa <= pb && pa <= pc ? a : pb <= pc ? b : c
      }
      cur[i] = v & 0xff
    }
    for (let x = 0; x < width; x++) {
      out.set([cur[x * channels]!, cur[x * channels + 1]!, cur[x * channels + 2]!, channels === 4 ? cur[x * channels + 3]! : 255], (y * width + x) * 4)
    }
    prev = cur
  }
  return {width, height, rgba: out}
}

function countColor(img: {rgba: Uint8Array}, hex: string, tolerance = 12): number {
  const r = Number.parseInt(hex.slice(1, 3), 16), g = Number.parseInt(hex.slice(3, 5), 16), b = Number.parseInt(hex.slice(5, 7), 16)
  let n = 0
  for (let i = 0; i < img.rgba.length; i += 4) {
    if (Math.abs(img.rgba[i]! - r) <= tolerance && Math.abs(img.rgba[i + 1]! - g) <= tolerance && Math.abs(img.rgba[i + 2]! - b) <= tolerance) n++
  }
  return n
}

describe('report.html in headless Chromium', () => {
  let dir = ''
  let page = ''
  const doc = syntheticDoc()
  const flags = () => ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', `--user-data-dir=${join(dir, 'profile')}`]

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: install it (Debian: apt-get install -y chromium) to run this test`)
    dir = await mkdtemp(join(tmpdir(), 'masq-report-'))
    page = join(dir, 'report.html')
    await writeFile(page, renderReport(doc))
  })
  afterAll(async () => {
    if (dir) await rm(dir, {recursive: true, force: true})
  })

  it('every chart is in the DOM Chromium builds', async () => {
    const {stdout} = await run(CHROMIUM, [...flags(), '--dump-dom', `file://${page}`], {timeout: 90_000, maxBuffer: 64 << 20})
    for (const c of reportCharts(doc)) expect(stdout).toMatch(new RegExp(`<svg[^>]* id="${c.id}"`))
    expect(stdout).toContain('masq bench report')
  }, 120_000)

  it('a 1280 px screenshot shows the charts in every mode colour', async () => {
    const png = join(dir, 'shot.png')
    await run(CHROMIUM, [...flags(), `--screenshot=${png}`, '--window-size=1280,2000', `file://${page}`], {timeout: 90_000})
    const img = decodePng(await readFile(png))
    expect(img.width).toBe(1280)
    expect(img.height).toBe(2000)
    for (const mode of ['bare', 'sriov', 'hyv', 'masq', 'freeflow']) {
      // Lines, bars and legend swatches: hundreds of pixels per mode when the SVG is painted.
      expect(countColor(img, MODE_COLORS[mode]!), mode).toBeGreaterThan(300)
    }
  }, 120_000)
})
