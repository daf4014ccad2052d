/** A complete results object with every kind of row, for report tests (values are illustrative). */
import type { BenchResults } from '../../bench/macro/results.js'

const latency = (p50Ms: number): { count: number, p50Ms: number, p95Ms: number, p99Ms: number, p999Ms: number, maxMs: number, meanMs: number } =>
  ({ count: 1000, p50Ms, p95Ms: p50Ms * 2, p99Ms: p50Ms * 4, p999Ms: p50Ms * 9, maxMs: p50Ms * 20, meanMs: p50Ms * 1.2 })

export function reportFixture (): BenchResults {
  return {
    format: 1,
    startedAt: '2026-01-02T03:04:05.000Z',
    durationSeconds: 95,
    machine: { node: 'v20.0.0', platform: 'linux', arch: 'x64', cpuModel: 'Test CPU <&>', cores: 2, memoryBytes: 8 * 2 ** 30, osRelease: '6.1', loadAverage1m: 1.5 },
    loadAverage1mEnd: 2,
    source: { sha: 'abc1234', dirty: false },
    profile: { quick: true, appendBytes: 256 * 2 ** 20, syncAppendCount: 200, syncAppendBytes: 16384, rawRepetitions: 3, copyBytes: 64 * 2 ** 20, engineRepetitions: 3, alwaysBytes: 32 * 2 ** 20, sweepBytes: 32 * 2 ** 20, partitions: 1000 },
    figures: {
      raw_write_mb_s: 5000,
      raw_read_mb_s: 20000,
      raw_fdatasync_p50_ms: 0.2,
      raw_fdatasync_p99_ms: 2,
      raw_sync_write_mb_s: 80,
      raw_copy_gb_s: 20,
      append_mb_s: 4000,
      append_msgs_s: 3.5e7,
      append_always_mb_s: 60,
      append_always_msgs_s: 5e5,
      consume_mb_s: 15000,
      consume_msgs_s: 1.2e8,
      append_ratio_raw: 0.8,
      append_always_ratio_raw: 0.75,
      consume_ratio_raw: 0.75
    },
    rows: [
      { scenario: 'raw', kind: 'raw', label: 'raw write 1 MiB x 256 MiB', mbPerSecond: 5000 },
      { scenario: 'raw', kind: 'raw', label: 'raw read 1 MiB (page cache)', mbPerSecond: 20000 },
      { scenario: 'raw', kind: 'raw', label: 'raw 16 KiB append + fdatasync', mbPerSecond: 80, latency: latency(0.2), latencyOf: 'fdatasync' },
      { scenario: 'append', kind: 'engine', label: 'append 100 B, flush interval', recordBytes: 100, mbPerSecond: 4000, msgsPerSecond: 3.5e7, latency: latency(0.05), latencyOf: 'append' },
      { scenario: 'append', kind: 'engine', label: 'append 1 KiB, flush interval', recordBytes: 1024, mbPerSecond: 4500, msgsPerSecond: 4.3e6 },
      { scenario: 'append', kind: 'engine', label: 'append 10 KiB, flush interval', recordBytes: 10240, mbPerSecond: 4700, msgsPerSecond: 4.5e5 },
      { scenario: 'append-always', kind: 'engine', label: 'append 100 B, flush always, 16 appenders', recordBytes: 100, mbPerSecond: 60, msgsPerSecond: 5e5, latency: latency(1), latencyOf: 'append' },
      { scenario: 'consume', kind: 'engine', label: 'consume from offset 0', mbPerSecond: 15000, msgsPerSecond: 1.2e8 }
    ],
    scenarios: [
      { id: 'append', title: 'append', status: 'ok', seconds: 3 },
      { id: 'broker', title: 'broker', status: 'skipped', detail: 'not there yet', seconds: 0 }
    ]
  }
}
