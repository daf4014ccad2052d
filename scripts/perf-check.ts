/**
 * Perf-regression check and baseline writer.
 *
 *   npm run perf:check      run the quick benchmark (`--quick --json`, child process), compare
 *                           every ratio-to-raw figure with bench/baseline.json; exit 1 naming
 *                           each figure beyond its tolerance. A failing first run is confirmed
 *                           by a second one (the better value of the two counts), because on a
 *                           shared machine interference only ever slows a run down.
 *   npm run perf:baseline   deliberately rewrite bench/baseline.json from several quick runs
 *                           (`--runs N`, default 5): medians, and per-figure tolerances derived
 *                           from the spread of those runs (bench/macro/regression.ts).
 *
 * Exit codes: 0 pass, 1 regression (or a benchmark run that failed), 2 bad usage or baseline.
 */
import { spawn } from 'node:child_process'
import { readFile, writeFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import path from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { SluiceError } from '../src/core/errors.js'
import { describeMachine, describeSource, machineSummary } from '../bench/macro/machine.js'
import { bestOf, buildBaseline, compareToBaseline, parseBaseline, parseJsonLine, type Baseline } from '../bench/macro/regression.js'

const repositoryRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const defaultBaselinePath = path.join(repositoryRoot, 'bench', 'baseline.json')

interface CheckArguments {
  writeBaseline: boolean
  runs: number
  baselinePath: string
  confirm: boolean
}

const usage = `usage: tsx scripts/perf-check.ts [--baseline <file>] [--no-confirm]
       tsx scripts/perf-check.ts --write-baseline [--runs <n, 3..50>] [--baseline <file>]`

function parseArguments (argv: readonly string[]): CheckArguments {
  const parsed: CheckArguments = { writeBaseline: false, runs: 5, baselinePath: defaultBaselinePath, confirm: true }
  for (let index = 0; index < argv.length; index++) {
    const argument = argv[index]!
    const value = (): string => {
      const next = argv[++index]
      if (next === undefined) throw new SluiceError('SLUICE_INVALID_OPTION', `${argument} needs a value\n${usage}`)
      return next
    }
    switch (argument) {
      case '--write-baseline': parsed.writeBaseline = true; break
      case '--no-confirm': parsed.confirm = false; break
      case '--baseline': parsed.baselinePath = path.resolve(value()); break
      case '--runs': {
        const runs = Number(value())
        if (!Number.isInteger(runs) || runs < 3 || runs > 50) throw new SluiceError('SLUICE_INVALID_OPTION', `--runs must be an integer from 3 to 50\n${usage}`)
        parsed.runs = runs
        break
      }
      default: throw new SluiceError('SLUICE_INVALID_OPTION', `unknown argument '${argument}'\n${usage}`)
    }
  }
  return parsed
}

/** Runs `bench/macro/run.ts --quick --json --no-save` in a child and returns its figures. */
export interface QuickRun {
  figures: Record<string, number>
  /** The benchmark exited 1: a scenario failed (its figures are missing). */
  scenarioFailed: boolean
}

export async function runQuickBenchmark (label: string, options: { allowFailedScenario: boolean }): Promise<QuickRun> {
  const tsxCli = createRequire(import.meta.url).resolve('tsx/cli')
  const script = path.join(repositoryRoot, 'bench', 'macro', 'run.ts')
  process.stderr.write(`perf: ${label}: running the quick benchmark\n`)
  const child = spawn(process.execPath, [tsxCli, script, '--quick', '--json', '--no-save'], {
    cwd: repositoryRoot,
    env: process.env,
    stdio: ['ignore', 'pipe', 'pipe']
  })
  // Interrupting the check stops the benchmark too (it removes its temp directories on SIGTERM).
  const forward = (signal: NodeJS.Signals): void => { child.kill('SIGTERM'); process.exitCode = signal === 'SIGINT' ? 130 : 143 }
  process.once('SIGINT', forward)
  process.once('SIGTERM', forward)
  let stdout = ''
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => { stdout += chunk })
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => { process.stderr.write(chunk) })
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject)
    child.once('close', resolve)
  }).finally(() => {
    process.removeListener('SIGINT', forward)
    process.removeListener('SIGTERM', forward)
  })
  if (process.exitCode === 130 || process.exitCode === 143) throw new Error('interrupted')
  if (code !== 0) {
    // Exit code 1 with a JSON line: some scenario failed but the others measured. Compare what
    // there is, so the report names every figure the failure took away (as missing).
    const figures = code === 1 && options.allowFailedScenario ? tryParseJsonLine(stdout) : undefined
    if (figures === undefined) {
      process.stderr.write(stdout)
      throw new Error(`the quick benchmark exited with code ${String(code)} without figures (see above)`)
    }
    process.stderr.write(`perf: ${label}: the quick benchmark reported a failed scenario (see above); comparing the figures it did measure\n`)
    return { figures, scenarioFailed: true }
  }
  return { figures: parseJsonLine(stdout), scenarioFailed: false }
}

function tryParseJsonLine (stdout: string): Record<string, number> | undefined {
  try {
    return parseJsonLine(stdout)
  } catch {
    return undefined
  }
}

async function check (options: CheckArguments): Promise<number> {
  let baseline: Baseline
  try {
    baseline = parseBaseline(await readFile(options.baselinePath, 'utf8'), path.relative(repositoryRoot, options.baselinePath))
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new SluiceError('SLUICE_INVALID_OPTION', `no baseline at ${options.baselinePath}; create one with npm run perf:baseline`)
    }
    throw error
  }
  const first = await runQuickBenchmark('run 1', { allowFailedScenario: true })
  let figures = first.figures
  // A scenario that crashed fails the check too, unless the confirmation run completes.
  let scenarioFailed = first.scenarioFailed
  let report = compareToBaseline(figures, baseline)
  if ((!report.passed || scenarioFailed) && options.confirm) {
    const reasons = report.lines.filter((line) => line.startsWith('FAIL'))
    if (scenarioFailed) reasons.push('a benchmark scenario failed')
    process.stderr.write(`perf: ${reasons.join('; ')}\nperf: confirming with a second run\n`)
    const second = await runQuickBenchmark('run 2 (confirmation)', { allowFailedScenario: true })
    figures = bestOf(figures, second.figures)
    scenarioFailed = second.scenarioFailed
    report = compareToBaseline(figures, baseline)
  }
  process.stdout.write(`perf check against ${path.relative(repositoryRoot, options.baselinePath)} (${baseline.createdAt}, ${baseline.machine})\n`)
  for (const line of report.lines) process.stdout.write(`${line}\n`)
  if (!report.passed || scenarioFailed) {
    const failed = report.comparisons.filter((comparison) => comparison.status === 'regressed' || comparison.status === 'missing').map((comparison) => comparison.key)
    if (scenarioFailed) failed.push('a benchmark scenario failed (its error is printed above)')
    process.stdout.write(`perf check FAILED: ${failed.join(', ')}\n`)
    return 1
  }
  process.stdout.write('perf check passed\n')
  return 0
}

async function writeBaseline (options: CheckArguments): Promise<number> {
  // Read (and validate) the committed baseline first: its tolerances are the floor of the new ones.
  let previous: Baseline | undefined
  try {
    previous = parseBaseline(await readFile(options.baselinePath, 'utf8'), path.relative(repositoryRoot, options.baselinePath))
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
  }
  const runs: Array<Record<string, number>> = []
  // A baseline must come from complete runs: a failed scenario aborts it.
  for (let run = 1; run <= options.runs; run++) runs.push((await runQuickBenchmark(`baseline run ${run}/${options.runs}`, { allowFailedScenario: false })).figures)
  const source = describeSource(repositoryRoot)
  const baseline = buildBaseline(runs, {
    previous,
    machine: machineSummary(describeMachine()),
    source: `${source.sha}${source.dirty ? ' (dirty)' : ''}`,
    createdAt: new Date().toISOString()
  })
  await writeFile(options.baselinePath, JSON.stringify(baseline, null, 2) + '\n')
  process.stdout.write(`baseline written to ${path.relative(repositoryRoot, options.baselinePath)} from ${runs.length} runs\n`)
  process.stdout.write('figure                          median        min        max  worst run  (max-min)/median  tolerance\n')
  for (const [key, noise] of Object.entries(baseline.noise)) {
    const tolerance = baseline.tolerances[key]
    process.stdout.write(`${key.padEnd(30)}  ${noise.median.toPrecision(5).padStart(9)}  ${noise.min.toPrecision(5).padStart(9)}  ${noise.max.toPrecision(5).padStart(9)}  ${noise.worstFactor.toFixed(2).padStart(8)}x  ${(noise.spreadRelative * 100).toFixed(1).padStart(14)} %  ${tolerance === undefined ? '' : `${tolerance.toFixed(2)}x`}\n`)
  }
  return 0
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  Promise.resolve()
    .then(() => parseArguments(process.argv.slice(2)))
    .then((options) => (options.writeBaseline ? writeBaseline(options) : check(options)))
    .then(
      (code) => { process.exitCode = code },
      (error: unknown) => {
        process.stderr.write(`perf: ${error instanceof SluiceError ? error.message : (error as Error).stack ?? String(error)}\n`)
        process.exitCode = error instanceof SluiceError ? 2 : 1
      }
    )
}
