/**
 * Worker-thread tasks of compaction. `map`: the mapping pass over a window of the dirty
 * section, writing keys straight into the offset map's shared memory. `filter`: the CPU half
 * of compacting one segment (decode every batch, decide per
 * record, re-encode and recompress the survivors) with the same code the inline path runs
 * (`io/compaction-filter.ts`), so a worker's output equals the inline output byte for byte.
 *
 * Input: the segment's batches (copied by structured clone unless the caller transfers them),
 * the offset map's state (SharedArrayBuffers: shared, not copied), the clock, the topic's
 * `delete.retention.ms`, and the last batch offset of every producer id the segment holds.
 * Output: one buffer, moved (not copied) back to the main thread: the surviving batches back
 * to back, then the filter's statistics as a trailer of float64s (`STATS_TRAILER_BYTES`, in
 * `STATS_FIELDS` order), because Piscina moves only a top-level result. `decodeFilterResult`
 * splits it again. Callers transfer the input window too, so no 8 MiB window is ever cloned.
 */
import { Piscina } from 'piscina'
import { OffsetMap, type OffsetMapState } from '../compaction-offset-map.js'
import { AbortedTransactions, emptyFilterStats, filterBatches, mapWindow, type CompactionFilterStats, type MapWindowResult } from '../compaction-filter.js'
import { sluiceTask } from './task-error.js'

export interface CompactionTaskPayload {
  bytes: Uint8Array
  map: OffsetMapState
  now: number
  deleteRetentionMs: number
  /** [producerId, last offset of its last batch in the log] pairs. */
  producerLastOffsets: Array<[number, number]>
  /** See `CompactionFilterContext.keepBatchEndingAt`. */
  keepBatchEndingAt: number
  /** Aborted transactions as [producerId, first, last] triples. */
  aborted?: Array<[number, number, number]>
}

export interface CompactionTaskResult {
  bytes: Uint8Array
  stats: CompactionFilterStats
}

/** The statistics fields, in trailer order. */
export const STATS_FIELDS: ReadonlyArray<keyof CompactionFilterStats> = Object.freeze([
  'batchesRead', 'batchesKept', 'batchesRewritten', 'recordsRead', 'recordsKept',
  'tombstonesKept', 'tombstonesDropped', 'bytesRead', 'bytesWritten', 'deleteHorizonMin'
])
export const STATS_TRAILER_BYTES = STATS_FIELDS.length * 8

/** Splits the filter task's moved buffer into batches and statistics. */
export function decodeFilterResult (result: Uint8Array): CompactionTaskResult {
  const end = result.byteLength - STATS_TRAILER_BYTES
  const view = new DataView(result.buffer, result.byteOffset + end, STATS_TRAILER_BYTES)
  const stats = emptyFilterStats()
  STATS_FIELDS.forEach((field, index) => { stats[field] = view.getFloat64(index * 8) })
  return { bytes: result.subarray(0, end), stats }
}

export const filter = sluiceTask((payload: CompactionTaskPayload): Uint8Array => {
  const lastOffsets = new Map(payload.producerLastOffsets)
  const stats = emptyFilterStats()
  const chunks = filterBatches(payload.bytes, {
    map: OffsetMap.fromState(payload.map),
    now: payload.now,
    deleteRetentionMs: payload.deleteRetentionMs,
    lastBatchOffsetOf: (producerId) => lastOffsets.get(producerId) ?? -1,
    keepBatchEndingAt: payload.keepBatchEndingAt,
    aborted: AbortedTransactions.fromList(payload.aborted ?? [])
  }, stats)
  let total = 0
  for (const chunk of chunks) total += chunk.byteLength
  const out = new Uint8Array(total + STATS_TRAILER_BYTES)
  let position = 0
  for (const chunk of chunks) {
    out.set(chunk, position)
    position += chunk.byteLength
  }
  const view = new DataView(out.buffer, total, STATS_TRAILER_BYTES)
  STATS_FIELDS.forEach((field, index) => { view.setFloat64(index * 8, stats[field]) })
  return Piscina.move(out) as unknown as Uint8Array
})

export interface CompactionMapTaskPayload {
  bytes: Uint8Array
  /** The map's shared memory: the worker writes into it, the caller sees the result in place. */
  map: OffsetMapState
  dirtyStart: number
  endOffset: number
  /** Aborted transactions as [producerId, first, last] triples. */
  aborted: Array<[number, number, number]>
}

/** The mapping pass over one window (see `mapWindow`), off the main thread. */
export const map = sluiceTask((payload: CompactionMapTaskPayload): MapWindowResult =>
  mapWindow(payload.bytes, OffsetMap.fromState(payload.map), { dirtyStart: payload.dirtyStart, endOffset: payload.endOffset, aborted: AbortedTransactions.fromList(payload.aborted) }))
