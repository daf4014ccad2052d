/**
 * The perf-regression comparison behind `npm run perf:check`: each ratio-to-raw figure of a run
 * against `bench/baseline.json`, with a per-figure tolerance taken from the measured noise of
 * this machine.
 *
 * Why ratios: a raw figure and its engine counterpart measured in the same run move together
 * when the machine is busier or faster, so their ratio drifts far less than either.
 *
 * Tolerances are factors, not percentages: "at most 1.6x worse than the baseline". On a shared
 * machine a throughput ratio was seen to fall to a third of its median in one run of eight; a
 * percentage tolerance for that would pass 100 % drops (a figure cannot drop more), while a
 * factor stays meaningful at any noise level.
 *
 * Why a tolerance per figure: figures differ in noise (an fdatasync-bound figure jitters more
 * than a page-cache copy). `buildBaseline` derives each tolerance from repeated quick runs:
 * `max(toleranceFloor, (worst factor by which a run was worse than the median) ^ noiseMargin)`,
 * rounded up to 0.05. bench/README.md records the runs and the numbers.
 *
 * Direction: a throughput ratio regresses when it drops, a latency ratio when it rises; moves
 * in the good direction never fail (they are reported, and `perf:baseline` adopts them).
 */
import { SluiceError } from '../../src/core/errors.js'
import { figureCatalogue, isFigureKey, isRatioKey, type Better, type Figures } from './figures.js'
import { median } from './raw.js'

export const regressionDefaults = Object.freeze({
  /** No tolerance below this factor, however quiet the noise runs were: N runs under-sample the tail. */
  toleranceFloor: 1.10,
  /** Exponent on the worst factor observed in the noise runs (1.5: half as much again, in log terms). */
  noiseMargin: 1.5,
  /** Used for a figure the baseline has no tolerance for (should not happen with perf:baseline). */
  toleranceFallback: 2
})

export interface FigureNoise {
  runs: number
  median: number
  min: number
  max: number
  /** Largest factor by which a run was worse than the median (1 when none was worse). */
  worstFactor: number
  /** (max - min) / median. */
  spreadRelative: number
}

export interface Baseline {
  format: 1
  createdAt: string
  machine: string
  source: string
  /** How many quick runs the medians and the noise come from. */
  runs: number
  /** Median of the runs, for every measured figure (only ratio keys are compared). */
  figures: Record<string, number>
  /** Allowed factor in the bad direction, per ratio key: 1.6 means "at most 1.6x worse". */
  tolerances: Record<string, number>
  noise: Record<string, FigureNoise>
  method: string
}

export type ComparisonStatus = 'ok' | 'improved' | 'regressed' | 'missing' | 'new'

export interface Comparison {
  key: string
  status: ComparisonStatus
  better: Better
  baseline?: number
  current?: number
  /** Factor in the bad direction: 2 means twice as bad (half the throughput); below 1 means better. */
  worsening?: number
  tolerance?: number
}

export interface ComparisonReport {
  passed: boolean
  comparisons: Comparison[]
  /** One line per figure, failures first. */
  lines: string[]
}

function betterOf (key: string): Better {
  return isFigureKey(key) ? figureCatalogue[key].better : 'higher'
}

/** Factor by which `current` is worse than `baseline` for a figure whose good direction is `better`. */
export function worseningOf (better: Better, baseline: number, current: number): number {
  if (!(current > 0)) return Number.POSITIVE_INFINITY
  return better === 'higher' ? baseline / current : current / baseline
}

function describeChange (better: Better, factor: number): string {
  if (factor >= 1) {
    return better === 'higher'
      ? `${factor.toFixed(2)}x worse (a ${((1 - 1 / factor) * 100).toFixed(1)} % drop)`
      : `${factor.toFixed(2)}x worse (a ${((factor - 1) * 100).toFixed(1)} % rise)`
  }
  return `${(1 / factor).toFixed(2)}x better`
}

/** Compares a run's ratio figures with the baseline. Pure: no I/O. */
export function compareToBaseline (current: Figures | Record<string, number>, baseline: Baseline): ComparisonReport {
  const figures = current as Record<string, number | undefined>
  const comparisons: Comparison[] = []
  for (const [key, baselineValue] of Object.entries(baseline.figures)) {
    if (!isRatioKey(key)) continue
    const better = betterOf(key)
    const tolerance = baseline.tolerances[key] ?? regressionDefaults.toleranceFallback
    const value = figures[key]
    if (value === undefined || !Number.isFinite(value)) {
      comparisons.push({ key, status: 'missing', better, baseline: baselineValue, tolerance })
      continue
    }
    const worsening = worseningOf(better, baselineValue, value)
    const status: ComparisonStatus = worsening > tolerance ? 'regressed' : worsening < 1 / tolerance ? 'improved' : 'ok'
    comparisons.push({ key, status, better, baseline: baselineValue, current: value, worsening, tolerance })
  }
  for (const [key, value] of Object.entries(figures)) {
    if (isRatioKey(key) && value !== undefined && baseline.figures[key] === undefined) {
      comparisons.push({ key, status: 'new', better: betterOf(key), current: value })
    }
  }

  const order: Record<ComparisonStatus, number> = { regressed: 0, missing: 1, improved: 2, new: 3, ok: 4 }
  comparisons.sort((a, b) => order[a.status] - order[b.status] || a.key.localeCompare(b.key))
  const figure = (value: number): string => Number(value.toPrecision(4)).toString()
  const lines = comparisons.map((comparison) => {
    const { key, baseline: was, current: now, worsening, tolerance } = comparison
    switch (comparison.status) {
      case 'regressed':
        return `FAIL ${key}: ${figure(now!)} vs baseline ${figure(was!)}, ${describeChange(comparison.better, worsening!)}, beyond the tolerance of ${tolerance!.toFixed(2)}x`
      case 'missing':
        return `FAIL ${key}: not measured in this run (baseline ${figure(was!)}); its scenario failed or was skipped`
      case 'improved':
        return `ok   ${key}: ${figure(now!)} vs baseline ${figure(was!)}, ${describeChange(comparison.better, worsening!)} (run npm run perf:baseline to adopt)`
      case 'new':
        return `new  ${key}: ${figure(now!)}, not in the baseline yet (run npm run perf:baseline to add it)`
      case 'ok':
        return `ok   ${key}: ${figure(now!)} vs baseline ${figure(was!)}, ${describeChange(comparison.better, worsening!)}, tolerance ${tolerance!.toFixed(2)}x`
    }
    return ''
  })
  const passed = !comparisons.some((comparison) => comparison.status === 'regressed' || comparison.status === 'missing')
  if (comparisons.length === 0) lines.push('no ratio-to-raw figures in the baseline or the run: nothing to compare')
  return { passed, comparisons, lines }
}

/**
 * Combines two runs figure by figure, keeping the better value of each. Used to confirm a
 * failure: interference on a shared machine only ever makes a run slower, so a figure that is
 * still beyond tolerance in the better of two runs is a regression, not a bad moment.
 */
export function bestOf (first: Record<string, number>, second: Record<string, number>): Record<string, number> {
  const combined: Record<string, number> = { ...first }
  for (const [key, value] of Object.entries(second)) {
    const previous = combined[key]
    if (previous === undefined) combined[key] = value
    else combined[key] = betterOf(key) === 'higher' ? Math.max(previous, value) : Math.min(previous, value)
  }
  return combined
}

/** Noise statistics of one figure over several runs. */
export function noiseOf (key: string, values: readonly number[]): FigureNoise {
  const middle = median(values)
  const min = Math.min(...values)
  const max = Math.max(...values)
  const better = betterOf(key)
  const worstFactor = Math.max(1, ...values.map((value) => (middle > 0 ? worseningOf(better, middle, value) : 1)))
  return { runs: values.length, median: middle, min, max, worstFactor, spreadRelative: middle !== 0 ? (max - min) / middle : 0 }
}

/** Tolerance factor from noise: worst factor raised to the margin, at least the floor, rounded up to 0.05. */
export function toleranceFromNoise (noise: FigureNoise, settings = regressionDefaults): number {
  const raw = Math.max(settings.toleranceFloor, noise.worstFactor ** settings.noiseMargin)
  return Math.ceil(raw * 20 - 1e-9) / 20
}

/**
 * Builds a baseline from several runs' JSON figures. With `previous` (the committed baseline),
 * each tolerance is the wider of the new and the previous one: noise measured in a quiet
 * moment must not tighten a tolerance that a busier moment showed to be needed. Deleting the
 * baseline file first starts the tolerances afresh.
 */
export function buildBaseline (runs: ReadonlyArray<Record<string, number>>, context: { machine: string, source: string, createdAt: string, previous?: Baseline }): Baseline {
  if (runs.length < 3) throw new SluiceError('SLUICE_INVALID_OPTION', `a baseline needs at least 3 runs to estimate noise, got ${runs.length}`)
  const keys = new Set(runs.flatMap((run) => Object.keys(run)))
  const figures: Record<string, number> = {}
  const tolerances: Record<string, number> = {}
  const noise: Record<string, FigureNoise> = {}
  for (const key of [...keys].sort()) {
    const values = runs.map((run) => run[key]).filter((value): value is number => typeof value === 'number' && Number.isFinite(value))
    // A figure measured in only some runs is flaky, not a baseline: leave it out and say so in the noise.
    if (values.length !== runs.length) continue
    noise[key] = noiseOf(key, values)
    figures[key] = noise[key].median
    if (isRatioKey(key)) tolerances[key] = Math.max(toleranceFromNoise(noise[key]), context.previous?.tolerances[key] ?? 0)
  }
  return {
    format: 1,
    createdAt: context.createdAt,
    machine: context.machine,
    source: context.source,
    runs: runs.length,
    figures,
    tolerances,
    noise,
    method: `median of ${runs.length} quick runs; tolerance factor = max(${regressionDefaults.toleranceFloor}, (worst factor by which a run was worse than the median) ^ ${regressionDefaults.noiseMargin}), rounded up to 0.05${context.previous === undefined ? '' : `, never below the previous baseline's (${context.previous.createdAt})`}; a failure is confirmed by a second run (better of the two)`
  }
}

/** Validates a parsed baseline file. */
export function parseBaseline (text: string, source: string): Baseline {
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch (error) {
    throw new SluiceError('SLUICE_INVALID_OPTION', `${source} is not JSON: ${(error as Error).message}`, { cause: error })
  }
  const candidate = parsed as Partial<Baseline>
  if (candidate === null || typeof candidate !== 'object' || candidate.format !== 1 ||
      typeof candidate.figures !== 'object' || candidate.figures === null ||
      typeof candidate.tolerances !== 'object' || candidate.tolerances === null) {
    throw new SluiceError('SLUICE_INVALID_OPTION', `${source} is not a format-1 baseline (expected format, figures, tolerances); rewrite it with npm run perf:baseline`)
  }
  for (const [key, value] of Object.entries(candidate.figures)) {
    if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) throw new SluiceError('SLUICE_INVALID_OPTION', `${source}: figure ${key} = ${String(value)} is not a positive number`)
  }
  for (const [key, value] of Object.entries(candidate.tolerances)) {
    if (typeof value !== 'number' || !(value >= 1 && value < 1000)) throw new SluiceError('SLUICE_INVALID_OPTION', `${source}: tolerance ${key} = ${String(value)} is out of range`)
  }
  return candidate as Baseline
}

/** Parses the last non-empty line of a `--json` run's stdout. */
export function parseJsonLine (stdout: string): Record<string, number> {
  const lines = stdout.split('\n').map((line) => line.trim()).filter((line) => line !== '')
  const last = lines[lines.length - 1]
  if (last === undefined || !last.startsWith('{')) throw new SluiceError('SLUICE_INVALID_OPTION', 'benchmark output has no JSON line at the end')
  const parsed = JSON.parse(last) as unknown
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new SluiceError('SLUICE_INVALID_OPTION', 'benchmark JSON line is not an object')
  for (const [key, value] of Object.entries(parsed)) {
    if (typeof value !== 'number' || !Number.isFinite(value)) throw new SluiceError('SLUICE_INVALID_OPTION', `benchmark JSON figure ${key} is not a finite number`)
  }
  return parsed as Record<string, number>
}
