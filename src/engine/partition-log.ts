/**
 * The log of one topic partition: an ordered list of segments, the newest of which (the active
 * segment) takes appends. This is the one append path of Sluice (principle 1): in-process
 * producers and the Kafka ProduceRequest both end in `append`.
 *
 * Write path (principle 4, the event loop never waits on a disk):
 *   append (main thread) validates the batch (length, magic, CRC, max.message.bytes), assigns
 *   offsets, copies it once into the active segment's SharedArrayBuffer tail and patches its
 *   baseOffset there. A drain loop hands staged bytes to `writev` at the file's end in pieces
 *   of whole tail chunks (WRITE_BYTES), straight from the tail memory; an fdatasync loop covers
 *   what was written. Index entries are not written per round: the in-memory mirror serves
 *   lookups, and a checkpoint, a roll or close writes (and syncs) them. Both loops run on
 *   libuv's threadpool. Threadpool or a dedicated writer thread, measured
 *   (`writePathThreadChoice` in bench/macro/storage.ts, same SharedArrayBuffer chunks, three runs
 *   on the 2-vCPU dev VM): equal throughput either way (1 MiB writes ~4.5-5 GB/s into a warm page
 *   cache; 16 x 11 KB groups + fdatasync 150-470 MB/s, noise dominating), while the worker
 *   halves the event-loop utilisation of issuing the writes (0.08 vs 0.17 of wall time at
 *   ~4.7 GB/s). At the append rates the log reaches (~1 GB/s) that difference is 2-4% of the
 *   loop, less than the batch CRC check alone, so the writes stay on the threadpool: one write
 *   path, through the FileSystem interface that the fault-injection tests exercise, with one
 *   owner of the file state. The tail lives in SharedArrayBuffers so a writer thread can take
 *   over without a change of layout if the balance changes.
 *   Appends issued in the same tick go out together; appends arriving while a write or an
 *   fdatasync is in flight are grouped into the next one (group commit: one fdatasync
 *   acknowledges every append it covers). A rolled segment is fdatasynced in the background
 *   (see `roll`).
 *
 * Acknowledgement (`AppendResult.durability`):
 *   - 'written': the batch was handed to the OS (survives a crash of this process, not of the
 *     machine). Policies 'interval' and 'never'.
 *   - 'flushed': an fdatasync covering the batch returned (survives power loss). Policy 'always'.
 *   The high watermark advances with acknowledgements: readers never see a batch before its
 *   append resolved, so a rollback after a storage error never takes back what a reader saw,
 *   except under 'interval'/'never' after a failed fdatasync (see below), exactly as a power
 *   loss would.
 *
 * Storage errors (state machine). Normal -> on a failed write: every append not yet written is
 *   rejected with KAFKA_STORAGE_ERROR, the in-memory state rolls back to the last written
 *   boundary and the file is truncated there, so tail and file agree again. On a failed
 *   fdatasync the range since the last good fdatasync is suspect (the kernel may have dropped
 *   those pages): appends waiting on it are rejected, the log rolls back to the flushed boundary
 *   and the file is truncated there, like a crash of that range. While a truncation is pending
 *   or failed, appends are rejected with KAFKA_STORAGE_ERROR and retry the repair; reads keep
 *   working throughout (they never go past the high watermark).
 *
 * Read path: a read is served from the active segment's tail when it holds the bytes, else from
 *   the file on libuv's threadpool. Sequential readers are remembered by the offset they will
 *   ask for next (`readCursors`); once one reads the file twice in a row, the next windows of
 *   the segment are read ahead for it (read-ahead.ts, with the measurements behind it), and its
 *   later reads only copy from memory. Anything that changes what a position means (rollback,
 *   truncation, segment deletion or replacement) drops every cursor and window
 *   (`clearReadCursors`, `cursorGeneration`); a window is never served past the high watermark.
 *
 * Offsets: logStartOffset <= highWatermark <= logEndOffset; reads below logStartOffset or above
 * logEndOffset fail with OFFSET_OUT_OF_RANGE; reads in [highWatermark, logEndOffset] are empty.
 *
 * Concurrency contract: one PartitionLog per partition directory, used from one thread. Any
 * number of appends may be outstanding; results resolve in offset order.
 */
import { channel } from 'node:diagnostics_channel'
import { assert } from '../core/assert.js'
import { SluiceError, isSluiceError } from '../core/errors.js'
import { crc32c } from '../io/crc32c.js'
import { RecordBatchView } from '../io/record-batch-view.js'
import { unlinkIfPresent } from '../io/file-system.js'
import { BatchAttribute, BatchOffset, CURRENT_MAGIC, LOG_OVERHEAD, RECORD_BATCH_OVERHEAD } from '../io/record-batch-header.js'
import { batchBaseOffset, batchLastOffset, batchMaxTimestamp, batchSize, dataViewOf, readInt64 } from './batch-scan.js'
import type { FileCache } from './file-cache.js'
import { SegmentIndexCache } from './index-cache.js'
import { CLEANED_SUFFIX, DELETED_SUFFIX, INDEX_SUFFIX, LOG_SUFFIX, SEALING_SUFFIX, SWAP_SUFFIX, TIME_INDEX_SUFFIX, parseSegmentFileName } from './layout.js'
import type { PartitionLayout } from './layout.js'
import { ReadAheadStream, sharedReadAheadPool } from './read-ahead.js'
import type { ReadAheadPool } from './read-ahead.js'
import { Segment } from './segment.js'
import type { SegmentState } from './segment.js'
import { applyTimestampPolicy, timestampPolicyActive } from './timestamp-policy.js'
import type { MessageTimestampType } from './topic-config.js'

const rollChannel = channel('sluice:engine:segment:roll')
/** Zeros written ahead of the data under flush 'always' (see `preallocate`). */
const PREALLOCATE_BYTES = 4 * 1024 * 1024
const ZEROS = new Uint8Array(1024 * 1024)
/**
 * A drain round writes at least this much when more is staged (whole tail chunks), not all of
 * it, so the appends it covers are acknowledged while the rest is still being written and
 * their producers stage more meanwhile. Measured (256 MiB of 110 KB batches, 32 appenders,
 * flush 'interval', six interleaved runs on a busy 2-vCPU VM): median 1.74 GB/s with 1 MiB
 * pieces, 1.83 with 2 MiB, 1.48 writing all staged bytes at once; the best runs were equal
 * (1.8-1.9). Smaller pieces also acknowledge the oldest appends sooner.
 */
const WRITE_BYTES = 1024 * 1024
/** Sequential readers remembered per log (each entry is one reader's next position). */
const READ_CURSORS_MAX = 32
const recoveryChannel = channel('sluice:engine:log:recovery')

export type FlushPolicy = 'always' | 'interval' | 'never'
export type Durability = 'written' | 'flushed'

/** Per-topic log configuration, Kafka's topic config names in camelCase. */
export interface PartitionLogConfig {
  /** Roll past this size. Kafka: `segment.bytes`. @defaultValue 1 GiB */
  segmentBytes: number
  /** Roll when the segment's first batch is this old. Kafka: `segment.ms`. @defaultValue 7 days */
  segmentMs: number
  /**
   * Each segment rolls up to this much before `segmentMs` (a random share of it, drawn per
   * segment), so partitions created together do not all roll at once. Kafka: `segment.jitter.ms`.
   * @defaultValue 0
   */
  segmentJitterMs: number
  /** Preallocated size of each index file. Kafka: `segment.index.bytes`. @defaultValue 10 MiB */
  segmentIndexBytes: number
  /** Log bytes between two offset-index entries. Kafka: `index.interval.bytes`. @defaultValue 4096 */
  indexIntervalBytes: number
  /** Largest batch accepted. Kafka: `max.message.bytes`. @defaultValue 1048588 */
  maxMessageBytes: number
  /** fdatasync after this many unflushed records. Kafka: `flush.messages`. @defaultValue MAX_SAFE_INTEGER (off) */
  flushMessages: number
  /** fdatasync when the oldest unflushed append is this old ('interval' policy). Kafka: `flush.ms`. @defaultValue 1000 */
  flushMs: number
  /** Whose time records carry (timestamp-policy.ts). Kafka: `message.timestamp.type`. @defaultValue 'CreateTime' */
  messageTimestampType: MessageTimestampType
  /** CreateTime may lag the clock by at most this much. Kafka: `message.timestamp.before.max.ms`. @defaultValue MAX_SAFE_INTEGER (unchecked) */
  messageTimestampBeforeMaxMs: number
  /** CreateTime may lead the clock by at most this much. Kafka: `message.timestamp.after.max.ms`. @defaultValue MAX_SAFE_INTEGER (unchecked) */
  messageTimestampAfterMaxMs: number
}

export const partitionLogDefaults: Readonly<PartitionLogConfig> = Object.freeze({
  segmentBytes: 1024 * 1024 * 1024,
  segmentMs: 7 * 24 * 60 * 60 * 1000,
  segmentJitterMs: 0,
  segmentIndexBytes: 10 * 1024 * 1024,
  indexIntervalBytes: 4096,
  maxMessageBytes: 1048588,
  flushMessages: Number.MAX_SAFE_INTEGER,
  flushMs: 1000,
  messageTimestampType: 'CreateTime',
  messageTimestampBeforeMaxMs: Number.MAX_SAFE_INTEGER,
  messageTimestampAfterMaxMs: Number.MAX_SAFE_INTEGER
})

/** Validates a partial config and fills in defaults; unknown keys are refused. */
export function resolvePartitionLogConfig (config: Partial<PartitionLogConfig> = {}): Readonly<PartitionLogConfig> {
  for (const key of Object.keys(config)) {
    if (!(key in partitionLogDefaults)) throw new SluiceError('SLUICE_INVALID_OPTION', `unknown log config ${key}`)
  }
  const resolved = { ...partitionLogDefaults, ...config }
  const bounds: Array<[keyof PartitionLogConfig, number, number]> = [
    ['segmentBytes', RECORD_BATCH_OVERHEAD, 0x7fffffff], // .index positions are int32, as in Kafka
    ['segmentMs', 1, Number.MAX_SAFE_INTEGER],
    ['segmentJitterMs', 0, Number.MAX_SAFE_INTEGER],
    ['segmentIndexBytes', 24, 0x7fffffff],
    ['indexIntervalBytes', 0, 0x7fffffff],
    ['maxMessageBytes', RECORD_BATCH_OVERHEAD, 0x7fffffff],
    ['flushMessages', 1, Number.MAX_SAFE_INTEGER],
    ['flushMs', 0, Number.MAX_SAFE_INTEGER],
    ['messageTimestampBeforeMaxMs', 0, Number.MAX_SAFE_INTEGER],
    ['messageTimestampAfterMaxMs', 0, Number.MAX_SAFE_INTEGER]
  ]
  for (const [key, low, high] of bounds) {
    const value = resolved[key]
    if (!Number.isSafeInteger(value) || (value as number) < low || (value as number) > high) {
      throw new SluiceError('SLUICE_INVALID_OPTION', `log config ${key} must be an integer in [${low}, ${high}], got ${String(value)}`)
    }
  }
  if (resolved.messageTimestampType !== 'CreateTime' && resolved.messageTimestampType !== 'LogAppendTime') {
    throw new SluiceError('SLUICE_INVALID_OPTION', `log config messageTimestampType must be CreateTime or LogAppendTime, got ${String(resolved.messageTimestampType)}`)
  }
  return Object.freeze(resolved)
}

export interface PartitionLogOptions {
  layout: PartitionLayout
  files: FileCache
  flush: FlushPolicy
  config?: Partial<PartitionLogConfig>
  /**
   * Offsets below this are known flushed. `undefined` means the previous shutdown was clean:
   * indexes are trusted and nothing is rescanned. After an unclean shutdown every segment from
   * the one holding this offset onward is rescanned batch by batch.
   */
  recoveryPoint?: number
  /** Log start offset from the checkpoint. */
  logStartOffset?: number
  /** Milliseconds clock (tests). @defaultValue Date.now */
  clock?: () => number
  /** Tail bytes kept after writing, so consumers that keep up read without a syscall. @defaultValue 4 MiB */
  tailRetainBytes?: number
  /** Appended but unwritten bytes beyond which appends fail with SLUICE_BUFFER_FULL. @defaultValue 64 MiB */
  stagedBytesMax?: number
  /** Bounds loaded index mirrors of old segments, shared by an engine's logs. @defaultValue a cache of 16 for this log */
  indexCache?: SegmentIndexCache
  /** Windows read ahead for sequential readers (see read-ahead.ts). @defaultValue the process-wide pool (32 MiB) */
  readAhead?: ReadAheadPool
}

export interface AppendResult {
  baseOffset: number
  lastOffset: number
  /** -1: the batch keeps its CreateTime timestamps. */
  logAppendTime: number
  logStartOffset: number
  durability: Durability
}

export interface ReadOptions {
  /** Soft limit: at least one whole batch is returned even when larger. @defaultValue 1 MiB */
  maxBytes?: number
  /**
   * A buffer of the caller's to read into (no allocation per read; keeps memory cache-hot).
   * `records` is then a view of it, valid until the caller reuses the buffer. Ignored when the
   * batch to return is larger than it.
   */
  buffer?: Uint8Array
}

export interface ReadResult {
  /** Stored batch bytes, unchanged, starting with the batch that contains the requested offset. */
  records: Uint8Array
  highWatermark: number
  logStartOffset: number
}

export interface TimestampLookup {
  offset: number
  timestamp: number
}

interface Waiter {
  endPosition: number
  /** An append's result, completed and handed to `resolve` when the waiter settles; else `resolve` gets the durability. */
  result?: AppendResult
  resolve: (durability: Durability) => void
  reject: (error: unknown) => void
}

function settle (waiter: Waiter, durability: Durability, logStartOffset: number): void {
  const result = waiter.result
  if (result === undefined) {
    waiter.resolve(durability)
    return
  }
  result.durability = durability
  result.logStartOffset = logStartOffset
  const resolveResult = waiter.resolve as unknown as (value: AppendResult) => void
  resolveResult(result)
}

/** A FIFO of waiters with O(1) shift (an array with a moving head, compacted as it drains). */
class WaiterQueue {
  private items: Waiter[] = []
  private head = 0
  get length (): number { return this.items.length - this.head }
  push (waiter: Waiter): void { this.items.push(waiter) }
  /** Removes and returns waiters with endPosition <= position, in order. */
  takeUpTo (position: number): Waiter[] {
    const taken: Waiter[] = []
    while (this.head < this.items.length && this.items[this.head]!.endPosition <= position) taken.push(this.items[this.head++]!)
    if (this.head > 1024 && this.head * 2 > this.items.length) { this.items = this.items.slice(this.head); this.head = 0 }
    return taken
  }

  /** Removes and returns every waiter. */
  takeAll (): Waiter[] {
    const taken = this.items.slice(this.head)
    this.items = []
    this.head = 0
    return taken
  }
}

interface Repair { segment: Segment, size: number, cause: unknown }

/** A sequential reader's next position, and the windows read ahead for it (if any). */
interface ReadCursor { segment: Segment, position: number, stream: ReadAheadStream | undefined }

/**
 * A rolled segment being made durable in the background. `recoveryPoint` is its base offset: a
 * crash meanwhile rescans it whole (its index files were rewritten, unsynced, at the roll, so
 * no entry of it may be trusted). `done` settles when its fdatasync returned, rejecting with
 * KAFKA_STORAGE_ERROR if it failed (the entry then stays, keeping the recovery point below the
 * segment, and every later flush and close fail: a retried fdatasync after a failure may
 * report success for data the kernel already dropped).
 */
interface SealingSegment { segment: Segment, recoveryPoint: number, done: Promise<void>, error: unknown, synced: boolean }

export class PartitionLog {
  /** Replaced whole by `reconfigure`; read at each append and roll. */
  config: Readonly<PartitionLogConfig>
  readonly flushPolicy: FlushPolicy
  private readonly layout: PartitionLayout
  private readonly files: FileCache
  private readonly clock: () => number
  private readonly tailRetainBytes: number
  private readonly stagedBytesMax: number
  private readonly indexCache: SegmentIndexCache
  private segments: Segment[] = []
  private logStart = 0
  /** Visible end of the log: offsets below are acknowledged; `position` is in the active segment. */
  private visible = { offset: 0, position: 0 }
  private writtenState!: SegmentState
  private flushedState!: SegmentState
  private readonly appendWaiters = new WaiterQueue()
  private readonly flushWaiters = new WaiterQueue()
  private drainScheduled = false
  private drainRunning: Promise<void> | undefined
  /** A preallocation running ahead of the data under 'always' (see `preallocateAhead`). */
  private preallocation: Promise<void> | undefined
  private syncRequested = false
  private syncRunning: Promise<void> | undefined
  /** Set while a roll or repair runs: appends wait for it, in order. */
  private blocked: Promise<void> | undefined
  private repair: Repair | undefined
  private unflushedMessages = 0
  /** Rolled segments whose fdatasync still runs in the background, oldest first (see `roll`). */
  private sealing: SealingSegment[] = []
  /** Next-read positions of sequential readers, by the offset they will ask for. */
  private readonly readCursors = new Map<number, ReadCursor>()
  private cursorGeneration = 0
  private readonly readAheadPool: ReadAheadPool
  private lastFlushMs: number
  private closePromise: Promise<void> | undefined
  private closed = false

  private constructor (options: PartitionLogOptions) {
    this.layout = options.layout
    this.files = options.files
    this.flushPolicy = options.flush
    this.config = resolvePartitionLogConfig(options.config)
    this.clock = options.clock ?? Date.now
    this.tailRetainBytes = options.tailRetainBytes ?? 4 * 1024 * 1024
    this.stagedBytesMax = options.stagedBytesMax ?? 64 * 1024 * 1024
    this.indexCache = options.indexCache ?? new SegmentIndexCache(16)
    this.readAheadPool = options.readAhead ?? sharedReadAheadPool
    this.lastFlushMs = this.clock()
  }

  /** Opens (creating if needed) and, after an unclean shutdown, recovers a partition log. */
  static async open (options: PartitionLogOptions): Promise<PartitionLog> {
    if (!['always', 'interval', 'never'].includes(options.flush)) {
      throw new SluiceError('SLUICE_INVALID_OPTION', `flush must be 'always', 'interval' or 'never', got ${String(options.flush)}`)
    }
    const log = new PartitionLog(options)
    try {
      await log.load(options.recoveryPoint, options.logStartOffset ?? 0)
    } catch (error) {
      await log.files.forgetDirectory(log.layout.directory)
      throw storageError(error, `cannot open log ${log.layout.directory}`, log.layout.directory)
    }
    return log
  }

  /**
   * Applies a changed topic config (AlterConfigs). Limits and roll conditions apply from the
   * next append; index sizes and intervals from the next segment, as in Kafka.
   */
  reconfigure (config: Partial<PartitionLogConfig>): void {
    this.config = resolvePartitionLogConfig(config)
  }

  get topic (): string { return this.layout.topic }
  get partition (): number { return this.layout.partition }
  get directory (): string { return this.layout.directory }
  get logStartOffset (): number { return this.logStart }
  /** Kafka `message.timestamp.type` of this log's topic. */
  get messageTimestampType (): MessageTimestampType { return this.config.messageTimestampType }
  /** The next offset to assign (appends accepted, acknowledged or not). */
  get logEndOffset (): number { return this.active.nextOffset }
  /** Offsets below are acknowledged and readable. On a single node this is where appends are acknowledged. */
  get highWatermark (): number { return this.visible.offset }
  /** Offsets below are covered by fdatasync (Kafka's recovery point). */
  get recoveryPoint (): number { return this.sealing.find((entry) => !entry.synced)?.recoveryPoint ?? this.flushedState.nextOffset }
  /** True when bytes were appended since the last completed fdatasync (rolled segments included). */
  get hasUnflushedData (): boolean { return this.active.size > this.active.flushedBytes || this.sealing.some((entry) => !entry.synced) }
  /** When the last fdatasync completed (ms, this log's clock). */
  get lastFlushTime (): number { return this.lastFlushMs }
  /** Bytes of all segments. */
  get sizeBytes (): number { return this.segments.reduce((total, segment) => total + segment.size, 0) }
  /** The segments, oldest first; the last one is active. For retention and compaction; do not mutate. */
  segmentList (): readonly Segment[] { return this.segments }
  get activeSegment (): Segment { return this.active }

  private get active (): Segment { return this.segments[this.segments.length - 1]! }

  /**
   * Appends one RecordBatch v2 (exactly one batch). Resolves once the batch reached the
   * durability of the flush policy; rejects with MESSAGE_TOO_LARGE, CORRUPT_MESSAGE,
   * INVALID_RECORD, INVALID_TIMESTAMP (bad input, nothing stored), KAFKA_STORAGE_ERROR (disk fault, nothing
   * acknowledged), SLUICE_BUFFER_FULL (too many unwritten bytes; retry), SLUICE_CLOSED.
   * The log copies `batch` into its tail (at once, or after a roll or repair it waits for) and
   * keeps no reference to it once the promise settled: the caller may reuse the buffer then.
   * Under `message.timestamp.type=LogAppendTime` the log stores a stamped copy instead and
   * `logAppendTime` of the result says which time it stamped (timestamp-policy.ts).
   */
  append (batch: Uint8Array): Promise<AppendResult> {
    try {
      if (this.closed || this.closePromise !== undefined) throw new SluiceError('SLUICE_CLOSED', `log ${this.layout.directory} is closed`)
      const view = validateBatch(batch, this.config.maxMessageBytes)
      if ((view.getInt8(BatchOffset.attributes + 1) & BatchAttribute.timestampTypeLogAppend) === 0 && !timestampPolicyActive(this.config)) {
        return this.appendValidated(batch, view, -1)
      }
      const now = this.clock()
      const stored = applyTimestampPolicy(batch, view, this.config, now)
      return this.appendValidated(stored, dataViewOf(stored), this.config.messageTimestampType === 'LogAppendTime' ? now : -1)
    } catch (error) {
      return Promise.reject(error)
    }
  }

  /**
   * Stages the batch and returns the one promise its waiter settles with the result: the
   * common case allocates no further promise (every append of every producer passes here).
   * Throws (synchronously) SLUICE_BUFFER_FULL; waits for a roll, a repair or a running task.
   */
  private appendValidated (batch: Uint8Array, view: DataView, logAppendTime: number): Promise<AppendResult> {
    if (this.blocked !== undefined || this.repair !== undefined || this.closed || this.closePromise !== undefined) {
      return this.appendAfterWait(batch, view, logAppendTime)
    }
    const lastOffsetDelta = view.getInt32(BatchOffset.lastOffsetDelta)
    const maxTimestamp = readInt64(view, BatchOffset.maxTimestamp)
    if (this.shouldRoll(batch.byteLength, lastOffsetDelta, maxTimestamp)) return this.appendAfterRoll(batch, view, logAppendTime)
    const segment = this.active
    if (segment.size - segment.writtenBytes + batch.byteLength > this.stagedBytesMax) {
      throw new SluiceError('SLUICE_BUFFER_FULL', `log ${this.layout.directory} has ${segment.size - segment.writtenBytes} unwritten bytes`)
    }
    const baseOffset = segment.nextOffset
    const lastOffset = baseOffset + lastOffsetDelta
    segment.stage(batch, baseOffset, lastOffset, maxTimestamp)
    this.unflushedMessages += view.getInt32(BatchOffset.recordsCount)
    const result: AppendResult = { baseOffset, lastOffset, logAppendTime, logStartOffset: this.logStart, durability: 'written' }
    return new Promise<AppendResult>((resolve, reject) => {
      this.appendWaiters.push({ endPosition: segment.size, result, resolve: resolve as unknown as Waiter['resolve'], reject })
      this.scheduleDrain()
    })
  }

  private async appendAfterWait (batch: Uint8Array, view: DataView, logAppendTime: number): Promise<AppendResult> {
    if (this.blocked !== undefined) {
      await this.blocked
      return await this.appendValidated(batch, view, logAppendTime)
    }
    // Closing began while this append waited: nothing may be written after close's last flush.
    if (this.closed || this.closePromise !== undefined) throw new SluiceError('SLUICE_CLOSED', `log ${this.layout.directory} is closed`)
    await this.runBlocking(async () => { await this.retryRepair() })
    return await this.appendValidated(batch, view, logAppendTime)
  }

  private async appendAfterRoll (batch: Uint8Array, view: DataView, logAppendTime: number): Promise<AppendResult> {
    await this.runBlocking(async () => {
      try {
        await this.roll()
      } catch (error) {
        throw storageError(error, `roll of ${this.layout.directory} failed`, this.layout.directory)
      }
    })
    return await this.appendValidated(batch, view, logAppendTime)
  }

  /** Runs `task` while appends wait; they continue in their order afterwards. */
  private async runBlocking (task: () => Promise<void>): Promise<void> {
    // Tasks queue behind each other: a failure handler raised during a roll runs after it.
    const previous = this.blocked
    const running = (async () => {
      if (previous !== undefined) await previous
      await task()
    })()
    const blocked = running.then(() => {}, () => {}).finally(() => { if (this.blocked === blocked) this.blocked = undefined })
    this.blocked = blocked
    await running
  }

  /**
   * Makes the active segment's index entries durable and returns the recovery point they
   * cover; the engine writes this value to the recovery-point checkpoint afterwards.
   */
  async prepareCheckpoint (): Promise<number> {
    const recoveryPoint = this.recoveryPoint
    const segment = this.active
    if (this.closed || recoveryPoint <= segment.baseOffset) return recoveryPoint
    try {
      await segment.syncIndexes()
    } catch {
      // Without synced entries, recovery must rescan the whole active segment.
      return segment.baseOffset
    }
    return recoveryPoint
  }

  /** Resolves when everything appended before the call is covered by an fdatasync. */
  async flush (): Promise<void> {
    if (this.closed) throw new SluiceError('SLUICE_CLOSED', `log ${this.layout.directory} is closed`)
    await this.flushInternal()
  }

  private async flushInternal (): Promise<void> {
    // Rolled segments' fdatasyncs already run and the active segment's joins them. A failure
    // fails the flush only once all ended: close must not drop a tail that is being written.
    if (this.sealing.length === 0) return await this.flushActive()
    const results = await Promise.allSettled([...this.sealing.map((entry) => entry.done), this.flushActive()])
    for (const result of results) if (result.status === 'rejected') throw result.reason
  }

  private async flushActive (): Promise<void> {
    const segment = this.active
    if (segment.flushedBytes >= segment.size) return
    if (this.repair !== undefined) {
      throw storageError(this.repair.cause, `log ${this.layout.directory} is recovering from a storage error`, this.repair.segment.logFile)
    }
    await new Promise<Durability>((resolve, reject) => {
      this.flushWaiters.push({ endPosition: segment.size, resolve, reject })
      this.scheduleDrain()
      if (segment.writtenBytes >= segment.size) this.requestSync()
    })
  }

  // ---- write path -------------------------------------------------------------------------

  private scheduleDrain (): void {
    if (this.drainScheduled || this.drainRunning !== undefined) return
    this.drainScheduled = true
    // A microtask lets every append of the current tick join the same write.
    queueMicrotask(() => {
      this.drainScheduled = false
      if (this.drainRunning === undefined) this.drainRunning = this.drain().finally(() => { this.drainRunning = undefined; this.afterDrain() })
    })
  }

  private afterDrain (): void {
    const segment = this.active
    if (this.repair === undefined && segment.writtenBytes < segment.size) this.scheduleDrain()
  }

  private async drain (): Promise<void> {
    // Bounded: each round writes everything staged so far or fails and stops.
    while (this.repair === undefined) {
      const segment = this.active
      if (segment.writtenBytes >= segment.size) return
      const { size: target, state } = segment.writeBoundary(WRITE_BYTES)
      try {
        if (this.flushPolicy === 'always' && target > segment.preallocatedBytes) {
          // The preallocation running ahead usually covers the target already.
          await this.preallocation
          if (target > segment.preallocatedBytes) await this.preallocate(segment, target)
        }
        await segment.writeTail(target)
      } catch (error) {
        this.onWriteFailure(segment, error)
        return
      }
      if (segment !== this.active || this.repair !== undefined) return
      segment.writtenBytes = Math.max(segment.writtenBytes, target)
      this.writtenState = state
      segment.releaseTail(this.tailRetainBytes)
      this.onWritten(segment)
      if (this.flushPolicy === 'always') this.preallocateAhead(segment)
    }
  }

  /**
   * Starts the next preallocation in the background once less than half of PREALLOCATE_BYTES
   * of zeros lies ahead of the staged bytes, so that appends do not stop for it: run inside the
   * drain it held every write and acknowledgement for its zero write and fdatasync (3-15 ms
   * every 4 MiB measured here, up to 68 ms on a shared disk). It writes only past
   * `preallocatedBytes`, where no data write goes until it completed (the drain awaits it).
   */
  private preallocateAhead (segment: Segment): void {
    if (this.preallocation !== undefined || this.repair !== undefined || this.closed) return
    const from = segment.preallocatedBytes
    if (from < segment.size || from - segment.size > PREALLOCATE_BYTES / 2) return
    const running = this.preallocate(segment, from).finally(() => { if (this.preallocation === running) this.preallocation = undefined })
    // A failure surfaces in the drain that awaits it (a write failure); never unobserved.
    running.catch(() => {})
    this.preallocation = running
  }

  /**
   * Under 'always', extends the file with zeros past `from` and fdatasyncs it, so that the
   * fdatasyncs of the appends that land there only flush data. Measured on this machine (ext4):
   * fdatasync after writing over already written, synced blocks takes 0.3-0.6 ms (p50) against
   * 1.3-2.2 ms after extending the file, whose new size and extents need a journal commit; group
   * commit waits on exactly that latency. Zeros never pass for data: a batch length of 0 is
   * invalid, so recovery cuts the file where the zeros start; roll and close trim the file to
   * its batches. Runs ahead of the data (`preallocateAhead`), or inside the drain before a data
   * write that would pass the zeros; either way never over a range a data write may touch.
   */
  private async preallocate (segment: Segment, from: number): Promise<void> {
    const until = Math.min(from + PREALLOCATE_BYTES, Math.max(from, this.config.segmentBytes + this.config.maxMessageBytes))
    if (until <= from) return
    const before = segment.preallocatedBytes
    await segment.withLog(async (file) => {
      let position = from
      while (position < until) {
        const length = Math.min(ZEROS.byteLength, until - position)
        const written = await file.write(ZEROS.subarray(0, length), position)
        if (written <= 0) throw Object.assign(new Error(`write made no progress on ${file.path}`), { code: 'EIO' })
        position += written
      }
      await file.datasync()
    })
    // A repair or trim that ran meanwhile decided the file's end: keep its figure.
    if (segment.preallocatedBytes === before) segment.preallocatedBytes = until
  }

  /** Cuts the zeros `preallocate` left past the segment's batches (roll, close). */
  private async trimPreallocation (segment: Segment): Promise<void> {
    await this.preallocation?.catch(() => {})
    if (segment.preallocatedBytes <= segment.size) return
    await segment.withLog(async (file) => {
      await file.truncate(segment.size)
      await file.datasync()
    })
    segment.preallocatedBytes = segment.size
  }

  private onWritten (segment: Segment): void {
    if (this.flushPolicy === 'always' || this.flushWaiters.length > 0 || this.unflushedMessages >= this.config.flushMessages) {
      this.requestSync()
    }
    if (this.flushPolicy !== 'always') {
      this.visible = { offset: this.writtenState.nextOffset, position: this.writtenState.size }
      for (const waiter of this.appendWaiters.takeUpTo(segment.writtenBytes)) settle(waiter, 'written', this.logStart)
    }
  }

  private requestSync (): void {
    this.syncRequested = true
    if (this.syncRunning === undefined) {
      this.syncRunning = this.syncLoop().finally(() => {
        this.syncRunning = undefined
        // A loop that ended on a segment which rolled meanwhile leaves requests for the new one.
        if (this.syncRequested && this.repair === undefined && !this.closed) this.requestSync()
      })
    }
  }

  private async syncLoop (): Promise<void> {
    // Bounded: each round clears the request flag; new requests come only from completed writes.
    while (this.syncRequested && this.repair === undefined) {
      this.syncRequested = false
      const segment = this.active
      const position = segment.writtenBytes
      const state = this.writtenState
      const messages = this.unflushedMessages
      if (position > segment.flushedBytes) {
        try {
          await segment.withLog(async (file) => { await file.datasync() })
        } catch (error) {
          // A segment that rolled meanwhile is being sealed: its entry carries the failure.
          if (segment === this.active) this.onSyncFailure(segment, error)
          else this.sealingFailed(segment, error)
          return
        }
        if (segment !== this.active || this.repair !== undefined) return
        segment.flushedBytes = Math.max(segment.flushedBytes, position)
        this.flushedState = state
        this.unflushedMessages = Math.max(0, this.unflushedMessages - messages)
        this.lastFlushMs = this.clock()
      }
      if (this.flushPolicy === 'always') {
        this.visible = { offset: this.flushedState.nextOffset, position: this.flushedState.size }
        for (const waiter of this.appendWaiters.takeUpTo(segment.flushedBytes)) settle(waiter, 'flushed', this.logStart)
      }
      for (const waiter of this.flushWaiters.takeUpTo(segment.flushedBytes)) settle(waiter, 'flushed', this.logStart)
      // Bytes still being written get their sync requested by the drain when they land.
    }
  }

  private onWriteFailure (segment: Segment, cause: unknown): void {
    const error = storageError(cause, `write to ${segment.logFile} failed`, segment.logFile)
    const boundary = this.writtenState
    for (const waiter of this.appendWaiters.takeAll()) {
      if (waiter.endPosition > boundary.size) waiter.reject(error)
      else this.appendWaiters.push(waiter)
    }
    for (const waiter of this.flushWaiters.takeAll()) {
      if (waiter.endPosition > boundary.size) waiter.reject(error)
      else this.flushWaiters.push(waiter)
    }
    segment.restore(boundary)
    this.clearReadCursors()
    this.repair = { segment, size: boundary.size, cause }
    void this.runBlocking(async () => { await this.retryRepair() }).catch(() => {})
  }

  private onSyncFailure (segment: Segment, cause: unknown): void {
    const error = storageError(cause, `fdatasync of ${segment.logFile} failed`, segment.logFile)
    const boundary = this.flushedState
    // The range since the last good fdatasync is suspect: treat it as lost, like a crash of it.
    for (const waiter of this.appendWaiters.takeAll()) waiter.reject(error)
    for (const waiter of this.flushWaiters.takeAll()) waiter.reject(error)
    this.repair = { segment, size: boundary.size, cause }
    const task = async (): Promise<void> => {
      await this.drainRunning
      if (this.visible.offset > boundary.nextOffset) this.visible = { offset: boundary.nextOffset, position: boundary.size }
      if (segment.size > boundary.size) segment.restore(boundary)
      this.clearReadCursors()
      this.writtenState = boundary
      await this.retryRepair()
    }
    void this.runBlocking(task).catch(() => {})
  }

  /** Truncates the file back to the boundary the in-memory state returned to; throws while it fails. */
  private async retryRepair (): Promise<void> {
    const repair = this.repair
    if (repair === undefined) return
    // A zero write still running could land after the truncation.
    await this.preallocation?.catch(() => {})
    try {
      await repair.segment.withLog(async (file) => {
        await file.truncate(repair.size)
        await file.datasync()
      })
    } catch (error) {
      throw storageError(error, `log ${this.layout.directory} cannot be repaired yet`, repair.segment.logFile)
    }
    repair.segment.preallocatedBytes = repair.size
    repair.segment.writtenBytes = Math.min(repair.segment.writtenBytes, repair.size)
    repair.segment.flushedBytes = Math.min(repair.segment.flushedBytes, repair.size)
    this.writtenState = repair.segment.state()
    if (this.flushedState.size > repair.size) this.flushedState = this.writtenState
    this.repair = undefined
  }

  // ---- roll -------------------------------------------------------------------------------

  private shouldRoll (incomingBytes: number, lastOffsetDelta: number, maxTimestamp: number): boolean {
    const segment = this.active
    if (segment.size === 0) return false
    if (segment.size > this.config.segmentBytes - incomingBytes) return true
    const waited = segment.firstBatchTimestamp >= 0 && maxTimestamp >= 0
      ? maxTimestamp - segment.firstBatchTimestamp
      : this.clock() - segment.createdMs
    if (waited > this.config.segmentMs - this.rollJitter(segment)) return true
    if (segment.offsetIndex.isFull || segment.timeIndex.isFull) return true
    return segment.nextOffset + lastOffsetDelta > segment.maximumOffset
  }

  /** The segment's share of segment.jitter.ms, drawn at its first roll check (Kafka draws it per segment). */
  private rollJitter (segment: Segment): number {
    if (segment.rollJitterMs === undefined) {
      const range = Math.min(this.config.segmentJitterMs, this.config.segmentMs)
      segment.rollJitterMs = range <= 0 ? 0 : Math.floor(Math.random() * range)
    }
    return segment.rollJitterMs
  }

  /**
   * Seals the active segment (every append in it acknowledged, indexes trimmed) and starts a new
   * one at the log end. The old segment's fdatasync runs in the background (`sealInBackground`),
   * as Kafka flushes a rolled segment asynchronously: under 'interval' it can hold a whole
   * segment of unflushed data (measured: 0.44 s for 1 GiB here), and appends must not stall
   * behind it. Until it completes, the recovery point stays at the old segment's base.
   */
  private async roll (): Promise<void> {
    const old = this.active
    await this.acknowledgeStaged(old)
    await this.trimPreallocation(old)
    await old.sealIndexes({ sync: false })
    // The marker becomes durable with the new segment's name (createSegment syncs the
    // directory): after a power loss, recovery knows the new segment may have reached the disk
    // before the end of this one, and cuts the log at such a hole instead of skipping it.
    await this.files.fs.open(this.layout.sealingMarkerFile(old.baseOffset), 'create').then(async (file) => { await file.close() })
    let segment: Segment
    try {
      segment = await this.createSegment(old.nextOffset)
    } catch (error) {
      // Leave no stray segment behind: appends continue in the old one until a roll succeeds.
      await this.deleteSegmentFiles(new Segment(this.segmentContext(), old.nextOffset, this.clock())).catch(() => {})
      await this.removeSealingMarker(old.baseOffset).catch(() => {})
      throw error
    }
    if (this.repair !== undefined) {
      // An fdatasync of the old segment failed during the roll: its repair must run while it is
      // still the active segment, so the roll is abandoned.
      await this.deleteSegmentFiles(segment).catch(() => {})
      await this.removeSealingMarker(old.baseOffset).catch(() => {})
      throw storageError(this.repair.cause, `log ${this.layout.directory} is recovering from a storage error`, this.repair.segment.logFile)
    }
    old.dropTail()
    this.segments.push(segment)
    this.indexCache.touch(old)
    this.writtenState = segment.state()
    this.flushedState = segment.state()
    this.visible = { offset: segment.baseOffset, position: 0 }
    this.sealInBackground(old)
    if (rollChannel.hasSubscribers) rollChannel.publish({ directory: this.layout.directory, baseOffset: segment.baseOffset })
  }

  /**
   * Resolves once every append staged in `segment` is acknowledged (written; under 'always'
   * flushed, which its waiters need before the segment stops being active).
   */
  private async acknowledgeStaged (segment: Segment): Promise<void> {
    const acknowledged = this.flushPolicy === 'always' ? segment.flushedBytes : segment.writtenBytes
    if (acknowledged >= segment.size) return
    if (this.repair !== undefined) {
      throw storageError(this.repair.cause, `log ${this.layout.directory} is recovering from a storage error`, this.repair.segment.logFile)
    }
    await new Promise<Durability>((resolve, reject) => {
      this.appendWaiters.push({ endPosition: segment.size, resolve, reject })
      this.scheduleDrain()
    })
  }

  /**
   * fdatasyncs a rolled segment (log and index files) off the append path. `flush`, `close`
   * and the recovery point wait for it; `flush` callers waiting on the old segment move to it.
   */
  private sealInBackground (segment: Segment): void {
    const entry: SealingSegment = { segment, recoveryPoint: segment.baseOffset, done: Promise.resolve(), error: undefined, synced: false }
    entry.done = (async () => {
      try {
        await segment.syncFiles()
        // Durable now (a syncLoop failure reported meanwhile still counts: see sealingFailed).
        entry.synced = entry.error === undefined
        await this.removeSealingMarker(segment.baseOffset)
      } catch (error) {
        entry.error ??= error
      }
      if (entry.error !== undefined) {
        throw storageError(entry.error, `fdatasync of rolled segment ${segment.logFile} failed`, segment.logFile)
      }
      this.sealing = this.sealing.filter((other) => other !== entry)
    })()
    // Observed by flush and close; a failure also keeps the recovery point below the segment.
    entry.done.catch(() => {})
    this.sealing.push(entry)
    for (const waiter of this.flushWaiters.takeAll()) entry.done.then(() => { settle(waiter, 'flushed', this.logStart) }, waiter.reject)
  }

  /**
   * Records a failed fdatasync of a rolled segment seen by the sync loop (Linux reports a
   * writeback error to one fdatasync only, so the background seal might not see it).
   */
  private sealingFailed (segment: Segment, cause: unknown): void {
    const entry = this.sealing.find((candidate) => candidate.segment === segment)
    if (entry !== undefined) entry.error ??= cause
  }

  /**
   * Waits for the background fdatasyncs of `leaving` segments (before their files go) and
   * forgets them: a failed one no longer matters once the segment is deleted or replaced.
   */
  private async releaseSealing (leaving: readonly Segment[]): Promise<void> {
    for (const entry of [...this.sealing]) {
      if (leaving.includes(entry.segment)) await entry.done.catch(() => {})
    }
    this.sealing = this.sealing.filter((entry) => !leaving.includes(entry.segment))
  }

  /**
   * Deletes a rolled segment's marker and syncs the directory, so that no stale marker outlives
   * the fdatasync it stood for (compaction may later leave a legitimate gap after the segment).
   */
  private async removeSealingMarker (baseOffset: number): Promise<void> {
    await unlinkIfPresent(this.files.fs, this.layout.sealingMarkerFile(baseOffset))
    await this.files.fs.syncDirectory(this.layout.directory)
  }

  private async createSegment (baseOffset: number): Promise<Segment> {
    const segment = new Segment(this.segmentContext(), baseOffset, this.clock())
    await this.files.forget(segment.logFile)
    await this.files.use(segment.logFile, async (file) => { await file.truncate(0) }, 'create')
    await segment.preallocateIndexes()
    await this.files.fs.syncDirectory(this.layout.directory)
    segment.indexesLoaded = true
    return segment
  }

  private segmentContext (): { layout: PartitionLayout, files: FileCache, config: { indexIntervalBytes: number, segmentIndexBytes: number } } {
    return { layout: this.layout, files: this.files, config: { indexIntervalBytes: this.config.indexIntervalBytes, segmentIndexBytes: this.config.segmentIndexBytes } }
  }

  // ---- reads ------------------------------------------------------------------------------

  /**
   * Stored batches from the one containing `offset`, up to `maxBytes` (at least one whole batch),
   * never past the high watermark. Empty when `offset` is in [highWatermark, logEndOffset].
   */
  async read (offset: number, options: ReadOptions = {}): Promise<ReadResult> {
    return await this.readAttempt(offset, options, true)
  }

  private async readAttempt (offset: number, options: ReadOptions, mayRetry: boolean): Promise<ReadResult> {
    if (this.closed) throw new SluiceError('SLUICE_CLOSED', `log ${this.layout.directory} is closed`)
    if (!Number.isSafeInteger(offset)) throw new SluiceError('OFFSET_OUT_OF_RANGE', `offset ${String(offset)} is not an integer`)
    const maxBytes = options.maxBytes ?? 1024 * 1024
    if (!Number.isSafeInteger(maxBytes) || maxBytes < 0) throw new SluiceError('SLUICE_INVALID_OPTION', `maxBytes must be an integer >= 0, got ${String(maxBytes)}`)
    const empty = (): ReadResult => ({ records: new Uint8Array(0), highWatermark: this.visible.offset, logStartOffset: this.logStart })
    if (offset < this.logStart || offset > this.logEndOffset) {
      throw new SluiceError('OFFSET_OUT_OF_RANGE', `offset ${offset} is outside [${this.logStart}, ${this.logEndOffset}] of ${this.layout.directory}`)
    }
    const visibleOffset = this.visible.offset
    if (offset >= visibleOffset) return empty()
    const startGeneration = this.cursorGeneration
    try {
      const ahead = this.readCursors.get(offset)
      if (ahead?.stream !== undefined) {
        const records = await this.readFromWindows(offset, ahead, maxBytes, options.buffer)
        if (records !== undefined) return { records, highWatermark: this.visible.offset, logStartOffset: this.logStart }
      }
      for (let index = this.segmentIndexFor(offset); index < this.segments.length; index++) {
        const segment = this.segments[index]!
        const end = segment === this.active ? this.visible.position : segment.size
        const generation = this.cursorGeneration
        const cursor = this.readCursors.get(offset)
        const hint = cursor !== undefined && cursor.segment === segment && cursor.position < end ? cursor.position : undefined
        const located = await segment.locate(offset, end, maxBytes, options.buffer, hint)
        if (segment !== this.active) this.indexCache.touch(segment)
        if (located === undefined) continue
        const records = located.fromTail
          ? wholeBatches(located.bytes, maxBytes)
          : await this.collect(segment, located.position, located.bytes, end, maxBytes, options.buffer)
        // A second read in a row from the file by the same reader: start reading ahead for it.
        this.rememberCursor(segment, located.position, records, generation, !located.fromTail && hint !== undefined)
        return { records, highWatermark: this.visible.offset, logStartOffset: this.logStart }
      }
    } catch (error) {
      // The segments changed under this read (retention, compaction, rollback) and it failed on
      // that, typically a file deleted under it: answer once more as of the log now
      // (OFFSET_OUT_OF_RANGE below the new log start, else the bytes there now).
      if (mayRetry && startGeneration !== this.cursorGeneration) return await this.readAttempt(offset, options, false)
      throw storageError(error, `read of ${this.layout.directory} at offset ${offset} failed`, this.layout.directory)
    }
    return empty()
  }

  /**
   * Serves a read from the windows read ahead for `cursor` (see read-ahead.ts): whole batches
   * from the cursor's position, at most `maxBytes` (more only never: a first batch larger than
   * `maxBytes` goes the ordinary way), copied into the caller's buffer as the `ReadOptions.buffer`
   * contract says. Returns undefined when the windows cannot serve it; the caller then reads the
   * file as without read-ahead, and that path reports errors and corruption.
   */
  private async readFromWindows (offset: number, cursor: ReadCursor, maxBytes: number, buffer: Uint8Array | undefined): Promise<Uint8Array | undefined> {
    const stream = cursor.stream!
    const { segment, position } = cursor
    const generation = this.cursorGeneration
    if (stream.generation === generation && stream.segment === segment && stream.covers(position)) {
      await stream.settle(position, Math.max(maxBytes, LOG_OVERHEAD))
      // A first batch larger than maxBytes is returned whole: wait for its windows too. Only a
      // hint here; the bytes are checked again after the last await.
      const firstBatchBytes = stream.batchSizeAt(position)
      if (firstBatchBytes > maxBytes) await stream.settle(position, firstBatchBytes)
      // No await from here to the copy: the generation (positions still mean the same bytes, the
      // segment still exists), the visible end and the window bytes are checked and used together.
      if (generation === this.cursorGeneration && cursor.stream === stream && !stream.released) {
        const end = segment === this.active ? this.visible.position : segment.size
        let wanted = Math.min(end - position, maxBytes)
        if (firstBatchBytes > wanted && firstBatchBytes <= end - position) wanted = firstBatchBytes
        if (wanted >= RECORD_BATCH_OVERHEAD) {
          const target = buffer !== undefined && buffer.byteLength >= wanted ? buffer.subarray(0, wanted) : Buffer.allocUnsafe(wanted)
          const copied = stream.copyInto(position, target)
          const view = dataViewOf(target)
          let at = 0
          let valid = true
          while (at + LOG_OVERHEAD <= copied) {
            const size = batchSize(view, at)
            if (size < RECORD_BATCH_OVERHEAD) { valid = false; break }
            if (at + size > copied || (at > 0 && at + size > maxBytes)) break
            at += size
          }
          if (valid && at > 0 && batchLastOffset(view, 0) >= offset) {
            const records = target.subarray(0, at)
            cursor.stream = undefined
            this.rememberCursor(segment, position, records, generation, stream)
            return records
          }
        }
      }
    }
    if (cursor.stream === stream) cursor.stream = undefined
    stream.release()
    return undefined
  }

  /**
   * Remembers where the batch after `records` starts, keyed by its offset, so that the reader's
   * next read (which asks for exactly that offset) starts there instead of at the index entry.
   * Bounded (READ_CURSORS_MAX, oldest dropped); cleared whenever positions may change meaning
   * (rollback, segment deletion or replacement). `readAhead` is the reader's stream of windows
   * to carry over, or true to start one (the reader reads the file sequentially).
   */
  private rememberCursor (segment: Segment, position: number, records: Uint8Array, generation: number, readAhead: ReadAheadStream | boolean): void {
    // A rollback or segment change while this read ran may have moved batches: remember nothing.
    if (generation !== this.cursorGeneration || records.byteLength < RECORD_BATCH_OVERHEAD) {
      if (readAhead instanceof ReadAheadStream) readAhead.release()
      return
    }
    const view = dataViewOf(records)
    let at = 0
    let last = 0
    while (at + LOG_OVERHEAD <= records.byteLength) { last = at; at += batchSize(view, at) }
    const nextOffset = batchLastOffset(view, last) + 1
    const next = position + at
    let cursor = this.readCursors.get(nextOffset)
    if (cursor !== undefined && (cursor.segment !== segment || cursor.position !== next)) {
      this.readCursors.delete(nextOffset)
      cursor.stream?.release()
      cursor = undefined
    }
    if (cursor === undefined) {
      if (this.readCursors.size >= READ_CURSORS_MAX) {
        const oldest = this.readCursors.keys().next().value as number
        this.readCursors.get(oldest)?.stream?.release()
        this.readCursors.delete(oldest)
      }
      cursor = { segment, position: next, stream: undefined }
      this.readCursors.set(nextOffset, cursor)
    }
    // Two readers at the same place share one stream (the same bytes come next for both).
    let stream = cursor.stream
    if (readAhead instanceof ReadAheadStream) {
      if (stream === undefined || stream.released) stream = readAhead
      else readAhead.release()
    } else if (readAhead && (stream === undefined || stream.released)) {
      stream = new ReadAheadStream(this.readAheadPool, segment, generation, next, () => !this.closed)
    }
    if (stream === undefined || stream.released) {
      cursor.stream = undefined
      return
    }
    cursor.stream = stream
    stream.consume(next)
    // Only bytes handed to the OS are in the file; the tail serves the rest.
    stream.fill(segment === this.active ? segment.writtenBytes : segment.size)
  }

  private clearReadCursors (): void {
    for (const cursor of this.readCursors.values()) cursor.stream?.release()
    this.readCursors.clear()
    this.cursorGeneration++
  }

  /** Whole batches from `position` (first one always, more while within maxBytes), from `window` or the file. */
  private async collect (segment: Segment, position: number, window: Uint8Array, end: number, maxBytes: number, scratch: Uint8Array | undefined): Promise<Uint8Array> {
    const wanted = Math.min(end - position, maxBytes)
    let bytes = window.subarray(0, Math.min(window.byteLength, end - position))
    if (bytes.byteLength < wanted || bytes.byteLength < RECORD_BATCH_OVERHEAD) {
      let length = wanted
      if (bytes.byteLength >= LOG_OVERHEAD) length = Math.max(length, batchSize(dataViewOf(bytes), 0))
      else {
        const header = await segment.readAt(position, LOG_OVERHEAD)
        if (header.byteLength < LOG_OVERHEAD) throw segment.corrupt(position)
        length = Math.max(length, batchSize(dataViewOf(header), 0))
      }
      bytes = await segment.readAt(position, Math.min(length, end - position), scratch)
    }
    const view = dataViewOf(bytes)
    let at = 0
    while (at + LOG_OVERHEAD <= bytes.byteLength) {
      const size = batchSize(view, at)
      if (size < RECORD_BATCH_OVERHEAD) throw segment.corrupt(position + at)
      if (at + size > bytes.byteLength) break
      if (at > 0 && at + size > maxBytes) break
      at += size
    }
    if (at === 0) {
      // The first batch is larger than the window: read exactly that batch.
      const size = batchSize(view, 0)
      bytes = await segment.readAt(position, size)
      if (bytes.byteLength < size) throw segment.corrupt(position)
      return bytes
    }
    return bytes.subarray(0, at)
  }

  /** Index of the segment with the greatest base offset <= `offset` (0 if none). */
  private segmentIndexFor (offset: number): number {
    let low = 0
    let high = this.segments.length - 1
    while (low < high) {
      const middle = (low + high + 1) >>> 1
      if (this.segments[middle]!.baseOffset <= offset) low = middle
      else high = middle - 1
    }
    return low
  }

  /**
   * The first offset whose record timestamp is >= `timestamp` (Kafka ListOffsets), with that
   * timestamp; `undefined` when no record is that late. -1 asks for the high watermark, -2 for
   * the log start offset. Compressed batches are searched record by record too; one whose
   * stored records no longer decompress is answered with its first offset.
   */
  async offsetForTimestamp (timestamp: number): Promise<TimestampLookup | undefined> {
    if (timestamp === -1) return { offset: this.visible.offset, timestamp: -1 }
    if (timestamp === -2) return { offset: this.logStart, timestamp: -1 }
    const visibleOffset = this.visible.offset
    for (const segment of this.segments) {
      const end = segment === this.active ? this.visible.position : segment.size
      if (end === 0) continue
      await segment.ensureIndexes()
      if (segment !== this.active) this.indexCache.touch(segment)
      const last = segment.timeIndex.lastEntry()
      const largest = Math.max(segment.maxTimestamp, last?.timestamp ?? -1)
      if (segment !== this.active && largest < timestamp) continue
      const entry = segment.timeIndex.lookup(timestamp)
      let position = segment.offsetIndex.lookup(entry?.offset ?? segment.baseOffset).position
      while (position < end) {
        const located = await segment.window(position, end, 1024 * 1024)
        const view = dataViewOf(located)
        let at = 0
        while (at + RECORD_BATCH_OVERHEAD <= located.byteLength) {
          const size = batchSize(view, at)
          const base = batchBaseOffset(view, at)
          if (base >= visibleOffset) return undefined
          if (base >= this.logStart || batchLastOffset(view, at) >= this.logStart) {
            if (batchMaxTimestamp(view, at) >= timestamp) {
              const whole = at + size <= located.byteLength ? located.subarray(at, at + size) : await segment.readAt(position + at, size)
              // Undefined when the records late enough all lie below the log start offset.
              const found = await recordAtOrAfter(whole, timestamp, this.logStart)
              if (found !== undefined) return found
            }
          }
          at += size
        }
        if (at === 0) {
          const header = await segment.readAt(position, RECORD_BATCH_OVERHEAD)
          at = batchSize(dataViewOf(header), 0)
        }
        position += at
      }
    }
    return undefined
  }

  // ---- for retention and compaction --------------------------------------------------------

  /**
   * Raises the log start offset (retention, DeleteRecords). Never lowers it; clamped to the high
   * watermark. Persisted by the engine's log-start checkpoint.
   */
  advanceLogStartOffset (offset: number): void {
    assert(Number.isSafeInteger(offset), 'log start offset must be an integer')
    if (offset > this.visible.offset) {
      throw new SluiceError('OFFSET_OUT_OF_RANGE', `log start offset ${offset} beyond high watermark ${this.visible.offset}`)
    }
    if (offset > this.logStart) this.logStart = offset
  }

  /**
   * Deletes the oldest `count` segments (never the active one), advancing the log start offset
   * to the base of the first remaining segment. The log start advances before any file goes,
   * so a crash midway leaves files the next open deletes by offset.
   */
  async deleteOldestSegments (count: number): Promise<void> {
    assert(Number.isInteger(count) && count >= 0, 'segment count must be a non-negative integer')
    const deletable = Math.min(count, this.segments.length - 1)
    if (deletable === 0) return
    const removed = this.segments.slice(0, deletable)
    const next = this.segments[deletable]!
    this.logStart = Math.max(this.logStart, next.baseOffset)
    this.segments = this.segments.slice(deletable)
    // Out of the log already; their files go once a background fdatasync of them ended.
    if (this.sealing.length > 0) await this.releaseSealing(removed)
    try {
      for (const segment of removed) await this.deleteSegmentFiles(segment)
      await this.files.fs.syncDirectory(this.layout.directory)
    } catch (error) {
      // The log start already moved: the next open deletes what is left below it.
      throw storageError(error, `deleting segments of ${this.layout.directory} failed`, this.layout.directory)
    }
  }

  /**
   * Replaces consecutive old segments by one segment written by the cleaner, atomically with
   * respect to crashes: the cleaner wrote and fdatasynced `<first base>.log.cleaned` (batches in
   * offset order, offsets within the replaced range). The file is renamed to `.swap` (the commit
   * point), the replaced segments are deleted, the swap file becomes `<base>.log`, its indexes
   * are rebuilt. A crash after the commit point is completed on open (see `load`).
   */
  async replaceSegments (replaced: readonly Segment[]): Promise<void> {
    assert(replaced.length > 0, 'nothing to replace')
    // Only when one runs: a needless await would let a racing read overtake the swap.
    if (this.sealing.length > 0) await this.releaseSealing(replaced)
    const first = this.segments.indexOf(replaced[0]!)
    assert(first >= 0, 'segment not in this log')
    for (let index = 0; index < replaced.length; index++) assert(this.segments[first + index] === replaced[index], 'replaced segments must be consecutive')
    assert(!replaced.includes(this.active), 'the active segment cannot be replaced')
    const baseOffset = replaced[0]!.baseOffset
    const logFile = this.layout.logFile(baseOffset)
    const fs = this.files.fs
    await fs.rename(`${logFile}${CLEANED_SUFFIX}`, `${logFile}${SWAP_SUFFIX}`)
    await fs.syncDirectory(this.layout.directory)
    for (const segment of replaced) await this.deleteSegmentFiles(segment)
    await fs.rename(`${logFile}${SWAP_SUFFIX}`, logFile)
    await fs.syncDirectory(this.layout.directory)
    const segment = new Segment(this.segmentContext(), baseOffset, this.clock())
    await segment.recover(undefined, baseOffset)
    await segment.sealIndexes()
    this.segments.splice(first, replaced.length, segment)
    this.clearReadCursors()
  }

  /** Rolls the active segment when it holds data (retention rolls first when every segment would go, as Kafka does). */
  async rollActiveSegment (): Promise<void> {
    while (this.blocked !== undefined) await this.blocked
    if (this.active.size > 0) await this.runBlocking(async () => { if (this.active.size > 0) await this.roll() })
  }

  /**
   * Removes the oldest `count` segments (never the active one) from the list without touching
   * their files, advancing the log start offset to the first remaining base; the retention task
   * renames the files `.deleted` next (see retention.ts).
   */
  async detachOldestSegments (count: number): Promise<readonly Segment[]> {
    const detachable = Math.min(count, this.segments.length - 1)
    if (detachable <= 0) return []
    const removed = this.segments.slice(0, detachable)
    this.logStart = Math.max(this.logStart, this.segments[detachable]!.baseOffset)
    this.segments = this.segments.slice(detachable)
    this.clearReadCursors()
    // Out of the log already; the caller renames their files once a background fdatasync ended.
    if (this.sealing.length > 0) await this.releaseSealing(removed)
    for (const segment of removed) {
      this.indexCache.forget(segment)
      for (const path of [segment.logFile, segment.offsetIndexFile, segment.timeIndexFile]) await this.files.forget(path)
    }
    return removed
  }

  private async deleteSegmentFiles (segment: Segment): Promise<void> {
    this.indexCache.forget(segment)
    this.clearReadCursors()
    const fs = this.files.fs
    for (const path of [segment.logFile, segment.offsetIndexFile, segment.timeIndexFile, this.layout.sealingMarkerFile(segment.baseOffset)]) {
      await this.files.forget(path)
      await unlinkIfPresent(fs, path)
    }
  }

  // ---- open / close -----------------------------------------------------------------------

  private async load (recoveryPoint: number | undefined, logStartCheckpoint: number): Promise<void> {
    const fs = this.files.fs
    const directory = this.layout.directory
    await fs.mkdir(directory)
    let names = await fs.readdir(directory)
    const started = this.clock()
    // 1. Leftovers of interrupted work: temporary files go; a committed swap is completed.
    for (const name of names) {
      if (name.endsWith(CLEANED_SUFFIX) || name.endsWith(DELETED_SUFFIX) || name.endsWith('.tmp')) await fs.unlink(this.layout.file(name))
    }
    for (const name of names) {
      if (!name.endsWith(SWAP_SUFFIX)) continue
      const base = parseSegmentFileName(name.slice(0, -SWAP_SUFFIX.length), LOG_SUFFIX)
      if (base === undefined) { await fs.unlink(this.layout.file(name)); continue }
      await this.completeSwap(base, names)
    }
    names = await fs.readdir(directory)
    const bases = names.map((name) => parseSegmentFileName(name, LOG_SUFFIX)).filter((base): base is number => base !== undefined).sort((a, b) => a - b)
    const baseSet = new Set(bases)
    const sealingMarkers = new Set(names.map((name) => parseSegmentFileName(name, SEALING_SUFFIX)).filter((base): base is number => base !== undefined))
    for (const name of names) {
      const indexBase = parseSegmentFileName(name, INDEX_SUFFIX) ?? parseSegmentFileName(name, TIME_INDEX_SUFFIX)
      if (indexBase !== undefined && !baseSet.has(indexBase)) await fs.unlink(this.layout.file(name))
    }
    const context = this.segmentContext()
    for (const base of bases) {
      const segment = new Segment(context, base, this.clock())
      const stat = await fs.stat(this.layout.logFile(base))
      segment.size = stat?.size ?? 0
      segment.writtenBytes = segment.size
      segment.flushedBytes = segment.size
      this.segments.push(segment)
    }
    // Sealed segments' next offset is the next segment's base until their indexes are read.
    for (let index = 0; index + 1 < this.segments.length; index++) this.segments[index]!.nextOffset = this.segments[index + 1]!.baseOffset
    let truncated = false
    if (this.segments.length > 0) {
      if (recoveryPoint === undefined) {
        truncated = await this.loadCleanActiveSegment()
      } else {
        truncated = await this.recoverFrom(recoveryPoint, sealingMarkers)
      }
    }
    await this.completeInterruptedSeals(sealingMarkers)
    if (this.segments.length === 0) {
      this.segments.push(await this.createSegment(logStartCheckpoint))
    }
    const active = this.active
    if (!active.indexesPreallocated) {
      active.persistedOffsetIndexEntries = 0
      active.persistedTimeIndexEntries = 0
      await active.preallocateIndexes()
      await active.writeIndexes()
    }
    if (active.nextOffset < logStartCheckpoint) {
      // Everything below the checkpointed log start is gone (Kafka: delete all, start at it).
      for (const segment of this.segments) await this.deleteSegmentFiles(segment)
      this.segments = [await this.createSegment(logStartCheckpoint)]
    }
    if (recoveryPoint === undefined) {
      // Clean shutdown: close fdatasynced the data and the index entries (rewritten unchanged).
      this.active.markIndexesSynced()
    } else if (this.active.size > 0) {
      // After a crash the bytes kept may exist only in the page cache: make them what "flushed" says.
      await this.active.withLog(async (file) => { await file.datasync() })
    }
    if (truncated) await fs.syncDirectory(directory)
    this.logStart = Math.max(logStartCheckpoint, this.segments[0]!.baseOffset)
    this.active.writtenBytes = this.active.size
    this.active.flushedBytes = this.active.size
    this.writtenState = this.active.state()
    this.flushedState = this.writtenState
    this.visible = { offset: this.active.nextOffset, position: this.active.size }
    if (recoveryChannel.hasSubscribers) recoveryChannel.publish({ directory, clean: recoveryPoint === undefined, truncated, ms: this.clock() - started })
  }

  /** Clean shutdown: trust the active segment's trimmed indexes and find its end from the last entry. */
  private async loadCleanActiveSegment (): Promise<boolean> {
    const active = this.active
    active.nextOffset = active.baseOffset
    let ok = false
    try {
      await active.ensureIndexes()
      ok = await active.scanFromLastIndexEntry()
    } catch {
      ok = false
    }
    if (ok) return false
    return await this.recoverFrom(active.baseOffset)
  }

  /** Rescans segments from the one holding `recoveryPoint`; truncates at the first invalid byte and drops later segments. */
  /**
   * Makes durable the segments whose background fdatasync a crash interrupted (their bytes may
   * still be only in the page cache after a process crash), then deletes their markers.
   */
  private async completeInterruptedSeals (markers: ReadonlySet<number>): Promise<void> {
    if (markers.size === 0) return
    for (const base of markers) {
      const segment = this.segments.find((candidate) => candidate.baseOffset === base)
      if (segment !== undefined) await segment.withLog(async (file) => { await file.datasync() })
      await unlinkIfPresent(this.files.fs, this.layout.sealingMarkerFile(base))
    }
    await this.files.fs.syncDirectory(this.layout.directory)
  }

  private async recoverFrom (recoveryPoint: number, sealingMarkers: ReadonlySet<number> = new Set()): Promise<boolean> {
    let start = this.segmentIndexFor(recoveryPoint)
    if (start < 0) start = 0
    let minimumBaseOffset = start > 0 ? this.segments[start]!.baseOffset : 0
    for (let index = start; index < this.segments.length; index++) {
      const segment = this.segments[index]!
      if (segment.baseOffset < minimumBaseOffset) {
        if (segment.size === 0 && index < this.segments.length - 1) {
          // An empty segment left by an interrupted roll: it holds nothing, drop just it.
          this.segments.splice(index, 1)
          await this.deleteSegmentFiles(segment)
          index--
          continue
        }
        await this.dropSegmentsFrom(index)
        return true
      }
      // Only the first segment rescanned holds the recovery point; below it the bytes are flushed.
      const result = index === start && recoveryPoint > segment.baseOffset
        ? await segment.recoverAfter(recoveryPoint, minimumBaseOffset)
        : await segment.recover(segment.size, minimumBaseOffset)
      const lastSegment = index === this.segments.length - 1
      if (!lastSegment) await segment.sealIndexes()
      if (result.truncatedBytes > 0) {
        await segment.withLog(async (file) => {
          await file.truncate(result.validBytes)
          await file.datasync()
        })
        if (!lastSegment) await segment.sealIndexes()
        await this.dropSegmentsFrom(index + 1)
        return true
      }
      const next = this.segments[index + 1]
      if (next !== undefined && sealingMarkers.has(segment.baseOffset) && segment.nextOffset < next.baseOffset) {
        // A power loss took the unsynced end of a rolled segment while a later segment reached
        // the disk: the log ends at the hole, as if the later segments had been lost too.
        await this.dropSegmentsFrom(index + 1)
        return true
      }
      minimumBaseOffset = segment.nextOffset
    }
    return false
  }

  private async dropSegmentsFrom (index: number): Promise<void> {
    const dropped = this.segments.slice(index)
    this.segments = this.segments.slice(0, index)
    for (const segment of dropped) await this.deleteSegmentFiles(segment)
  }

  /** Completes a compaction swap found on open: delete the segments it replaces, rename it in. */
  private async completeSwap (base: number, names: string[]): Promise<void> {
    const fs = this.files.fs
    const swapFile = `${this.layout.logFile(base)}${SWAP_SUFFIX}`
    const probe = new Segment(this.segmentContext(), base, this.clock())
    // Read the swap file directly (its path is not a segment path).
    const bytes = await fs.readFile(swapFile)
    const view = dataViewOf(bytes)
    let at = 0
    let nextOffset = base
    while (at + RECORD_BATCH_OVERHEAD <= bytes.byteLength) {
      const size = batchSize(view, at)
      if (size < RECORD_BATCH_OVERHEAD || at + size > bytes.byteLength) break
      nextOffset = batchLastOffset(view, at) + 1
      at += size
    }
    for (const name of names) {
      const other = parseSegmentFileName(name, LOG_SUFFIX)
      if (other !== undefined && other >= base && other < nextOffset) {
        for (const path of [this.layout.logFile(other), this.layout.offsetIndexFile(other), this.layout.timeIndexFile(other)]) await unlinkIfPresent(fs, path)
      }
    }
    for (const path of [probe.offsetIndexFile, probe.timeIndexFile]) await unlinkIfPresent(fs, path)
    await fs.rename(swapFile, probe.logFile)
    await fs.syncDirectory(this.layout.directory)
  }

  /**
   * Drains, fdatasyncs, writes and trims the active segment's indexes, and closes this log's
   * files. Idempotent: later calls return the same promise. Appends after close reject with
   * SLUICE_CLOSED.
   */
  async close (): Promise<void> {
    this.closePromise ??= this.closeOnce()
    return await this.closePromise
  }

  private async closeOnce (): Promise<void> {
    try {
      while (this.blocked !== undefined) await this.blocked
      if (this.repair !== undefined) await this.retryRepair()
      await this.flushInternal()
      await this.trimPreallocation(this.active)
      await this.active.sealIndexes()
    } finally {
      this.closed = true
      // Read-ahead windows go back to the shared pool now, not at its next shortage.
      this.clearReadCursors()
      this.active.dropTail()
      for (const waiter of this.appendWaiters.takeAll()) waiter.reject(new SluiceError('SLUICE_CLOSED', 'log closed'))
      for (const waiter of this.flushWaiters.takeAll()) waiter.reject(new SluiceError('SLUICE_CLOSED', 'log closed'))
      // A close that failed early must still not close files under a background fdatasync.
      await Promise.allSettled(this.sealing.map((entry) => entry.done))
      await this.files.forgetDirectory(this.layout.directory)
    }
  }

  async [Symbol.asyncDispose] (): Promise<void> { await this.close() }
}

/**
 * Checks a batch from a client before it enters the log (Kafka's LogValidator, the parts the log
 * itself owns): exactly one whole batch, magic 2, lastOffsetDelta + 1 = recordsCount > 0, size
 * within `max.message.bytes`, CRC-32C.
 */
export function validateBatch (batch: Uint8Array, maxMessageBytes: number): DataView {
  if (!(batch instanceof Uint8Array)) throw new SluiceError('CORRUPT_MESSAGE', 'batch must be a Uint8Array')
  if (batch.byteLength > maxMessageBytes) {
    throw new SluiceError('MESSAGE_TOO_LARGE', `batch of ${batch.byteLength} bytes exceeds max.message.bytes ${maxMessageBytes}`)
  }
  if (batch.byteLength < RECORD_BATCH_OVERHEAD) throw new SluiceError('CORRUPT_MESSAGE', `batch of ${batch.byteLength} bytes is shorter than a batch header`)
  const view = dataViewOf(batch)
  if (view.getInt32(BatchOffset.batchLength) + LOG_OVERHEAD !== batch.byteLength) {
    throw new SluiceError('CORRUPT_MESSAGE', `batch length field ${view.getInt32(BatchOffset.batchLength)} does not match ${batch.byteLength} bytes`)
  }
  if (view.getInt8(BatchOffset.magic) !== CURRENT_MAGIC) throw new SluiceError('CORRUPT_MESSAGE', `batch magic ${view.getInt8(BatchOffset.magic)} is not 2`)
  if (crc32c(batch.subarray(BatchOffset.attributes)) !== view.getUint32(BatchOffset.crc)) {
    throw new SluiceError('CORRUPT_MESSAGE', 'batch CRC-32C does not match its contents')
  }
  const count = view.getInt32(BatchOffset.recordsCount)
  const lastOffsetDelta = view.getInt32(BatchOffset.lastOffsetDelta)
  if (count <= 0 || lastOffsetDelta !== count - 1) {
    throw new SluiceError('INVALID_RECORD', `batch has recordsCount ${count} and lastOffsetDelta ${lastOffsetDelta}`)
  }
  return view
}

/** The leading whole batches of `bytes` within `maxBytes`, at least one (tail views hold whole batches only). */
function wholeBatches (bytes: Uint8Array, maxBytes: number): Uint8Array {
  const view = dataViewOf(bytes)
  let at = 0
  while (at + LOG_OVERHEAD <= bytes.byteLength) {
    const size = batchSize(view, at)
    if (at + size > bytes.byteLength || (at > 0 && at + size > maxBytes)) break
    at += size
  }
  assert(at > 0, 'tail view without a whole batch')
  return bytes.subarray(0, at)
}

/**
 * The offset and timestamp of the first record at or after `timestamp` in a whole batch whose
 * maxTimestamp is at or after it; undefined when every such record lies below `logStart`.
 * Records of a LogAppendTime batch all carry its maxTimestamp; a compressed batch is
 * decompressed off the event loop and searched record by record, as Kafka does.
 */
async function recordAtOrAfter (batch: Uint8Array, timestamp: number, logStart: number): Promise<TimestampLookup | undefined> {
  const view = dataViewOf(batch)
  const base = batchBaseOffset(view, 0)
  const attributes = view.getInt16(BatchOffset.attributes)
  const maxTimestamp = batchMaxTimestamp(view, 0)
  if ((attributes & BatchAttribute.timestampTypeLogAppend) !== 0) return { offset: Math.max(base, logStart), timestamp: maxTimestamp }
  if ((attributes & BatchAttribute.compressionMask) !== 0) {
    try {
      const compressed = RecordBatchView.unchecked(batch)
      await compressed.loadRecords()
      const records = compressed.records()
      for (let record = records.nextRecord(); record !== undefined; record = records.nextRecord()) {
        if (record.timestamp >= timestamp && record.offset >= logStart) return { offset: record.offset, timestamp: record.timestamp }
      }
      return undefined
    } catch {
      // Records that no longer decompress: the batch as a whole is still the right place to start.
      return { offset: Math.max(base, logStart), timestamp: maxTimestamp }
    }
  }
  const baseTimestamp = readInt64(view, BatchOffset.baseTimestamp)
  const count = view.getInt32(BatchOffset.recordsCount)
  const cursor = { at: RECORD_BATCH_OVERHEAD }
  let index = 0
  for (; index < count && cursor.at < batch.byteLength; index++) {
    const length = readVarint(batch, cursor)
    const recordStart = cursor.at
    cursor.at++ // attributes
    const timestampDelta = readVarint(batch, cursor)
    const offsetDelta = readVarint(batch, cursor)
    const recordTimestamp = baseTimestamp + timestampDelta
    if (recordTimestamp >= timestamp && base + offsetDelta >= logStart) return { offset: base + offsetDelta, timestamp: recordTimestamp }
    cursor.at = recordStart + length
  }
  // Every record seen: none qualifies. Records cut short: the batch is the place to start.
  return index >= count ? undefined : { offset: Math.max(base, logStart), timestamp: maxTimestamp }
}

/** Zigzag LEB128 (the record format's varint / varlong, within safe-integer range). */
function readVarint (bytes: Uint8Array, cursor: { at: number }): number {
  let value = 0
  let multiplier = 1
  for (let shift = 0; shift < 70; shift += 7) {
    const byte = bytes[cursor.at++]
    if (byte === undefined) break
    value += (byte & 0x7f) * multiplier
    multiplier *= 128
    if ((byte & 0x80) === 0) break
  }
  return value % 2 === 0 ? value / 2 : -(value + 1) / 2
}

/** Maps a platform or internal failure to KAFKA_STORAGE_ERROR (SluiceErrors other than corruption pass through). */
export function storageError (cause: unknown, message: string, file: string): SluiceError {
  if (isSluiceError(cause) && cause.code !== 'SLUICE_CORRUPT_SEGMENT') return cause as SluiceError
  const code = (cause as NodeJS.ErrnoException | undefined)?.code
  return new SluiceError('KAFKA_STORAGE_ERROR', `${message}${code === undefined ? '' : ` (${code})`}`, { cause, file })
}
