/**
 * Latency recording for the macro benchmarks.
 *
 * Samples go into `perf_hooks.createHistogram()` (an HDR histogram kept by Node itself, three
 * significant figures), in integer nanoseconds. The summary converts to milliseconds once, at the
 * end, so the hot loop records an integer and allocates nothing.
 */
import { createHistogram, type RecordableHistogram } from 'node:perf_hooks'

/** Percentiles of one latency distribution, in milliseconds. */
export interface LatencySummary {
  count: number
  p50Ms: number
  p95Ms: number
  p99Ms: number
  p999Ms: number
  maxMs: number
  meanMs: number
}

/** The percentile columns every table and chart shows, in order. */
export const latencyColumns = Object.freeze([
  { key: 'p50Ms', label: 'p50' },
  { key: 'p95Ms', label: 'p95' },
  { key: 'p99Ms', label: 'p99' },
  { key: 'p999Ms', label: 'p99.9' },
  { key: 'maxMs', label: 'max' }
] as const)

/** Wraps one histogram; `record` takes nanoseconds as returned by `process.hrtime.bigint()` deltas. */
export class LatencyRecorder {
  readonly histogram: RecordableHistogram = createHistogram()

  /** Records one sample. Zero-length samples are recorded as 1 ns: the histogram's floor. */
  recordNanoseconds (nanoseconds: number | bigint): void {
    const value = typeof nanoseconds === 'bigint' ? Number(nanoseconds) : Math.round(nanoseconds)
    this.histogram.record(value >= 1 ? value : 1)
  }

  /** Times `operation` and records its duration. */
  async time<T> (operation: () => Promise<T>): Promise<T> {
    const start = process.hrtime.bigint()
    try {
      return await operation()
    } finally {
      this.recordNanoseconds(process.hrtime.bigint() - start)
    }
  }

  get count (): number { return this.histogram.count }

  summary (): LatencySummary | undefined {
    return summarizeHistogram(this.histogram)
  }
}

/** Summarises any Node histogram holding nanoseconds (also `monitorEventLoopDelay`'s). */
export function summarizeHistogram (histogram: { count?: number, exceeds: number, percentile: (p: number) => number, max: number, mean: number }): LatencySummary | undefined {
  const count = histogram.count ?? 0
  if (count === 0) return undefined
  const ms = (nanoseconds: number): number => nanoseconds / 1e6
  return {
    count,
    p50Ms: ms(histogram.percentile(50)),
    p95Ms: ms(histogram.percentile(95)),
    p99Ms: ms(histogram.percentile(99)),
    p999Ms: ms(histogram.percentile(99.9)),
    maxMs: ms(histogram.max),
    meanMs: ms(histogram.mean)
  }
}
