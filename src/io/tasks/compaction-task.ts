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
 * Output: the surviving batches back to back in one buffer, and the filter's statistics. The
 * buffer is copied once by structured clone (Piscina moves only a top-level result, and the
 * statistics travel beside it); next to decoding and recompressing a segment that copy is small.
 */
import { OffsetMap, type OffsetMapState } from '../compaction-offset-map.js'
import { emptyFilterStats, filterBatches, mapWindow, type CompactionFilterStats, type MapWindowResult } from '../compaction-filter.js'
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
}

export interface CompactionTaskResult {
  bytes: Uint8Array
  stats: CompactionFilterStats
}

export const filter = sluiceTask((payload: CompactionTaskPayload): CompactionTaskResult => {
  const lastOffsets = new Map(payload.producerLastOffsets)
  const stats = emptyFilterStats()
  const chunks = filterBatches(payload.bytes, {
    map: OffsetMap.fromState(payload.map),
    now: payload.now,
    deleteRetentionMs: payload.deleteRetentionMs,
    lastBatchOffsetOf: (producerId) => lastOffsets.get(producerId) ?? -1,
    keepBatchEndingAt: payload.keepBatchEndingAt
  }, stats)
  let total = 0
  for (const chunk of chunks) total += chunk.byteLength
  const out = new Uint8Array(total)
  let position = 0
  for (const chunk of chunks) {
    out.set(chunk, position)
    position += chunk.byteLength
  }
  return { bytes: out, stats }
})

export interface CompactionMapTaskPayload {
  bytes: Uint8Array
  /** The map's shared memory: the worker writes into it, the caller sees the result in place. */
  map: OffsetMapState
  putKeys: boolean
  dirtyStart: number
}

/** The mapping pass over one window (see `mapWindow`), off the main thread. */
export const map = sluiceTask((payload: CompactionMapTaskPayload): MapWindowResult =>
  mapWindow(payload.bytes, OffsetMap.fromState(payload.map), { putKeys: payload.putKeys, dirtyStart: payload.dirtyStart }))
