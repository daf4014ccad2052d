/**
 * Macro benchmark runner: `npm run bench [-- --quick] [--json] [--report file.html]
 * [--headline file.svg] [--only id,id] [--no-save] [--from results.json]`.
 *
 * Order of a run: describe the machine; measure its raw figures (`raw.ts`); run every registered
 * scenario (`scenarios.ts`) in its own fresh directory under the OS temp directory, removed
 * afterwards; add the ratios to raw; print the tables; save `bench/results/<date>-<sha>.json`;
 * optionally render the HTML report and the headline SVG. With `--json` the last line of stdout
 * is one JSON object of figures (`figures.ts` lists every key); progress goes to stderr.
 *
 * `--quick` is the CI profile: 256 MiB of appends instead of 1 GiB, fewer fdatasync samples;
 * the whole run stays under three minutes on a two-core machine.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { SluiceError } from '../../src/core/errors.js'
import { figureCatalogue, isFigureKey, ratioDefinitions, withRatios, type Figures } from './figures.js'
import { latencyColumns } from './latency.js'
import { describeMachine, describeSource, machineSummary } from './machine.js'
import { measureRaw } from './raw.js'
import { renderHeadlineSvg, renderReport } from './report.js'
import { compactTimestamp, type BenchResults, type ScenarioStatus } from './results.js'
import { isSkip, type BenchProfile, type ResultRow, type Scenario } from './scenario.js'
import { scenarios as registeredScenarios } from './scenarios.js'
import { formatQuantity } from './svg-chart.js'

const MIB = 1024 * 1024
const repositoryRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..')

/** The two profiles. Raw write volume equals the append volume: the log's own pattern. */
export const profiles = Object.freeze({
  quick: Object.freeze({
    quick: true, appendBytes: 256 * MIB, syncAppendCount: 200, syncAppendBytes: 16 * 1024, rawRepetitions: 5, copyBytes: 64 * MIB,
    engineRepetitions: 5, alwaysBytes: 32 * MIB, sweepBytes: 32 * MIB, partitions: 1000
  }),
  full: Object.freeze({
    quick: false, appendBytes: 1024 * MIB, syncAppendCount: 1000, syncAppendBytes: 16 * 1024, rawRepetitions: 3, copyBytes: 64 * MIB,
    engineRepetitions: 3, alwaysBytes: 128 * MIB, sweepBytes: 256 * MIB, partitions: 10_000
  })
} satisfies Record<string, BenchProfile>)

export interface BenchArguments {
  quick: boolean
  json: boolean
  save: boolean
  report?: string
  headline?: string
  only?: string[]
  from?: string
}

const usage = `usage: npm run bench -- [--quick] [--json] [--report <file.html>] [--headline <file.svg>]
                          [--only <scenario,...>] [--no-save] [--from <results.json>]
  --quick      CI profile (under 3 minutes)
  --json       last line of stdout is one JSON object of figures
  --report     write a self-contained HTML report
  --headline   write the headline chart as SVG (the README's image)
  --only       run only these scenario ids (raw figures are always measured)
  --no-save    do not write bench/results/<date>-<sha>.json
  --from       render --report/--headline/--json from a saved results file without running`

export function parseBenchArguments (argv: readonly string[]): BenchArguments {
  const parsed: BenchArguments = { quick: false, json: false, save: true }
  const value = (index: number, flag: string): string => {
    const next = argv[index + 1]
    if (next === undefined || next.startsWith('--')) throw new SluiceError('SLUICE_INVALID_OPTION', `${flag} needs a value\n${usage}`)
    return next
  }
  for (let index = 0; index < argv.length; index++) {
    const argument = argv[index]!
    switch (argument) {
      case '--quick': parsed.quick = true; break
      case '--json': parsed.json = true; break
      case '--no-save': parsed.save = false; break
      case '--report': parsed.report = value(index++, argument); break
      case '--headline': parsed.headline = value(index++, argument); break
      case '--from': parsed.from = value(index++, argument); break
      case '--only': parsed.only = value(index++, argument).split(',').filter((id) => id !== ''); break
      default: throw new SluiceError('SLUICE_INVALID_OPTION', `unknown argument '${argument}'\n${usage}`)
    }
  }
  if (parsed.only !== undefined) {
    const known = new Set(registeredScenarios.map((scenario) => scenario.id))
    const unknown = parsed.only.filter((id) => !known.has(id))
    if (unknown.length > 0) throw new SluiceError('SLUICE_INVALID_OPTION', `unknown scenario(s) ${unknown.join(', ')}; known: ${[...known].join(', ') || '(none)'}`)
  }
  return parsed
}

export interface BenchOutput {
  /** Tables and the JSON line. */
  out: (line: string) => void
  /** Progress while running. */
  progress: (line: string) => void
}

/** Temp directories of the running benchmark, removed on exit or interrupt. */
const liveDirectories = new Set<string>()

async function makeTemporaryDirectory (prefix: string): Promise<string> {
  const directory = await mkdtemp(path.join(os.tmpdir(), `sluice-bench-${prefix}-`))
  liveDirectories.add(directory)
  return directory
}

async function removeDirectory (directory: string): Promise<void> {
  await rm(directory, { recursive: true, force: true, maxRetries: 3 })
  liveDirectories.delete(directory)
}

/** Checks a scenario's figures against its declared keys: an undeclared key is a bug in the scenario. */
function checkFigures (scenario: Scenario, figures: Figures): void {
  const declared = new Set<string>(scenario.keys)
  for (const [key, value] of Object.entries(figures)) {
    if (!isFigureKey(key)) throw new Error(`scenario ${scenario.id} produced '${key}', which is not in the figure catalogue`)
    if (!declared.has(key)) throw new Error(`scenario ${scenario.id} produced '${key}' without declaring it`)
    if (typeof value !== 'number' || !Number.isFinite(value)) throw new Error(`scenario ${scenario.id} produced ${key} = ${String(value)}`)
  }
}

async function runScenario (scenario: Scenario, profile: BenchProfile, raw: Figures, output: BenchOutput): Promise<{ status: ScenarioStatus, figures: Figures, rows: ResultRow[] }> {
  const directories: string[] = []
  const started = process.hrtime.bigint()
  const elapsed = (): number => Number(process.hrtime.bigint() - started) / 1e9
  output.progress(`scenario ${scenario.id}: ${scenario.title}`)
  try {
    const outcome = await scenario.run({
      profile,
      raw,
      makeDataDirectory: async () => {
        const directory = await makeTemporaryDirectory(scenario.id)
        directories.push(directory)
        return directory
      },
      progress: (line) => { output.progress(`  ${scenario.id}: ${line}`) }
    })
    if (isSkip(outcome)) {
      return { status: { id: scenario.id, title: scenario.title, status: 'skipped', detail: outcome.skipped, seconds: elapsed() }, figures: {}, rows: [] }
    }
    checkFigures(scenario, outcome.figures)
    return { status: { id: scenario.id, title: scenario.title, status: 'ok', seconds: elapsed() }, figures: outcome.figures, rows: outcome.rows }
  } catch (error) {
    output.progress(`scenario ${scenario.id} FAILED: ${(error as Error).stack ?? String(error)}`)
    return { status: { id: scenario.id, title: scenario.title, status: 'failed', detail: (error as Error).message, seconds: elapsed() }, figures: {}, rows: [] }
  } finally {
    for (const directory of directories) await removeDirectory(directory)
  }
}

/** Measures everything and returns the results (does not print or save). */
export async function measure (profile: BenchProfile, selected: readonly Scenario[], output: BenchOutput): Promise<BenchResults> {
  const startedAt = new Date()
  const started = process.hrtime.bigint()
  const machine = describeMachine()
  const source = describeSource(repositoryRoot)

  output.progress(`raw figures: ${formatQuantity(profile.appendBytes / MIB)} MiB sequential write/read x ${profile.rawRepetitions}, ${profile.syncAppendCount} fdatasyncs x ${profile.rawRepetitions}, Buffer.copy`)
  const rawDirectory = await makeTemporaryDirectory('raw')
  let raw
  try {
    raw = measureRaw(rawDirectory, profile)
  } finally {
    await removeDirectory(rawDirectory)
  }

  let figures: Figures = { ...raw.figures }
  const rows: ResultRow[] = [...raw.rows]
  const statuses: ScenarioStatus[] = []
  for (const scenario of selected) {
    const outcome = await runScenario(scenario, profile, raw.figures, output)
    statuses.push(outcome.status)
    figures = { ...figures, ...outcome.figures }
    rows.push(...outcome.rows)
  }
  figures = withRatios(figures)
  return {
    format: 1,
    startedAt: startedAt.toISOString(),
    durationSeconds: Number(process.hrtime.bigint() - started) / 1e9,
    machine,
    loadAverage1mEnd: os.loadavg()[0] ?? 0,
    source,
    profile,
    figures,
    rows,
    scenarios: statuses
  }
}

function table (header: string[], rows: string[][]): string[] {
  const widths = header.map((cell, column) => Math.max(cell.length, ...rows.map((row) => row[column]?.length ?? 0)))
  const line = (cells: string[]): string =>
    cells.map((cell, column) => (column === 0 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!))).join('  ').trimEnd()
  return [line(header), widths.map((width) => '-'.repeat(width)).join('  '), ...rows.map(line)]
}

const quantity = (value: number | undefined): string => (value === undefined ? '' : formatQuantity(value))

/** The human-readable tables of a run. */
export function formatResults (results: BenchResults): string[] {
  const lines: string[] = []
  lines.push(`Sluice benchmark, ${results.profile.quick ? 'quick' : 'full'} profile, ${results.startedAt}, commit ${results.source.sha}${results.source.dirty ? ' (dirty)' : ''}`)
  lines.push(`${machineSummary(results.machine)}; load average ${results.machine.loadAverage1m.toFixed(2)} -> ${results.loadAverage1mEnd.toFixed(2)}; ${results.durationSeconds.toFixed(1)} s`)
  lines.push('')
  lines.push(...table(
    ['scenario', 'msgs/s', 'MB/s', 'x raw', ...latencyColumns.map((column) => `${column.label} ms`), 'latency of'],
    results.rows.map((row) => [
      row.label,
      quantity(row.msgsPerSecond),
      quantity(row.mbPerSecond),
      row.ratio === undefined ? '' : row.ratio.value.toFixed(3),
      ...latencyColumns.map((column) => (row.latency === undefined ? '' : row.latency[column.key].toFixed(3))),
      row.latencyOf ?? ''
    ])
  ))
  const ratios = ratioDefinitions.filter((ratio) => results.figures[ratio.key] !== undefined)
  lines.push('')
  if (ratios.length === 0) lines.push('ratios to raw: none (no engine figure with a raw counterpart was measured)')
  else {
    lines.push(...table(['ratio to raw', 'value', 'engine', 'raw'], ratios.map((ratio) => {
      const value = results.figures[ratio.key]!
      const engine = results.figures[ratio.engine]
      const raw = results.figures[ratio.raw]
      // A scenario that measured its raw counterpart beside each repetition divides by that one,
      // not by the raw figure from the start of the run shown here.
      const paired = engine === undefined || raw === undefined || Math.abs(engine / raw - value) > 1e-6 * value
      return [
        ratio.key,
        value.toFixed(3),
        `${ratio.engine} ${quantity(engine)}`,
        paired ? 'raw measured beside the engine in the scenario' : `${ratio.raw} ${quantity(raw)}`
      ]
    })))
  }
  const notOk = results.scenarios.filter((scenario) => scenario.status !== 'ok')
  if (notOk.length > 0) {
    lines.push('')
    for (const scenario of notOk) lines.push(`${scenario.status}: ${scenario.id} (${scenario.detail ?? ''})`)
  }
  return lines
}

/** The `--json` line: every measured figure, rounded to 6 significant digits. */
export function jsonLine (results: BenchResults): string {
  const rounded: Record<string, number> = {}
  for (const key of Object.keys(figureCatalogue)) {
    const value = results.figures[key as keyof Figures]
    if (value !== undefined) rounded[key] = Number(value.toPrecision(6))
  }
  return JSON.stringify(rounded)
}

async function saveResults (results: BenchResults): Promise<string> {
  const directory = path.join(repositoryRoot, 'bench', 'results')
  await mkdir(directory, { recursive: true })
  const file = path.join(directory, `${compactTimestamp(new Date(results.startedAt))}-${results.source.sha}.json`)
  await writeFile(file, JSON.stringify(results, null, 2) + '\n')
  return file
}

/** Runs the benchmark as the CLI does; returns the process exit code. */
export async function runBench (argv: readonly string[], output: BenchOutput): Promise<number> {
  const options = parseBenchArguments(argv)
  let results: BenchResults
  if (options.from !== undefined) {
    results = JSON.parse(await readFile(options.from, 'utf8')) as BenchResults
  } else {
    const profile = options.quick ? profiles.quick : profiles.full
    const selected = options.only === undefined ? registeredScenarios : registeredScenarios.filter((scenario) => options.only!.includes(scenario.id))
    results = await measure(profile, selected, output)
    if (options.save) output.progress(`results written to ${path.relative(process.cwd(), await saveResults(results))}`)
  }
  for (const line of formatResults(results)) output.out(line)
  if (options.report !== undefined) {
    await writeFile(options.report, renderReport(results))
    output.progress(`report written to ${options.report}`)
  }
  if (options.headline !== undefined) {
    await writeFile(options.headline, renderHeadlineSvg(results))
    output.progress(`headline chart written to ${options.headline}`)
  }
  if (options.json) output.out(jsonLine(results))
  return results.scenarios.some((scenario) => scenario.status === 'failed') ? 1 : 0
}

async function cleanUpAndExit (signal: NodeJS.Signals): Promise<void> {
  for (const directory of [...liveDirectories]) await removeDirectory(directory).catch(() => {})
  process.exit(signal === 'SIGINT' ? 130 : 143)
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  process.once('SIGINT', (signal) => { void cleanUpAndExit(signal) })
  process.once('SIGTERM', (signal) => { void cleanUpAndExit(signal) })
  runBench(process.argv.slice(2), {
    out: (line) => { process.stdout.write(`${line}\n`) },
    progress: (line) => { process.stderr.write(`${line}\n`) }
  }).then(
    (code) => { process.exitCode = code },
    (error: unknown) => {
      process.stderr.write(`${error instanceof SluiceError ? error.message : (error as Error).stack ?? String(error)}\n`)
      process.exitCode = error instanceof SluiceError ? 2 : 1
    }
  )
}
