/**
 * The catalogue of every figure the macro benchmark can report: the keys of the `--json` line,
 * their units and which direction is better. A figure that a run could not measure is absent
 * from the results, never zero and never estimated.
 *
 * Ratios to raw: each engine figure that has a counterpart in the raw figures of the same run
 * (sequential write, sequential read, write+fdatasync) is also reported as `engine / raw`, under
 * a key ending in `_ratio_raw`. The ratio cancels most of the machine (a faster disk lifts both
 * sides), which is what lets CI compare a run with a baseline measured on another day. The perf
 * check compares exactly the `_ratio_raw` figures.
 *
 * Units: MB is 10^6 bytes, GB 10^9 bytes; latencies are milliseconds.
 */

export type Better = 'higher' | 'lower'

export interface FigureDefinition {
  unit: 'MB/s' | 'GB/s' | 'msgs/s' | 'ms' | 's' | 'ratio' | 'MB' | 'MiB' | 'count'
  better: Better
  description: string
}

const figure = (unit: FigureDefinition['unit'], better: Better, description: string): FigureDefinition =>
  Object.freeze({ unit, better, description })

export const figureCatalogue = Object.freeze({
  // Raw figures of this machine, measured in the same run before any engine scenario.
  raw_write_mb_s: figure('MB/s', 'higher', 'fs.writeSync of 1 MiB buffers appended to a new file, same volume as the append scenario, no fsync; median after a warm-up repetition'),
  raw_write_first_touch_mb_s: figure('MB/s', 'higher', 'the warm-up repetition of the raw write: page-cache memory the host had reclaimed (see raw.ts)'),
  raw_read_mb_s: figure('MB/s', 'higher', 'fs.readSync with a 1 MiB buffer of the file just written (served from the page cache)'),
  raw_fdatasync_p50_ms: figure('ms', 'lower', 'fdatasync after each small append to a new file, median'),
  raw_fdatasync_p99_ms: figure('ms', 'lower', 'fdatasync after each small append to a new file, p99'),
  raw_sync_write_mb_s: figure('MB/s', 'higher', 'small appends each followed by fdatasync, one writer: bytes / (write + fdatasync time)'),
  raw_copy_gb_s: figure('GB/s', 'higher', 'Buffer.copy between two 64 MiB buffers (memory bandwidth)'),

  // Storage engine (bench/macro/storage.ts).
  append_mb_s: figure('MB/s', 'higher', 'batched append of 100-byte records to one partition, flush interval'),
  append_msgs_s: figure('msgs/s', 'higher', 'records/s of the same append run'),
  append_always_msgs_s: figure('msgs/s', 'higher', "flush 'always', concurrent appenders of 100-record batches (group commit)"),
  append_always_mb_s: figure('MB/s', 'higher', "MB/s of the same flush 'always' run"),
  append_always_p99_ms: figure('ms', 'lower', "append latency p99 under flush 'always'"),
  eventloop_p99_ms: figure('ms', 'lower', 'event-loop delay p99 (monitorEventLoopDelay) while appending flat out'),
  consume_msgs_s: figure('msgs/s', 'higher', 'sequential read of raw batches from offset 0, records/s'),
  consume_mb_s: figure('MB/s', 'higher', 'sequential read of raw batches from offset 0, MB/s'),
  recovery_ms_1gib: figure('ms', 'lower', 'open after an unclean shutdown with a recent recovery checkpoint, 1 GiB partition'),
  recovery_scan_mb_s: figure('MB/s', 'higher', 'recovery rescan rate (bytes scanned / recovery time)'),
  append_always_ratio_interval: figure('ratio', 'higher', "append_always_msgs_s / flush 'interval' msgs/s with the same 16 appenders (group commit efficiency)"),
  eventloop_p50_ms: figure('ms', 'lower', 'event-loop delay p50 while appending flat out'),
  eventloop_max_ms: figure('ms', 'lower', 'event-loop delay max while appending flat out'),
  eventloop_idle_p99_ms: figure('ms', 'lower', 'event-loop delay p99 of the same process idle for a second just before (what the machine alone adds)'),
  recovery_rescan_ms_1gib: figure('ms', 'lower', 'open after an unclean shutdown with no recovery checkpoint (full rescan, CRC included), 1 GiB partition'),
  partitions_count: figure('count', 'higher', 'partitions opened by the many-partitions scenario (10,000 in the full profile)'),
  partitions_rss_mib: figure('MiB', 'lower', 'resident set size (MiB) with that many partitions open, after touching each'),
  partitions_fds: figure('count', 'lower', 'open file descriptors with that many partitions open'),
  partitions_reopen_s: figure('s', 'lower', 'seconds to reopen the engine with that many partitions'),

  // Embedded client API (later).
  producer_send_msgs_s: figure('msgs/s', 'higher', 'per-message producer.send through the public API'),
  producer_send_mb_s: figure('MB/s', 'higher', 'MB/s of the same per-message send run'),
  producer_bulk_msgs_s: figure('msgs/s', 'higher', 'bulk producer send through the public API'),
  producer_bulk_mb_s: figure('MB/s', 'higher', 'MB/s of the same bulk send run'),
  consumer_batch_msgs_s: figure('msgs/s', 'higher', 'consumer eachBatch from the beginning'),
  consumer_batch_mb_s: figure('MB/s', 'higher', 'MB/s of the same eachBatch run'),
  consumer_message_msgs_s: figure('msgs/s', 'higher', 'consumer eachMessage from the beginning'),
  consumer_message_mb_s: figure('MB/s', 'higher', 'MB/s of the same eachMessage run'),
  e2e_p50_ms: figure('ms', 'lower', 'send to handler latency, acks 1, fixed rate, p50'),
  e2e_p99_ms: figure('ms', 'lower', 'send to handler latency, acks 1, fixed rate, p99'),
  e2e_all_p99_ms: figure('ms', 'lower', "send to handler latency, acks 'all' with flush 'always', p99"),

  // Kafka broker over loopback TCP (later).
  broker_produce_msgs_s: figure('msgs/s', 'higher', 'produce over the Kafka protocol on loopback'),
  broker_produce_mb_s: figure('MB/s', 'higher', 'MB/s of the same broker produce run'),
  broker_fetch_msgs_s: figure('msgs/s', 'higher', 'fetch over the Kafka protocol on loopback'),
  broker_fetch_mb_s: figure('MB/s', 'higher', 'MB/s of the same broker fetch run'),

  // Ratios to raw (see header).
  append_ratio_raw: figure('ratio', 'higher', 'append_mb_s / raw_write_mb_s'),
  append_always_ratio_raw: figure('ratio', 'higher', 'append_always_mb_s / raw_sync_write_mb_s'),
  consume_ratio_raw: figure('ratio', 'higher', 'consume_mb_s / raw_read_mb_s'),
  recovery_ratio_raw: figure('ratio', 'higher', 'recovery_scan_mb_s / raw_read_mb_s'),
  producer_send_ratio_raw: figure('ratio', 'higher', 'producer_send_mb_s / raw_write_mb_s'),
  producer_bulk_ratio_raw: figure('ratio', 'higher', 'producer_bulk_mb_s / raw_write_mb_s'),
  consumer_batch_ratio_raw: figure('ratio', 'higher', 'consumer_batch_mb_s / raw_read_mb_s'),
  consumer_message_ratio_raw: figure('ratio', 'higher', 'consumer_message_mb_s / raw_read_mb_s'),
  e2e_all_p99_ratio_raw: figure('ratio', 'lower', 'e2e_all_p99_ms / raw_fdatasync_p99_ms'),
  broker_produce_ratio_raw: figure('ratio', 'higher', 'broker_produce_mb_s / raw_write_mb_s'),
  broker_fetch_ratio_raw: figure('ratio', 'higher', 'broker_fetch_mb_s / raw_read_mb_s')
} satisfies Record<string, FigureDefinition>)

export type FigureKey = keyof typeof figureCatalogue
export type Figures = Partial<Record<FigureKey, number>>

export function isFigureKey (key: string): key is FigureKey {
  return Object.hasOwn(figureCatalogue, key)
}

export interface RatioDefinition {
  key: FigureKey
  engine: FigureKey
  raw: FigureKey
}

/** Every ratio-to-raw figure: `key = engine / raw`, computed only when both sides were measured. */
export const ratioDefinitions: readonly RatioDefinition[] = Object.freeze([
  { key: 'append_ratio_raw', engine: 'append_mb_s', raw: 'raw_write_mb_s' },
  { key: 'append_always_ratio_raw', engine: 'append_always_mb_s', raw: 'raw_sync_write_mb_s' },
  { key: 'consume_ratio_raw', engine: 'consume_mb_s', raw: 'raw_read_mb_s' },
  { key: 'recovery_ratio_raw', engine: 'recovery_scan_mb_s', raw: 'raw_read_mb_s' },
  { key: 'producer_send_ratio_raw', engine: 'producer_send_mb_s', raw: 'raw_write_mb_s' },
  { key: 'producer_bulk_ratio_raw', engine: 'producer_bulk_mb_s', raw: 'raw_write_mb_s' },
  { key: 'consumer_batch_ratio_raw', engine: 'consumer_batch_mb_s', raw: 'raw_read_mb_s' },
  { key: 'consumer_message_ratio_raw', engine: 'consumer_message_mb_s', raw: 'raw_read_mb_s' },
  { key: 'e2e_all_p99_ratio_raw', engine: 'e2e_all_p99_ms', raw: 'raw_fdatasync_p99_ms' },
  { key: 'broker_produce_ratio_raw', engine: 'broker_produce_mb_s', raw: 'raw_write_mb_s' },
  { key: 'broker_fetch_ratio_raw', engine: 'broker_fetch_mb_s', raw: 'raw_read_mb_s' }
] as const satisfies readonly RatioDefinition[])

/**
 * Adds every ratio whose two sides are present and positive; returns a new object. A ratio a
 * scenario already set is kept: scenarios that measure their raw counterpart right beside each
 * engine repetition (same volume, same page-cache state, seconds apart) divide by that paired
 * raw figure, which tracks the machine's state better than the raw figure from the run's start.
 */
export function withRatios (figures: Figures): Figures {
  const result: Figures = { ...figures }
  for (const ratio of ratioDefinitions) {
    if (result[ratio.key] !== undefined) continue
    const engine = figures[ratio.engine]
    const raw = figures[ratio.raw]
    if (engine === undefined || raw === undefined || !(raw > 0)) continue
    result[ratio.key] = engine / raw
  }
  return result
}

export function isRatioKey (key: string): boolean {
  return key.endsWith('_ratio_raw')
}
