/**
 * The record-level half of log compaction: given the batches of one segment and the offset
 * map of the dirty section, produce the batches a compacted segment keeps. Pure (bytes in,
 * bytes out, no I/O), so the same code runs inline or on a worker thread
 * (`tasks/compaction-task.ts`).
 *
 * Which records survive (Kafka `LogCleaner.shouldRetainRecord`, KIP-534):
 * - records past the map's coverage (`offset > map.latestOffset`) always;
 * - keyless records never (a compacted topic has no use for them);
 * - a keyed record only if it is the newest for its key (`offset >= map.get(key)`; a key the
 *   map has not seen has no newer record in the dirty section), and then a tombstone (null
 *   value) only while its batch's delete horizon has not passed (a batch without a horizon
 *   keeps its tombstones and gets one now: `now + delete.retention.ms`).
 *
 * What a surviving batch looks like:
 * - all records kept and no horizon to add: the original bytes, untouched;
 * - some kept: a new batch with the same baseOffset, lastOffsetDelta (offsets keep their
 *   values; gaps are fine), partitionLeaderEpoch, producer id/epoch, baseSequence,
 *   transactional flag, timestamp type and compression codec; each record keeps its offset
 *   delta, timestamp, key, value and headers. With a delete horizon, attribute bit 6 is set
 *   and baseTimestamp holds the horizon (record timestamps are stored relative to it, so they
 *   read back unchanged);
 * - none kept: dropped, except the last batch of a producer id, which stays as an empty batch
 *   (header only, Kafka's `writeEmptyHeader`) so the producer's epoch and sequence survive,
 *   and the final batch of a rewritten group (`keepBatchEndingAt`).
 * - the data batches of aborted transactions go whatever their keys (found by the header pass,
 *   `HeaderScan`, from the ABORT markers, as Kafka's transaction index would list them);
 * - control batches (transaction markers) are kept as they are: removing markers safely needs
 *   their own delete horizon, which this cleaner does not track yet.
 */
import { crc32c } from './crc32c.js'
import type { OffsetMap } from './compaction-offset-map.js'
import { RecordBatchEncoder, type RecordInput } from './record-batch-encoder.js'
import { BatchAttribute, BatchOffset, LOG_OVERHEAD } from './record-batch-header.js'
import { RecordBatchView } from './record-batch-view.js'
import { ControlRecordType, readControlRecordKey } from './control-record.js'

export interface CompactionFilterContext {
  map: OffsetMap
  /** The cleaner's clock, ms since the epoch. */
  now: number
  /** Kafka `delete.retention.ms` of the topic. */
  deleteRetentionMs: number
  /**
   * For a producer id, the last offset of its last batch anywhere in the log (-1 if unknown):
   * that batch is retained even when it becomes empty.
   */
  lastBatchOffsetOf: (producerId: number) => number
  /**
   * The last offset of the final batch of the group being rewritten: that batch is kept (empty
   * if need be), so the rewritten segment ends exactly where the replaced ones ended and a
   * crash-time swap-in removes exactly them (see engine/cleanable-log.ts). -1 for none.
   */
  keepBatchEndingAt?: number
  /** Aborted transactions: their data batches are removed whatever their keys. */
  aborted?: AbortedTransactions
}

/**
 * The aborted transactions of a log, per producer id: [first offset, marker offset] ranges, as
 * Kafka's transaction index lists them. A transactional data batch of the producer inside a
 * range belongs to the aborted transaction.
 */
export class AbortedTransactions {
  readonly #ranges = new Map<number, Array<[number, number]>>()

  static fromList (list: ReadonlyArray<readonly [number, number, number]>): AbortedTransactions {
    const aborted = new AbortedTransactions()
    for (const [producerId, first, last] of list) aborted.add(producerId, first, last)
    return aborted
  }

  add (producerId: number, first: number, last: number): void {
    let ranges = this.#ranges.get(producerId)
    if (ranges === undefined) this.#ranges.set(producerId, ranges = [])
    ranges.push([first, last])
  }

  has (producerId: number, offset: number): boolean {
    const ranges = this.#ranges.get(producerId)
    if (ranges === undefined) return false
    for (const [first, last] of ranges) if (offset >= first && offset <= last) return true
    return false
  }

  get size (): number {
    let total = 0
    for (const ranges of this.#ranges.values()) total += ranges.length
    return total
  }

  /** [producerId, first, last] triples, for a worker. */
  toList (): Array<[number, number, number]> {
    const list: Array<[number, number, number]> = []
    for (const [producerId, ranges] of this.#ranges) for (const [first, last] of ranges) list.push([producerId, first, last])
    return list
  }
}

/** True for the data batches of an aborted transaction. */
function isAbortedData (view: RecordBatchView, aborted: AbortedTransactions | undefined): boolean {
  return aborted !== undefined && view.isTransactional && !view.isControl && aborted.has(view.producerId, view.baseOffset)
}

/** What filtering a run of batches did. */
export interface CompactionFilterStats {
  batchesRead: number
  batchesKept: number
  batchesRewritten: number
  recordsRead: number
  recordsKept: number
  tombstonesKept: number
  tombstonesDropped: number
  bytesRead: number
  bytesWritten: number
  /** Earliest delete horizon among kept batches that still hold tombstones, -1 when none. */
  deleteHorizonMin: number
}

export function emptyFilterStats (): CompactionFilterStats {
  return { batchesRead: 0, batchesKept: 0, batchesRewritten: 0, recordsRead: 0, recordsKept: 0, tombstonesKept: 0, tombstonesDropped: 0, bytesRead: 0, bytesWritten: 0, deleteHorizonMin: -1 }
}

export function addFilterStats (target: CompactionFilterStats, source: CompactionFilterStats): void {
  for (const key of Object.keys(target) as Array<keyof CompactionFilterStats>) {
    if (key === 'deleteHorizonMin') target[key] = minHorizon(target[key], source[key])
    else target[key] += source[key]
  }
}

function minHorizon (a: number, b: number): number {
  if (a < 0) return b
  if (b < 0) return a
  return Math.min(a, b)
}

const encoder = new RecordBatchEncoder()

/**
 * Filters the whole batches in `bytes` (a segment's `.log` bytes, or a run of them) and returns
 * the surviving batches as chunks, in order, for a gathered write. Chunks of untouched batches
 * are views of `bytes`. Throws CORRUPT_MESSAGE when a batch does not decode (the caller then
 * leaves the segment as it is).
 */
export function filterBatches (bytes: Uint8Array, context: CompactionFilterContext, stats: CompactionFilterStats = emptyFilterStats()): Uint8Array[] {
  const out: Uint8Array[] = []
  let position = 0
  // Bounded: every round consumes one whole batch (RecordBatchView.from checks it lies inside).
  while (position + LOG_OVERHEAD <= bytes.byteLength) {
    const view = RecordBatchView.from(bytes, position)
    position += view.sizeInBytes
    stats.batchesRead++
    stats.bytesRead += view.sizeInBytes
    const kept = filterBatch(view, context, stats)
    if (kept === undefined) continue
    stats.batchesKept++
    if (kept !== view.bytes) stats.batchesRewritten++
    stats.bytesWritten += kept.byteLength
    out.push(kept)
  }
  return out
}

/** The surviving form of one batch: its own bytes, new bytes, or undefined (dropped). */
export function filterBatch (view: RecordBatchView, context: CompactionFilterContext, stats: CompactionFilterStats = emptyFilterStats()): Uint8Array | undefined {
  const recordsCount = view.recordsCount
  stats.recordsRead += recordsCount
  if (view.isControl) {
    stats.recordsKept += recordsCount
    return view.bytes
  }
  const { map, now } = context
  const baseOffset = view.baseOffset
  const baseTimestamp = view.baseTimestamp
  const horizon = view.hasDeleteHorizon ? baseTimestamp : -1
  const latestOffset = map.latestOffset
  const retained: RecordInput[] = []
  let tombstones = 0
  const abortedData = isAbortedData(view, context.aborted)
  for (const record of abortedData ? [] : view) {
    const offset = baseOffset + record.offsetDelta
    let keep: boolean
    if (offset > latestOffset) {
      keep = true
    } else if (record.key === null) {
      keep = false
    } else if (offset < map.get(record.key)) {
      keep = false
    } else if (record.value !== null) {
      keep = true
    } else {
      keep = horizon < 0 || now < horizon
      if (!keep) stats.tombstonesDropped++
    }
    if (!keep) continue
    if (record.value === null) tombstones++
    retained.push({
      key: record.key,
      value: record.value,
      headers: record.headers,
      // Stored timestamps are baseTimestamp + delta whatever the timestamp type; keep them raw.
      timestamp: baseTimestamp + record.timestampDelta,
      offsetDelta: record.offsetDelta
    })
  }
  stats.recordsKept += retained.length
  stats.tombstonesKept += tombstones
  const needsHorizon = tombstones > 0 && horizon < 0
  if (tombstones > 0) stats.deleteHorizonMin = minHorizon(stats.deleteHorizonMin, needsHorizon ? now + context.deleteRetentionMs : horizon)
  if (retained.length === recordsCount && !needsHorizon) return view.bytes
  const producerId = view.producerId
  if (retained.length === 0) {
    if (producerId >= 0 && context.lastBatchOffsetOf(producerId) === view.lastOffset) return emptyBatch(view)
    if (context.keepBatchEndingAt === view.lastOffset) return emptyBatch(view)
    return undefined
  }
  const newHorizon = needsHorizon ? now + context.deleteRetentionMs : horizon
  const batch = encoder.encode({
    baseOffset,
    partitionLeaderEpoch: view.partitionLeaderEpoch,
    compression: view.compression,
    timestampType: view.timestampType,
    isTransactional: view.isTransactional,
    producerId,
    producerEpoch: view.producerEpoch,
    baseSequence: view.baseSequence,
    lastOffsetDelta: view.lastOffsetDelta,
    ...(newHorizon >= 0 ? { baseTimestamp: Math.min(newHorizon, Number.MAX_SAFE_INTEGER) } : {}),
    // LogAppendTime batches carry the append time in maxTimestamp; it must not change.
    ...(view.timestampType === 'LogAppendTime' ? { maxTimestamp: view.maxTimestamp } : {}),
    records: retained
  })
  if (newHorizon >= 0) setDeleteHorizonBit(batch)
  return batch
}

/** Kafka `writeEmptyHeader`: the batch's header with no records, timestamps = its maxTimestamp. */
function emptyBatch (view: RecordBatchView): Uint8Array {
  return encoder.encode({
    baseOffset: view.baseOffset,
    partitionLeaderEpoch: view.partitionLeaderEpoch,
    timestampType: view.timestampType,
    isTransactional: view.isTransactional,
    producerId: view.producerId,
    producerEpoch: view.producerEpoch,
    baseSequence: view.baseSequence,
    lastOffsetDelta: view.lastOffsetDelta,
    baseTimestamp: view.maxTimestamp,
    maxTimestamp: view.maxTimestamp,
    records: []
  })
}

/** Sets attribute bit 6 (baseTimestamp is the delete horizon) and recomputes the CRC. */
function setDeleteHorizonBit (batch: Uint8Array): void {
  batch[BatchOffset.attributes + 1] = batch[BatchOffset.attributes + 1]! | BatchAttribute.deleteHorizon
  const crc = crc32c(batch.subarray(BatchOffset.attributes))
  batch[BatchOffset.crc] = crc >>> 24
  batch[BatchOffset.crc + 1] = crc >>> 16
  batch[BatchOffset.crc + 2] = crc >>> 8
  batch[BatchOffset.crc + 3] = crc
}

/**
 * What the header pass over the whole log learns: the last batch of every producer id, the
 * aborted transactions, and the transactions still open at the end of what was read (the log
 * is never cleaned from the first of them on: Kafka's last stable offset).
 */
export class HeaderScan {
  readonly producerLastOffsets = new Map<number, number>()
  readonly aborted = new AbortedTransactions()
  /** Producer id -> first offset of its open transaction. */
  readonly open = new Map<number, number>()

  /** The first offset of the oldest open transaction, or Infinity. */
  get firstUnstableOffset (): number {
    let first = Number.POSITIVE_INFINITY
    for (const offset of this.open.values()) first = Math.min(first, offset)
    return first
  }

  /** Reads the headers (and the key of transaction markers) of a window of whole batches. */
  scan (bytes: Uint8Array): void {
    let position = 0
    while (position + LOG_OVERHEAD <= bytes.byteLength) {
      const view = RecordBatchView.unchecked(bytes, position)
      position += view.sizeInBytes
      const producerId = view.producerId
      if (producerId < 0) continue
      this.producerLastOffsets.set(producerId, view.lastOffset)
      if (!view.isTransactional) continue
      if (!view.isControl) {
        if (!this.open.has(producerId)) this.open.set(producerId, view.baseOffset)
        continue
      }
      const marker = markerType(view)
      if (marker === undefined) continue
      const first = this.open.get(producerId)
      this.open.delete(producerId)
      if (marker === ControlRecordType.ABORT) this.aborted.add(producerId, first ?? view.baseOffset, view.lastOffset)
    }
  }
}

/** ABORT or COMMIT for a transaction marker batch; undefined for other or emptied control batches. */
function markerType (view: RecordBatchView): number | undefined {
  for (const record of view) {
    const type = readControlRecordKey(record.key).type
    return type === ControlRecordType.ABORT || type === ControlRecordType.COMMIT ? type : undefined
  }
  return undefined
}

/** What one window of the mapping pass found. */
export interface MapWindowResult {
  /** The map filled up inside this window: its coverage ends before the batch that did not fit. */
  full: boolean
}

/**
 * The mapping pass over one window of whole batches of the dirty section: records every key of
 * the batches that reach `dirtyStart` and end before `endOffset` in the offset map, extending
 * its coverage batch by batch. Control batches and aborted transactional data carry no value a
 * key should resolve to, so they only extend the coverage.
 */
export function mapWindow (bytes: Uint8Array, map: OffsetMap, options: { dirtyStart: number, endOffset: number, aborted?: AbortedTransactions }): MapWindowResult {
  let position = 0
  while (position + LOG_OVERHEAD <= bytes.byteLength) {
    const view = RecordBatchView.unchecked(bytes, position)
    position += view.sizeInBytes
    if (view.lastOffset < options.dirtyStart) continue
    if (view.lastOffset >= options.endOffset) break
    if (!view.isControl && !isAbortedData(view, options.aborted) && !putBatchKeys(map, view)) return { full: true }
    map.cover(view.lastOffset)
  }
  return { full: false }
}

function putBatchKeys (map: OffsetMap, view: RecordBatchView): boolean {
  const baseOffset = view.baseOffset
  for (const record of view) {
    if (record.key === null) continue
    if (!map.put(record.key, baseOffset + record.offsetDelta)) return false
  }
  return true
}
