import { existsSync } from 'node:fs'
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import { chromium, type BrowserContext } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { renderHeadlineSvg, renderReport } from '../../bench/macro/report.js'
import { reportFixture } from './report-fixture.js'

const chromiumPath = '/usr/bin/chromium'

interface ChartShape { id: string, svgs: number, marks: number, sizedMarks: number, width: number, height: number }

describe('HTML benchmark report in headless Chromium', () => {
  let browser: BrowserContext
  let directory: string

  beforeAll(async () => {
    if (!existsSync(chromiumPath)) {
      throw new Error(`Chromium is not installed at ${chromiumPath}: the report test needs it. Install it with: apt-get install -y chromium`)
    }
    directory = await mkdtemp(path.join(os.tmpdir(), 'sluice-report-test-'))
    // A new, empty profile directory per run (Playwright passes it as --user-data-dir).
    browser = await chromium.launchPersistentContext(path.join(directory, 'profile'), {
      executablePath: chromiumPath,
      headless: true,
      viewport: { width: 1100, height: 900 },
      args: [
        '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
        '--disable-background-networking', '--disable-component-update', '--disable-sync'
      ]
    })
  }, 60_000)

  afterAll(async () => {
    await browser?.close()
    if (directory !== undefined) await rm(directory, { recursive: true, force: true })
  })

  test('the report renders its three charts with visible bars and points, fetching nothing', async () => {
    const file = path.join(directory, 'report.html')
    await writeFile(file, renderReport(reportFixture()))
    const page = await browser.newPage()
    const requests: string[] = []
    page.on('request', (request) => { requests.push(request.url()) })
    await page.goto(pathToFileURL(file).href, { waitUntil: 'load' })

    const shapes: ChartShape[] = []
    for (const id of ['chart-throughput', 'chart-latency', 'chart-record-size']) {
      const svgs = await page.$$eval(`#${id} svg`, (elements) => elements.map((element) => {
        const box = element.getBoundingClientRect()
        return { width: box.width, height: box.height }
      }))
      const marks = await page.$$eval(`#${id} rect.bar, #${id} circle.point`, (elements) => elements.map((element) => {
        const box = element.getBoundingClientRect()
        return box.width > 0 && box.height > 0
      }))
      shapes.push({ id, svgs: svgs.length, marks: marks.length, sizedMarks: marks.filter(Boolean).length, width: svgs[0]?.width ?? 0, height: svgs[0]?.height ?? 0 })
    }

    const byId = Object.fromEntries(shapes.map((shape) => [shape.id, shape]))
    // 8 rows with MB/s -> 8 bars.
    expect(byId['chart-throughput']).toMatchObject({ svgs: 1, marks: 8, sizedMarks: 8 })
    // 3 rows with latency x 5 percentiles.
    expect(byId['chart-latency']).toMatchObject({ svgs: 1, marks: 15, sizedMarks: 15 })
    // Two charts (MB/s, msgs/s) x 3 record sizes of 'append'; 'append-always' has one size only.
    expect(byId['chart-record-size']).toMatchObject({ svgs: 2, marks: 6, sizedMarks: 6 })
    for (const shape of shapes) {
      expect(shape.width, shape.id).toBeGreaterThan(100)
      expect(shape.height, shape.id).toBeGreaterThan(50)
    }
    // Bars are ordered as the rows and scaled: the raw read bar (20 GB/s) is wider than the fdatasync-bound bar.
    const widths = await page.$$eval('#chart-throughput rect.bar', (bars) => bars.map((bar) => bar.getBoundingClientRect().width))
    expect(widths[1]!).toBeGreaterThan(widths[2]!)
    expect(await page.textContent('body')).toContain('Test CPU <&>')
    expect(requests.filter((url) => !url.startsWith('file:'))).toEqual([])

    const screenshot = path.join(directory, 'report.png')
    await page.screenshot({ path: screenshot, fullPage: true })
    expect((await stat(screenshot)).size).toBeGreaterThan(10_000)
    if (process.env.SLUICE_REPORT_SCREENSHOT !== undefined) await page.screenshot({ path: process.env.SLUICE_REPORT_SCREENSHOT, fullPage: true })
    await page.close()
  }, 60_000)

  test('the headline SVG renders standalone with one bar per headline figure', async () => {
    const file = path.join(directory, 'headline.svg')
    await writeFile(file, renderHeadlineSvg(reportFixture()))
    const page = await browser.newPage()
    await page.goto(pathToFileURL(file).href)
    const bars = await page.$$eval('rect.bar', (elements) => elements.map((element) => {
      const box = element.getBoundingClientRect()
      return { value: Number(element.getAttribute('data-value')), width: box.width, height: box.height }
    }))
    // raw write, append, raw sync write, append always, raw read, consume.
    expect(bars.map((bar) => bar.value)).toEqual([5000, 4000, 80, 60, 20000, 15000])
    for (const bar of bars) expect(bar.width * bar.height).toBeGreaterThan(0)
    await page.close()
  }, 60_000)

  test('a run with no engine figures still renders, with empty charts saying so', async () => {
    const results = reportFixture()
    results.rows = results.rows.filter((row) => row.kind === 'raw')
    const html = renderReport(results)
    expect(html).toContain('no figures measured in this run')
    expect(html).not.toMatch(/<script|<link|(src|href)=["']?https?:/)
  })
})
