/**
 * Micro-benchmark runner: `npm run bench:micro [-- --smoke] [filter]`.
 *
 * Discovers every `bench/micro/<module>.bench.ts`, asks each for its tasks (the contract is
 * `./task.ts`), runs them with tinybench and prints one table per suite. Throughput columns are
 * derived from the **median** sample latency, not the mean: on a shared two-core machine a few
 * descheduled samples drag the mean far more than the median.
 *
 * Every task's return value is folded into a sink that is printed at the end (the "hash of the
 * run"): the JIT cannot drop work whose result is observable, and two runs over the same seeded
 * inputs print the same sink.
 *
 * Smoke mode (`BENCH_SMOKE=1` or `--smoke`) asks suites for tiny inputs and runs each task a few
 * times only; the test suite uses it so that no bench silently rots.
 */
import { readdir } from 'node:fs/promises'
import path from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { Bench } from 'tinybench'
import type { MicroSuite, MicroTask } from './task.js'

const microDirectory = path.dirname(fileURLToPath(import.meta.url))

/** Options of one runner invocation. */
export interface MicroRunOptions {
  smoke: boolean
  /** Substring matched against `<suite>` and `<suite>/<task>`; empty runs everything. */
  filter: string
  /** Where table lines go. */
  write: (line: string) => void
}

/** One measured task, as printed. */
export interface MicroTaskResult {
  suite: string
  task: string
  opsPerSecond: number
  medianNs: number
  samples: number
  gbPerSecond?: number
  recordsPerSecond?: number
}

/** What a run returns: results per task, the folded sink, and failures (suite or task). */
export interface MicroRunSummary {
  results: MicroTaskResult[]
  sink: number
  failures: string[]
}

/** Sizes of the timing loop. Smoke runs are a correctness pass, not a measurement. */
const timing = Object.freeze({
  full: { time: 1000, iterations: 64, warmupTime: 250, warmupIterations: 16 },
  smoke: { time: 0, iterations: 3, warmupTime: 0, warmupIterations: 1 }
})

/** Lists suite files, sorted so the output order is stable. */
export async function discoverSuites (directory = microDirectory): Promise<string[]> {
  const names = await readdir(directory)
  return names.filter((name) => name.endsWith('.bench.ts')).sort().map((name) => path.join(directory, name))
}

/**
 * Folds a task's return value into a 32-bit sink. It reads only a few fields of the value, so the
 * fold costs the same whatever the task returns and stays out of the measured figure's way.
 */
export function foldIntoSink (sink: number, value: unknown): number {
  let word: number
  switch (typeof value) {
    case 'number': word = Number.isFinite(value) ? (value | 0) ^ Math.trunc(value / 4294967296) : 0x7ff; break
    case 'bigint': word = Number(BigInt.asIntN(32, value)); break
    case 'boolean': word = value ? 1 : 2; break
    case 'string': word = value.length; break
    case 'undefined': word = 3; break
    default:
      if (value === null) word = 5
      else if (ArrayBuffer.isView(value)) {
        const bytes = new Uint8Array(value.buffer, value.byteOffset, value.byteLength)
        word = bytes.byteLength ^ ((bytes[0] ?? 0) << 8) ^ ((bytes[bytes.byteLength - 1] ?? 0) << 16)
      } else if (Array.isArray(value)) word = value.length ^ 0x5a5a
      else word = 7
  }
  // Multiply-rotate keeps every input bit influencing the sink without being order-insensitive.
  const mixed = Math.imul(sink ^ word, 0x9e3779b1)
  return ((mixed << 13) | (mixed >>> 19)) >>> 0
}

function formatRate (value: number, unit: string): string {
  if (value >= 1e9) return `${(value / 1e9).toFixed(2)} G${unit}`
  if (value >= 1e6) return `${(value / 1e6).toFixed(2)} M${unit}`
  if (value >= 1e3) return `${(value / 1e3).toFixed(2)} k${unit}`
  return `${value.toFixed(2)} ${unit}`
}

function formatTable (header: string[], rows: string[][]): string[] {
  const widths = header.map((cell, column) => Math.max(cell.length, ...rows.map((row) => row[column]?.length ?? 0)))
  const line = (cells: string[]): string =>
    cells.map((cell, column) => (column === 0 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!))).join('  ')
  return [line(header), widths.map((width) => '-'.repeat(width)).join('  '), ...rows.map(line)]
}

function matches (filter: string, suite: string, task?: string): boolean {
  if (filter === '') return true
  if (suite.includes(filter)) return true
  return task !== undefined && `${suite}/${task}`.includes(filter)
}

/** Wraps a task so its result lands in the sink; async tasks stay async. */
function sinkingFunction (task: MicroTask, fold: (value: unknown) => void): () => unknown {
  const body = task.fn
  return () => {
    const value = body()
    if (value instanceof Promise) return value.then(fold)
    fold(value)
    return undefined
  }
}

/** Runs every matching suite and prints its table. Never throws for a failing suite: it reports it. */
export async function runMicro (options: MicroRunOptions, suiteFiles?: string[]): Promise<MicroRunSummary> {
  const files = suiteFiles ?? await discoverSuites()
  const sizes = options.smoke ? timing.smoke : timing.full
  const results: MicroTaskResult[] = []
  const failures: string[] = []
  let sink = 0
  const fold = (value: unknown): void => { sink = foldIntoSink(sink, value) }

  if (files.length === 0) options.write('no bench/micro/*.bench.ts suites found')
  for (const file of files) {
    const suite = path.basename(file, '.bench.ts')
    let tasks: MicroTask[]
    try {
      const module = await import(pathToFileURL(file).href) as { default?: MicroSuite }
      if (typeof module.default !== 'function') throw new Error('default export is not a function returning MicroTask[]')
      tasks = await module.default({ smoke: options.smoke })
    } catch (error) {
      failures.push(`${suite}: ${(error as Error).message}`)
      options.write(`\n${suite}: FAILED to load: ${(error as Error).stack ?? String(error)}`)
      continue
    }
    const selected = tasks.filter((task) => matches(options.filter, suite, task.name))
    if (selected.length === 0) continue

    const bench = new Bench({ name: suite, ...sizes, throws: false })
    for (const task of selected) bench.add(task.name, sinkingFunction(task, fold))
    await bench.run()

    const rows: string[][] = []
    for (const task of selected) {
      const result = bench.getTask(task.name)?.result
      if (result === undefined || result.state === 'errored' || !('latency' in result)) {
        const reason = result !== undefined && result.state === 'errored' ? result.error.message : `state ${result?.state ?? 'missing'}`
        failures.push(`${suite}/${task.name}: ${reason}`)
        rows.push([task.name, 'FAILED', reason, '', '', ''])
        continue
      }
      const medianMs = result.latency.p50
      // A median of 0 means the timer could not resolve one call; fall back to the mean period.
      const secondsPerOp = (medianMs > 0 ? medianMs : result.period) / 1000
      const opsPerSecond = secondsPerOp > 0 ? 1 / secondsPerOp : Number.POSITIVE_INFINITY
      const measured: MicroTaskResult = {
        suite,
        task: task.name,
        opsPerSecond,
        medianNs: secondsPerOp * 1e9,
        samples: result.latency.samplesCount
      }
      if (task.bytesPerOp !== undefined) measured.gbPerSecond = (task.bytesPerOp * opsPerSecond) / 1e9
      if (task.recordsPerOp !== undefined) measured.recordsPerSecond = task.recordsPerOp * opsPerSecond
      results.push(measured)
      rows.push([
        task.name,
        formatRate(opsPerSecond, 'ops/s'),
        `${measured.medianNs >= 1e6 ? (measured.medianNs / 1e6).toFixed(2) + ' ms' : measured.medianNs >= 1e3 ? (measured.medianNs / 1e3).toFixed(2) + ' us' : measured.medianNs.toFixed(0) + ' ns'}`,
        measured.gbPerSecond !== undefined ? `${measured.gbPerSecond.toFixed(2)} GB/s` : '',
        measured.recordsPerSecond !== undefined ? formatRate(measured.recordsPerSecond, 'rec/s') : '',
        String(measured.samples)
      ])
    }
    options.write(`\n${suite}${options.smoke ? ' (smoke: not a measurement)' : ''}`)
    for (const line of formatTable(['task', 'ops/s (median)', 'median', 'GB/s', 'records/s', 'samples'], rows)) options.write(line)
  }
  options.write(`\nsink ${sink.toString(16).padStart(8, '0')}`)
  return { results, sink, failures }
}

function parseArguments (argv: string[]): Omit<MicroRunOptions, 'write'> {
  let smoke = process.env.BENCH_SMOKE === '1' || process.env.BENCH_SMOKE === 'true'
  let filter = ''
  for (const argument of argv) {
    if (argument === '--smoke') smoke = true
    else if (argument.startsWith('--')) throw new Error(`unknown option ${argument} (expected --smoke and an optional filter)`)
    else filter = argument
  }
  return { smoke, filter }
}

async function main (): Promise<void> {
  const options = parseArguments(process.argv.slice(2))
  const summary = await runMicro({ ...options, write: (line) => { process.stdout.write(`${line}\n`) } })
  if (summary.failures.length > 0) {
    process.stderr.write(`\n${summary.failures.length} failure(s):\n${summary.failures.map((failure) => `  ${failure}`).join('\n')}\n`)
    process.exitCode = 1
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  main().catch((error: unknown) => {
    process.stderr.write(`${(error as Error).stack ?? String(error)}\n`)
    process.exitCode = 1
  })
}
