/**
 * Retention: deleting whole segments from the front of a partition log, by age
 * (`retention.ms`), by size (`retention.bytes`) and by the log start offset (raised by
 * `deleteRecords`), as Kafka's `UnifiedLog.deleteOldSegments` does.
 *
 * Which segments go (oldest first, stopping at the first that does not qualify):
 * - only segments whose end is visible: `highWatermark >= next segment base (or LEO)`;
 * - never an empty active segment; when every segment qualifies, the log rolls first, so the
 *   log keeps an (empty) active segment and its log end offset;
 * - start offset: the next segment's base is <= logStartOffset (always applied);
 * - with `cleanup.policy` containing `delete`: age, `now - largestTimestamp > retention.ms`
 *   (largestTimestamp = the segment's max batch timestamp, the file's mtime when it has none);
 *   size, while `totalSize - segmentSize >= retention.bytes` (cumulative).
 *
 * Crash safety, step by step (each step durable before the next):
 * 1. the log start offset is raised to the base of the first remaining segment and
 *    checkpointed: a crash after this leaves the segments on disk but below the start offset,
 *    unreadable, and the next run deletes them by the start-offset rule;
 * 2. the segments leave the log's list (in memory: appends are never involved);
 * 3. each segment's files are renamed `.deleted` (`.log` first: without it the indexes are
 *    orphans the loader drops), then the directory is fsynced: a crash leaves `.deleted`
 *    files, which PartitionLog's loader unlinks;
 * 4. after `file.delete.delay.ms` they are unlinked (Kafka's delay, meant for readers still
 *    on the old files; here a read that picked the segment before it was detached fails with
 *    KAFKA_STORAGE_ERROR once the log's file cache closed its handle, and the client retries).
 * Nothing at or above the log start offset is ever renamed, so no crash loses a record that
 * should remain.
 *
 * Concurrency: `RetentionTask` runs one log at a time on a timer, each step an awaited I/O
 * call, under the log's cleaner lock (compaction of the same log waits). Appends never wait
 * for it, except behind the roll that precedes deleting every segment (the same roll an
 * append past `segment.bytes` causes). Every loop is bounded by the number of segments.
 */
import { SluiceError } from '../core/errors.js'
import { DELETED_SUFFIX, INDEX_SUFFIX, LOG_SUFFIX, TIME_INDEX_SUFFIX, segmentFileStem } from './layout.js'
import { exclusive, storage, type CleanableLog, type CleanableSegment } from './cleanable-log.js'
import { PeriodicLogTask } from './periodic-log-task.js'
import { hasDeletePolicy, type TopicConfig } from './topic-config.js'

/** Why a segment was deleted (first rule that matched), as Kafka reports it. */
export type RetentionReason = 'log-start-offset' | 'retention-ms' | 'retention-bytes'

export interface RetentionResult {
  /** Base offsets of the deleted segments, oldest first. */
  deleted: number[]
  reason: RetentionReason | undefined
  logStartOffset: number
}

export type RetentionConfig = Pick<TopicConfig, 'retentionMs' | 'retentionBytes' | 'cleanupPolicy' | 'fileDeleteDelayMs'>

export interface RetentionRunOptions {
  /** The clock. @defaultValue Date.now() */
  now?: number
  /** Unlinks of `.deleted` files are scheduled here (see `DeletionScheduler`). @defaultValue unlink at once */
  scheduler?: DeletionScheduler
}

/** Segments that qualify for deletion now, oldest first, and the rule that selected them. */
export async function deletableSegments (log: CleanableLog, config: RetentionConfig, now: number): Promise<{ segments: CleanableSegment[], reason: RetentionReason | undefined }> {
  const byStart = await selectPrefix(log, (segment, next) => next !== undefined && next.baseOffset <= log.logStartOffset)
  if (byStart.length > 0 || !hasDeletePolicy(config)) return { segments: byStart, reason: byStart.length > 0 ? 'log-start-offset' : undefined }
  if (config.retentionMs >= 0) {
    const byAge = await selectPrefix(log, async (segment) => now - await largestTimestamp(log, segment) > config.retentionMs)
    if (byAge.length > 0) return { segments: byAge, reason: 'retention-ms' }
  }
  if (config.retentionBytes >= 0) {
    let excess = totalSize(log.segments()) - config.retentionBytes
    const bySize = await selectPrefix(log, (segment) => {
      if (excess - segment.size < 0) return false
      excess -= segment.size
      return true
    })
    if (bySize.length > 0) return { segments: bySize, reason: 'retention-bytes' }
  }
  return { segments: [], reason: undefined }
}

/**
 * Applies retention once to one log. Safe to call while the log appends; runs under the log's
 * cleaner lock, so never at the same time as compaction or another retention run of that log.
 */
export async function applyRetention (log: CleanableLog, config: RetentionConfig, options: RetentionRunOptions = {}): Promise<RetentionResult> {
  const now = options.now ?? Date.now()
  return await storageErrors(log, async () => {
    const { segments, reason } = await deletableSegments(log, config, now)
    if (segments.length === 0) return { deleted: [], reason, logStartOffset: log.logStartOffset }
    await deleteSegments(log, segments, config.fileDeleteDelayMs, options.scheduler)
    return { deleted: segments.map((segment) => segment.baseOffset), reason, logStartOffset: log.logStartOffset }
  })
}

/**
 * Runs under the log's cleaner lock (compaction of the same log waits); disk faults surface
 * as KAFKA_STORAGE_ERROR naming the log, SluiceErrors pass as they are.
 */
async function storageErrors<T> (log: CleanableLog, work: () => Promise<T>): Promise<T> {
  return await exclusive(log.lock, async () => {
    try {
      return await work()
    } catch (error) {
      if (error instanceof SluiceError) throw error
      throw new SluiceError('KAFKA_STORAGE_ERROR', `retention of ${log.layout.directory} failed: ${(error as Error).message}`, { cause: error })
    }
  })
}

/**
 * Kafka DeleteRecords: makes `offset` the log start offset (`-1` means the high watermark) and
 * deletes the segments wholly below it. Returns the new log start offset (Kafka's low
 * watermark). An offset above the high watermark, or below -1, is OFFSET_OUT_OF_RANGE; an
 * offset at or below the current start changes nothing.
 */
export async function deleteRecords (log: CleanableLog, offset: number, options: RetentionRunOptions & { fileDeleteDelayMs?: number } = {}): Promise<number> {
  if (!Number.isSafeInteger(offset) || offset < -1) {
    throw new SluiceError('OFFSET_OUT_OF_RANGE', `Cannot delete records before offset ${String(offset)}: not an offset`)
  }
  const highWatermark = log.highWatermark
  const target = offset === -1 ? highWatermark : offset
  if (target > highWatermark) {
    throw new SluiceError('OFFSET_OUT_OF_RANGE', `Cannot increment the log start offset to ${target}: it is larger than the high watermark ${highWatermark}`)
  }
  return await storageErrors(log, async () => {
    if (target > log.logStartOffset) await log.advanceLogStartOffset(target)
    const byStart = await selectPrefix(log, (segment, next) => next !== undefined && next.baseOffset <= log.logStartOffset)
    if (byStart.length > 0) await deleteSegments(log, byStart, options.fileDeleteDelayMs ?? 60_000, options.scheduler)
    return log.logStartOffset
  })
}

async function selectPrefix (
  log: CleanableLog,
  predicate: (segment: CleanableSegment, next: CleanableSegment | undefined) => boolean | Promise<boolean>
): Promise<CleanableSegment[]> {
  const segments = log.segments()
  const selected: CleanableSegment[] = []
  for (let index = 0; index < segments.length; index++) {
    const segment = segments[index]!
    const next = segments[index + 1]
    const upperBound = next?.baseOffset ?? log.logEndOffset
    if (log.highWatermark < upperBound) break
    if (next === undefined && segment.size === 0) break
    if (!await predicate(segment, next)) break
    selected.push(segment)
  }
  return selected
}

async function largestTimestamp (log: CleanableLog, segment: CleanableSegment): Promise<number> {
  const known = Math.max(segment.maxTimestamp, await log.largestTimestamp(segment))
  if (known >= 0) return known
  // No record carries a timestamp: Kafka falls back to the file's modification time.
  const stat = await storage('stat segment', async () => await log.fs.stat(log.layout.logFile(segment.baseOffset)))
  return stat?.mtimeMs ?? -1
}

function totalSize (segments: readonly CleanableSegment[]): number {
  let total = 0
  for (const segment of segments) total += segment.size
  return total
}

/** Steps 1-4 of the header for a selected prefix of segments. */
async function deleteSegments (log: CleanableLog, selected: CleanableSegment[], fileDeleteDelayMs: number, scheduler: DeletionScheduler | undefined): Promise<void> {
  const all = log.segments()
  if (selected.length === all.length) await log.roll()
  const remaining = log.segments()
  const last = selected[selected.length - 1]!
  const next = remaining.find((segment) => segment.baseOffset > last.baseOffset)
  // The roll above guarantees a following segment; a log that would lose it is a bug.
  if (next === undefined) throw new SluiceError('KAFKA_STORAGE_ERROR', `retention would delete the active segment of ${log.layout.directory}`)
  if (next.baseOffset > log.logStartOffset) await log.advanceLogStartOffset(next.baseOffset)
  const bases = selected.map((segment) => segment.baseOffset)
  await log.detachSegments(bases)
  const renamed = await renameSegmentsDeleted(log, bases)
  const target = scheduler ?? immediateDeletion
  target.schedule(log, renamed, fileDeleteDelayMs)
}

/** Renames the files of detached segments to `.deleted` (`.log` first) and fsyncs the directory. */
export async function renameSegmentsDeleted (log: Pick<CleanableLog, 'fs' | 'layout'>, bases: readonly number[]): Promise<string[]> {
  const renamed: string[] = []
  for (const base of bases) {
    for (const suffix of [LOG_SUFFIX, INDEX_SUFFIX, TIME_INDEX_SUFFIX]) {
      const from = log.layout.file(`${segmentFileStem(base)}${suffix}`)
      if (await storage(`stat ${from}`, async () => await log.fs.stat(from)) === undefined) continue
      const to = `${from}${DELETED_SUFFIX}`
      await storage(`rename ${from}`, async () => { await log.fs.rename(from, to) })
      renamed.push(to)
    }
  }
  if (renamed.length > 0) await storage('sync partition directory', async () => { await log.fs.syncDirectory(log.layout.directory) })
  return renamed
}

/**
 * Unlinks `.deleted` files after `file.delete.delay.ms`, in the background, bounded: at most
 * `pendingMax` files wait; beyond that the oldest are unlinked at once. `close()` unlinks what
 * is pending (a crash instead leaves them to the loader).
 */
export class DeletionScheduler {
  readonly #pending = new Map<string, { log: Pick<CleanableLog, 'fs'>, timer: NodeJS.Timeout }>()
  readonly #running = new Set<Promise<void>>()
  #closed = false

  constructor (readonly pendingMax = 10_000) {}

  get pendingCount (): number { return this.#pending.size }

  schedule (log: Pick<CleanableLog, 'fs'>, paths: readonly string[], delayMs: number): void {
    for (const path of paths) {
      if (this.#closed || delayMs <= 0) {
        this.#unlink(log, path)
        continue
      }
      while (this.#pending.size >= this.pendingMax) {
        const [oldest, entry] = this.#pending.entries().next().value as [string, { log: Pick<CleanableLog, 'fs'>, timer: NodeJS.Timeout }]
        clearTimeout(entry.timer)
        this.#pending.delete(oldest)
        this.#unlink(entry.log, oldest)
      }
      const timer = setTimeout(() => {
        this.#pending.delete(path)
        this.#unlink(log, path)
      }, delayMs)
      timer.unref()
      this.#pending.set(path, { log, timer })
    }
  }

  /** Unlinks everything pending now and waits for all unlinks. */
  async close (): Promise<void> {
    this.#closed = true
    for (const [path, entry] of this.#pending) {
      clearTimeout(entry.timer)
      this.#unlink(entry.log, path)
    }
    this.#pending.clear()
    while (this.#running.size > 0) await Promise.allSettled([...this.#running])
  }

  #unlink (log: Pick<CleanableLog, 'fs'>, path: string): void {
    // A failed unlink leaves a `.deleted` file the loader removes; nothing else depends on it.
    const done = log.fs.unlink(path).catch(() => {})
    this.#running.add(done)
    void done.finally(() => this.#running.delete(done))
  }
}

const immediateDeletion = new DeletionScheduler()

/** A log the retention task looks after, with the config it reads at each run. */
export interface RetentionEntry {
  log: CleanableLog
  config: () => RetentionConfig
}

export interface RetentionTaskOptions {
  /** Kafka `log.retention.check.interval.ms`. @defaultValue 300000 */
  checkIntervalMs?: number
  /** The clock. @defaultValue Date.now */
  clock?: () => number
  /** Called with each run's result and with errors (which never stop the task). */
  onResult?: (log: CleanableLog, result: RetentionResult | SluiceError) => void
}

export const retentionTaskDefaults = Object.freeze({ checkIntervalMs: 300_000 })

/**
 * The background retention task: every `checkIntervalMs`, applies retention to each
 * registered log in turn. One run at a time; a run that overlaps the next tick is not doubled.
 */
export class RetentionTask {
  readonly scheduler = new DeletionScheduler()
  readonly #task: PeriodicLogTask<RetentionEntry, RetentionResult>

  constructor (options: RetentionTaskOptions = {}) {
    const clock = options.clock ?? Date.now
    this.#task = new PeriodicLogTask({
      name: 'retention',
      intervalMs: options.checkIntervalMs ?? retentionTaskDefaults.checkIntervalMs,
      work: async (entry) => await applyRetention(entry.log, entry.config(), { now: clock(), scheduler: this.scheduler }),
      onResult: options.onResult
    })
  }

  add (entry: RetentionEntry): () => void { return this.#task.add(entry) }
  start (): void { this.#task.start() }
  /** One pass over every log; concurrent calls share the pass in progress. */
  async runOnce (): Promise<void> { await this.#task.runOnce() }

  close (): Promise<void> {
    return this.#task.close().then(async () => { await this.scheduler.close() })
  }
}

