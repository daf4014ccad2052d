/**
 * What the two background cleaners (retention, compaction) need from a partition log.
 *
 * The cleaners own the *policy* (which segments go, what replaces them) and the file steps
 * that make it crash-safe (`.deleted` renames, `.cleaned` output fdatasynced before the swap);
 * the log owns its in-memory segment list, its open handles and its offsets. `CleanableLog` is
 * the seam between the two: `cleanablePartitionLog` adapts a PartitionLog to it, and the
 * cleaners never touch a log's internals.
 *
 * Transient file names in a partition directory (Kafka's suffixes, section 3.1 of the
 * reference), and what PartitionLog's loader does with each after a crash:
 *
 * | name                                   | meaning                                     | at load          |
 * |----------------------------------------|---------------------------------------------|------------------|
 * | `<base>.{log,index,timeindex}.deleted` | left the log, unlink pending                | unlinked         |
 * | `<base>.log.cleaned`                   | cleaner output not yet committed            | unlinked         |
 * | `<base>.log.swap`                      | committed cleaner output (the commit point) | swapped in: every segment with base in [base, end of the swap's batches) goes, the swap becomes `<base>.log` |
 *
 * The swap-in rule needs the swap's batches to end exactly where the replaced segments end;
 * the compactor guarantees it by always keeping the last batch of each group it rewrites (as an
 * empty batch when all its records go), so a crash after the commit point can never bring back
 * a replaced segment.
 *
 * Mutual exclusion: retention and compaction of one log never run at once (`exclusive`), so
 * neither sees the other's half-done segment list. Appends are not involved: the cleaners only
 * touch sealed segments, and rolling goes through the log's own ordering.
 */
import { SluiceError } from '../core/errors.js'
import type { FileSystem } from '../io/file-system.js'
import { PartitionLayout, partitionDirectoryName } from './layout.js'
import type { PartitionLog } from './partition-log.js'
import type { Segment } from './segment.js'

/** One segment as the cleaners see it. */
export interface CleanableSegment {
  readonly baseOffset: number
  /** The offset after the segment's last batch (= baseOffset when empty). */
  readonly nextOffset: number
  /** Bytes of the `.log`. */
  readonly size: number
  /** Largest batch maxTimestamp in the segment as known in memory, -1 when unknown. */
  readonly maxTimestamp: number
}

/** The seam between a partition log and its cleaners. */
export interface CleanableLog {
  /** Identity of the underlying log: the key of the cleaners' mutual exclusion (`exclusive`). */
  readonly lock: object
  readonly layout: PartitionLayout
  readonly fs: FileSystem
  readonly logStartOffset: number
  readonly logEndOffset: number
  readonly highWatermark: number
  /** Segments oldest first; the last one is the active segment. */
  segments: () => readonly CleanableSegment[]
  /**
   * The largest record timestamp of a segment (Kafka `largestTimestamp`), loading its time
   * index when needed; -1 when it has no timestamp.
   */
  largestTimestamp: (segment: CleanableSegment) => Promise<number>
  /** Rolls a new active segment at the log end offset (no-op when the active one is empty). */
  roll: () => Promise<void>
  /**
   * Raises the log start offset to `offset` (never lowers it) and makes it durable (the
   * log-start checkpoint) before resolving.
   */
  advanceLogStartOffset: (offset: number) => Promise<void>
  /**
   * Removes the oldest segments with these base offsets from the log's list and releases their
   * handles, without touching their files (the cleaner renames them next). Never the active one.
   */
  detachSegments: (baseOffsets: readonly number[]) => Promise<void>
  /**
   * Replaces the segments with these base offsets (a contiguous run, not the active one) by the
   * fdatasynced `<first base>.log.cleaned`: renamed `.swap` (the commit point), the old
   * segments deleted, the swap renamed to `<first base>.log` and loaded.
   */
  replaceSegments: (baseOffsets: readonly number[]) => Promise<void>
}

export interface CleanablePartitionLogOptions {
  /** The file layer the log was opened with. */
  fs: FileSystem
  /**
   * Makes the log start offset durable (the engine writes its log-start checkpoint, e.g.
   * `LogManager.checkpoint`).
   */
  persistLogStartOffset: () => Promise<void>
}

/** Adapts a PartitionLog to the cleaners' seam. */
export function cleanablePartitionLog (log: PartitionLog, options: CleanablePartitionLogOptions): CleanableLog {
  const name = partitionDirectoryName(log.topic, log.partition)
  const dataDirectory = log.directory.slice(0, log.directory.length - name.length - 1)
  const layout = new PartitionLayout(dataDirectory, log.topic, log.partition)
  const segmentOf = (baseOffset: number): Segment => {
    const found = log.segmentList().find((segment) => segment.baseOffset === baseOffset)
    if (found === undefined) throw new SluiceError('KAFKA_STORAGE_ERROR', `segment ${baseOffset} is no longer in ${log.directory}`)
    return found
  }
  return {
    lock: log,
    layout,
    fs: options.fs,
    get logStartOffset () { return log.logStartOffset },
    get logEndOffset () { return log.logEndOffset },
    get highWatermark () { return log.highWatermark },
    segments: () => log.segmentList(),
    largestTimestamp: async (segment) => {
      const live = segmentOf(segment.baseOffset)
      await live.ensureIndexes()
      return Math.max(live.maxTimestamp, live.timeIndex.lastEntry()?.timestamp ?? -1)
    },
    roll: async () => { await log.rollActiveSegment() },
    advanceLogStartOffset: async (offset) => {
      log.advanceLogStartOffset(offset)
      await options.persistLogStartOffset()
    },
    detachSegments: async (baseOffsets) => {
      const oldest = log.segmentList().slice(0, baseOffsets.length).map((segment) => segment.baseOffset)
      if (oldest.some((base, index) => base !== baseOffsets[index])) {
        throw new SluiceError('KAFKA_STORAGE_ERROR', `segments to detach are not the oldest of ${log.directory}`)
      }
      const detached = await log.detachOldestSegments(baseOffsets.length)
      if (detached.length !== baseOffsets.length) throw new SluiceError('KAFKA_STORAGE_ERROR', `cannot detach the active segment of ${log.directory}`)
    },
    replaceSegments: async (baseOffsets) => {
      await log.replaceSegments(baseOffsets.map(segmentOf))
    }
  }
}

const locks = new WeakMap<object, Promise<unknown>>()

/**
 * Runs `work` when no other `exclusive` work on the same key (a log) is running; calls queue in
 * order. Retention and compaction of one log go through it.
 */
export async function exclusive<T> (key: object, work: () => Promise<T>): Promise<T> {
  const previous = locks.get(key) ?? Promise.resolve()
  const run = previous.then(work, work)
  const settled = run.catch(() => {})
  locks.set(key, settled)
  try {
    return await run
  } finally {
    if (locks.get(key) === settled) locks.delete(key)
  }
}

export async function storage<T> (what: string, action: () => Promise<T>): Promise<T> {
  try {
    return await action()
  } catch (error) {
    if (error instanceof SluiceError) throw error
    throw new SluiceError('KAFKA_STORAGE_ERROR', `${what}: ${(error as Error).message}`, { cause: error })
  }
}
