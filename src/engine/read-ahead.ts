/**
 * Read-ahead for sequential readers of a partition log: while a reader works on one response,
 * the next windows of the segment file are already being read on libuv's threadpool into
 * pooled memory, so the reader's next `read` finds its bytes in memory and only copies them.
 *
 * Why (measured on the 2-vCPU dev VM, shared with other work, 1 GiB of segments in the page
 * cache, 1 MiB reads into one reusable caller buffer; wall-clock figures are medians and noisy):
 *   - `fs.readSync` in 1 MiB reads: ~25-29 GB/s. One asynchronous 1 MiB read at a time (the log
 *     before this module): ~9-13 GB/s. Same kernel copy; the difference is the threadpool round
 *     trip (queue, wake a thread, post the completion back to the loop) paid once per read while
 *     nothing else happens. A synchronous read on the event loop is not an option (principle 4:
 *     the bytes may not be cached).
 *   - Reads issued ahead into pooled windows, copied out on demand (the `ReadOptions.buffer`
 *     contract needs the copy), scratch benchmark with W-byte windows and D reads ahead of the
 *     window being copied from: 1 MiB x 2 ~10-15 GB/s, 2 MiB x 2 ~14-18, 4 MiB x 2 ~17-20,
 *     8 MiB x 2 ~18 (more memory, no gain); without the copy out 4 MiB x 2 reaches ~22 GB/s,
 *     the threadpool's ceiling here. Hence `windowBytes` 4 MiB, `depth` 2 (three buffers per
 *     reader: one being copied from, two in flight or ready).
 *   - In the log (bench `sequentialRead`, same process, read-ahead off/on interleaved, 5 runs,
 *     load average ~2): 9.2 GB/s (0.40 of raw) without, 11.0 GB/s (0.55) with; a scratch run of
 *     9 interleaved pairs: 0.54 -> 0.74 of the raw read measured beside it.
 *   - What is left between that and raw, per MiB (per-thread CPU from /proc schedstat): the
 *     event loop spends ~35-40 us (about 12 of them the copy into the caller's buffer), the
 *     threadpool ~60-90 us for the kernel copy into a window that is not cache-hot, against
 *     ~38 us for the whole `readSync` into a 1 MiB buffer that stays in L2. On two shared cores
 *     the split across threads does not buy back the difference. A dedicated reader thread that
 *     reads continuously into a SharedArrayBuffer ring (completion seen by `Atomics.load`, no
 *     loop turn) measured 0.81-0.88 of raw in a scratch prototype; it needs its own file
 *     handles (outside the FileSystem interface that the fault-injection tests drive), so it is
 *     not done here.
 * Memory bound: windows come from one process-wide pool of at most `windowsMax` buffers (8 x
 * 4 MiB = 32 MiB). Buffers are reused, never freed: first touch of fresh memory runs at
 * ~0.6 GB/s on this VM (see segment.ts), and a reused buffer is already resident. They are
 * allocated without zeroing, so the first touch happens in the kernel's copy on a threadpool
 * thread, not on the event loop. When the pool is exhausted, windows of a reader idle for
 * `idleMs` are reclaimed; otherwise the new reader simply goes without read-ahead (reads stay
 * correct, only slower), so active readers never thrash each other's windows.
 *
 * Invariants (the owner, PartitionLog, enforces the ones about meaning):
 *   - a stream belongs to one segment and one cursor generation; any change of what positions
 *     mean (rollback, truncation, segment deletion or replacement) bumps the generation and
 *     releases every stream, and bytes of a window are only served after checking, with no
 *     await in between, that the generation is unchanged;
 *   - windows of a stream are contiguous in the file; a window that read short (end of file,
 *     truncated file) or failed ends what the stream can serve;
 *   - a buffer goes back to the pool only when no read into it is in flight;
 *   - the stream never decides what is visible: the caller passes how far it may copy
 *     (high watermark position, segment size).
 *
 * Concurrency: single-threaded (the event loop); reads run on libuv's threadpool.
 */
import { assert } from '../core/assert.js'
import { BatchOffset, LOG_OVERHEAD } from '../io/record-batch-header.js'
import type { Segment } from './segment.js'

export interface ReadAheadOptions {
  /** Bytes per read issued ahead. @defaultValue 4 MiB */
  windowBytes?: number
  /** Windows a reader keeps in flight or ready beyond the one it copies from. @defaultValue 2 */
  depth?: number
  /** Window buffers in the whole pool (the memory bound is windowsMax x windowBytes). @defaultValue 8 */
  windowsMax?: number
  /** A reader that has not read for this long loses its windows to a reader that needs them. @defaultValue 1000 */
  idleMs?: number
  /** Monotonic milliseconds clock (tests). @defaultValue performance.now */
  clock?: () => number
}

export const readAheadDefaults = Object.freeze({
  windowBytes: 4 * 1024 * 1024,
  depth: 2,
  windowsMax: 8,
  idleMs: 1000
})

interface Window {
  /** Position in the segment file of `buffer[0]`. */
  position: number
  /** Bytes asked for; the next window starts at `position + requested`. */
  requested: number
  buffer: Buffer
  /** Bytes read, -1 while the read is in flight. */
  bytes: number
  failed: boolean
  done: Promise<void>
}

/** Read-ahead state of one sequential reader within one segment. */
export class ReadAheadStream {
  private readonly windows: Window[] = []
  /** File position where the next window starts. */
  private nextPosition: number
  lastUsedMs: number
  released = false

  constructor (
    private readonly pool: ReadAheadPool,
    readonly segment: Segment,
    readonly generation: number,
    position: number,
    /** False once the owner is gone (log closed): its windows go back at the next shortage. */
    readonly live: () => boolean = () => true
  ) {
    this.nextPosition = position
    this.lastUsedMs = pool.now()
  }

  /** Starts reads until `depth` windows are ahead, never past `limit` (bytes in the file). */
  fill (limit: number): void {
    if (this.released) return
    // The window being copied from plus `depth` ahead of it; each is started once.
    while (this.windows.length <= this.pool.depth && this.nextPosition < limit) {
      const buffer = this.pool.lease(this)
      if (buffer === undefined) return
      const requested = Math.min(buffer.byteLength, limit - this.nextPosition)
      const window: Window = { position: this.nextPosition, requested, buffer, bytes: -1, failed: false, done: Promise.resolve() }
      const settled = (bytes: number, failed: boolean): void => {
        window.bytes = bytes
        window.failed = failed
        // Released while in flight: only now may the buffer serve another read.
        if (this.released) this.pool.giveBack(buffer)
      }
      // A failed read is not an error here: the reader falls back to reading the file itself,
      // which reports the error where it belongs.
      window.done = this.segment.readAt(window.position, requested, buffer).then(
        (bytes) => { settled(bytes.byteLength, false) },
        () => { settled(0, true) }
      )
      this.windows.push(window)
      this.nextPosition += requested
    }
  }

  /** Drops windows that end at or before `position` (the reader is past them). */
  consume (position: number): void {
    while (this.windows.length > 0) {
      const first = this.windows[0]!
      if (first.bytes < 0 || first.position + first.requested > position) break
      this.windows.shift()
      this.pool.giveBack(first.buffer)
    }
    if (this.windows.length === 0) this.pool.forget(this)
  }

  /** True when the first window starts at or before `position` and the stream may hold its bytes. */
  covers (position: number): boolean {
    const first = this.windows[0]
    return !this.released && first !== undefined && first.position <= position && position < first.position + first.requested
  }

  /** Waits for the windows holding [position, position + length) to finish reading. */
  async settle (position: number, length: number): Promise<void> {
    this.lastUsedMs = this.pool.now()
    const end = position + length
    for (const window of this.windows) {
      if (window.position >= end) break
      if (window.bytes < 0) await window.done
      if (window.failed || window.bytes < window.requested) break
    }
  }

  /**
   * Copies the ready bytes from `position` into `target` (at most its length), across
   * contiguous windows; stops at a window in flight, failed or short. Returns bytes copied.
   * Synchronous: the caller checks the generation right before.
   */
  copyInto (position: number, target: Uint8Array): number {
    let copied = 0
    let at = position
    for (const window of this.windows) {
      if (copied >= target.byteLength) break
      if (window.position + window.requested <= at) continue
      if (window.position > at || window.bytes < 0 || window.failed) break
      const from = at - window.position
      if (from >= window.bytes) break
      const length = Math.min(window.bytes - from, target.byteLength - copied)
      target.set(window.buffer.subarray(from, from + length), copied)
      copied += length
      at += length
      if (window.bytes < window.requested) break
    }
    this.lastUsedMs = this.pool.now()
    return copied
  }

  /** The length of the batch at `position` (its length field + 12) when its header is ready, else -1. */
  batchSizeAt (position: number): number {
    const header = this.pool.headerScratch
    if (this.copyInto(position, header) < header.byteLength) return -1
    return header.readInt32BE(BatchOffset.batchLength) + LOG_OVERHEAD
  }

  /** Drops every window; buffers in flight return to the pool when their read settles. */
  release (): void {
    if (this.released) return
    this.released = true
    for (const window of this.windows) {
      if (window.bytes >= 0) this.pool.giveBack(window.buffer)
    }
    this.windows.length = 0
    this.pool.forget(this)
  }
}

/** The process-wide bounded pool of read-ahead windows. */
export class ReadAheadPool {
  readonly windowBytes: number
  readonly depth: number
  readonly windowsMax: number
  readonly idleMs: number
  readonly now: () => number
  /** Scratch for reading one batch header out of the windows (single-threaded use only). */
  readonly headerScratch = Buffer.alloc(LOG_OVERHEAD)
  private readonly free: Buffer[] = []
  private allocated = 0
  /** Streams holding windows, least recently leased first. */
  private readonly holders = new Set<ReadAheadStream>()

  constructor (options: ReadAheadOptions = {}) {
    this.windowBytes = options.windowBytes ?? readAheadDefaults.windowBytes
    this.depth = options.depth ?? readAheadDefaults.depth
    this.windowsMax = options.windowsMax ?? readAheadDefaults.windowsMax
    this.idleMs = options.idleMs ?? readAheadDefaults.idleMs
    this.now = options.clock ?? (() => performance.now())
    assert(Number.isSafeInteger(this.windowBytes) && this.windowBytes > 0, 'read-ahead windowBytes must be a positive integer')
    assert(Number.isSafeInteger(this.depth) && this.depth > 0, 'read-ahead depth must be a positive integer')
    assert(Number.isSafeInteger(this.windowsMax) && this.windowsMax >= 0, 'read-ahead windowsMax must be an integer >= 0')
  }

  /** Buffers allocated so far (never more than `windowsMax`). */
  get allocatedWindows (): number { return this.allocated }
  /** Buffers not leased to any stream. */
  get freeWindows (): number { return this.free.length }

  /** A window buffer for `stream`, or undefined when the pool is exhausted by active readers. */
  lease (stream: ReadAheadStream): Buffer | undefined {
    let buffer = this.free.pop()
    if (buffer === undefined && this.allocated < this.windowsMax) {
      this.allocated++
      // Not zeroed: the first touch happens in the kernel's copy, on the threadpool.
      buffer = Buffer.allocUnsafeSlow(this.windowBytes)
    }
    if (buffer === undefined) {
      this.reclaimIdle(stream)
      buffer = this.free.pop()
    }
    if (buffer === undefined) return undefined
    this.holders.delete(stream)
    this.holders.add(stream)
    return buffer
  }

  giveBack (buffer: Buffer): void {
    assert(this.free.length < this.allocated, 'read-ahead buffer returned twice')
    this.free.push(buffer)
  }

  forget (stream: ReadAheadStream): void {
    this.holders.delete(stream)
  }

  /** Releases the least recently used streams idle for `idleMs` (or whose log closed) until a buffer is free. */
  private reclaimIdle (requester: ReadAheadStream): void {
    const now = this.now()
    // Bounded: each holder is visited once (release removes it from the set).
    for (const holder of [...this.holders]) {
      if (this.free.length > 0) return
      if (holder === requester || (holder.live() && now - holder.lastUsedMs < this.idleMs)) continue
      holder.release()
    }
  }
}

/** The pool every log uses unless given its own. */
export const sharedReadAheadPool = new ReadAheadPool()
