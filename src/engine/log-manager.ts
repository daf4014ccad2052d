/**
 * The storage engine of one data directory: owns every partition log in it, the shared pool of
 * file handles, the flush scheduler of the 'interval' policy, and the per-directory recovery
 * files.
 *
 * Checkpoint files (Kafka's text format, written atomically: temp file, fdatasync, rename,
 * directory fsync):
 * ```
 * 0                       version
 * <count>                 number of lines that follow
 * <topic> <partition> <offset>
 * ```
 * `recovery-point-offset-checkpoint`: offsets below are covered by fdatasync, so recovery after
 * an unclean shutdown rescans only from the segment holding this offset. `log-start-offset-
 * checkpoint`: the log start offset raised by retention or DeleteRecords. A missing or
 * malformed checkpoint is treated as empty, which is always safe (full rescan, start from the
 * first segment).
 *
 * Clean shutdown: `close()` drains and fdatasyncs every log, writes both checkpoints, then the
 * marker file `.sluice-clean-shutdown`. `open()` trusts indexes only when the marker is there,
 * and deletes it (durably) before any append, so a crash from then on is detected.
 */
import { SluiceError } from '../core/errors.js'
import { nodeFileSystem, writeFileAtomic } from '../io/file-system.js'
import type { FileSystem } from '../io/file-system.js'
import { FileCache } from './file-cache.js'
import { SegmentIndexCache } from './index-cache.js'
import { DataLayout, parsePartitionDirectoryName } from './layout.js'
import { PartitionLog, storageError } from './partition-log.js'
import type { FlushPolicy, PartitionLogConfig } from './partition-log.js'

export interface LogManagerOptions {
  /** The data directory (created if missing). */
  directory: string
  /** File operations; tests pass a fault-injecting one. @defaultValue nodeFileSystem */
  fs?: FileSystem
  /** Engine durability policy. @defaultValue 'interval' */
  flush?: FlushPolicy
  /** Log config for every partition, or per topic (the topic registry supplies it). */
  logConfig?: Partial<PartitionLogConfig> | ((topic: string) => Partial<PartitionLogConfig>)
  /** Open file descriptors kept at most (plus those in use at that instant). @defaultValue 1000 */
  maxOpenFiles?: number
  /** Period of the recovery-point checkpoint. Kafka: `log.flush.offset.checkpoint.interval.ms`. @defaultValue 60000 */
  checkpointIntervalMs?: number
  /** Period of the 'interval' flush scheduler's check of `flush.ms`. @defaultValue 100 */
  flushCheckIntervalMs?: number
  /** Logs opened concurrently at start. @defaultValue 16 */
  openConcurrency?: number
  /** Old segments whose index mirrors stay loaded, across all logs. @defaultValue 1000 */
  maxLoadedSegmentIndexes?: number
  clock?: () => number
}

export const logManagerDefaults = Object.freeze({
  flush: 'interval' as FlushPolicy,
  maxOpenFiles: 1000,
  checkpointIntervalMs: 60_000,
  flushCheckIntervalMs: 100,
  openConcurrency: 16,
  maxLoadedSegmentIndexes: 1000
})

const optionKeys = new Set(['directory', 'fs', 'flush', 'logConfig', 'maxOpenFiles', 'checkpointIntervalMs', 'flushCheckIntervalMs', 'openConcurrency', 'maxLoadedSegmentIndexes', 'clock'])

function key (topic: string, partition: number): string { return `${topic}\u0000${partition}` }

export class LogManager {
  readonly layout: DataLayout
  readonly files: FileCache
  readonly indexCache: SegmentIndexCache
  readonly flushPolicy: FlushPolicy
  /** Whether the previous shutdown was clean (no rescan was needed). */
  wasCleanShutdown = false
  private readonly fs: FileSystem
  private readonly options: LogManagerOptions
  private readonly clock: () => number
  private readonly logsByKey = new Map<string, PartitionLog>()
  private readonly opening = new Map<string, Promise<PartitionLog>>()
  private readonly scheduledFlushes = new Set<PartitionLog>()
  private checkpointTimer: NodeJS.Timeout | undefined
  private flushTimer: NodeJS.Timeout | undefined
  private checkpointRunning: Promise<void> | undefined
  private closePromise: Promise<void> | undefined

  private constructor (options: LogManagerOptions) {
    for (const name of Object.keys(options)) {
      if (!optionKeys.has(name)) throw new SluiceError('SLUICE_INVALID_OPTION', `unknown log manager option ${name}`)
    }
    if (typeof options.directory !== 'string' || options.directory.length === 0) {
      throw new SluiceError('SLUICE_INVALID_OPTION', 'directory must be a non-empty path')
    }
    const maxOpenFiles = options.maxOpenFiles ?? logManagerDefaults.maxOpenFiles
    if (!Number.isInteger(maxOpenFiles) || maxOpenFiles < 4) throw new SluiceError('SLUICE_INVALID_OPTION', 'maxOpenFiles must be an integer >= 4')
    const maxLoaded = options.maxLoadedSegmentIndexes ?? logManagerDefaults.maxLoadedSegmentIndexes
    if (!Number.isInteger(maxLoaded) || maxLoaded < 0) throw new SluiceError('SLUICE_INVALID_OPTION', 'maxLoadedSegmentIndexes must be an integer >= 0')
    this.options = options
    this.fs = options.fs ?? nodeFileSystem
    this.layout = new DataLayout(options.directory.replace(/\/+$/, ''))
    this.files = new FileCache(this.fs, maxOpenFiles)
    this.indexCache = new SegmentIndexCache(options.maxLoadedSegmentIndexes ?? logManagerDefaults.maxLoadedSegmentIndexes)
    this.flushPolicy = options.flush ?? logManagerDefaults.flush
    this.clock = options.clock ?? Date.now
  }

  /** Opens the data directory: loads (and after an unclean shutdown, recovers) every partition log in it. */
  static async open (options: LogManagerOptions): Promise<LogManager> {
    const manager = new LogManager(options)
    await manager.load()
    return manager
  }

  private async load (): Promise<void> {
    const fs = this.fs
    await fs.mkdir(this.layout.directory)
    this.wasCleanShutdown = (await fs.stat(this.layout.cleanShutdownFile)) !== undefined
    const recoveryPoints = await this.readCheckpoint(this.layout.recoveryPointCheckpointFile)
    const logStarts = await this.readCheckpoint(this.layout.logStartOffsetCheckpointFile)
    const names = await fs.readdir(this.layout.directory)
    const partitions = names.map(parsePartitionDirectoryName).filter((entry) => entry !== undefined)
    const concurrency = this.options.openConcurrency ?? logManagerDefaults.openConcurrency
    let next = 0
    const worker = async (): Promise<void> => {
      while (next < partitions.length) {
        const entry = partitions[next++]!
        const id = key(entry.topic, entry.partition)
        const log = await this.openLog(entry.topic, entry.partition, {
          recoveryPoint: this.wasCleanShutdown ? undefined : (recoveryPoints.get(id) ?? 0),
          logStartOffset: logStarts.get(id) ?? 0
        })
        this.logsByKey.set(id, log)
      }
    }
    try {
      await Promise.all(Array.from({ length: Math.min(concurrency, partitions.length) }, worker))
    } catch (error) {
      await Promise.allSettled([...this.logsByKey.values()].map(async (log) => { await log.close() }))
      await this.files.closeAll()
      throw error
    }
    if (this.wasCleanShutdown) {
      await fs.unlink(this.layout.cleanShutdownFile)
      await fs.syncDirectory(this.layout.directory)
    }
    await this.checkpoint()
    const checkpointInterval = this.options.checkpointIntervalMs ?? logManagerDefaults.checkpointIntervalMs
    this.checkpointTimer = setInterval(() => { void this.checkpoint().catch(() => {}) }, checkpointInterval)
    this.checkpointTimer.unref()
    if (this.flushPolicy === 'interval') {
      const tick = this.options.flushCheckIntervalMs ?? logManagerDefaults.flushCheckIntervalMs
      this.flushTimer = setInterval(() => { this.flushDue() }, tick)
      this.flushTimer.unref()
    }
  }

  private configFor (topic: string): Partial<PartitionLogConfig> | undefined {
    const config = this.options.logConfig
    return typeof config === 'function' ? config(topic) : config
  }

  private async openLog (topic: string, partition: number, state: { recoveryPoint?: number, logStartOffset?: number }): Promise<PartitionLog> {
    const options: Parameters<typeof PartitionLog.open>[0] = {
      layout: this.layout.partition(topic, partition),
      files: this.files,
      flush: this.flushPolicy,
      clock: this.clock,
      indexCache: this.indexCache
    }
    const config = this.configFor(topic)
    if (config !== undefined) options.config = config
    if (state.recoveryPoint !== undefined) options.recoveryPoint = state.recoveryPoint
    if (state.logStartOffset !== undefined) options.logStartOffset = state.logStartOffset
    return await PartitionLog.open(options)
  }

  /** The open log of a partition, or undefined. */
  getLog (topic: string, partition: number): PartitionLog | undefined {
    return this.logsByKey.get(key(topic, partition))
  }

  /** The log of a partition, created (empty) when it does not exist yet. */
  async createLog (topic: string, partition: number): Promise<PartitionLog> {
    this.ensureOpen()
    const id = key(topic, partition)
    const existing = this.logsByKey.get(id)
    if (existing !== undefined) return existing
    let pending = this.opening.get(id)
    if (pending === undefined) {
      pending = (async () => {
        await this.fs.mkdir(this.layout.partition(topic, partition).directory)
        await this.fs.syncDirectory(this.layout.directory)
        const log = await this.openLog(topic, partition, {})
        this.logsByKey.set(id, log)
        return log
      })().finally(() => this.opening.delete(id))
      this.opening.set(id, pending)
    }
    return await pending
  }

  /** Closes a partition's log and removes its directory (topic deletion). */
  async deleteLog (topic: string, partition: number): Promise<void> {
    this.ensureOpen()
    const id = key(topic, partition)
    const log = this.logsByKey.get(id)
    this.logsByKey.delete(id)
    if (log !== undefined) await log.close().catch(() => {})
    const directory = this.layout.partition(topic, partition).directory
    await this.files.forgetDirectory(directory)
    await this.fs.removeDirectory(directory)
    await this.fs.syncDirectory(this.layout.directory)
  }

  /** Every open partition log. */
  logs (): IterableIterator<PartitionLog> { return this.logsByKey.values() }

  get logCount (): number { return this.logsByKey.size }

  /** fdatasyncs every log with unflushed bytes. */
  async flushAll (): Promise<void> {
    const dirty = [...this.logsByKey.values()].filter((log) => log.hasUnflushedData)
    const results = await settleEach(dirty, this.options.openConcurrency ?? logManagerDefaults.openConcurrency, async (log) => { await log.flush() })
    const failed = results.find((result) => result.status === 'rejected')
    if (failed !== undefined) throw failed.reason
  }

  /** Writes the recovery-point and log-start checkpoints of every log (one at a time). */
  async checkpoint (): Promise<void> {
    if (this.checkpointRunning !== undefined) { await this.checkpointRunning; return }
    this.checkpointRunning = (async () => {
      const logs = [...this.logsByKey.values()]
      const points: Array<[string, number, number]> = []
      try {
        for (const log of logs) points.push([log.topic, log.partition, await log.prepareCheckpoint()])
        await this.writeCheckpoint(this.layout.recoveryPointCheckpointFile, points)
        await this.writeCheckpoint(this.layout.logStartOffsetCheckpointFile, logs.map((log) => [log.topic, log.partition, log.logStartOffset]))
      } catch (error) {
        throw storageError(error, `checkpoint of ${this.layout.directory} failed`, this.layout.directory)
      }
    })().finally(() => { this.checkpointRunning = undefined })
    await this.checkpointRunning
  }

  private flushDue (): void {
    const now = this.clock()
    const limit = this.options.openConcurrency ?? logManagerDefaults.openConcurrency
    // Bounded: at most `limit` scheduled flushes in flight; the rest wait for a later tick.
    for (const log of this.logsByKey.values()) {
      if (this.scheduledFlushes.size >= limit) break
      if (this.scheduledFlushes.has(log) || !log.hasUnflushedData || now - log.lastFlushTime < log.config.flushMs) continue
      this.scheduledFlushes.add(log)
      void log.flush().catch(() => {}).finally(() => this.scheduledFlushes.delete(log))
    }
  }

  private async writeCheckpoint (path: string, entries: Array<[string, number, number]>): Promise<void> {
    const lines = ['0', String(entries.length), ...entries.map(([topic, partition, offset]) => `${topic} ${partition} ${offset}`)]
    await writeFileAtomic(this.fs, path, new TextEncoder().encode(`${lines.join('\n')}\n`))
  }

  private async readCheckpoint (path: string): Promise<Map<string, number>> {
    const result = new Map<string, number>()
    let text: string
    try {
      text = new TextDecoder().decode(await this.fs.readFile(path))
    } catch {
      return result
    }
    const lines = text.split('\n').filter((line) => line.length > 0)
    if (lines[0] !== '0') return new Map()
    const count = Number(lines[1])
    if (!Number.isInteger(count) || count !== lines.length - 2) return new Map()
    for (const line of lines.slice(2)) {
      const parts = line.split(' ')
      const partition = Number(parts[1])
      const offset = Number(parts[2])
      if (parts.length !== 3 || !Number.isSafeInteger(partition) || !Number.isSafeInteger(offset) || offset < 0) return new Map()
      result.set(key(parts[0]!, partition), offset)
    }
    return result
  }

  private ensureOpen (): void {
    if (this.closePromise !== undefined) throw new SluiceError('SLUICE_CLOSED', 'storage engine is closed')
  }

  /**
   * Drains and fdatasyncs every log, writes the checkpoints and the clean-shutdown marker.
   * Idempotent. If a log cannot be closed cleanly, the marker is not written (the next open
   * recovers) and the first error is thrown.
   */
  async close (): Promise<void> {
    this.closePromise ??= this.closeOnce()
    return await this.closePromise
  }

  private async closeOnce (): Promise<void> {
    clearInterval(this.checkpointTimer)
    clearInterval(this.flushTimer)
    await this.checkpointRunning
    await Promise.all([...this.opening.values()].map(async (pending) => await pending.catch(() => undefined)))
    // Bounded fan-out: closing 10,000 logs at once would pin three descriptors each beyond the
    // file cache's bound and hold every close's buffers at the same time.
    const results = await settleEach([...this.logsByKey.values()], this.options.openConcurrency ?? logManagerDefaults.openConcurrency, async (log) => { await log.close() })
    const failed = results.find((result) => result.status === 'rejected')
    try {
      if (failed === undefined) {
        await this.checkpoint()
        await writeFileAtomic(this.fs, this.layout.cleanShutdownFile, new Uint8Array(0))
      }
    } finally {
      await this.files.closeAll()
    }
    if (failed !== undefined) throw failed.reason
  }

  async [Symbol.asyncDispose] (): Promise<void> { await this.close() }
}

/** Runs `task` over `items` with at most `concurrency` running at once; never rejects. */
async function settleEach<T> (items: readonly T[], concurrency: number, task: (item: T) => Promise<void>): Promise<Array<PromiseSettledResult<void>>> {
  const results: Array<PromiseSettledResult<void>> = new Array(items.length)
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++
      try {
        await task(items[index]!)
        results[index] = { status: 'fulfilled', value: undefined }
      } catch (error) {
        results[index] = { status: 'rejected', reason: error }
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(Math.max(1, concurrency), items.length) }, worker))
  return results
}
