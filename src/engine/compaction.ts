/**
 * Log compaction (`cleanup.policy` = `compact` or `compact,delete`): keep the newest record of
 * every key, as Kafka's `LogCleaner` does.
 *
 * Sections of a log (offsets):
 *
 * ```
 *  logStart          cleaner checkpoint        firstUncleanable            LEO
 *     |---- clean -------|-------- dirty ----------|------ uncleanable -----|
 *                                                   active segment, segments with records
 *                                                   younger than min.compaction.lag.ms,
 *                                                   offsets at or past the high watermark or
 *                                                   the first open transaction
 * ```
 *
 * One cleaning of one log:
 * 1. choose: the log is cleaned when `dirty / (clean + dirty) > min.cleanable.dirty.ratio`,
 *    or its oldest dirty record is older than `max.compaction.lag.ms`, or the caller forces it;
 * 2. scan and map: a header pass over the whole log notes the last batch of every producer
 *    id, the aborted transactions and the open ones (nothing from the first open transaction
 *    on is cleaned); then the dirty segments are read and, per key, the offset of its newest
 *    record is recorded (`io/compaction-offset-map.ts`: full key comparison, so no collision
 *    ever drops a record; aborted data never counts as a key's newest value);
 * 3. recopy: the cleanable segments below the map's coverage, in groups whose total size fits
 *    `segment.bytes`; each group is filtered (`io/compaction-filter.ts`, inline or on a worker
 *    thread) into `<first base>.log.cleaned`, which is fdatasynced;
 * 4. swap: the log renames it `.swap` (the commit point), deletes the old segments, renames the
 *    swap to `<first base>.log` and loads it (`PartitionLog.replaceSegments`);
 * 5. checkpoint: the cleaner offset checkpoint moves to the end of the map's coverage.
 *
 * Crash safety: a crash before step 4's first rename leaves a `.cleaned` file, which the loader
 * unlinks (old segments intact); after it, the loader completes the swap. The group's final
 * batch is always kept (empty if all its records went) so the swap's last offset is exactly the
 * end of the segments it replaces; a crash between the swap and step 5 only means the next
 * cleaning redoes work (cleaning is idempotent).
 *
 * Threads: with a worker pool, both CPU passes (mapping: decode and decompress the dirty
 * section into the shared-memory offset map; filtering: decode, decide, re-encode and
 * recompress) run on worker threads, one window (<= 8 MiB of whole batches) per task; the main
 * thread only reads and writes files (libuv) and swaps. Without a pool they run inline.
 *
 * What is not done here (yet): transaction markers are kept for ever (Kafka drops them once
 * their transaction's data is gone and their own delete horizon passed), and the header pass
 * reads the whole log each cleaning (a transaction index would make it unnecessary).
 */
import { SluiceError } from '../core/errors.js'
import { AbortedTransactions, HeaderScan, addFilterStats, emptyFilterStats, filterBatches, mapWindow, type CompactionFilterStats, type MapWindowResult } from '../io/compaction-filter.js'
import { OffsetMap, type OffsetMapOptions } from '../io/compaction-offset-map.js'
import { readFully, writeFileAtomic, writeFully, type FileHandle } from '../io/file-system.js'
import { BatchOffset, LOG_OVERHEAD, RECORD_BATCH_OVERHEAD } from '../io/record-batch-header.js'
import { sharedWorkerPool, type WorkerPool } from '../io/worker-pool.js'
import { decodeFilterResult, type CompactionMapTaskPayload, type CompactionTaskPayload } from '../io/tasks/compaction-task.js'
import { CLEANED_SUFFIX } from './layout.js'
import { exclusive, storage, type CleanableLog, type CleanableSegment } from './cleanable-log.js'
import { PeriodicLogTask } from './periodic-log-task.js'
import { hasCompactPolicy, type TopicConfig } from './topic-config.js'

/**
 * Per-partition file holding the cleaner's checkpoint, text: line 1 version `0`, line 2 the
 * offset where the dirty section starts, line 3 the earliest delete horizon of a tombstone the
 * clean section still holds (-1 none): once the clock passes it, the log is cleaned again even
 * when nothing is dirty, so tombstones do not outlive `delete.retention.ms` by much (KIP-534).
 */
export const CLEANER_CHECKPOINT_FILE = 'cleaner-offset-checkpoint'

/** Read window of the cleaner: whole batches, at least one. */
export const COMPACTION_READ_BYTES = 8 * 1024 * 1024

export type CompactionConfig = Pick<TopicConfig,
'cleanupPolicy' | 'segmentBytes' | 'deleteRetentionMs' | 'minCompactionLagMs' | 'maxCompactionLagMs' | 'minCleanableDirtyRatio'>

export interface CompactionOptions {
  /** The cleaner's clock. @defaultValue Date.now() */
  now?: number
  /** Clean even when the dirty ratio is below `min.cleanable.dirty.ratio`. @defaultValue false */
  force?: boolean
  /** Size of the offset map, or a map to reuse (cleared first). */
  offsetMap?: OffsetMapOptions | OffsetMap
  /** Run the record filter on these worker threads; inline when absent. */
  pool?: WorkerPool
  /** @defaultValue COMPACTION_READ_BYTES */
  readWindowBytes?: number
}

export interface CompactionResult {
  cleaned: boolean
  /** Why it cleaned or not. */
  reason: 'not-compacted' | 'nothing-dirty' | 'below-dirty-ratio' | 'dirty-ratio' | 'max-compaction-lag' | 'delete-horizon' | 'forced'
  dirtyRatio: number
  /** Base offsets of the segments of each rewritten group. */
  groups: number[][]
  /** The cleaner checkpoint after this run. */
  checkpoint: number
  stats: CompactionFilterStats
}

interface Plan {
  cleanable: CleanableSegment[]
  dirtyStart: number
  dirty: CleanableSegment[]
  dirtyRatio: number
  reason: CompactionResult['reason']
}

/**
 * Compacts one log once. Runs under the log's cleaner lock (`exclusive`), so retention and
 * compaction of one log never interleave; appends are never blocked.
 */
export async function compactLog (log: CleanableLog, config: CompactionConfig, options: CompactionOptions = {}): Promise<CompactionResult> {
  return await exclusive(log.lock, async () => {
    try {
      return await compactUnlocked(log, config, options)
    } catch (error) {
      if (error instanceof SluiceError) throw error
      throw new SluiceError('KAFKA_STORAGE_ERROR', `compaction of ${log.layout.directory} failed: ${(error as Error).message}`, { cause: error })
    }
  })
}

async function compactUnlocked (log: CleanableLog, config: CompactionConfig, options: CompactionOptions): Promise<CompactionResult> {
  const now = options.now ?? Date.now()
  const stats = emptyFilterStats()
  const state = await readCleanerState(log)
  const checkpointBefore = state.checkpoint
  const result = (reason: CompactionResult['reason'], dirtyRatio = 0, checkpoint = checkpointBefore): CompactionResult =>
    ({ cleaned: false, reason, dirtyRatio, groups: [], checkpoint, stats })
  if (!hasCompactPolicy(config)) return result('not-compacted')
  const force = options.force === true
  let plan = await planCleaning(log, config, now, checkpointBefore, force, Number.POSITIVE_INFINITY)
  const due = (candidate: Plan): boolean => {
    if ((candidate.reason === 'nothing-dirty' || candidate.reason === 'below-dirty-ratio') && candidate.cleanable.length > 0 &&
        state.deleteHorizonMin >= 0 && now >= state.deleteHorizonMin) {
      candidate.reason = 'delete-horizon'
    }
    return candidate.reason !== 'nothing-dirty' && candidate.reason !== 'below-dirty-ratio'
  }
  if (!due(plan)) return result(plan.reason, plan.dirtyRatio)

  // Header pass over the whole log: producers' last batches, aborted and open transactions.
  const windowBytes = options.readWindowBytes ?? COMPACTION_READ_BYTES
  const headers = new HeaderScan()
  for (const segment of log.segments()) await forEachWindow(log, segment, windowBytes, async (bytes) => { headers.scan(bytes) })
  // Never clean from the first open transaction on (Kafka: the last stable offset).
  if (headers.firstUnstableOffset < Number.POSITIVE_INFINITY) {
    plan = await planCleaning(log, config, now, checkpointBefore, force, headers.firstUnstableOffset)
    if (!due(plan)) return result(plan.reason, plan.dirtyRatio)
  }
  const firstUncleanable = plan.cleanable[plan.cleanable.length - 1]!.nextOffset

  const map = options.offsetMap instanceof OffsetMap ? options.offsetMap : OffsetMap.create(options.offsetMap)
  map.clear()
  // Everything below the dirty section is deduplicated already: the map covers it by definition.
  map.cover(plan.dirtyStart - 1)
  const aborted = headers.aborted
  for (const segment of plan.dirty) {
    let full = false
    await forEachWindow(log, segment, windowBytes, async (bytes) => {
      if (full) return
      full = (await mapWindowOn(options.pool, bytes, map, { dirtyStart: plan.dirtyStart, endOffset: firstUncleanable, aborted })).full
    })
    if (full) break
  }
  const producerLastOffsets = headers.producerLastOffsets
  const coverageEnd = map.latestOffset + 1
  const toClean = plan.cleanable.filter((segment) => segment.baseOffset < coverageEnd)
  const groups = groupSegments(toClean, config.segmentBytes)
  const done: number[][] = []
  for (const group of groups) {
    const rewritten = await cleanGroup(log, group, { map, now, config, producerLastOffsets, aborted, windowBytes, pool: options.pool, stats })
    if (rewritten) done.push(group.map((segment) => segment.baseOffset))
  }
  const checkpoint = Math.max(checkpointBefore, coverageEnd)
  await writeCleanerCheckpoint(log, checkpoint, stats.deleteHorizonMin)
  return { cleaned: true, reason: plan.reason, dirtyRatio: plan.dirtyRatio, groups: done, checkpoint, stats }
}

async function planCleaning (log: CleanableLog, config: CompactionConfig, now: number, checkpoint: number, force: boolean, firstUnstableOffset: number): Promise<Plan> {
  const segments = log.segments()
  const active = segments[segments.length - 1]!
  let firstUncleanable = Math.min(active.baseOffset, log.highWatermark, firstUnstableOffset)
  for (const segment of segments) {
    if (segment === active || segment.baseOffset >= firstUncleanable) break
    if (config.minCompactionLagMs > 0 && await log.largestTimestamp(segment) > now - config.minCompactionLagMs) {
      firstUncleanable = segment.baseOffset
      break
    }
  }
  const cleanable = segments.filter((segment) => segment !== active && segment.nextOffset <= firstUncleanable)
  const logStart = log.logStartOffset
  const dirtyStart = checkpoint < logStart || checkpoint > log.logEndOffset ? logStart : checkpoint
  const dirty = cleanable.filter((segment) => segment.nextOffset > dirtyStart)
  let dirtyBytes = 0
  let cleanBytes = 0
  for (const segment of cleanable) {
    if (dirty.includes(segment)) dirtyBytes += segment.size
    else cleanBytes += segment.size
  }
  const dirtyRatio = dirtyBytes + cleanBytes === 0 ? 0 : dirtyBytes / (dirtyBytes + cleanBytes)
  const plan = { cleanable, dirtyStart, dirty, dirtyRatio }
  if (cleanable.length === 0) return { ...plan, reason: 'nothing-dirty' }
  if (force) return { ...plan, reason: 'forced' }
  if (dirty.length === 0) return { ...plan, reason: 'nothing-dirty' }
  if (dirtyRatio > config.minCleanableDirtyRatio) return { ...plan, reason: 'dirty-ratio' }
  if (config.maxCompactionLagMs < Number.MAX_SAFE_INTEGER) {
    const oldest = await log.largestTimestamp(dirty[0]!)
    if (oldest >= 0 && now - oldest > config.maxCompactionLagMs) return { ...plan, reason: 'max-compaction-lag' }
  }
  return { ...plan, reason: 'below-dirty-ratio' }
}

async function mapWindowOn (pool: WorkerPool | undefined, bytes: Uint8Array, map: OffsetMap, options: { dirtyStart: number, endOffset: number, aborted: AbortedTransactions }): Promise<MapWindowResult> {
  if (pool === undefined) return mapWindow(bytes, map, options)
  const payload: CompactionMapTaskPayload = { bytes, map: map.state, dirtyStart: options.dirtyStart, endOffset: options.endOffset, aborted: options.aborted.toList() }
  return await pool.run<MapWindowResult>('compaction-task#map', payload, transferOf(bytes))
}

/**
 * Moves a window's memory to the worker instead of cloning it: every window is a fresh
 * buffer of its own (readWindow) that the main thread does not touch again.
 */
function transferOf (bytes: Uint8Array): { transferList: ArrayBuffer[] } | undefined {
  return bytes.buffer instanceof ArrayBuffer ? { transferList: [bytes.buffer] } : undefined
}

/** Consecutive segments whose sizes add up to at most `segmentBytes` and whose offsets fit int32 (Kafka's grouping). */
export function groupSegments (segments: readonly CleanableSegment[], segmentBytes: number): CleanableSegment[][] {
  const groups: CleanableSegment[][] = []
  let current: CleanableSegment[] = []
  let bytes = 0
  for (const segment of segments) {
    const first = current[0]
    const fits = first !== undefined && bytes + segment.size <= segmentBytes && segment.nextOffset - 1 - first.baseOffset <= 0x7fffffff
    if (!fits && current.length > 0) {
      groups.push(current)
      current = []
      bytes = 0
    }
    current.push(segment)
    bytes += segment.size
  }
  if (current.length > 0) groups.push(current)
  return groups
}

interface GroupContext {
  map: OffsetMap
  now: number
  config: CompactionConfig
  producerLastOffsets: Map<number, number>
  aborted: AbortedTransactions
  windowBytes: number
  pool: WorkerPool | undefined
  stats: CompactionFilterStats
}

/** Steps 3-4 for one group; false when filtering changed nothing (no swap needed). */
async function cleanGroup (log: CleanableLog, group: CleanableSegment[], context: GroupContext): Promise<boolean> {
  const first = group[0]!
  const cleanedPath = `${log.layout.logFile(first.baseOffset)}${CLEANED_SUFFIX}`
  const groupStats = emptyFilterStats()
  const file = await storage(`create ${cleanedPath}`, async () => await log.fs.open(cleanedPath, 'create'))
  let committed = false
  try {
    await file.truncate(0)
    let written = 0
    for (let index = 0; index < group.length; index++) {
      const segment = group[index]!
      const finalSegment = index === group.length - 1
      await forEachWindow(log, segment, context.windowBytes, async (bytes, isLast) => {
        const keepBatchEndingAt = finalSegment && isLast ? lastBatchEnd(bytes) : -1
        const chunks = await filterWindow(bytes, keepBatchEndingAt, context, groupStats)
        for (const chunk of chunks) {
          await writeFully(file, chunk, written)
          written += chunk.byteLength
        }
      })
    }
    addFilterStats(context.stats, groupStats)
    if (groupStats.batchesRewritten === 0 && groupStats.batchesKept === groupStats.batchesRead) return false
    await file.datasync()
    await file.close()
    committed = true
    await log.replaceSegments(group.map((segment) => segment.baseOffset))
    return true
  } finally {
    if (!committed) {
      await file.close().catch(() => {})
      // Best effort: a `.cleaned` file left behind is unlinked by the loader.
      await log.fs.unlink(cleanedPath).catch(() => {})
    }
  }
}

async function filterWindow (bytes: Uint8Array, keepBatchEndingAt: number, context: GroupContext, stats: CompactionFilterStats): Promise<Uint8Array[]> {
  if (context.pool === undefined) {
    return filterBatches(bytes, {
      map: context.map,
      now: context.now,
      deleteRetentionMs: context.config.deleteRetentionMs,
      lastBatchOffsetOf: (producerId) => context.producerLastOffsets.get(producerId) ?? -1,
      keepBatchEndingAt,
      aborted: context.aborted
    }, stats)
  }
  const payload: CompactionTaskPayload = {
    bytes,
    map: context.map.state,
    now: context.now,
    deleteRetentionMs: context.config.deleteRetentionMs,
    producerLastOffsets: [...context.producerLastOffsets],
    keepBatchEndingAt,
    aborted: context.aborted.toList()
  }
  const result = decodeFilterResult(await context.pool.run<Uint8Array>('compaction-task#filter', payload, transferOf(bytes)))
  addFilterStats(stats, result.stats)
  return [result.bytes]
}

/**
 * Reads a segment's `.log` in windows of whole batches (a batch larger than the window is read
 * whole) and calls `visit` with each; `isLast` marks the window holding the final batch. A torn
 * batch at the end (possible only in the active segment, whose writer may be mid-write) ends the
 * walk.
 */
async function forEachWindow (log: CleanableLog, segment: CleanableSegment, windowBytes: number, visit: (bytes: Uint8Array, isLast: boolean) => Promise<void>): Promise<void> {
  const path = log.layout.logFile(segment.baseOffset)
  const file = await storage(`open ${path}`, async () => await log.fs.open(path, 'read'))
  try {
    const size = Math.min(await file.size(), segment.size)
    let position = 0
    // Bounded: each round consumes at least one whole batch or ends.
    while (position + LOG_OVERHEAD <= size) {
      const bytes = await readWindow(file, position, Math.min(windowBytes, size - position), size)
      if (bytes.byteLength === 0) break
      position += bytes.byteLength
      await visit(bytes, position + LOG_OVERHEAD > size)
    }
  } finally {
    await file.close()
  }
}

/** Whole batches from `position`, up to `length` bytes (or the one batch there, if larger). */
async function readWindow (file: FileHandle, position: number, length: number, size: number): Promise<Uint8Array> {
  let bytes = new Uint8Array(Math.max(length, LOG_OVERHEAD))
  let read = await readFully(file, bytes, position)
  let whole = wholeBatchesLength(bytes.subarray(0, read))
  if (whole === 0 && read >= LOG_OVERHEAD) {
    const batchBytes = readInt32(bytes, BatchOffset.batchLength) + LOG_OVERHEAD
    if (batchBytes < RECORD_BATCH_OVERHEAD || position + batchBytes > size) return new Uint8Array(0)
    bytes = new Uint8Array(batchBytes)
    read = await readFully(file, bytes, position)
    whole = wholeBatchesLength(bytes.subarray(0, read))
  }
  return bytes.subarray(0, whole)
}

function wholeBatchesLength (bytes: Uint8Array): number {
  let at = 0
  while (at + LOG_OVERHEAD <= bytes.byteLength) {
    const size = readInt32(bytes, at + BatchOffset.batchLength) + LOG_OVERHEAD
    if (size < RECORD_BATCH_OVERHEAD || at + size > bytes.byteLength) break
    at += size
  }
  return at
}

function lastBatchEnd (bytes: Uint8Array): number {
  let at = 0
  let last = -1
  while (at + RECORD_BATCH_OVERHEAD <= bytes.byteLength) {
    last = readOffset(bytes, at) + readInt32(bytes, at + BatchOffset.lastOffsetDelta)
    at += readInt32(bytes, at + BatchOffset.batchLength) + LOG_OVERHEAD
  }
  return last
}

function readInt32 (bytes: Uint8Array, at: number): number {
  return (bytes[at]! << 24) | (bytes[at + 1]! << 16) | (bytes[at + 2]! << 8) | bytes[at + 3]!
}

function readOffset (bytes: Uint8Array, at: number): number {
  return readInt32(bytes, at) * 0x100000000 + (readInt32(bytes, at + 4) >>> 0)
}

/** The cleaner checkpoint of a log (its dirty section starts there); 0 when none was written. */
export async function readCleanerCheckpoint (log: Pick<CleanableLog, 'fs' | 'layout'>): Promise<number> {
  return (await readCleanerState(log)).checkpoint
}

/** The cleaner checkpoint and the earliest pending delete horizon (see CLEANER_CHECKPOINT_FILE). */
export async function readCleanerState (log: Pick<CleanableLog, 'fs' | 'layout'>): Promise<{ checkpoint: number, deleteHorizonMin: number }> {
  const path = log.layout.file(CLEANER_CHECKPOINT_FILE)
  let text: string
  try {
    text = new TextDecoder().decode(await log.fs.readFile(path))
  } catch {
    return { checkpoint: 0, deleteHorizonMin: -1 }
  }
  const lines = text.split('\n')
  const offset = Number(lines[1])
  const horizon = Number(lines[2])
  // A malformed checkpoint means "everything is dirty": always safe, only slower.
  if (lines[0] !== '0' || !Number.isSafeInteger(offset) || offset < 0) return { checkpoint: 0, deleteHorizonMin: -1 }
  return { checkpoint: offset, deleteHorizonMin: Number.isSafeInteger(horizon) && horizon >= 0 ? horizon : -1 }
}

async function writeCleanerCheckpoint (log: CleanableLog, offset: number, deleteHorizonMin: number): Promise<void> {
  const path = log.layout.file(CLEANER_CHECKPOINT_FILE)
  await storage(`write ${path}`, async () => { await writeFileAtomic(log.fs, path, new TextEncoder().encode(`0\n${offset}\n${deleteHorizonMin}\n`)) })
}

/** A compacted log the background task looks after. */
export interface CompactionEntry {
  log: CleanableLog
  config: () => CompactionConfig
}

export interface CompactionTaskOptions {
  /** Kafka `log.cleaner.backoff.ms`: pause between passes. @defaultValue 15000 */
  backoffMs?: number
  clock?: () => number
  /**
   * Where the CPU passes run. Measured with `bench/micro/compaction-offload.ts` on the shared
   * 2-core development machine (a 76 MB log of 100-byte records; medians of 3, noisy): quiet
   * machine, inline 135 MB/s with event-loop delay p99 ~50 ms, pool 119 MB/s with p99 ~4.6 ms;
   * loaded machine, inline 50 MB/s with p99 ~92 ms, pool 45 MB/s with p99 ~11 ms. Throughput is
   * close either way, the event-loop delay is ten times lower on the pool, and a background
   * task must not stall the event loop: the pool is the default. @defaultValue sharedWorkerPool()
   */
  pool?: WorkerPool | 'inline'
  offsetMap?: OffsetMapOptions
  onResult?: (log: CleanableLog, result: CompactionResult | SluiceError) => void
}

/**
 * The background cleaner: every `backoffMs`, compacts each registered log that needs it, one
 * log at a time (Kafka runs `log.cleaner.threads` = 1 by default).
 */
export class CompactionTask {
  readonly #task: PeriodicLogTask<CompactionEntry, CompactionResult>
  /** One map for every cleaning of this task (they run one at a time), allocated on first use. */
  #map: OffsetMap | undefined

  constructor (options: CompactionTaskOptions = {}) {
    const clock = options.clock ?? Date.now
    this.#task = new PeriodicLogTask({
      name: 'compaction',
      intervalMs: options.backoffMs ?? 15_000,
      work: async (entry) => {
        const compaction: CompactionOptions = { now: clock() }
        const pool = options.pool ?? sharedWorkerPool()
        if (pool !== 'inline') compaction.pool = pool
        this.#map ??= OffsetMap.create(options.offsetMap)
        compaction.offsetMap = this.#map
        return await compactLog(entry.log, entry.config(), compaction)
      },
      onResult: options.onResult
    })
  }

  add (entry: CompactionEntry): () => void { return this.#task.add(entry) }
  start (): void { this.#task.start() }
  async runOnce (): Promise<void> { await this.#task.runOnce() }
  close (): Promise<void> { return this.#task.close() }
}
