/**
 * The engine: one data directory's topics, partition logs, group coordinator and background
 * tasks behind one object. The embedded client (src/client) and the Kafka broker (src/kafka)
 * are two faces of these same calls, so a batch produced in-process and one arriving in a
 * ProduceRequest take the same path (`append`).
 *
 * Owns, in opening order (closed in reverse):
 *   TopicRegistry  topics.json: names, partition counts, configs
 *   LogManager     every `<topic>-<partition>` directory, checkpoints, clean-shutdown marker
 *   GroupCoordinator  groups and committed offsets, persisted in `__consumer_offsets`
 *   RetentionTask  deletes old segments in the background
 *   CompactionTask the log cleaner of compacted topics (its work runs on worker threads)
 *   ProducerStateManager per partition (idempotent producers; `<offset>.snapshot` files) and
 *   ProducerIdManager (`producer-id-block`), see producer-state.ts and producer-id-manager.ts
 *
 * Long polls: a reader that is caught up waits on `waitForData`; every acknowledged append
 * wakes the waiters of its partition in the same tick, so no polling loop sits anywhere.
 *
 * One engine per data directory (a `.lock` file with the owner's pid guards it).
 *
 * Concurrency: single-threaded (the event loop); any number of calls may be outstanding.
 */
import { channel } from 'node:diagnostics_channel'
import { mkdir } from 'node:fs/promises'
import { SluiceError } from '../core/errors.js'
import type { FileSystem } from '../io/file-system.js'
import { nodeFileSystem } from '../io/file-system.js'
import { recompressBatch } from '../io/record-batch-compression.js'
import { batchesIn } from '../io/record-batch-view.js'
import { cleanablePartitionLog } from './cleanable-log.js'
import { acquireDataDirLock } from './data-dir-lock.js'
import type { DataDirLock } from './data-dir-lock.js'
import { GroupCoordinator } from './group-coordinator.js'
import type { GroupCoordinatorOptions } from './group-coordinator.js'
import { LogManager } from './log-manager.js'
import { LogOffsetStore } from './log-offset-store.js'
import { OFFSETS_TOPIC } from './offset-records.js'
import { validateBatch } from './partition-log.js'
import type { FlushPolicy, PartitionLog, PartitionLogConfig, ReadResult } from './partition-log.js'
import { ProducerIdManager } from './producer-id-manager.js'
import type { ProducerIdentity } from './producer-id-manager.js'
import { PRODUCER_ID_EXPIRATION_MS_DEFAULT, ProducerStateManager, appendIdempotent, producerHeaderOf } from './producer-state.js'
import type { ProducerAppendResult } from './producer-state.js'
import { CompactionTask } from './compaction.js'
import { RetentionTask, deleteRecords } from './retention.js'
import { StagingQueue, recompressionCodec } from './topic-compression.js'
import { LONG_MAX } from './topic-config.js'
import type { TopicConfig } from './topic-config.js'
import type { CreateTopicOptions, TopicDescription } from './topic-registry.js'
import { TopicRegistry } from './topic-registry.js'

/** Results and errors of background cleaning (observability; the engine never logs). */
const retentionChannel = channel('sluice:engine:retention')
const cleanerChannel = channel('sluice:engine:cleaner')

export interface EngineOptions {
  /** The data directory, created when missing. */
  dataDir: string
  /**
   * When appends reach the disk. 'always': every acknowledged append is covered by
   * fdatasync (group commit); 'interval': fdatasync every `flushIntervalMs` (or the topic's
   * `flush.ms`); 'never': only on segment roll and close. @defaultValue 'interval'
   */
  flush?: FlushPolicy
  /**
   * Under `flush: 'interval'`, the longest a write waits for its fdatasync, for topics that do
   * not set `flush.ms`. Kafka: `log.flush.interval.ms`. @defaultValue 1000
   */
  flushIntervalMs?: number
  /** Create a topic on first produce or fetch. Kafka: `auto.create.topics.enable`. @defaultValue true */
  autoCreateTopics?: boolean
  /** Partitions of an auto-created topic. Kafka: `num.partitions`. @defaultValue 1 */
  numPartitions?: number
  /** Partitions of `__consumer_offsets`. Kafka: `offsets.topic.num.partitions`. @defaultValue 50 */
  offsetsTopicPartitions?: number
  /** Group coordinator settings (timeouts, sizes). */
  groups?: Omit<GroupCoordinatorOptions, 'store' | 'offsetsTopicNumPartitions'>
  /** Kafka: `log.retention.check.interval.ms`. @defaultValue 300000 */
  retentionCheckIntervalMs?: number
  /** Pause between two passes of the log cleaner over compacted topics. Kafka: `log.cleaner.backoff.ms`. @defaultValue 15000 */
  logCleanerBackoffMs?: number
  /** File descriptors kept open at most. @defaultValue 1000 */
  maxOpenFiles?: number
  /**
   * An idempotent producer's state in a partition is dropped after this long without a write;
   * its next batch is then accepted at any sequence. Kafka: `producer.id.expiration.ms`.
   * @defaultValue 86400000
   */
  producerIdExpirationMs?: number
  /** File operations; tests pass a fault-injecting one. */
  fs?: FileSystem
}

export const engineDefaults = Object.freeze({
  flush: 'interval' as FlushPolicy,
  flushIntervalMs: 1000,
  autoCreateTopics: true,
  numPartitions: 1,
  offsetsTopicPartitions: 50,
  retentionCheckIntervalMs: 300_000,
  logCleanerBackoffMs: 15_000,
  maxOpenFiles: 1000,
  producerIdExpirationMs: PRODUCER_ID_EXPIRATION_MS_DEFAULT
})

const optionKeys = new Set(['dataDir', 'flush', 'flushIntervalMs', 'autoCreateTopics', 'numPartitions', 'offsetsTopicPartitions', 'groups', 'retentionCheckIntervalMs', 'logCleanerBackoffMs', 'maxOpenFiles', 'producerIdExpirationMs', 'fs'])

export interface TopicPartition {
  topic: string
  partition: number
}

export interface FetchWait extends TopicPartition {
  /** Wake when the high watermark passes this offset. */
  offset: number
}

/** Offsets a ListOffsets-style lookup answers. */
export const LATEST_TIMESTAMP = -1
export const EARLIEST_TIMESTAMP = -2
export const MAX_TIMESTAMP = -3

export interface ListedOffset {
  offset: number
  timestamp: number
}

function partitionKey (topic: string, partition: number): string { return `${topic}\u0000${partition}` }

function splitPartitionKey (key: string): [string, number] {
  const at = key.lastIndexOf('\u0000')
  return [key.slice(0, at), Number(key.slice(at + 1))]
}

/**
 * The log config of a topic. Kafka's `flush.ms` defaults to "never" because Kafka's durability
 * comes from replicas; a single node under `flush: 'interval'` fsyncs every `flushIntervalMs`
 * unless the topic sets its own `flush.ms`.
 */
function logConfigOf (config: Readonly<TopicConfig>, flushIntervalMs: number): Partial<PartitionLogConfig> {
  return {
    segmentBytes: config.segmentBytes,
    segmentMs: config.segmentMs,
    segmentJitterMs: config.segmentJitterMs,
    segmentIndexBytes: config.segmentIndexBytes,
    indexIntervalBytes: config.indexIntervalBytes,
    maxMessageBytes: config.maxMessageBytes,
    flushMessages: config.flushMessages,
    flushMs: config.flushMs === LONG_MAX ? flushIntervalMs : config.flushMs,
    messageTimestampType: config.messageTimestampType,
    messageTimestampBeforeMaxMs: config.messageTimestampBeforeMaxMs,
    messageTimestampAfterMaxMs: config.messageTimestampAfterMaxMs
  }
}

export function resolveEngineOptions (options: EngineOptions): Readonly<Required<Omit<EngineOptions, 'groups' | 'fs'>> & Pick<EngineOptions, 'groups'> & { fs: FileSystem }> {
  if (typeof options !== 'object' || options === null) throw new SluiceError('SLUICE_INVALID_OPTION', 'engine options must be an object')
  for (const key of Object.keys(options)) {
    if (!optionKeys.has(key)) throw new SluiceError('SLUICE_INVALID_OPTION', `unknown engine option ${key}`)
  }
  if (typeof options.dataDir !== 'string' || options.dataDir.length === 0) throw new SluiceError('SLUICE_INVALID_OPTION', 'dataDir must be a non-empty path')
  const resolved = { ...engineDefaults, ...options, fs: options.fs ?? nodeFileSystem }
  if (!['always', 'interval', 'never'].includes(resolved.flush)) {
    throw new SluiceError('SLUICE_INVALID_OPTION', `flush must be 'always', 'interval' or 'never', got ${String(resolved.flush)}`)
  }
  for (const [name, low] of [['numPartitions', 1], ['offsetsTopicPartitions', 1], ['flushIntervalMs', 0], ['retentionCheckIntervalMs', 1], ['logCleanerBackoffMs', 1], ['maxOpenFiles', 4], ['producerIdExpirationMs', 1]] as const) {
    const value = resolved[name]
    if (!Number.isSafeInteger(value) || value < low) throw new SluiceError('SLUICE_INVALID_OPTION', `${name} must be an integer >= ${low}, got ${String(value)}`)
  }
  return Object.freeze(resolved)
}

interface DataWaiter {
  keys: string[]
  wake: () => void
}

export class Engine {
  readonly options: ReturnType<typeof resolveEngineOptions>
  topics!: TopicRegistry
  logs!: LogManager
  groups!: GroupCoordinator
  private retention!: RetentionTask
  private compaction!: CompactionTask
  private readonly waitersByPartition = new Map<string, Set<DataWaiter>>()
  private readonly cleanerEntries = new Map<string, () => void>()
  private readonly producerStates = new Map<string, ProducerStateManager>()
  /** Appends of partitions with a recompression pending, kept in call order (topic-compression.ts). */
  private readonly staging = new StagingQueue()
  private producerIds: ProducerIdManager | undefined
  private readonly producerSnapshots = new Set<Promise<void>>()
  private closePromise: Promise<void> | undefined
  private lock: DataDirLock | undefined

  private constructor (options: EngineOptions) {
    this.options = resolveEngineOptions(options)
  }

  static async open (options: EngineOptions): Promise<Engine> {
    const engine = new Engine(options)
    await engine.load()
    return engine
  }

  private async load (): Promise<void> {
    const { dataDir, fs } = this.options
    if (fs === nodeFileSystem) {
      await mkdir(dataDir, { recursive: true })
      this.lock = await acquireDataDirLock(dataDir)
    }
    try {
      await this.loadLocked()
    } catch (error) {
      await this.lock?.release()
      throw error
    }
  }

  private async loadLocked (): Promise<void> {
    const { dataDir, fs, flush } = this.options
    this.topics = await TopicRegistry.open({
      dataDirectory: dataDir,
      fs,
      hooks: {
        releasePartitions: async (topic, partitionCount) => { await this.releasePartitions(topic, partitionCount) },
        configChanged: (topic, config) => { this.applyTopicConfig(topic, config) }
      }
    })
    try {
      this.logs = await LogManager.open({
        directory: dataDir,
        fs,
        flush,
        maxOpenFiles: this.options.maxOpenFiles,
        logConfig: (topic) => {
          const description = this.topics.find(topic)
          return description === undefined ? {} : logConfigOf(description.config, this.options.flushIntervalMs)
        }
      })
    } catch (error) {
      await this.topics.close()
      throw error
    }
    this.retention = new RetentionTask({
      checkIntervalMs: this.options.retentionCheckIntervalMs,
      onResult: (log, result) => { if (retentionChannel.hasSubscribers) retentionChannel.publish({ directory: log.layout.directory, result }) }
    })
    this.compaction = new CompactionTask({
      backoffMs: this.options.logCleanerBackoffMs,
      onResult: (log, result) => { if (cleanerChannel.hasSubscribers) cleanerChannel.publish({ directory: log.layout.directory, result }) }
    })
    for (const name of this.topics.list({ includeInternal: true })) {
      await this.openPartitions(this.topics.describe(name))
    }
    this.retention.start()
    this.compaction.start()
    const store = new LogOffsetStore({
      partitionCount: this.options.offsetsTopicPartitions,
      ensureTopic: async () => await this.ensureOffsetsTopic(),
      log: (partition) => this.logs.getLog(OFFSETS_TOPIC, partition),
      append: async (partition, batch) => await this.append(OFFSETS_TOPIC, partition, batch)
    })
    this.groups = await GroupCoordinator.open({ ...this.options.groups, store, offsetsTopicNumPartitions: this.options.offsetsTopicPartitions })
  }

  private async ensureOffsetsTopic (): Promise<void> {
    if (this.topics.has(OFFSETS_TOPIC)) return
    await this.createTopic(OFFSETS_TOPIC, {
      partitions: this.options.offsetsTopicPartitions,
      internal: true,
      configs: { 'cleanup.policy': 'compact', 'segment.bytes': String(100 * 1024 * 1024) }
    })
  }

  /** Creates the logs of every partition of a topic that has none yet, and registers them for retention. */
  private async openPartitions (description: TopicDescription): Promise<void> {
    for (let partition = 0; partition < description.partitionCount; partition++) {
      const id = partitionKey(description.name, partition)
      if (this.cleanerEntries.has(id)) continue
      const log = await this.logs.createLog(description.name, partition)
      await this.openProducerState(id, log)
      const cleanable = cleanablePartitionLog(log, { fs: this.options.fs, persistLogStartOffset: async () => { await this.logs.checkpoint() } })
      const config = (): Readonly<TopicConfig> => this.topics.find(description.name)?.config ?? description.config
      const removeRetention = this.retention.add({ log: cleanable, config })
      // The cleaner skips logs whose cleanup.policy has no 'compact' (it may be altered later).
      const removeCompaction = this.compaction.add({ log: cleanable, config })
      this.cleanerEntries.set(id, () => { removeRetention(); removeCompaction() })
    }
  }

  /** Pushes a changed topic config to the open logs of the topic (retention and compaction read it live). */
  private applyTopicConfig (topic: string, config: Readonly<TopicConfig>): void {
    const description = this.topics.find(topic)
    if (description === undefined) return
    const logConfig = logConfigOf(config, this.options.flushIntervalMs)
    for (let partition = 0; partition < description.partitionCount; partition++) {
      this.logs.getLog(topic, partition)?.reconfigure(logConfig)
    }
  }

  private async releasePartitions (topic: string, partitionCount: number): Promise<void> {
    for (let partition = 0; partition < partitionCount; partition++) {
      const id = partitionKey(topic, partition)
      this.cleanerEntries.get(id)?.()
      this.cleanerEntries.delete(id)
      const state = this.producerStates.get(id)
      this.producerStates.delete(id)
      state?.clear()
      // A snapshot still being written must not land in a directory recreated under the same name.
      await state?.idle()
      await this.logs.deleteLog(topic, partition)
      this.wakePartition(id)
    }
  }

  private ensureOpen (): void {
    if (this.closePromise !== undefined) throw new SluiceError('SLUICE_CLOSED', 'the engine is closed')
  }

  // ---- topics ---------------------------------------------------------------------------

  async createTopic (name: string, options: CreateTopicOptions = {}): Promise<TopicDescription> {
    this.ensureOpen()
    const description = await this.topics.create(name, options)
    if (options.validateOnly !== true) await this.openPartitions(description)
    return description
  }

  async deleteTopic (name: string): Promise<void> {
    this.ensureOpen()
    if (name.startsWith('__')) throw new SluiceError('INVALID_TOPIC_EXCEPTION', `topic ${name} is internal and cannot be deleted`)
    await this.topics.delete(name)
  }

  async createPartitions (name: string, totalCount: number, options: { validateOnly?: boolean } = {}): Promise<TopicDescription> {
    this.ensureOpen()
    const description = await this.topics.createPartitions(name, totalCount, options)
    if (options.validateOnly !== true) await this.openPartitions(description)
    return description
  }

  /**
   * The topic's description; creates it when auto-creation is on and `autoCreate` is not
   * false. Unknown topic otherwise: UNKNOWN_TOPIC_OR_PARTITION.
   */
  async topic (name: string, options: { autoCreate?: boolean } = {}): Promise<TopicDescription> {
    this.ensureOpen()
    const found = this.topics.find(name)
    if (found !== undefined) return found
    if (options.autoCreate === false || !this.options.autoCreateTopics || name.startsWith('__')) {
      throw new SluiceError('UNKNOWN_TOPIC_OR_PARTITION', `topic ${name} does not exist`)
    }
    try {
      return await this.createTopic(name, { partitions: this.options.numPartitions })
    } catch (error) {
      // Two auto-creations of one name race: the loser sees the winner's topic.
      const created = this.topics.find(name)
      if (created !== undefined) return created
      throw error
    }
  }

  /** The log of a partition of an existing topic. */
  partitionLog (topic: string, partition: number): PartitionLog {
    this.ensureOpen()
    const description = this.topics.find(topic)
    if (description === undefined) throw new SluiceError('UNKNOWN_TOPIC_OR_PARTITION', `topic ${topic} does not exist`)
    if (!Number.isInteger(partition) || partition < 0 || partition >= description.partitionCount) {
      throw new SluiceError('UNKNOWN_TOPIC_OR_PARTITION', `topic ${topic} has no partition ${partition} (it has ${description.partitionCount})`)
    }
    const log = this.logs.getLog(topic, partition)
    if (log === undefined) throw new SluiceError('UNKNOWN_TOPIC_OR_PARTITION', `partition ${topic}-${partition} is not open`)
    return log
  }

  // ---- the one append path --------------------------------------------------------------

  /**
   * Appends one RecordBatch v2 to a partition and wakes its waiting readers once the batch is
   * readable. Resolves with the offsets assigned and the durability reached.
   *
   * A batch with producerId >= 0 goes through the partition's producer state first
   * (producer-state.ts): a retry of a batch already stored resolves with the original offsets
   * and `duplicate: true` without writing; a sequence gap rejects with
   * OUT_OF_ORDER_SEQUENCE_NUMBER and a fenced epoch with INVALID_PRODUCER_EPOCH, nothing stored.
   * A topic whose `compression.type` names a codec stores the batch recompressed with it
   * (topic-compression.ts).
   */
  append (topic: string, partition: number, batch: Uint8Array): Promise<ProducerAppendResult> {
    try {
      const log = this.partitionLog(topic, partition)
      const key = partitionKey(topic, partition)
      const config = this.topics.find(topic)!.config
      const codec = recompressionCodec(config.compressionType, batch)
      if (codec === undefined && !this.staging.has(key)) return this.appendToLog(log, key, batch)
      let prepared: Promise<Uint8Array>
      if (codec === undefined) {
        prepared = Promise.resolve(batch)
      } else {
        // The incoming bytes are checked before recompression computes a new CRC over them.
        validateBatch(batch, config.maxMessageBytes)
        prepared = recompressBatch(batch, codec)
      }
      return this.staging.enqueue(key, prepared, async (stored) => await this.appendToLog(log, key, stored))
    } catch (error) {
      return Promise.reject(error)
    }
  }

  /** `append` once the batch is as the log will store it; stages it in this call's first step. */
  private async appendToLog (log: PartitionLog, key: string, batch: Uint8Array): Promise<ProducerAppendResult> {
    const header = producerHeaderOf(batch)
    const state = this.producerStates.get(key)
    if (header === undefined || state === undefined) {
      const result = await log.append(batch)
      this.wakePartition(key)
      // Snapshots at rolls (and every minute) bound the replay after an unclean shutdown, whoever appends.
      if (state?.snapshotDue(log) === true) this.snapshotProducerState(state, log)
      return result
    }
    const result = await appendIdempotent(log, state, batch, header)
    if (result.duplicate !== true) {
      this.wakePartition(key)
      if (state.snapshotDue(log)) this.snapshotProducerState(state, log)
    }
    return result
  }

  // ---- idempotent producers ---------------------------------------------------------------

  /**
   * Kafka's InitProducerId for a producer without a transactional id: always a fresh producer
   * id (unique for the life of the data directory), epoch 0.
   */
  async initProducerId (): Promise<ProducerIdentity> {
    this.ensureOpen()
    this.producerIds ??= new ProducerIdManager({
      fs: this.options.fs,
      dataDirectory: this.options.dataDir,
      floor: () => {
        let max = -1
        for (const state of this.producerStates.values()) max = Math.max(max, state.maxProducerId)
        return max + 1
      }
    })
    return await this.producerIds.allocate()
  }

  /** The producer state of a partition (tests and tools). */
  producerState (topic: string, partition: number): ProducerStateManager | undefined {
    return this.producerStates.get(partitionKey(topic, partition))
  }

  private async openProducerState (id: string, log: PartitionLog): Promise<void> {
    if (this.producerStates.has(id)) return
    const state = new ProducerStateManager({ expirationMs: this.options.producerIdExpirationMs })
    await state.load(this.options.fs, log)
    this.producerStates.set(id, state)
  }

  /** Background snapshot (after a roll); a failure only means a longer replay at the next open. */
  private snapshotProducerState (state: ProducerStateManager, log: PartitionLog): void {
    const running = state.writeSnapshot(this.options.fs, log).catch(() => {}).finally(() => { this.producerSnapshots.delete(running) })
    this.producerSnapshots.add(running)
  }

  /** Snapshots every partition's producer state (clean shutdown), a few at a time. */
  private async snapshotAllProducerStates (): Promise<void> {
    await Promise.all([...this.producerSnapshots])
    const pending = [...this.producerStates.entries()]
    const failures: unknown[] = []
    const worker = async (): Promise<void> => {
      for (let next = pending.shift(); next !== undefined; next = pending.shift()) {
        const [id, state] = next
        const log = this.logs.getLog(...splitPartitionKey(id))
        if (log === undefined) continue
        try { await state.writeSnapshot(this.options.fs, log) } catch (error) { failures.push(error) }
      }
    }
    await Promise.all(Array.from({ length: 8 }, worker))
    if (failures.length > 0) throw failures[0]
  }

  // ---- reads ----------------------------------------------------------------------------

  /** Stored batches from `offset` (at least one whole batch when any is readable). */
  async read (topic: string, partition: number, offset: number, maxBytes?: number): Promise<ReadResult> {
    const log = this.partitionLog(topic, partition)
    return await log.read(offset, maxBytes === undefined ? {} : { maxBytes })
  }

  /**
   * Resolves once any of the partitions has readable data at or past its offset, after
   * `maxWaitMs`, on abort, or when a partition goes away. Never rejects for a timeout: the
   * caller reads and finds what there is.
   */
  async waitForData (partitions: readonly FetchWait[], maxWaitMs: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted === true) return
    for (const wait of partitions) {
      const log = this.logs.getLog(wait.topic, wait.partition)
      if (log === undefined || log.highWatermark > wait.offset || log.logStartOffset > wait.offset) return
    }
    if (maxWaitMs <= 0) return
    await new Promise<void>((resolve) => {
      const keys = partitions.map((wait) => partitionKey(wait.topic, wait.partition))
      let timer: NodeJS.Timeout | undefined
      const waiter: DataWaiter = {
        keys,
        wake: () => {
          for (const key of keys) this.waitersByPartition.get(key)?.delete(waiter)
          if (timer !== undefined) clearTimeout(timer)
          signal?.removeEventListener('abort', waiter.wake)
          resolve()
        }
      }
      for (const key of keys) {
        let set = this.waitersByPartition.get(key)
        if (set === undefined) {
          set = new Set()
          this.waitersByPartition.set(key, set)
        }
        set.add(waiter)
      }
      timer = setTimeout(waiter.wake, maxWaitMs)
      signal?.addEventListener('abort', waiter.wake, { once: true })
    })
  }

  private wakePartition (key: string): void {
    const waiters = this.waitersByPartition.get(key)
    if (waiters === undefined || waiters.size === 0) return
    this.waitersByPartition.delete(key)
    for (const waiter of waiters) waiter.wake()
  }

  /**
   * Kafka's ListOffsets: LATEST_TIMESTAMP (-1) -> high watermark, EARLIEST_TIMESTAMP (-2) -> log
   * start offset, MAX_TIMESTAMP (-3) -> the offset of the largest timestamp, t >= 0 -> the first
   * offset whose timestamp is >= t (offset -1 when none).
   */
  async listOffset (topic: string, partition: number, timestamp: number): Promise<ListedOffset> {
    const log = this.partitionLog(topic, partition)
    if (timestamp === LATEST_TIMESTAMP) return { offset: log.highWatermark, timestamp: -1 }
    if (timestamp === EARLIEST_TIMESTAMP) return { offset: log.logStartOffset, timestamp: -1 }
    if (timestamp === MAX_TIMESTAMP) return await this.maxTimestampOffset(log)
    if (!Number.isSafeInteger(timestamp) || timestamp < 0) throw new SluiceError('INVALID_REQUEST', `invalid timestamp ${timestamp}`)
    const found = await log.offsetForTimestamp(timestamp)
    return found === undefined ? { offset: -1, timestamp: -1 } : found
  }

  private async maxTimestampOffset (log: PartitionLog): Promise<ListedOffset> {
    // Bounded scan: one read per batch group until the high watermark; rare (admin tools only).
    let best: ListedOffset = { offset: -1, timestamp: -1 }
    let offset = log.logStartOffset
    while (offset < log.highWatermark) {
      const { records } = await log.read(offset, { maxBytes: 4 * 1024 * 1024 })
      if (records.byteLength === 0) break
      let next = offset
      for (const batch of batchesIn(records, { verifyCrc: false })) {
        if (batch.maxTimestamp > best.timestamp) {
          for (const record of batch) {
            if (record.timestamp > best.timestamp) best = { offset: record.offset, timestamp: record.timestamp }
          }
        }
        next = batch.nextOffset
      }
      if (next <= offset) break
      offset = next
    }
    return best
  }

  /** Kafka's DeleteRecords: raises the log start offset; returns the new low watermark. */
  async deleteRecords (topic: string, partition: number, offset: number): Promise<number> {
    const log = this.partitionLog(topic, partition)
    const cleanable = cleanablePartitionLog(log, { fs: this.options.fs, persistLogStartOffset: async () => { await this.logs.checkpoint() } })
    return await deleteRecords(cleanable, offset, { scheduler: this.retention.scheduler })
  }

  /** Runs one retention pass over every log now (tests and admin tools). */
  async runRetention (): Promise<void> {
    this.ensureOpen()
    await this.retention.runOnce()
  }

  /** Runs one log-cleaner pass over every compacted log now (tests and admin tools). */
  async runCompaction (): Promise<void> {
    this.ensureOpen()
    await this.compaction.runOnce()
  }

  // ---- lifecycle ------------------------------------------------------------------------

  /** Flushes every log, writes checkpoints and the clean-shutdown marker. Idempotent. */
  close (): Promise<void> {
    this.closePromise ??= (async () => {
      for (const waiters of this.waitersByPartition.values()) {
        for (const waiter of [...waiters]) waiter.wake()
      }
      const failures: unknown[] = []
      const step = async (action: () => Promise<unknown>): Promise<void> => {
        try { await action() } catch (error) { failures.push(error) }
      }
      await step(async () => { await this.groups.close() })
      await step(async () => { await this.compaction.close() })
      await step(async () => { await this.retention.close() })
      await step(async () => { await this.logs.close() })
      await step(async () => { await this.snapshotAllProducerStates() })
      await step(async () => { await this.topics.close() })
      await this.lock?.release()
      if (failures.length > 0) {
        throw new SluiceError('KAFKA_STORAGE_ERROR', `closing the engine failed: ${failures.map((error) => (error as Error).message).join('; ')}`, { cause: failures[0] })
      }
    })()
    return this.closePromise
  }

  async [Symbol.asyncDispose] (): Promise<void> { await this.close() }
}
