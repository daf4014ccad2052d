/**
 * One segment of a partition log: a `.log` file of record batches starting at `baseOffset`,
 * its offset index and time index, and, while it is the active segment, the in-memory tail of
 * its newest bytes.
 *
 * Positions: `size` counts every byte appended (staged in the tail included); `writtenBytes`
 * counts bytes handed to the OS (`write`/`writev` returned); `flushedBytes` counts bytes
 * covered by a completed fdatasync. Always `flushedBytes <= writtenBytes <= size`; bytes in
 * [writtenBytes, size) exist only in the tail.
 *
 * The tail is a list of SharedArrayBuffer chunks. A batch is copied once into the current chunk
 * (its baseOffset patched there) and never straddles two chunks, so any chunk range of whole
 * batches is a ready-made fetch response. The writer writes directly from the chunk memory (no
 * copy) on libuv's threadpool. Chunk sizes double from `TAIL_CHUNK_BYTES_MIN` so an idle
 * partition holds a few KiB, a busy one 1 MiB chunks.
 *
 * Full-size chunks are recycled through a small process-wide pool once written and no longer
 * retained for readers. Reason, measured on this VM: first touch of freshly allocated memory
 * runs at about 0.6 GB/s (a host fault per page), against several GB/s for memory reused
 * moments later; the recovery scan went from 0.7 to 5 GB/s when it stopped allocating a fresh
 * window per read, and a fresh 1 MiB chunk per MiB appended puts the same cost (~1.7 ms per
 * chunk) on the event loop. Recycled chunks are already resident. Because a chunk
 * can be reused, a read served from the tail copies its bytes out synchronously (memcpy speed,
 * into memory that is usually resident too) instead of handing out a view.
 *
 * Concurrency: single-threaded owner (PartitionLog); at most one write and one fdatasync of this
 * segment are in flight at a time (PartitionLog serialises them).
 */
import { assert } from '../core/assert.js'
import { SluiceError } from '../core/errors.js'
import { readFully, writeFully } from '../io/file-system.js'
import { copyInto } from '../io/shared-memory-copy.js'
import type { FileHandle } from '../io/file-system.js'
import { BatchOffset, LOG_OVERHEAD, RECORD_BATCH_OVERHEAD } from '../io/record-batch-header.js'
import {
  BatchCheck, batchLastOffset, batchMaxTimestamp, batchSize, checkBatchAt, dataViewOf
} from './batch-scan.js'
import type { FileCache } from './file-cache.js'
import type { PartitionLayout } from './layout.js'
import { OFFSET_INDEX_ENTRY_BYTES, OffsetIndex } from './offset-index.js'
import { TIME_INDEX_ENTRY_BYTES, TimeIndex } from './time-index.js'

export const TAIL_CHUNK_BYTES_MIN = 8 * 1024
export const TAIL_CHUNK_BYTES_MAX = 1024 * 1024
/** Recycled full-size chunks kept for the whole process (bounded memory: 32 MiB). */
const CHUNK_POOL_MAX = 32
const chunkPool: Uint8Array[] = []

function takeChunk (bytes: number): Uint8Array {
  if (bytes === TAIL_CHUNK_BYTES_MAX) {
    const pooled = chunkPool.pop()
    if (pooled !== undefined) return pooled
  }
  // A Buffer view: copies into it take the fast path of `copyInto` without a view per copy.
  return Buffer.from(new SharedArrayBuffer(bytes))
}

function recycleChunk (chunk: Uint8Array): void {
  if (chunk.byteLength === TAIL_CHUNK_BYTES_MAX && chunkPool.length < CHUNK_POOL_MAX) chunkPool.push(chunk)
}
/** Read window of recovery scans: large sequential reads, two in flight (one read, one checked). */
export const RECOVERY_READ_BYTES = 8 * 1024 * 1024
/** Read window when locating a batch for a fetch. */
const LOCATE_READ_BYTES = 64 * 1024

export interface SegmentConfig {
  indexIntervalBytes: number
  /** `segment.index.bytes`: preallocated size of each index file. */
  segmentIndexBytes: number
}

/** What a segment's statistics were at some byte boundary, for rolling back to it. */
export interface SegmentState {
  size: number
  nextOffset: number
  maxTimestamp: number
  offsetOfMaxTimestamp: number
  firstBatchTimestamp: number
  bytesSinceLastIndexEntry: number
  offsetIndexEntries: number
  timeIndexEntries: number
}

interface TailChunk {
  /** Position in the segment file of `bytes[0]`. */
  position: number
  bytes: Uint8Array
  used: number
  /** No more batches go into a sealed chunk (after a rollback, so readers' views stay intact). */
  sealed: boolean
  /** The segment's state right after the chunk's last batch, once no batch can join it: a write may stop there. */
  endState: SegmentState | undefined
}

export interface SegmentContext {
  layout: PartitionLayout
  files: FileCache
  config: SegmentConfig
}

export class Segment {
  size = 0
  /** File bytes past `size` that are zeros written ahead (flush 'always'); trimmed on roll and close. */
  preallocatedBytes = 0
  writtenBytes = 0
  flushedBytes = 0
  /** The offset after the last batch (= baseOffset when empty). */
  nextOffset: number
  /** Greatest maxTimestamp of the batches, -1 when none has one. */
  maxTimestamp = -1
  offsetOfMaxTimestamp: number
  /** maxTimestamp of the first batch (segment.ms is measured from it), -1 when unknown. */
  firstBatchTimestamp = -1
  readonly createdMs: number
  /** How much earlier than segment.ms this segment rolls (drawn once by the log); undefined until drawn. */
  rollJitterMs: number | undefined
  bytesSinceLastIndexEntry = 0
  readonly offsetIndex: OffsetIndex
  readonly timeIndex: TimeIndex
  /** Index entries known to be in the index files. */
  persistedOffsetIndexEntries = 0
  persistedTimeIndexEntries = 0
  /** Entries (both indexes) covered by the last `syncIndexes`. */
  private syncedIndexEntries = 0
  /** Index files are preallocated (active segment) rather than trimmed. */
  indexesPreallocated = false
  /** Index mirrors hold this segment's entries (loaded lazily for old segments). */
  indexesLoaded = false
  private readonly tail: TailChunk[] = []
  private nextChunkBytes = TAIL_CHUNK_BYTES_MIN

  constructor (private readonly context: SegmentContext, readonly baseOffset: number, createdMs: number) {
    this.nextOffset = baseOffset
    this.offsetOfMaxTimestamp = baseOffset
    this.createdMs = createdMs
    const { segmentIndexBytes } = context.config
    this.offsetIndex = new OffsetIndex(baseOffset, Math.floor(segmentIndexBytes / OFFSET_INDEX_ENTRY_BYTES))
    this.timeIndex = new TimeIndex(baseOffset, Math.floor(segmentIndexBytes / TIME_INDEX_ENTRY_BYTES))
  }

  get logFile (): string { return this.context.layout.logFile(this.baseOffset) }
  get offsetIndexFile (): string { return this.context.layout.offsetIndexFile(this.baseOffset) }
  get timeIndexFile (): string { return this.context.layout.timeIndexFile(this.baseOffset) }

  /** Runs `operation` on this segment's open `.log`. */
  async withLog<T> (operation: (file: FileHandle) => Promise<T>): Promise<T> {
    return await this.context.files.use(this.logFile, operation)
  }

  state (): SegmentState {
    return {
      size: this.size,
      nextOffset: this.nextOffset,
      maxTimestamp: this.maxTimestamp,
      offsetOfMaxTimestamp: this.offsetOfMaxTimestamp,
      firstBatchTimestamp: this.firstBatchTimestamp,
      bytesSinceLastIndexEntry: this.bytesSinceLastIndexEntry,
      offsetIndexEntries: this.offsetIndex.entries,
      timeIndexEntries: this.timeIndex.entries
    }
  }

  /** Returns the in-memory statistics to `state` and drops staged bytes past `state.size`. */
  restore (state: SegmentState): void {
    assert(state.size <= this.size, 'restore forward')
    this.size = state.size
    this.nextOffset = state.nextOffset
    this.maxTimestamp = state.maxTimestamp
    this.offsetOfMaxTimestamp = state.offsetOfMaxTimestamp
    this.firstBatchTimestamp = state.firstBatchTimestamp
    this.bytesSinceLastIndexEntry = state.bytesSinceLastIndexEntry
    this.offsetIndex.truncateToEntries(Math.min(state.offsetIndexEntries, this.offsetIndex.entries))
    this.timeIndex.truncateToEntries(Math.min(state.timeIndexEntries, this.timeIndex.entries))
    this.persistedOffsetIndexEntries = Math.min(this.persistedOffsetIndexEntries, this.offsetIndex.entries)
    this.persistedTimeIndexEntries = Math.min(this.persistedTimeIndexEntries, this.timeIndex.entries)
    this.writtenBytes = Math.min(this.writtenBytes, state.size)
    this.flushedBytes = Math.min(this.flushedBytes, state.size)
    while (this.tail.length > 0 && this.tail[this.tail.length - 1]!.position >= state.size) this.tail.pop()
    const last = this.tail[this.tail.length - 1]
    if (last !== undefined) {
      last.used = Math.min(last.used, state.size - last.position)
      last.endState = state
    }
    for (const chunk of this.tail) chunk.sealed = true
  }

  /**
   * Copies a validated batch into the tail at position `size`, patches its baseOffset, updates
   * offsets, timestamps and indexes. Returns nothing: the caller tracks acknowledgement.
   */
  /** The largest offset this segment can hold: index entries store offsets relative to the base as int32, as in Kafka. */
  get maximumOffset (): number { return this.baseOffset + 0x7fffffff }

  stage (batch: Uint8Array, baseOffset: number, lastOffset: number, maxTimestamp: number): void {
    const length = batch.byteLength
    let chunk = this.tail[this.tail.length - 1]
    if (chunk === undefined || chunk.sealed || chunk.bytes.byteLength - chunk.used < length) {
      if (chunk !== undefined) chunk.endState ??= this.state()
      const bytes = Math.max(length, this.nextChunkBytes)
      this.nextChunkBytes = Math.min(this.nextChunkBytes * 2, TAIL_CHUNK_BYTES_MAX)
      chunk = { position: this.size, bytes: takeChunk(bytes), used: 0, sealed: false, endState: undefined }
      this.tail.push(chunk)
    }
    const at = chunk.used
    copyInto(chunk.bytes, at, batch)
    const view = dataViewOf(chunk.bytes)
    view.setInt32(at + BatchOffset.baseOffset, Math.floor(baseOffset / 0x100000000))
    view.setUint32(at + BatchOffset.baseOffset + 4, baseOffset >>> 0)
    chunk.used += length
    this.recordBatch(this.size, length, lastOffset, maxTimestamp)
    this.size += length
  }

  /** Updates offsets, timestamps and indexes for a batch at `position` (append and recovery share this). */
  recordBatch (position: number, length: number, lastOffset: number, maxTimestamp: number): void {
    if (this.firstBatchTimestamp < 0 && position === 0) this.firstBatchTimestamp = maxTimestamp
    if (maxTimestamp > this.maxTimestamp) {
      this.maxTimestamp = maxTimestamp
      this.offsetOfMaxTimestamp = lastOffset
    }
    if (this.bytesSinceLastIndexEntry > this.context.config.indexIntervalBytes) {
      if (!this.offsetIndex.isFull) this.offsetIndex.append(lastOffset, position)
      this.timeIndex.maybeAppend(this.maxTimestamp, this.offsetOfMaxTimestamp)
      this.bytesSinceLastIndexEntry = 0
    }
    this.bytesSinceLastIndexEntry += length
    this.nextOffset = lastOffset + 1
  }

  /**
   * Where the next write should stop: the end of the first closed chunk at which at least
   * `bytes` are unwritten (with the state there), else everything staged. Writing in pieces
   * acknowledges the oldest appends early, so their producers stage more while the rest is
   * written: appending (main thread) and writing (threadpool) overlap instead of taking turns.
   */
  writeBoundary (bytes: number): { size: number, state: SegmentState } {
    for (const chunk of this.tail) {
      const end = chunk.position + chunk.used
      if (end <= this.writtenBytes) continue
      if (chunk.endState === undefined || end - this.writtenBytes < bytes) continue
      return { size: end, state: chunk.endState }
    }
    return { size: this.size, state: this.state() }
  }

  /** Views of the tail covering [from, to), for a writev. */
  tailViews (from: number, to: number): Uint8Array[] {
    const views: Uint8Array[] = []
    for (const chunk of this.tail) {
      const start = Math.max(from, chunk.position)
      const end = Math.min(to, chunk.position + chunk.used)
      if (start < end) views.push(chunk.bytes.subarray(start - chunk.position, end - chunk.position))
    }
    let total = 0
    for (const view of views) total += view.byteLength
    assert(total === to - from, 'tail does not cover the range to write')
    return views
  }

  /** Drops written chunks beyond what readers that keep up may still want (`retainBytes`). */
  releaseTail (retainBytes: number): void {
    while (this.tail.length > 1) {
      const first = this.tail[0]!
      const end = first.position + first.used
      if (end > this.writtenBytes) break
      if (this.size - end < retainBytes) break
      recycleChunk(this.tail.shift()!.bytes)
    }
  }

  /** Forgets the tail entirely (segment rolled, or closed); every byte of it must be written. */
  dropTail (): void {
    for (const chunk of this.tail) {
      if (chunk.position + chunk.used <= this.writtenBytes) recycleChunk(chunk.bytes)
    }
    this.tail.length = 0
    this.nextChunkBytes = TAIL_CHUNK_BYTES_MIN
  }

  get tailBytes (): number {
    let total = 0
    for (const chunk of this.tail) total += chunk.bytes.byteLength
    return total
  }

  /**
   * Whole batches from the tail starting at `position`, up to `end`, or undefined if not in the
   * tail. The view is only valid until the next await (the chunk may be recycled): copy out.
   */
  tailView (position: number, end: number): Uint8Array | undefined {
    for (const chunk of this.tail) {
      if (position >= chunk.position && position < chunk.position + chunk.used) {
        const stop = Math.min(end, chunk.position + chunk.used)
        return chunk.bytes.subarray(position - chunk.position, stop - chunk.position)
      }
    }
    return undefined
  }

  /** Writes [writtenBytes, to) from the tail to the file, continuing after short writes. */
  async writeTail (to: number): Promise<void> {
    const from = this.writtenBytes
    if (from >= to) return
    const views = this.tailViews(from, to)
    await this.withLog(async (file) => {
      let position = from
      let pending = views
      // Bounded: every round writes at least one byte or throws.
      while (pending.length > 0) {
        const written = await file.writev(pending, position)
        if (written <= 0) throw Object.assign(new Error(`write made no progress on ${file.path}`), { code: 'EIO' })
        position += written
        pending = dropPrefix(pending, written)
      }
    })
  }

  /** Writes index entries not yet in the index files (write-through, after the log bytes they point to). */
  async writeIndexes (): Promise<void> {
    const offsetEntries = this.offsetIndex.entries
    const timeEntries = this.timeIndex.entries
    const tasks: Array<Promise<void>> = []
    if (offsetEntries > this.persistedOffsetIndexEntries) {
      const bytes = this.offsetIndex.bytes(this.persistedOffsetIndexEntries)
      const at = this.persistedOffsetIndexEntries * OFFSET_INDEX_ENTRY_BYTES
      tasks.push(this.context.files.use(this.offsetIndexFile, async (file) => { await writeFully(file, bytes, at) }, 'create'))
    }
    if (timeEntries > this.persistedTimeIndexEntries) {
      const bytes = this.timeIndex.bytes(this.persistedTimeIndexEntries)
      const at = this.persistedTimeIndexEntries * TIME_INDEX_ENTRY_BYTES
      tasks.push(this.context.files.use(this.timeIndexFile, async (file) => { await writeFully(file, bytes, at) }, 'create'))
    }
    await Promise.all(tasks)
    this.persistedOffsetIndexEntries = Math.max(this.persistedOffsetIndexEntries, offsetEntries)
    this.persistedTimeIndexEntries = Math.max(this.persistedTimeIndexEntries, timeEntries)
  }

  /**
   * Writes pending index entries and fdatasyncs both index files, so that a recovery-point
   * checkpoint written afterwards may trust every entry below it (see `recoverAfter`).
   */
  async syncIndexes (): Promise<void> {
    const entries = this.offsetIndex.entries + this.timeIndex.entries
    if (entries === this.syncedIndexEntries) return
    await this.writeIndexes()
    await Promise.all([
      this.context.files.use(this.offsetIndexFile, async (file) => { await file.datasync() }, 'create'),
      this.context.files.use(this.timeIndexFile, async (file) => { await file.datasync() }, 'create')
    ])
    this.syncedIndexEntries = entries
  }

  /** Records that the index files already hold every entry durably (clean open). */
  markIndexesSynced (): void {
    this.syncedIndexEntries = this.offsetIndex.entries + this.timeIndex.entries
  }

  /** Extends both index files to `segment.index.bytes` (sparse) for an active segment. */
  async preallocateIndexes (): Promise<void> {
    const { segmentIndexBytes } = this.context.config
    const offsetBytes = this.offsetIndex.maxEntries * OFFSET_INDEX_ENTRY_BYTES
    const timeBytes = this.timeIndex.maxEntries * TIME_INDEX_ENTRY_BYTES
    assert(offsetBytes <= segmentIndexBytes && timeBytes <= segmentIndexBytes, 'index sizes')
    await Promise.all([
      this.context.files.use(this.offsetIndexFile, async (file) => {
        await file.truncate(this.persistedOffsetIndexEntries * OFFSET_INDEX_ENTRY_BYTES)
        await file.truncate(offsetBytes)
      }, 'create'),
      this.context.files.use(this.timeIndexFile, async (file) => {
        await file.truncate(this.persistedTimeIndexEntries * TIME_INDEX_ENTRY_BYTES)
        await file.truncate(timeBytes)
      }, 'create')
    ])
    this.indexesPreallocated = true
  }

  /**
   * Seals the indexes: final time-index entry, all entries written, files trimmed to their
   * entries and, unless `sync: false` (a roll, which syncs them later with `syncFiles`),
   * fdatasynced. The segment's `.log` is synced by the caller.
   */
  async sealIndexes (options: { sync?: boolean } = {}): Promise<void> {
    const sync = options.sync ?? true
    if (this.maxTimestamp >= 0) this.timeIndex.maybeAppend(this.maxTimestamp, this.offsetOfMaxTimestamp, true)
    // Rewrite everything: a trimmed file must hold exactly the mirror's entries.
    this.persistedOffsetIndexEntries = 0
    this.persistedTimeIndexEntries = 0
    await this.writeIndexes()
    await Promise.all([
      this.context.files.use(this.offsetIndexFile, async (file) => {
        await file.truncate(this.offsetIndex.sizeBytes)
        if (sync) await file.datasync()
      }, 'create'),
      this.context.files.use(this.timeIndexFile, async (file) => {
        await file.truncate(this.timeIndex.sizeBytes)
        if (sync) await file.datasync()
      }, 'create')
    ])
    this.indexesPreallocated = false
  }

  /** fdatasyncs the `.log` and both index files (a rolled segment made durable in the background). */
  async syncFiles (): Promise<void> {
    await Promise.all([
      this.withLog(async (file) => { await file.datasync() }),
      this.context.files.use(this.offsetIndexFile, async (file) => { await file.datasync() }, 'create'),
      this.context.files.use(this.timeIndexFile, async (file) => { await file.datasync() }, 'create')
    ])
    this.flushedBytes = this.size
  }

  /**
   * Reads `length` bytes at `position` of the `.log` (fewer at end of file), into `scratch` when
   * it is large enough (the caller's reusable buffer), else into new memory.
   */
  async readAt (position: number, length: number, scratch?: Uint8Array): Promise<Uint8Array> {
    // allocUnsafe: only the `read` bytes that are filled are returned, so nothing stale escapes;
    // it avoids zeroing memory that the read overwrites anyway.
    const target = scratch !== undefined && scratch.byteLength >= length ? scratch.subarray(0, length) : Buffer.allocUnsafe(length)
    const read = await this.withLog(async (file) => await readFully(file, target, position))
    return target.subarray(0, read)
  }

  /**
   * Bytes of the log from `position` to at most `end`, at most `windowBytes` unless the batch at
   * `position` is bigger: from the tail when it holds them, else from the file.
   */
  async window (position: number, end: number, windowBytes: number): Promise<Uint8Array> {
    const fromTail = this.tailView(position, end)
    if (fromTail !== undefined) return copyBytes(fromTail.subarray(0, Math.max(Math.min(windowBytes, fromTail.byteLength), firstBatchBytes(fromTail))))
    return await this.readAt(position, Math.min(windowBytes, end - position))
  }

  /**
   * Position of the first batch whose last offset is >= `offset`, scanning from the offset index
   * entry at or below it; `undefined` when no such batch lies before `end`.
   */
  async locate (
    offset: number, end: number, windowBytes = LOCATE_READ_BYTES, scratch?: Uint8Array, startPosition?: number
  ): Promise<{ position: number, bytes: Uint8Array, fromTail: boolean } | undefined> {
    await this.ensureIndexes()
    // A known batch start at or before the target (a sequential reader's cursor) beats the
    // index: the index entry at or below `offset` is usually the batch before the wanted one.
    let position = startPosition ?? this.offsetIndex.lookup(offset).position
    // Bounded: each round advances `position` by at least one batch or returns.
    while (position < end) {
      const fromTail = this.tailView(position, end)
      const bytes = fromTail ?? await this.readAt(position, Math.min(Math.max(windowBytes, LOCATE_READ_BYTES), end - position), scratch)
      const view = dataViewOf(bytes)
      let at = 0
      while (at + LOG_OVERHEAD <= bytes.byteLength) {
        const size = batchSize(view, at)
        if (size < RECORD_BATCH_OVERHEAD) throw this.corrupt(position + at)
        if (at + RECORD_BATCH_OVERHEAD > bytes.byteLength) break
        if (batchLastOffset(view, at) >= offset) {
          if (fromTail === undefined) return { position: position + at, bytes: bytes.subarray(at), fromTail: false }
          // Tail memory may be recycled after this turn: copy the whole batches wanted now.
          const rest = bytes.subarray(at)
          const wanted = rest.subarray(0, Math.max(Math.min(windowBytes, rest.byteLength), firstBatchBytes(rest)))
          if (scratch !== undefined && scratch.byteLength >= wanted.byteLength) {
            copyInto(scratch, 0, wanted)
            return { position: position + at, bytes: scratch.subarray(0, wanted.byteLength), fromTail: true }
          }
          return { position: position + at, bytes: copyBytes(wanted), fromTail: true }
        }
        at += size
      }
      if (at === 0) {
        // Only part of one header fits the window: read the header on its own.
        const header = await this.readAt(position, RECORD_BATCH_OVERHEAD)
        if (header.byteLength < RECORD_BATCH_OVERHEAD) throw this.corrupt(position)
        const headerView = dataViewOf(header)
        if (batchLastOffset(headerView, 0) >= offset) return { position, bytes: new Uint8Array(0), fromTail: false }
        at = batchSize(headerView, 0)
      }
      position += at
    }
    return undefined
  }

  /** Frees the index mirrors of an old (sealed) segment; the next lookup loads them again. */
  unloadIndexes (): void {
    if (!this.indexesLoaded || this.indexesPreallocated || this.tail.length > 0) return
    this.offsetIndex.release()
    this.timeIndex.release()
    this.indexesLoaded = false
  }

  /** Loads index files of an old segment on first use; rebuilds from the log when they are invalid. */
  async ensureIndexes (): Promise<void> {
    if (this.indexesLoaded) return
    const { fs } = this.context.files
    let valid = false
    try {
      const offsetBytes = await fs.readFile(this.offsetIndexFile)
      const timeBytes = await fs.readFile(this.timeIndexFile)
      // An active segment's end is not known yet (nextOffset = baseOffset): bound by nothing then.
      const offsetBound = this.nextOffset > this.baseOffset ? this.nextOffset : Number.MAX_SAFE_INTEGER
      valid = this.offsetIndex.load(offsetBytes, this.size) && this.timeIndex.load(timeBytes, offsetBound)
      if (valid && this.offsetIndex.entries > 0) {
        // The last entry must point at a batch that ends at that offset.
        const last = this.offsetIndex.lastEntry()
        const header = await this.readAt(last.position, RECORD_BATCH_OVERHEAD)
        valid = header.byteLength === RECORD_BATCH_OVERHEAD && batchLastOffset(dataViewOf(header), 0) === last.offset
      }
    } catch {
      valid = false
    }
    if (!valid) {
      const result = await this.recover(this.size, this.baseOffset)
      if (result.truncatedBytes > 0) throw this.corrupt(result.validBytes)
      await this.sealIndexes()
    } else {
      this.persistedOffsetIndexEntries = this.offsetIndex.entries
      this.persistedTimeIndexEntries = this.timeIndex.entries
    }
    this.indexesLoaded = true
  }

  /**
   * Scans the `.log` batch by batch from position 0 (length, magic, CRC, offsets), rebuilding
   * both indexes and the statistics, and stops at the first invalid or incomplete batch. Does
   * not modify the file: the caller truncates to `validBytes`. Reads are large and
   * double-buffered: the next window is read while the current one is checked.
   */
  async recover (fileSize: number | undefined, minimumBaseOffset: number, resumeAt = 0): Promise<{ validBytes: number, truncatedBytes: number }> {
    const size = fileSize ?? await this.withLog(async (file) => await file.size())
    this.nextOffset = this.baseOffset
    this.bytesSinceLastIndexEntry = 0
    if (resumeAt === 0) {
      this.offsetIndex.clear()
      this.timeIndex.clear()
      this.maxTimestamp = -1
      this.offsetOfMaxTimestamp = this.baseOffset
      this.firstBatchTimestamp = -1
    }
    const expectedOffset = Math.max(minimumBaseOffset, this.baseOffset)
    const valid = resumeAt
    // Two reusable windows (one being read, one being checked): fresh memory costs a page fault
    // per 4 KiB on first touch, which would otherwise bound the scan below 1 GB/s.
    const scratch = [takeScratch(), takeScratch()]
    let turn = 0
    const readWindow = async (at: number, bytes: number): Promise<Uint8Array> => {
      turn ^= 1
      return await this.readAt(at, Math.min(bytes, size - at), scratch[turn])
    }
    try {
      return await this.scan(size, expectedOffset, valid, readWindow)
    } finally {
      for (const buffer of scratch) returnScratch(buffer)
    }
  }

  private async scan (
    size: number, firstExpectedOffset: number, resumeAt: number, readWindow: (at: number, bytes: number) => Promise<Uint8Array>
  ): Promise<{ validBytes: number, truncatedBytes: number }> {
    let expectedOffset = firstExpectedOffset
    let valid = resumeAt
    let pending: Promise<Uint8Array> | undefined = size > resumeAt ? readWindow(resumeAt, RECOVERY_READ_BYTES) : undefined
    // Bounded: each window either ends the scan or moves `valid` forward by at least one batch.
    while (pending !== undefined) {
      const bytes = await pending
      pending = undefined
      const windowStart = valid
      const view = dataViewOf(bytes)
      // 1. Walk the headers (cheap) to the end of the last whole batch, and prefetch from there
      //    so the next read overlaps the CRC checks of this window.
      let end = 0
      let walkOffset = expectedOffset
      let stoppedIncomplete = false
      while (true) {
        const check = checkBatchAt(view, bytes, end, bytes.byteLength, walkOffset, false, this.maximumOffset)
        if (check === BatchCheck.invalid) break
        if (check === BatchCheck.incomplete) { stoppedIncomplete = true; break }
        walkOffset = batchLastOffset(view, end) + 1
        end += check
      }
      if (stoppedIncomplete && windowStart + bytes.byteLength < size) {
        const needed = end + LOG_OVERHEAD <= bytes.byteLength ? Math.max(batchSize(view, end), LOG_OVERHEAD) : LOG_OVERHEAD
        // A batch that would run past the end of the file is a torn tail: stop there rather
        // than read (and allocate) whatever its length field claims.
        if (windowStart + end + needed <= size) pending = readWindow(windowStart + end, Math.max(RECOVERY_READ_BYTES, needed))
      }
      // 2. Check every batch up to there, CRC included, and index it.
      let at = 0
      while (at < end) {
        const check = checkBatchAt(view, bytes, at, end, expectedOffset, true, this.maximumOffset)
        if (check <= 0) break
        const lastOffset = batchLastOffset(view, at)
        this.recordBatch(windowStart + at, check, lastOffset, batchMaxTimestamp(view, at))
        expectedOffset = lastOffset + 1
        at += check
      }
      valid = windowStart + at
      if (at < end) { // an invalid batch ends the log: no further windows
        await pending?.catch(() => undefined)
        pending = undefined
      }
    }
    this.size = valid
    this.writtenBytes = valid
    this.flushedBytes = Math.min(this.flushedBytes, valid)
    this.indexesLoaded = true
    return { validBytes: valid, truncatedBytes: size - valid }
  }

  /**
   * Recovery after an unclean shutdown that trusts the part of this segment below
   * `recoveryPoint` (flushed, and its index entries synced before the checkpoint was written):
   * loads the index files, keeps the entries below the recovery point, checks that the last
   * one points at a batch ending at its offset, and rescans only from that batch. Falls back
   * to a full rescan when the index files do not pass the checks.
   */
  async recoverAfter (recoveryPoint: number, minimumBaseOffset: number): Promise<{ validBytes: number, truncatedBytes: number }> {
    const { fs } = this.context.files
    let resumeAt = 0
    try {
      const offsetBytes = await fs.readFile(this.offsetIndexFile)
      const timeBytes = await fs.readFile(this.timeIndexFile)
      if (this.offsetIndex.load(offsetBytes, this.size) && this.timeIndex.load(timeBytes, Number.MAX_SAFE_INTEGER)) {
        this.offsetIndex.truncateToOffset(recoveryPoint)
        this.timeIndex.truncateToOffset(recoveryPoint)
        if (this.offsetIndex.entries > 0) {
          const last = this.offsetIndex.lastEntry()
          const header = await this.readAt(last.position, RECORD_BATCH_OVERHEAD)
          const first = await this.readAt(0, RECORD_BATCH_OVERHEAD)
          if (header.byteLength === RECORD_BATCH_OVERHEAD && first.byteLength === RECORD_BATCH_OVERHEAD &&
            checkBatchAt(dataViewOf(first), first, 0, RECORD_BATCH_OVERHEAD, minimumBaseOffset, false, this.maximumOffset) !== BatchCheck.invalid &&
            batchLastOffset(dataViewOf(header), 0) === last.offset) {
            resumeAt = last.position
            this.firstBatchTimestamp = batchMaxTimestamp(dataViewOf(first), 0)
            const lastTime = this.timeIndex.lastEntry()
            this.maxTimestamp = lastTime?.timestamp ?? -1
            this.offsetOfMaxTimestamp = lastTime?.offset ?? this.baseOffset
          }
        }
      }
    } catch {
      resumeAt = 0
    }
    return await this.recover(this.size, minimumBaseOffset, resumeAt)
  }

  /**
   * For a segment whose indexes were loaded and trusted (clean shutdown): finds the last batch
   * by scanning from the last index entry, setting `nextOffset` and the tail statistics.
   * Returns false when the bytes past the last entry are not whole valid batches.
   */
  async scanFromLastIndexEntry (): Promise<boolean> {
    const last = this.offsetIndex.lastEntry()
    let position = last.position
    this.nextOffset = this.baseOffset
    const lastTime = this.timeIndex.lastEntry()
    if (lastTime !== undefined) {
      this.maxTimestamp = lastTime.timestamp
      this.offsetOfMaxTimestamp = lastTime.offset
    }
    if (position > 0) {
      const first = await this.readAt(0, RECORD_BATCH_OVERHEAD)
      if (first.byteLength < RECORD_BATCH_OVERHEAD) return false
      this.firstBatchTimestamp = batchMaxTimestamp(dataViewOf(first), 0)
    }
    while (position < this.size) {
      const bytes = await this.readAt(position, Math.min(RECOVERY_READ_BYTES, this.size - position))
      const view = dataViewOf(bytes)
      let at = 0
      while (true) {
        const check = checkBatchAt(view, bytes, at, bytes.byteLength, 0, false, this.maximumOffset)
        if (check === BatchCheck.invalid) return false
        if (check === BatchCheck.incomplete) break
        const lastOffset = batchLastOffset(view, at)
        const maxTimestamp = batchMaxTimestamp(view, at)
        if (position + at === 0) this.firstBatchTimestamp = maxTimestamp
        if (maxTimestamp > this.maxTimestamp) {
          this.maxTimestamp = maxTimestamp
          this.offsetOfMaxTimestamp = lastOffset
        }
        this.nextOffset = lastOffset + 1
        at += check
      }
      if (at === 0) return false
      position += at
    }
    this.bytesSinceLastIndexEntry = this.size - last.position
    if (lastTime !== undefined && lastTime.offset >= this.nextOffset) return false
    return position === this.size
  }

  corrupt (position: number): SluiceError {
    return new SluiceError('SLUICE_CORRUPT_SEGMENT', `invalid batch in ${this.logFile} at byte ${position}`, { file: this.logFile, position })
  }
}

function dropPrefix (views: Uint8Array[], bytes: number): Uint8Array[] {
  let remaining = bytes
  let index = 0
  while (index < views.length && remaining >= views[index]!.byteLength) {
    remaining -= views[index]!.byteLength
    index++
  }
  const rest = views.slice(index)
  if (rest.length > 0 && remaining > 0) rest[0] = rest[0]!.subarray(remaining)
  return rest
}

/** Recovery read windows, reused across scans (bounded: at most 8 kept). */
const scratchPool: Buffer[] = []

function takeScratch (): Buffer {
  return scratchPool.pop() ?? Buffer.allocUnsafe(RECOVERY_READ_BYTES)
}

function returnScratch (buffer: Buffer): void {
  if (scratchPool.length < 8) scratchPool.push(buffer)
}

/** An explicit copy into fresh (unpooled, unshared) memory. */
function copyBytes (source: Uint8Array): Uint8Array {
  const copy = Buffer.allocUnsafe(source.byteLength)
  copyInto(copy, 0, source)
  return copy
}

/** Size of the batch at the start of `bytes` (0 when not even its length is there). */
function firstBatchBytes (bytes: Uint8Array): number {
  return bytes.byteLength < LOG_OVERHEAD ? 0 : Math.min(bytes.byteLength, batchSize(dataViewOf(bytes), 0))
}
