/**
 * The results of one macro run: what `bench/results/<date>-<sha>.json` holds, what the report
 * renders and what `--json` flattens to its last line (`figures` only).
 */
import type { Figures } from './figures.js'
import type { MachineInfo, SourceInfo } from './machine.js'
import type { BenchProfile, ResultRow } from './scenario.js'

export interface ScenarioStatus {
  id: string
  title: string
  status: 'ok' | 'skipped' | 'failed'
  /** Why it was skipped, or the error. */
  detail?: string
  seconds: number
}

export interface BenchResults {
  format: 1
  startedAt: string
  durationSeconds: number
  machine: MachineInfo
  /** Load average when the run ended: with the start value, how busy the machine was. */
  loadAverage1mEnd: number
  source: SourceInfo
  profile: BenchProfile
  figures: Figures
  rows: ResultRow[]
  scenarios: ScenarioStatus[]
}

/** `2026-11-26T185120Z`: sortable, and legal in file names everywhere. */
export function compactTimestamp (date: Date): string {
  return date.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z').replace(/^(\d{4})(\d{2})(\d{2})/, '$1-$2-$3')
}
