/**
 * Renders a run's results as one self-contained HTML page (inline SVG, inline CSS, no script,
 * nothing fetched) and the README's small headline SVG.
 *
 * Charts: throughput by scenario (every row with MB/s, raw rows in grey), latency percentiles
 * (every row with a latency distribution), throughput versus record size (rows that declare a
 * record size, one line per scenario). Tables under the charts carry the exact numbers.
 */
import { figureCatalogue, isRatioKey, ratioDefinitions, type FigureKey } from './figures.js'
import { latencyColumns } from './latency.js'
import { machineSummary } from './machine.js'
import type { BenchResults } from './results.js'
import type { ResultRow } from './scenario.js'
import { barChart, escapeXml, formatQuantity, lineChart, type Bar, type Series } from './svg-chart.js'

/** The headline figures, in reading order: each engine figure next to its raw counterpart. */
const headline: ReadonlyArray<{ label: string, mb: FigureKey, msgs?: FigureKey, group: 'raw' | 'engine' }> = Object.freeze([
  { label: 'raw write, 1 MiB buffers', mb: 'raw_write_mb_s', group: 'raw' },
  { label: 'append, flush interval', mb: 'append_mb_s', msgs: 'append_msgs_s', group: 'engine' },
  { label: 'producer bulk send', mb: 'producer_bulk_mb_s', msgs: 'producer_bulk_msgs_s', group: 'engine' },
  { label: 'broker produce (kafka)', mb: 'broker_produce_mb_s', msgs: 'broker_produce_msgs_s', group: 'engine' },
  { label: 'raw write + fdatasync', mb: 'raw_sync_write_mb_s', group: 'raw' },
  { label: 'append, flush always', mb: 'append_always_mb_s', msgs: 'append_always_msgs_s', group: 'engine' },
  { label: 'raw read (page cache)', mb: 'raw_read_mb_s', group: 'raw' },
  { label: 'consume from offset 0', mb: 'consume_mb_s', msgs: 'consume_msgs_s', group: 'engine' },
  { label: 'consumer eachBatch', mb: 'consumer_batch_mb_s', msgs: 'consumer_batch_msgs_s', group: 'engine' },
  { label: 'broker fetch (kafka)', mb: 'broker_fetch_mb_s', msgs: 'broker_fetch_msgs_s', group: 'engine' }
])

function headlineBars (results: BenchResults): Bar[] {
  const bars: Bar[] = []
  for (const entry of headline) {
    const mb = results.figures[entry.mb]
    if (mb === undefined) continue
    const msgs = entry.msgs === undefined ? undefined : results.figures[entry.msgs]
    bars.push({
      label: entry.label,
      value: mb,
      group: entry.group,
      valueLabel: `${formatQuantity(mb)} MB/s${msgs === undefined ? '' : ` · ${formatQuantity(msgs)} msgs/s`}`
    })
  }
  return bars
}

/** The README's image: headline throughput beside the raw figures of the same run. */
export function renderHeadlineSvg (results: BenchResults): string {
  const date = results.startedAt.slice(0, 10)
  return barChart({
    title: `Sluice throughput vs raw machine figures (${date}, ${results.machine.cores} cores)`,
    unit: 'MB/s',
    bars: headlineBars(results),
    width: 680
  }) + '\n'
}

export function throughputChart (rows: readonly ResultRow[]): string {
  return barChart({
    title: 'Throughput by scenario',
    unit: 'MB/s',
    bars: rows.filter((row) => row.mbPerSecond !== undefined).map((row) => ({
      label: row.label,
      value: row.mbPerSecond!,
      group: row.kind,
      valueLabel: `${formatQuantity(row.mbPerSecond!)} MB/s${row.msgsPerSecond === undefined ? '' : ` · ${formatQuantity(row.msgsPerSecond)} msgs/s`}`
    }))
  })
}

export function latencyChart (rows: readonly ResultRow[]): string {
  const series: Series[] = rows.filter((row) => row.latency !== undefined).map((row) => ({
    name: `${row.label}${row.latencyOf === undefined ? '' : ` (${row.latencyOf})`}`,
    points: latencyColumns.map((column, index) => ({ x: index, y: row.latency![column.key], label: `${column.label} ${formatQuantity(row.latency![column.key])} ms` }))
  }))
  return lineChart({
    title: 'Latency percentiles',
    xTitle: 'percentile',
    yTitle: 'ms',
    xCategories: latencyColumns.map((column) => column.label),
    series
  })
}

export function recordSizeCharts (rows: readonly ResultRow[]): string {
  const byScenario = new Map<string, ResultRow[]>()
  for (const row of rows) {
    if (row.recordBytes === undefined) continue
    const list = byScenario.get(row.scenario) ?? []
    list.push(row)
    byScenario.set(row.scenario, list)
  }
  // A scenario measured at one record size only is a point, not a trend: it belongs to the
  // throughput chart, not here.
  for (const [scenario, list] of byScenario) {
    if (new Set(list.map((row) => row.recordBytes)).size < 2) byScenario.delete(scenario)
  }
  const seriesOf = (pick: (row: ResultRow) => number | undefined, unit: string): Series[] =>
    [...byScenario.entries()].map(([scenario, list]) => ({
      name: scenario,
      points: list.filter((row) => pick(row) !== undefined).map((row) => ({ x: row.recordBytes!, y: pick(row)!, label: `${row.recordBytes} B records: ${formatQuantity(pick(row)!)} ${unit}` }))
    }))
  return [
    lineChart({ title: 'Throughput versus record size (MB/s)', xTitle: 'record value size, bytes (log)', yTitle: 'MB/s', series: seriesOf((row) => row.mbPerSecond, 'MB/s') }),
    lineChart({ title: 'Throughput versus record size (msgs/s)', xTitle: 'record value size, bytes (log)', yTitle: 'msgs/s', series: seriesOf((row) => row.msgsPerSecond, 'msgs/s') })
  ].join('\n')
}

function cell (value: number | undefined, digits = 3): string {
  return value === undefined ? '' : escapeXml(formatQuantity(Number(value.toPrecision(digits))))
}

function rowsTable (rows: readonly ResultRow[]): string {
  const header = ['scenario', 'msgs/s', 'MB/s', 'ratio to raw', ...latencyColumns.map((column) => `${column.label} ms`), 'latency of', 'note']
  const body = rows.map((row) => [
    escapeXml(row.label),
    cell(row.msgsPerSecond),
    cell(row.mbPerSecond),
    row.ratio === undefined ? '' : escapeXml(`${row.ratio.value.toFixed(3)} (${row.ratio.rawLabel})`),
    ...latencyColumns.map((column) => (row.latency === undefined ? '' : row.latency[column.key].toFixed(3))),
    escapeXml(row.latencyOf ?? ''),
    escapeXml(row.note ?? '')
  ])
  return htmlTable(header, body)
}

function htmlTable (header: string[], body: string[][]): string {
  return `<table><thead><tr>${header.map((text) => `<th>${escapeXml(text)}</th>`).join('')}</tr></thead><tbody>${
    body.map((cells) => `<tr>${cells.map((text) => `<td>${text}</td>`).join('')}</tr>`).join('')
  }</tbody></table>`
}

function ratiosTable (results: BenchResults): string {
  const body = ratioDefinitions.filter((ratio) => results.figures[ratio.key] !== undefined).map((ratio) => [
    escapeXml(ratio.key),
    (results.figures[ratio.key]!).toFixed(3),
    `${escapeXml(ratio.engine)} = ${cell(results.figures[ratio.engine])}`,
    `${escapeXml(ratio.raw)} = ${cell(results.figures[ratio.raw])}`
  ])
  if (body.length === 0) return '<p>No engine figure with a raw counterpart was measured in this run.</p>'
  return htmlTable(['ratio', 'value', 'engine figure', 'raw figure'], body)
}

function figuresTable (results: BenchResults): string {
  const body = Object.entries(results.figures).filter(([key]) => !isRatioKey(key)).map(([key, value]) => {
    const definition = figureCatalogue[key as FigureKey]
    return [escapeXml(key), value === undefined ? '' : String(Number(value.toPrecision(4))), escapeXml(definition?.unit ?? ''), escapeXml(definition?.description ?? '')]
  })
  return htmlTable(['figure', 'value', 'unit', 'what'], body)
}

export function renderReport (results: BenchResults): string {
  const scenarios = results.scenarios.map((scenario) => [
    escapeXml(scenario.id),
    escapeXml(scenario.status),
    escapeXml(scenario.detail ?? ''),
    scenario.seconds.toFixed(1)
  ])
  const source = `${results.source.sha}${results.source.dirty ? ' (uncommitted changes)' : ''}`
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Sluice benchmark ${escapeXml(results.startedAt.slice(0, 10))} ${escapeXml(results.source.sha)}</title>
<style>
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 980px; color: #1a202c; padding: 0 1em; }
h1 { font-size: 1.5em; } h2 { font-size: 1.15em; margin-top: 2em; }
table { border-collapse: collapse; font-size: 0.85em; margin: 0.5em 0; }
th, td { border: 1px solid #e2e8f0; padding: 3px 7px; text-align: right; }
th:first-child, td:first-child, td:last-child { text-align: left; }
.meta { color: #4a5568; font-size: 0.9em; }
figure { margin: 1em 0; }
</style>
</head>
<body>
<h1>Sluice benchmark report</h1>
<p class="meta">${escapeXml(results.startedAt)} · commit ${escapeXml(source)} · ${escapeXml(machineSummary(results.machine))} ·
${results.profile.quick ? 'quick profile' : 'full profile'} · ${results.durationSeconds.toFixed(0)} s ·
load average ${results.machine.loadAverage1m.toFixed(2)} at start, ${results.loadAverage1mEnd.toFixed(2)} at end</p>
<p class="meta">MB = 10<sup>6</sup> bytes. Raw figures are this machine's, measured at the start of the same run; every
engine figure with a raw counterpart is also given as a ratio to it.</p>
<h2>Throughput by scenario</h2>
<figure id="chart-throughput">${throughputChart(results.rows)}</figure>
${rowsTable(results.rows)}
<h2>Latency percentiles</h2>
<figure id="chart-latency">${latencyChart(results.rows)}</figure>
<h2>Throughput versus record size</h2>
<figure id="chart-record-size">${recordSizeCharts(results.rows)}</figure>
<h2>Ratios to raw</h2>
${ratiosTable(results)}
<h2>All figures</h2>
${figuresTable(results)}
<h2>Scenarios</h2>
${htmlTable(['scenario', 'status', 'detail', 'seconds'], scenarios)}
</body>
</html>
`
}
