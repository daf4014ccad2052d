/**
 * Small SVG chart builders for the benchmark report and the README's headline image.
 *
 * Output is plain SVG 1.1 text with no script, no external font or stylesheet, so the same
 * string works inline in the HTML report and as a standalone `.svg` file. Each data mark carries
 * a class (`bar`, `point`) and a `data-value` attribute so a test can find the marks in the
 * rendered DOM, and a `<title>` so a reader hovering the mark sees the exact figure.
 *
 * Throughput spans four orders of magnitude in one chart (fdatasync-bound appends at a few MB/s,
 * page-cache reads at tens of GB/s), so value axes are logarithmic by default.
 */

export interface Bar {
  label: string
  value: number
  /** Text printed at the end of the bar; defaults to the formatted value. */
  valueLabel?: string
  /** Colour group: raw figures and engine figures are told apart by colour. */
  group: string
}

export interface BarChartOptions {
  title: string
  unit: string
  bars: readonly Bar[]
  width?: number
  logScale?: boolean
}

export interface Series {
  name: string
  points: ReadonlyArray<{ x: number, y: number, label?: string }>
}

export interface LineChartOptions {
  title: string
  xTitle: string
  yTitle: string
  series: readonly Series[]
  /** Category axis: x values are indexes into these labels. Otherwise x is numeric (log). */
  xCategories?: readonly string[]
  width?: number
  height?: number
}

const palette = ['#2b6cb0', '#c05621', '#2f855a', '#6b46c1', '#b83280', '#2c7a7b', '#975a16', '#4a5568']
const groupColours: Readonly<Record<string, string>> = Object.freeze({ raw: '#a0aec0', engine: '#2b6cb0' })

export function escapeXml (text: string): string {
  return text.replace(/[&<>"']/g, (character) => `&#${character.charCodeAt(0)};`)
}

/** 3 significant figures with k/M/G suffixes: 1234567 -> "1.23 M". */
export function formatQuantity (value: number): string {
  if (!Number.isFinite(value)) return String(value)
  const magnitude = Math.abs(value)
  if (magnitude >= 1e9) return `${(value / 1e9).toPrecision(3)} G`
  if (magnitude >= 1e6) return `${(value / 1e6).toPrecision(3)} M`
  if (magnitude >= 1e4) return `${(value / 1e3).toPrecision(3)} k`
  if (magnitude >= 100) return value.toFixed(0)
  if (magnitude >= 1) return value.toPrecision(3)
  if (magnitude === 0) return '0'
  return value.toPrecision(2)
}

interface Scale { toPixel: (value: number) => number, ticks: number[] }

function logScale (minimum: number, maximum: number, pixelStart: number, pixelEnd: number): Scale {
  const low = Math.floor(Math.log10(Math.max(minimum, Number.MIN_VALUE)))
  let high = Math.ceil(Math.log10(Math.max(maximum, Number.MIN_VALUE)))
  if (high === low) high = low + 1
  const ticks: number[] = []
  for (let exponent = low; exponent <= high; exponent++) ticks.push(10 ** exponent)
  const toPixel = (value: number): number => {
    const clamped = Math.max(value, 10 ** low)
    return pixelStart + ((Math.log10(clamped) - low) / (high - low)) * (pixelEnd - pixelStart)
  }
  return { toPixel, ticks }
}

function linearScale (maximum: number, pixelStart: number, pixelEnd: number): Scale {
  const top = maximum > 0 ? maximum : 1
  const step = 10 ** Math.floor(Math.log10(top))
  const niceTop = Math.ceil(top / step) * step
  const ticks: number[] = []
  for (let tick = 0; tick <= niceTop + step / 2; tick += step) ticks.push(tick)
  return { toPixel: (value) => pixelStart + (value / niceTop) * (pixelEnd - pixelStart), ticks }
}

function emptyChart (title: string, width: number, height: number, message: string): string {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" class="chart chart-empty" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="${escapeXml(title)}">`,
    `<text x="8" y="20" font-family="sans-serif" font-size="14" font-weight="bold">${escapeXml(title)}</text>`,
    `<text x="8" y="48" font-family="sans-serif" font-size="12" fill="#4a5568">${escapeXml(message)}</text>`,
    '</svg>'
  ].join('')
}

/** Horizontal bar chart, one bar per entry, labels on the left, values at the bar ends. */
export function barChart (options: BarChartOptions): string {
  const width = options.width ?? 760
  const bars = options.bars.filter((bar) => Number.isFinite(bar.value) && bar.value > 0)
  const rowHeight = 22
  const top = 34
  const height = top + Math.max(1, bars.length) * rowHeight + 30
  if (bars.length === 0) return emptyChart(options.title, width, 70, 'no figures measured in this run')

  const labelWidth = Math.min(320, 12 + Math.max(...bars.map((bar) => bar.label.length)) * 6.4)
  const plotStart = labelWidth
  const plotEnd = width - 110
  const values = bars.map((bar) => bar.value)
  const scale = options.logScale === false
    ? linearScale(Math.max(...values), plotStart, plotEnd)
    : logScale(Math.min(...values), Math.max(...values), plotStart, plotEnd)
  const axisY = top + bars.length * rowHeight + 4

  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" class="chart bar-chart" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="${escapeXml(options.title)}" font-family="sans-serif">`,
    `<text x="8" y="20" font-size="14" font-weight="bold">${escapeXml(options.title)}</text>`
  ]
  for (const tick of scale.ticks) {
    const x = scale.toPixel(tick).toFixed(1)
    parts.push(`<line x1="${x}" y1="${top - 4}" x2="${x}" y2="${axisY}" stroke="#e2e8f0"/>`)
    parts.push(`<text x="${x}" y="${axisY + 14}" font-size="10" text-anchor="middle" fill="#4a5568">${escapeXml(formatQuantity(tick))}</text>`)
  }
  parts.push(`<text x="${plotEnd}" y="${axisY + 26}" font-size="10" text-anchor="end" fill="#4a5568">${escapeXml(options.unit)}${options.logScale === false ? '' : ' (log scale)'}</text>`)
  bars.forEach((bar, index) => {
    const y = top + index * rowHeight
    // On a log axis a bar starts at the axis origin (lowest tick), not at zero.
    const x0 = scale.toPixel(scale.ticks[0]!)
    const x1 = Math.max(x0 + 1, scale.toPixel(bar.value))
    const colour = groupColours[bar.group] ?? palette[index % palette.length]!
    const valueLabel = bar.valueLabel ?? `${formatQuantity(bar.value)} ${options.unit}`
    parts.push(`<text x="${plotStart - 6}" y="${y + 14}" font-size="11" text-anchor="end">${escapeXml(bar.label)}</text>`)
    parts.push(`<rect class="bar" data-value="${bar.value}" data-group="${escapeXml(bar.group)}" x="${x0.toFixed(1)}" y="${y + 3}" width="${(x1 - x0).toFixed(1)}" height="${rowHeight - 7}" fill="${colour}"><title>${escapeXml(`${bar.label}: ${valueLabel}`)}</title></rect>`)
    parts.push(`<text x="${(x1 + 4).toFixed(1)}" y="${y + 14}" font-size="10" fill="#1a202c">${escapeXml(valueLabel)}</text>`)
  })
  parts.push('</svg>')
  return parts.join('')
}

/** Line chart with a log y axis; x is either categories or a numeric log axis. */
export function lineChart (options: LineChartOptions): string {
  const width = options.width ?? 760
  const height = options.height ?? 320
  const series = options.series
    .map((entry) => ({ ...entry, points: entry.points.filter((point) => Number.isFinite(point.y) && point.y > 0 && Number.isFinite(point.x)) }))
    .filter((entry) => entry.points.length > 0)
  if (series.length === 0) return emptyChart(options.title, width, 70, 'no figures measured in this run')

  const left = 64
  const right = width - 190
  const top = 34
  const bottom = height - 40
  const allY = series.flatMap((entry) => entry.points.map((point) => point.y))
  const yScale = logScale(Math.min(...allY), Math.max(...allY), bottom, top)
  let xToPixel: (x: number) => number
  let xTicks: Array<{ x: number, label: string }>
  if (options.xCategories !== undefined) {
    const count = options.xCategories.length
    xToPixel = (x) => left + ((x + 0.5) / count) * (right - left)
    xTicks = options.xCategories.map((label, index) => ({ x: index, label }))
  } else {
    const allX = series.flatMap((entry) => entry.points.map((point) => point.x))
    const xScale = logScale(Math.min(...allX), Math.max(...allX), left, right)
    xToPixel = xScale.toPixel
    const distinct = [...new Set(allX)].sort((a, b) => a - b)
    xTicks = distinct.map((x) => ({ x, label: formatQuantity(x) }))
  }

  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" class="chart line-chart" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="${escapeXml(options.title)}" font-family="sans-serif">`,
    `<text x="8" y="20" font-size="14" font-weight="bold">${escapeXml(options.title)}</text>`,
    `<line x1="${left}" y1="${bottom}" x2="${right}" y2="${bottom}" stroke="#4a5568"/>`,
    `<line x1="${left}" y1="${top}" x2="${left}" y2="${bottom}" stroke="#4a5568"/>`
  ]
  for (const tick of yScale.ticks) {
    const y = yScale.toPixel(tick).toFixed(1)
    parts.push(`<line x1="${left}" y1="${y}" x2="${right}" y2="${y}" stroke="#e2e8f0"/>`)
    parts.push(`<text x="${left - 6}" y="${y}" font-size="10" text-anchor="end" dominant-baseline="middle" fill="#4a5568">${escapeXml(formatQuantity(tick))}</text>`)
  }
  for (const tick of xTicks) {
    parts.push(`<text x="${xToPixel(tick.x).toFixed(1)}" y="${bottom + 14}" font-size="10" text-anchor="middle" fill="#4a5568">${escapeXml(tick.label)}</text>`)
  }
  parts.push(`<text x="${((left + right) / 2).toFixed(0)}" y="${bottom + 30}" font-size="11" text-anchor="middle">${escapeXml(options.xTitle)}</text>`)
  parts.push(`<text x="12" y="${((top + bottom) / 2).toFixed(0)}" font-size="11" text-anchor="middle" transform="rotate(-90 12 ${((top + bottom) / 2).toFixed(0)})">${escapeXml(options.yTitle)} (log)</text>`)

  series.forEach((entry, index) => {
    const colour = palette[index % palette.length]!
    const sorted = [...entry.points].sort((a, b) => a.x - b.x)
    const coordinates = sorted.map((point) => `${xToPixel(point.x).toFixed(1)},${yScale.toPixel(point.y).toFixed(1)}`)
    if (coordinates.length > 1) parts.push(`<polyline class="series-line" fill="none" stroke="${colour}" stroke-width="2" points="${coordinates.join(' ')}"/>`)
    for (const point of sorted) {
      const text = `${entry.name}: ${point.label ?? formatQuantity(point.y)}`
      parts.push(`<circle class="point" data-value="${point.y}" cx="${xToPixel(point.x).toFixed(1)}" cy="${yScale.toPixel(point.y).toFixed(1)}" r="4" fill="${colour}"><title>${escapeXml(text)}</title></circle>`)
    }
    const legendY = top + index * 16
    parts.push(`<rect x="${right + 12}" y="${legendY}" width="10" height="10" fill="${colour}"/>`)
    parts.push(`<text x="${right + 26}" y="${legendY + 9}" font-size="10">${escapeXml(entry.name.length > 28 ? entry.name.slice(0, 27) + '…' : entry.name)}</text>`)
  })
  parts.push('</svg>')
  return parts.join('')
}
