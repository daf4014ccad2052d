/**
 * The scenario contract of the macro benchmark.
 *
 * A scenario is one entry in the registry (`scenarios.ts`): it declares the JSON keys it may
 * produce, and its `run` returns those figures plus rows for the tables and charts. Adding a
 * scenario (producer, consumer, broker...) means writing one object and listing it in the
 * registry; the runner, the report and the perf check pick it up from its declared keys.
 *
 * A scenario whose engine module does not exist yet returns `{ skipped }` with the reason: its
 * figures are then absent from the results, never invented.
 */
import type { FigureKey, Figures } from './figures.js'
import type { LatencySummary } from './latency.js'

/** Sizes of one run; `quick` is what CI runs (whole run under three minutes). */
export interface BenchProfile {
  quick: boolean
  /** Bytes appended by the append scenario, and written by the raw write probe: same volume. */
  appendBytes: number
  /** Small appends timed by the raw fdatasync probe. */
  syncAppendCount: number
  /** Bytes per small append of the raw fdatasync probe (about one 100-record batch). */
  syncAppendBytes: number
  /** Repetitions of each raw probe; the median is reported. */
  rawRepetitions: number
  /** Bytes copied per repetition of the Buffer.copy probe. */
  copyBytes: number
  /** Repetitions of the throughput scenarios (append, always, consume); medians are reported. */
  engineRepetitions: number
  /** Bytes appended per repetition of the flush 'always' scenario (fdatasync-bound, so fewer). */
  alwaysBytes: number
  /** Bytes appended per record size and codec in the sweep. */
  sweepBytes: number
  /** Partitions opened by the many-partitions scenario. */
  partitions: number
}

/** One line of a table and one data point of the report's charts. */
export interface ResultRow {
  /** Registry id of the scenario that produced the row ('raw' for raw figures). */
  scenario: string
  label: string
  kind: 'raw' | 'engine'
  recordBytes?: number
  msgsPerSecond?: number
  mbPerSecond?: number
  /** Latency distribution and what one sample is (an append, an fdatasync, send-to-handler...). */
  latency?: LatencySummary
  latencyOf?: string
  /** The raw figure this row is compared with, and the ratio. */
  ratio?: { rawLabel: string, value: number }
  note?: string
}

export interface ScenarioContext {
  profile: BenchProfile
  /** Raw figures of this run, measured before any scenario. */
  raw: Figures
  /** Creates a fresh directory under os.tmpdir(); the runner removes it after the scenario. */
  makeDataDirectory: () => Promise<string>
  /** Progress lines (stderr), so stdout keeps tables and the JSON line. */
  progress: (line: string) => void
}

export interface ScenarioResult {
  figures: Figures
  rows: ResultRow[]
}

export interface ScenarioSkip {
  skipped: string
}

export interface Scenario {
  id: string
  title: string
  /** Every key `run` may put in `figures`; the runner rejects any other key. */
  keys: readonly FigureKey[]
  run: (context: ScenarioContext) => Promise<ScenarioResult | ScenarioSkip>
}

export function isSkip (outcome: ScenarioResult | ScenarioSkip): outcome is ScenarioSkip {
  return 'skipped' in outcome
}
