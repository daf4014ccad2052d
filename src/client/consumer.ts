/**
 * The embedded consumer: reads stored batches straight from the partition logs (no copy, no
 * re-encoding), hands them to `eachBatch` or `eachMessage`, and tracks and commits positions.
 *
 * Fetch loop: over the assigned, unpaused partitions it reads from each position (up to
 * `maxBytesPerPartition`, at least one whole batch); when every partition is caught up it
 * waits in `engine.waitForData`, which an acknowledged append ends in the same tick, so a
 * caught-up consumer wakes within a millisecond of new data with no polling loop.
 *
 * Positions: the next offset to hand out, per partition. A new partition starts at its
 * committed offset (group), else at `autoOffsetReset` (earliest = log start, latest = high
 * watermark; 'none' fails with OFFSET_OUT_OF_RANGE). A position that falls out of the log
 * (retention, deleteRecords) resets the same way.
 *
 * Delivery: `eachMessage` gets one record at a time and the position advances past each
 * record once its handler returns; `eachBatch` gets every record read from a partition in one
 * call and the position advances past the batch when it returns (or as `resolveOffset` says).
 * Offsets committed are positions (the next record to process), as Kafka commits them:
 * commit after processing = at-least-once; commit before = at-most-once.
 *
 * Concurrency: one fetch loop per consumer, handlers called one at a time, in offset order per
 * partition.
 */
import { SluiceError, isSluiceError } from '../core/errors.js'
import type { TopicPartitions } from '../engine/consumer-protocol.js'
import type { Engine, FetchWait } from '../engine/engine.js'
import { batchesIn } from '../io/record-batch-view.js'
import type { KafkaRecord, RecordBatchView, RecordIterator } from '../io/record-batch-view.js'
import { resolveConsumerOptions } from './consumer-options.js'
import type { ConsumerOptions, OffsetReset, ResolvedConsumerOptions } from './consumer-options.js'
import { GroupMembership } from './group-membership.js'

/**
 * One record as a handler sees it: the decoder's own record object, handed over without a copy.
 * `key` and `value` are Buffers viewing the stored batch (copy them to keep them past the
 * handler if the log may be compacted or deleted under you). `headers` is an array, as Kafka
 * allows a key to repeat.
 */
export interface ConsumedMessage {
  offset: number
  /** CreateTime of the record, or the broker's append time on LogAppendTime topics. */
  timestamp: number
  key: Buffer | null
  value: Buffer | null
  headers: ReadonlyArray<{ key: string, value: Buffer | null }>
  offsetDelta: number
  timestampDelta: number
  attributes: number
}

export interface EachMessagePayload {
  topic: string
  partition: number
  message: ConsumedMessage
  /** Pauses this partition after the current message. */
  pause: () => void
  /** Kept for kafkajs parity; heartbeats run on their own in-process. */
  heartbeat: () => Promise<void>
}

export interface ConsumedBatch {
  topic: string
  partition: number
  highWatermark: number
  messages: ConsumedMessage[]
  firstOffset: () => number | null
  lastOffset: () => number
}

export interface EachBatchPayload {
  batch: ConsumedBatch
  /** Marks everything up to and including `offset` as processed. */
  resolveOffset: (offset: number) => void
  heartbeat: () => Promise<void>
  commitOffsetsIfNecessary: () => Promise<void>
  isRunning: () => boolean
  /** True when the partition was revoked or sought while the handler ran: stop early. */
  isStale: () => boolean
  pause: () => void
}

export interface RunOptions {
  eachMessage?: (payload: EachMessagePayload) => Promise<void> | void
  eachBatch?: (payload: EachBatchPayload) => Promise<void> | void
  /** Advance past the whole batch when eachBatch returns. @defaultValue true */
  eachBatchAutoResolve?: boolean
  /**
   * Called when a handler throws. The record (or the unresolved rest of the batch) is not
   * marked processed and is delivered again after `handlerRetryBackoffMs`, so nothing is
   * skipped (at-least-once). @defaultValue none (the error is kept in `consumer.lastError`)
   */
  onHandlerError?: (error: unknown, where: { topic: string, partition: number }) => void
  /** Wait before redelivering after a handler error. @defaultValue 100 */
  handlerRetryBackoffMs?: number
}

/** A handler's own failure, told apart from the engine's in the fetch loop. */
class HandlerFailure {
  constructor (readonly cause: unknown, readonly topic: string, readonly partition: number) {}
}

export interface SubscribeOptions {
  topics?: Array<string | RegExp>
  topic?: string | RegExp
  /** Without a committed offset, start at the beginning (kafkajs's name for autoOffsetReset 'earliest'). */
  fromBeginning?: boolean
}

export interface TopicPartitionOffset {
  topic: string
  partition: number
  offset: number
  metadata?: string | null
}

export interface RebalanceListener {
  onPartitionsAssigned?: (partitions: TopicPartitions[]) => void | Promise<void>
  /** Before losing partitions in a rebalance; offsets are committed after it returns (auto-commit). */
  onPartitionsRevoked?: (partitions: TopicPartitions[]) => void | Promise<void>
  /** The group moved on without this member (session expired): the partitions cannot be committed. */
  onPartitionsLost?: (partitions: TopicPartitions[]) => void | Promise<void>
}

interface PartitionState {
  topic: string
  partition: number
  /** Next offset to deliver; -1 until resolved. */
  position: number
  /** Last position committed (or fetched as committed). */
  committed: number
  paused: boolean
  /** Bumped by seek and revocation so in-flight deliveries notice. */
  epoch: number
  reset: OffsetReset
  /** This partition's entry in the long-poll wait, updated in place (no object per wait). */
  wait: FetchWait
}

/** Wait before retrying a read that failed with a retriable error. */
const RETRIABLE_BACKOFF_MS = 50

function keyOf (topic: string, partition: number): string { return `${topic}\u0000${partition}` }

/**
 * The decoder views keys and values in the bytes it is given; handed a Buffer (as `deliver`
 * makes sure), those views are Buffers, so the record is already the message.
 */
function toMessage (record: KafkaRecord): ConsumedMessage {
  return record as ConsumedMessage
}

export class Consumer {
  readonly options: Readonly<ResolvedConsumerOptions>
  private readonly engine: Engine
  private readonly subscriptions: Array<{ pattern: string | RegExp, fromBeginning: boolean }> = []
  private readonly partitions = new Map<string, PartitionState>()
  /** Bumped whenever `partitions` gains or loses an entry; the fetch loop rebuilds its list then. */
  private partitionsVersion = 0
  /** The long-poll wait list, refilled in place before each wait. */
  private readonly waitList: FetchWait[] = []
  private membership: GroupMembership | undefined
  private manual = false
  private running = false
  private loop: Promise<void> | undefined
  private wake: AbortController = new AbortController()
  private autoCommitTimer: NodeJS.Timeout | undefined
  private metadataTimer: NodeJS.Timeout | undefined
  /** Counts handler calls; the metadata timer watches it to spot one handler running too long. */
  private handlerSerial = 0
  private watchedSerial = -1
  private watchedSinceMs = 0
  private handlerRunning = false
  private handlerIdleWaiters: Array<() => void> = []
  private slowHandlerReported = false
  private lastTopics = ''
  private lastPartitionCounts = ''
  private fatalError: SluiceError | undefined
  private closing: Promise<void> | undefined
  private commitChain: Promise<void> = Promise.resolve()
  /** Errors of background work (auto-commit, fatal group errors); the last one is kept. */
  lastError: unknown
  rebalanceListener: RebalanceListener = {}

  constructor (engine: Engine, options: ConsumerOptions = {}) {
    this.engine = engine
    this.options = resolveConsumerOptions(options)
  }

  /** Subscribes to topics by name or RegExp (internal topics never match a RegExp). */
  async subscribe (subscription: SubscribeOptions): Promise<void> {
    this.ensureOpen()
    if (this.manual) throw new SluiceError('SLUICE_INVALID_OPTION', 'this consumer uses assign(); subscribe and assign do not mix')
    const patterns = subscription.topics ?? (subscription.topic === undefined ? [] : [subscription.topic])
    if (patterns.length === 0) throw new SluiceError('SLUICE_INVALID_OPTION', 'subscribe needs topics')
    for (const pattern of patterns) {
      if (typeof pattern !== 'string' && !(pattern instanceof RegExp)) throw new SluiceError('SLUICE_INVALID_OPTION', 'topics must be strings or RegExps')
      if (typeof pattern === 'string') await this.engine.topic(pattern)
      this.subscriptions.push({ pattern, fromBeginning: subscription.fromBeginning === true })
    }
    if (this.options.groupId === undefined) {
      // Without a group, a subscription consumes every partition of its topics.
      this.syncUngroupedAssignment()
    } else {
      this.membership?.requestRejoin()
    }
  }

  /** Consumes exactly these partitions, without group coordination (commits still work with a groupId). */
  assign (partitions: readonly TopicPartitions[]): void {
    this.ensureOpen()
    if (this.subscriptions.length > 0) throw new SluiceError('SLUICE_INVALID_OPTION', 'this consumer uses subscribe(); subscribe and assign do not mix')
    this.manual = true
    const wanted = new Set<string>()
    for (const { topic, partitions: list } of partitions) {
      for (const partition of list) {
        this.engine.partitionLog(topic, partition)
        wanted.add(keyOf(topic, partition))
        if (!this.partitions.has(keyOf(topic, partition))) this.addPartition(topic, partition)
      }
    }
    for (const [key, state] of this.partitions) {
      if (!wanted.has(key)) { state.epoch++; this.removePartition(key) }
    }
    this.wakeLoop()
  }

  /** Starts consuming; resolves once started (like kafkajs). */
  async run (options: RunOptions): Promise<void> {
    this.ensureOpen()
    if (this.running) throw new SluiceError('SLUICE_INVALID_OPTION', 'the consumer is already running')
    if ((options.eachMessage === undefined) === (options.eachBatch === undefined)) {
      throw new SluiceError('SLUICE_INVALID_OPTION', 'run needs exactly one of eachMessage or eachBatch')
    }
    if (this.subscriptions.length === 0 && !this.manual) throw new SluiceError('SLUICE_INVALID_OPTION', 'subscribe or assign before run')
    this.running = true
    if (this.options.groupId !== undefined && !this.manual) {
      this.membership = new GroupMembership(this.engine, this.options.groupId, this.options, {
        subscribedTopics: () => this.subscribedTopics(),
        revoke: async (partitions, lost) => { await this.revoke(partitions, lost) },
        assign: async (partitions) => { await this.onAssigned(partitions) },
        handlerIdle: async () => { await this.handlerIdle() },
        fatal: (error) => { this.fatalError = error; this.lastError = error; this.wakeLoop() }
      })
      this.membership.start()
    }
    if (this.options.groupId !== undefined && this.options.enableAutoCommit) {
      this.autoCommitTimer = setInterval(() => {
        this.commitChain = this.commitChain.then(async () => { await this.commitPositions(false) }).catch((error: unknown) => { this.lastError = error })
      }, this.options.autoCommitIntervalMs)
      this.autoCommitTimer.unref()
    }
    // The baseline is what the first join subscribes to; a topic created after it is a change.
    const [topics, counts] = this.metadataSnapshot()
    this.lastTopics = topics
    this.lastPartitionCounts = counts
    this.metadataTimer = setInterval(() => { this.checkMetadata() }, Math.min(this.options.metadataMaxAgeMs, this.options.heartbeatIntervalMs))
    this.metadataTimer.unref()
    this.loop = this.fetchLoop(options).catch((error: unknown) => { this.lastError = error })
  }

  /** Stops consuming after the current handler; commits (auto-commit) and leaves the group. */
  async stop (): Promise<void> {
    if (!this.running) return
    this.running = false
    this.wakeLoop()
    await this.loop
    if (this.autoCommitTimer !== undefined) clearInterval(this.autoCommitTimer)
    if (this.metadataTimer !== undefined) clearInterval(this.metadataTimer)
    if (this.membership !== undefined) {
      await this.membership.stop()
      this.membership = undefined
    } else if (this.options.enableAutoCommit && this.options.groupId !== undefined) {
      await this.commitPositions(false).catch((error: unknown) => { this.lastError = error })
    }
  }

  /** Stops and releases the consumer. Idempotent. */
  close (): Promise<void> {
    this.closing ??= this.stop()
    return this.closing
  }

  async disconnect (): Promise<void> { await this.close() }
  async [Symbol.asyncDispose] (): Promise<void> { await this.close() }

  pause (topics: ReadonlyArray<{ topic: string, partitions?: number[] }>): void {
    for (const state of this.matching(topics)) state.paused = true
  }

  resume (topics: ReadonlyArray<{ topic: string, partitions?: number[] }>): void {
    for (const state of this.matching(topics)) state.paused = false
    this.wakeLoop()
  }

  paused (): TopicPartitions[] {
    return groupByTopic([...this.partitions.values()].filter((state) => state.paused))
  }

  /** The partitions this consumer currently consumes. */
  assignment (): TopicPartitions[] {
    return groupByTopic([...this.partitions.values()])
  }

  /** The next offset to be delivered for a partition (-1 before it is known). */
  position (topic: string, partition: number): number {
    return this.partitions.get(keyOf(topic, partition))?.position ?? -1
  }

  /** Moves a partition's position; the next record delivered is `offset` (or the reset point if it is out of range). */
  seek ({ topic, partition, offset }: { topic: string, partition: number, offset: number }): void {
    const state = this.partitions.get(keyOf(topic, partition))
    if (state === undefined) throw new SluiceError('UNKNOWN_TOPIC_OR_PARTITION', `partition ${topic}-${partition} is not assigned to this consumer`)
    if (!Number.isSafeInteger(offset) || offset < 0) throw new SluiceError('SLUICE_INVALID_OPTION', `seek offset must be an integer >= 0, got ${String(offset)}`)
    state.position = offset
    state.epoch++
    this.wakeLoop()
  }

  /** Kafka's offsetsForTimes: the first offset with a timestamp >= t per partition (-1 when none). */
  async offsetsForTimes (partitions: ReadonlyArray<{ topic: string, partition: number, timestamp: number }>): Promise<Array<{ topic: string, partition: number, offset: number, timestamp: number }>> {
    return await Promise.all(partitions.map(async ({ topic, partition, timestamp }) => {
      const found = await this.engine.listOffset(topic, partition, timestamp)
      return { topic, partition, offset: found.offset, timestamp: found.timestamp }
    }))
  }

  /** Seeks a partition to the first record at or after `timestamp` (to the end when there is none). */
  async seekToTimestamp ({ topic, partition, timestamp }: { topic: string, partition: number, timestamp: number }): Promise<number> {
    const found = await this.engine.listOffset(topic, partition, timestamp)
    const offset = found.offset === -1 ? (await this.engine.listOffset(topic, partition, -1)).offset : found.offset
    this.seek({ topic, partition, offset })
    return offset
  }

  /**
   * Commits offsets for the group: the given ones, or every partition's current position.
   * An offset is the next record to process. Resolves when stored.
   */
  async commitOffsets (offsets?: readonly TopicPartitionOffset[]): Promise<void> {
    const groupId = this.options.groupId
    if (groupId === undefined) throw new SluiceError('INVALID_GROUP_ID', 'commitOffsets needs a consumer with a groupId')
    if (offsets === undefined) {
      await this.commitPositions(true)
      return
    }
    // As Kafka's Java consumer: a committed position is an offset to read next, never negative.
    for (const entry of offsets) {
      if (!Number.isSafeInteger(entry.offset) || entry.offset < 0) {
        throw new SluiceError('SLUICE_INVALID_OPTION', `cannot commit offset ${String(entry.offset)} for ${entry.topic}-${entry.partition}: offsets are integers >= 0`)
      }
    }
    await this.commit(offsets.map((entry) => ({ ...entry })))
  }

  /** Fire-and-forget commit; `callback` gets the error, if any. */
  commitOffsetsAsync (offsets?: readonly TopicPartitionOffset[], callback?: (error: unknown) => void): void {
    this.commitOffsets(offsets).then(() => callback?.(undefined), (error: unknown) => {
      this.lastError = error
      callback?.(error)
    })
  }

  /** Committed offsets of the group for these partitions (-1 when none). */
  committed (partitions: ReadonlyArray<{ topic: string, partition: number }>): Array<{ topic: string, partition: number, offset: number }> {
    const groupId = this.options.groupId
    if (groupId === undefined) throw new SluiceError('INVALID_GROUP_ID', 'committed needs a consumer with a groupId')
    const byTopic = groupByTopic(partitions.map((entry) => ({ topic: entry.topic, partition: entry.partition })))
    const fetched = this.engine.groups.fetchOffsets(groupId, byTopic)
    return fetched.flatMap((topic) => topic.partitions.map((partition) => ({ topic: topic.topic, partition: partition.partition, offset: partition.offset })))
  }

  /** The group's member id and generation (empty / -1 outside a group). */
  get groupIdentity (): { memberId: string, generationId: number } {
    return { memberId: this.membership?.memberId ?? '', generationId: this.membership?.generationId ?? -1 }
  }

  // ---- subscriptions and assignment ------------------------------------------------------

  private subscribedTopics (): string[] {
    const names = new Set<string>()
    const all = this.subscriptions.some((entry) => entry.pattern instanceof RegExp) ? this.engine.topics.list() : []
    for (const { pattern } of this.subscriptions) {
      if (typeof pattern === 'string') {
        names.add(pattern)
      } else {
        for (const name of all) {
          pattern.lastIndex = 0
          if (pattern.test(name)) names.add(name)
        }
      }
    }
    return [...names].sort()
  }

  private resetFor (topic: string): OffsetReset {
    for (const { pattern, fromBeginning } of this.subscriptions) {
      if (!fromBeginning) continue
      if (typeof pattern !== 'string') pattern.lastIndex = 0
      if (typeof pattern === 'string' ? pattern === topic : pattern.test(topic)) return 'earliest'
    }
    return this.options.autoOffsetReset
  }

  private addPartition (topic: string, partition: number): PartitionState {
    const state: PartitionState = { topic, partition, position: -1, committed: -1, paused: false, epoch: 0, reset: this.resetFor(topic), wait: { topic, partition, offset: -1 } }
    this.partitions.set(keyOf(topic, partition), state)
    this.partitionsVersion++
    return state
  }

  private removePartition (key: string): void {
    if (this.partitions.delete(key)) this.partitionsVersion++
  }

  private syncUngroupedAssignment (): void {
    const wanted = new Set<string>()
    for (const topic of this.subscribedTopics()) {
      const description = this.engine.topics.find(topic)
      if (description === undefined) continue
      for (let partition = 0; partition < description.partitionCount; partition++) {
        wanted.add(keyOf(topic, partition))
        if (!this.partitions.has(keyOf(topic, partition))) this.addPartition(topic, partition)
      }
    }
    for (const [key, state] of this.partitions) {
      if (!wanted.has(key)) { state.epoch++; this.removePartition(key) }
    }
    this.wakeLoop()
  }

  /** The subscribed topic names and their partition counts, as comparable strings. */
  private metadataSnapshot (): [string, string] {
    const topics = this.subscribedTopics()
    return [topics.join('\u0000'), topics.map((topic) => this.engine.topics.find(topic)?.partitionCount ?? 0).join(',')]
  }

  private checkMetadata (): void {
    if (this.manual) return
    const [names, counts] = this.metadataSnapshot()
    const changed = names !== this.lastTopics || counts !== this.lastPartitionCounts
    this.lastTopics = names
    this.lastPartitionCounts = counts
    if (this.membership === undefined) {
      if (changed) this.syncUngroupedAssignment()
    } else if (changed) {
      this.membership.requestRejoin()
    }
    // max.poll.interval.ms: a handler stuck past it gives the partitions up.
    // Watching a counter costs the per-message path nothing (no clock read per record).
    if (!this.handlerRunning || this.watchedSerial !== this.handlerSerial) {
      this.watchedSerial = this.handlerRunning ? this.handlerSerial : -1
      this.watchedSinceMs = performance.now()
    } else if (!this.slowHandlerReported && performance.now() - this.watchedSinceMs > this.options.maxPollIntervalMs) {
      this.slowHandlerReported = true
      void this.membership?.leaveForSlowHandler()
    }
  }

  private async onAssigned (partitions: TopicPartitions[]): Promise<void> {
    for (const { topic, partitions: list } of partitions) {
      for (const partition of list) if (!this.partitions.has(keyOf(topic, partition))) this.addPartition(topic, partition)
    }
    if (partitions.length > 0) await this.rebalanceListener.onPartitionsAssigned?.(partitions)
    this.wakeLoop()
  }

  private async revoke (partitions: TopicPartitions[], lost: boolean): Promise<void> {
    const states: PartitionState[] = []
    for (const { topic, partitions: list } of partitions) {
      for (const partition of list) {
        const state = this.partitions.get(keyOf(topic, partition))
        if (state === undefined) continue
        state.epoch++
        states.push(state)
      }
    }
    // The handler may still be running on one of them; wait so its progress is committed.
    await this.waitForHandler()
    if (lost) {
      await this.rebalanceListener.onPartitionsLost?.(partitions)
    } else {
      await this.rebalanceListener.onPartitionsRevoked?.(partitions)
      if (this.options.enableAutoCommit) {
        await this.commit(states.filter((state) => state.position >= 0 && state.position !== state.committed)
          .map((state) => ({ topic: state.topic, partition: state.partition, offset: state.position }))).catch((error: unknown) => { this.lastError = error })
      }
    }
    for (const state of states) this.removePartition(keyOf(state.topic, state.partition))
    this.wakeLoop()
  }

  // ---- commits --------------------------------------------------------------------------

  private async commitPositions (explicit: boolean): Promise<void> {
    const offsets = [...this.partitions.values()]
      .filter((state) => state.position >= 0 && (explicit || state.position !== state.committed))
      .map((state) => ({ topic: state.topic, partition: state.partition, offset: state.position }))
    if (offsets.length > 0) await this.commit(offsets)
  }

  private async commit (offsets: TopicPartitionOffset[]): Promise<void> {
    const groupId = this.options.groupId
    if (groupId === undefined || offsets.length === 0) return
    const inGroup = this.membership !== undefined && this.membership.memberId !== ''
    const results = await this.engine.groups.commitOffsets({
      groupId,
      generationId: inGroup ? this.membership!.generationId : -1,
      memberId: inGroup ? this.membership!.memberId : '',
      groupInstanceId: inGroup ? this.options.groupInstanceId ?? null : null,
      offsets: offsets.map((entry) => ({ topic: entry.topic, partition: entry.partition, offset: entry.offset, metadata: entry.metadata ?? null }))
    })
    for (const result of results) {
      if (result.errorCode !== 'NONE') throw new SluiceError(result.errorCode, `commit of ${result.topic}-${result.partition} failed: ${result.errorCode}`)
    }
    for (const entry of offsets) {
      const state = this.partitions.get(keyOf(entry.topic, entry.partition))
      if (state !== undefined) state.committed = entry.offset
    }
  }

  // ---- fetch loop -----------------------------------------------------------------------

  private async fetchLoop (options: RunOptions): Promise<void> {
    let cursor = 0
    // The partition list is rebuilt only when the assignment changes, not per fetch: a caught-up
    // consumer goes round this loop once per batch appended, so per-round garbage adds up.
    let version = -1
    let states: PartitionState[] = []
    while (this.running) {
      if (this.fatalError !== undefined) {
        this.running = false
        break
      }
      if (version !== this.partitionsVersion) {
        version = this.partitionsVersion
        states = [...this.partitions.values()]
      }
      let unpaused = 0
      for (const state of states) if (!state.paused) unpaused++
      if (unpaused === 0) {
        await this.sleep(this.options.maxWaitMs)
        continue
      }
      let delivered = false
      // Start at a rotating partition so a busy one cannot starve the others.
      cursor = (cursor + 1) % states.length
      for (let step = 0; step < states.length && this.running; step++) {
        const state = states[(cursor + step) % states.length]!
        // Revoked or reassigned while an earlier partition of this round was read or delivered.
        if (state.paused || (version !== this.partitionsVersion && this.partitions.get(keyOf(state.topic, state.partition)) !== state)) continue
        try {
          if (state.position < 0) await this.initPosition(state)
          const { records, highWatermark } = await this.engine.read(state.topic, state.partition, state.position, this.options.maxBytesPerPartition)
          if (records.byteLength === 0) continue
          delivered = await this.deliver(state, records, highWatermark, options) || delivered
        } catch (error) {
          if (error instanceof HandlerFailure) {
            this.lastError = error.cause
            options.onHandlerError?.(error.cause, { topic: error.topic, partition: error.partition })
            await this.sleep(options.handlerRetryBackoffMs ?? 100)
            delivered = true
          } else if (isSluiceError(error, 'OFFSET_OUT_OF_RANGE')) {
            await this.resetPosition(state)
            delivered = true
          } else if (isSluiceError(error, 'UNKNOWN_TOPIC_OR_PARTITION')) {
            this.removePartition(keyOf(state.topic, state.partition))
          } else if (isSluiceError(error, 'SLUICE_CLOSED')) {
            this.running = false
          } else if (isSluiceError(error) && error.retriable) {
            // E.g. a segment swapped by the cleaner under a read: try again shortly.
            this.lastError = error
            await this.sleep(RETRIABLE_BACKOFF_MS)
          } else {
            throw error
          }
        }
      }
      if (!delivered && this.running) {
        const waits = this.waitList
        waits.length = 0
        for (const state of this.partitions.values()) {
          if (state.paused || state.position < 0) continue
          state.wait.offset = state.position
          waits.push(state.wait)
        }
        if (waits.length === 0) continue
        await this.engine.waitForData(waits, this.options.maxWaitMs, this.wakeSignal())
      }
    }
  }

  private async initPosition (state: PartitionState): Promise<void> {
    if (this.options.groupId !== undefined) {
      const [committed] = this.engine.groups.fetchOffsets(this.options.groupId, [{ topic: state.topic, partitions: [state.partition] }])
      const offset = committed?.partitions[0]?.offset ?? -1
      if (offset >= 0) {
        state.position = offset
        state.committed = offset
        return
      }
    }
    await this.resetPosition(state)
  }

  private async resetPosition (state: PartitionState): Promise<void> {
    if (state.reset === 'none') {
      throw new SluiceError('OFFSET_OUT_OF_RANGE', `no valid position for ${state.topic}-${state.partition} and autoOffsetReset is 'none'`)
    }
    const found = await this.engine.listOffset(state.topic, state.partition, state.reset === 'earliest' ? -2 : -1)
    state.position = found.offset
    state.epoch++
  }

  private async deliver (state: PartitionState, records: Uint8Array, highWatermark: number, options: RunOptions): Promise<boolean> {
    const epoch = state.epoch
    const from = state.position
    const bytes = Buffer.isBuffer(records) ? records : Buffer.from(records.buffer, records.byteOffset, records.byteLength)
    let next = from
    if (options.eachBatch !== undefined) {
      const messages: ConsumedMessage[] = []
      for (const batch of batchesIn(bytes, { verifyCrc: false })) {
        if (!batch.isControl) {
          const records = batch.records()
          for (let record = records.nextRecord(); record !== undefined; record = records.nextRecord()) {
            if (record.offset >= from) messages.push(toMessage(record))
          }
        }
        next = batch.nextOffset
      }
      if (messages.length === 0) {
        if (next > state.position && state.epoch === epoch) state.position = next
        return next > from
      }
      let resolved = from
      const autoResolve = options.eachBatchAutoResolve !== false
      const payload: EachBatchPayload = {
        batch: {
          topic: state.topic,
          partition: state.partition,
          highWatermark,
          messages,
          firstOffset: () => messages[0]?.offset ?? null,
          lastOffset: () => messages[messages.length - 1]!.offset
        },
        resolveOffset: (offset) => { if (offset + 1 > resolved) resolved = offset + 1 },
        heartbeat: async () => {},
        commitOffsetsIfNecessary: async () => {
          if (state.epoch === epoch && resolved > state.position) state.position = resolved
          await this.commitPositions(false)
        },
        isRunning: () => this.running,
        isStale: () => state.epoch !== epoch,
        pause: () => { state.paused = true }
      }
      this.handlerStarted()
      try {
        await options.eachBatch(payload)
      } catch (error) {
        // What the handler resolved before failing counts as processed.
        if (state.epoch === epoch && resolved > state.position) state.position = resolved
        throw new HandlerFailure(error, state.topic, state.partition)
      } finally {
        this.handlerFinished()
      }
      if (state.epoch !== epoch) return true
      state.position = autoResolve ? Math.max(next, resolved) : Math.max(state.position, resolved)
      return true
    }
    return await this.deliverMessages(state, bytes, options.eachMessage!)
  }

  /**
   * Hands the records of one read to `eachMessage`, one at a time, each after the previous
   * handler settled. Written as a loop resumed by callbacks rather than as an async function:
   * awaiting every handler's promise inside an async function costs two closures and a context
   * per record (about 170 bytes, measured with the sampling heap profiler), where `then` with
   * the two callbacks made once per read costs a reaction and the promise `then` returns
   * (about 65 bytes). Same order, same checks, same errors as awaiting: a handler that throws or
   * rejects ends the read with a HandlerFailure; a corrupt batch rejects with its own error.
   */
  private deliverMessages (state: PartitionState, bytes: Buffer, eachMessage: NonNullable<RunOptions['eachMessage']>): Promise<boolean> {
    const epoch = state.epoch
    const from = state.position
    const { topic, partition } = state
    const pause = (): void => { state.paused = true }
    const heartbeat = async (): Promise<void> => {}
    const batches = batchesIn(bytes, { verifyCrc: false })
    let batch: RecordBatchView | undefined
    let records: RecordIterator | undefined
    /** Offset of the record whose handler runs. */
    let current = -1
    return new Promise<boolean>((resolve, reject) => {
      /** After a handler settled without failing; false when the read ends here. */
      const recordDone = (): boolean => {
        this.handlerFinished()
        if (state.epoch !== epoch) {
          resolve(true)
          return false
        }
        state.position = current + 1
        return true
      }
      const failed = (error: unknown): void => {
        this.handlerFinished()
        reject(new HandlerFailure(error, topic, partition))
      }
      const resumed = (): void => { if (recordDone()) run() }
      // Bounded: every round consumes a record or a batch of this read, or returns.
      const run = (): void => {
        try {
          for (;;) {
            if (records === undefined) {
              if (batch !== undefined) {
                // The batch is done (or a control batch): move past it.
                if (state.epoch !== epoch) {
                  resolve(true)
                  return
                }
                if (batch.nextOffset > state.position) state.position = batch.nextOffset
              }
              const step = batches.next()
              if (step.done === true) {
                resolve(true)
                return
              }
              batch = step.value
              if (!batch.isControl) records = batch.records()
              continue
            }
            const record = records.nextRecord()
            if (record === undefined) {
              records = undefined
              continue
            }
            if (record.offset < from) continue
            if (!this.running || state.epoch !== epoch || state.paused) {
              resolve(true)
              return
            }
            this.handlerStarted()
            current = record.offset
            let settled: Promise<unknown> | undefined
            try {
              const pending: unknown = eachMessage({ topic, partition, message: toMessage(record), pause, heartbeat })
              // A promise comes back as itself; any other object goes through `then` once, as await would.
              if (typeof pending === 'object' ? pending !== null : typeof pending === 'function') settled = Promise.resolve(pending)
            } catch (error) {
              failed(error)
              return
            }
            if (settled !== undefined) {
              settled.then(resumed, failed)
              return
            }
            if (!recordDone()) return
          }
        } catch (error) {
          // A corrupt batch or record: the read fails as a whole, as it did before delivery began.
          reject(error)
        }
      }
      run()
    })
  }

  private handlerStarted (): void {
    this.handlerRunning = true
    this.handlerSerial++
  }

  private handlerFinished (): void {
    this.handlerRunning = false
    if (this.slowHandlerReported) this.slowHandlerReported = false
    if (this.handlerIdleWaiters.length === 0) return
    const waiters = this.handlerIdleWaiters
    this.handlerIdleWaiters = []
    for (const resolve of waiters) resolve()
  }

  /** Resolves when no handler runs. */
  private async waitForHandler (): Promise<void> {
    if (!this.handlerRunning) return
    await new Promise<void>((resolve) => { this.handlerIdleWaiters.push(resolve) })
  }

  /** Resolves when no handler is overdue (rejoining while one is stuck would take partitions it still works on). */
  private async handlerIdle (): Promise<void> {
    if (!this.slowHandlerReported) return
    await this.waitForHandler()
  }

  private async sleep (ms: number): Promise<void> {
    const signal = this.wakeSignal()
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms)
      signal.addEventListener('abort', () => { clearTimeout(timer); resolve() }, { once: true })
    })
  }

  /**
   * The signal that ends the loop's next wait. One controller serves every wait until
   * `wakeLoop` fires it (a controller per wait was garbage on every batch). A wake that came
   * while the loop was not waiting is dropped here, as before: the loop re-reads every
   * partition's state before it waits again, so it needs no wake-up for that change.
   */
  private wakeSignal (): AbortSignal {
    if (this.wake.signal.aborted) this.wake = new AbortController()
    return this.wake.signal
  }

  private wakeLoop (): void {
    this.wake.abort()
  }

  private matching (topics: ReadonlyArray<{ topic: string, partitions?: number[] }>): PartitionState[] {
    const found: PartitionState[] = []
    for (const { topic, partitions } of topics) {
      for (const state of this.partitions.values()) {
        if (state.topic === topic && (partitions === undefined || partitions.includes(state.partition))) found.push(state)
      }
    }
    return found
  }

  private ensureOpen (): void {
    if (this.closing !== undefined) throw new SluiceError('SLUICE_CLOSED', 'the consumer is closed')
  }
}

function groupByTopic (states: ReadonlyArray<{ topic: string, partition: number }>): TopicPartitions[] {
  const byTopic = new Map<string, number[]>()
  for (const { topic, partition } of states) {
    let list = byTopic.get(topic)
    if (list === undefined) byTopic.set(topic, list = [])
    list.push(partition)
  }
  return [...byTopic].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([topic, partitions]) => ({ topic, partitions: partitions.sort((a, b) => a - b) }))
}
