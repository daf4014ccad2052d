/**
 * The embedded producer: records in, RecordBatch v2 appends out, through the engine's one
 * append path.
 *
 * Flow: `send` picks a partition per record (partitioner.ts), adds the record to that
 * partition's open batch (the accumulator) and returns a promise for the whole call. A batch
 * closes when it reaches `batchSize` bytes (256 KiB while the partition's pipeline is full, see
 * BACKLOG_BATCH_BYTES), after `lingerMs`, or (lingerMs 0) at the end of the current event-loop
 * turn; it is then encoded once, straight into one buffer, and appended. A one-message `send`
 * (the per-message hot path) costs one promise and its result array: its resolving functions
 * sit in arrays parallel to the batch's columns, not in an object of their own.
 * `sendBulk` is the fast path: parallel key/value arrays become batches of up to 1 MiB (the
 * log's write piece) without any per-record object, encoded into reused buffers.
 *
 * Ordering and retries: per partition, batches are appended in the order they closed, at most
 * `IN_FLIGHT_MAX` at a time (Kafka's `max.in.flight.requests.per.connection` bound for
 * idempotence). A retriable failure (storage error, full buffer) stops the partition's pipeline,
 * waits for what is in flight to settle, then re-appends the failed batches in order with
 * exponential backoff until `deliveryTimeoutMs`. With idempotence (the default) a retried
 * batch carries the same producer id, epoch and sequence, so the engine answers a batch it
 * already stored with its original offsets instead of writing it twice. Concurrent `sendBulk`
 * calls to one partition append in call order, each call's records contiguous.
 *
 * Back-pressure: bytes accepted but not yet acknowledged are bounded by `bufferMemory`; `send`
 * waits for room, and fails with SLUICE_BUFFER_FULL after `maxBlockMs`.
 *
 * Concurrency: single-threaded; any number of `send` calls may be outstanding.
 */
import { SluiceError, isSluiceError } from '../core/errors.js'
import type { Engine } from '../engine/engine.js'
import type { AppendResult } from '../engine/partition-log.js'
import type { TopicDescription } from '../engine/topic-registry.js'
import { RecordBatchEncoder } from '../io/record-batch-encoder.js'
import type { RecordHeaderInput, RecordInput } from '../io/record-batch-encoder.js'
import { StickyPartitioner, keyedPartition } from './partitioner.js'
import { resolveProducerOptions } from './producer-options.js'
import type { Acks, ProducerOptions, ResolvedProducerOptions } from './producer-options.js'

/** Batches appended but not yet acknowledged, per partition (Kafka's idempotence bound). */
const IN_FLIGHT_MAX = 5
/** Fixed bytes Kafka counts per record beside key and value (varints, attributes, deltas). */
const RECORD_OVERHEAD_BYTES = 12

export type MessageBytes = Buffer | Uint8Array | string

export interface Message {
  key?: MessageBytes | null
  value: MessageBytes | null
  headers?: Record<string, MessageBytes | null | undefined>
  /** Milliseconds since the epoch (CreateTime). @defaultValue now */
  timestamp?: number
  /** Overrides the partitioner. */
  partition?: number
}

export interface ProducerRecord {
  topic: string
  messages: readonly Message[]
  /** Overrides the producer's `acks` for this call. */
  acks?: Acks
}

export interface RecordMetadata {
  topic: string
  partition: number
  /** Offset of the first record of this call in this partition (-1 with acks 0). */
  baseOffset: number
  /** Offset of the last record of this call in this partition (-1 with acks 0). */
  lastOffset: number
  /** 'flushed' when fdatasync covered it, 'written' when the OS has it, 'sent' with acks 0. */
  durability: 'flushed' | 'written' | 'sent'
  /**
   * On a topic with `message.timestamp.type=LogAppendTime`, the time the log stamped on the
   * records (of the first batch when the call's records span several); otherwise -1.
   */
  logAppendTime: number
}

export interface BulkRecords {
  topic: string
  /** All records to this partition; otherwise keys (or stickiness) choose. */
  partition?: number
  /** null, or one key per value. */
  keys?: ArrayLike<Uint8Array | null> | null
  values: ArrayLike<Uint8Array | null>
  /** One CreateTime per value; @defaultValue now */
  timestamps?: ArrayLike<number>
  acks?: Acks
}

type PartResult = { baseOffset: number, lastOffset: number, durability: 'flushed' | 'written', logAppendTime: number }

/** The records of one call of several messages (or one sendBulk piece) inside a batch. */
interface Part {
  resolve: (result: PartResult) => void
  reject: (error: unknown) => void
  /** Index of the call's first record in the batch, and its record count. */
  first: number
  count: number
}

/** Settles the caller's own promise of a one-message `send`. */
type SendResolve = (metadata: RecordMetadata[]) => void
type SendReject = (error: unknown) => void

// One-message sends are the per-message hot path: `new Promise(captureResolvers)` hands the
// promise's resolving functions to these two slots, so a send allocates no executor closure (and
// no context for one). Single-threaded: they are read right after the constructor returns.
let capturedResolve: SendResolve | undefined
let capturedReject: SendReject | undefined
function captureResolvers (resolve: SendResolve, reject: SendReject): void {
  capturedResolve = resolve
  capturedReject = reject
}

/**
 * How far an open batch fills while its partition's pipeline is full (IN_FLIGHT_MAX batches
 * appending, or batches queued behind them): such a batch could not go out sooner, and fewer,
 * larger appends drain the backlog faster (measured: 20 k outstanding one-message sends went
 * from ~1150 to ~600 ns of CPU per send; 512 KiB and 1 MiB did worse, ~740 and ~970 ns).
 * Bounded by the topic's max.message.bytes.
 */
const BACKLOG_BATCH_BYTES = 256 * 1024

/**
 * Records per sendBulk batch (at least `batchSize`, at most max.message.bytes). The log writes
 * and acknowledges in ~1 MiB pieces; measured against 256 KiB pieces (4 M records of 108 bytes,
 * 3 runs each): ~130 vs ~190 ns of user CPU per record, much of the difference in the log's
 * per-batch work (staging into its tail).
 */
const BULK_BATCH_BYTES = 1024 * 1024

/**
 * Batches of at least BATCH_BUFFER_MIN_BYTES (sendBulk pieces, backlog batches) are encoded into
 * reused buffers of BATCH_BUFFER_BYTES, at most BATCH_BUFFERS_MAX kept. A fresh 256 KiB Buffer is
 * external memory, and V8 answers its growth with scavenges ("external memory pressure": 33 of
 * them, ~3-5 ms each, for 4 M records through sendBulk before this). A buffer goes back to the
 * pool once its batch settled for good: the engine copies a batch into its log and keeps no
 * reference to the caller's bytes once `append` settled.
 */
const BATCH_BUFFER_MIN_BYTES = 64 * 1024
const BATCH_BUFFER_BYTES = BULK_BATCH_BYTES + 32 * 1024
const BATCH_BUFFERS_MAX = IN_FLIGHT_MAX + 1

/** Slots an open batch reserves up front (it grows past them when records are small). */
const OPEN_BATCH_SLOTS_MAX = 4096

/** The records of one batch, kept so a batch can be re-encoded with a new sequence. */
interface BatchRecords {
  keys: Array<Uint8Array | null> | ArrayLike<Uint8Array | null> | null
  values: Array<Uint8Array | null> | ArrayLike<Uint8Array | null>
  timestamps: number[] | ArrayLike<number> | undefined
  /** Set when any record has headers: then the general encoder is used. */
  general: RecordInput[] | undefined
  start: number
  count: number
}

interface Batch {
  records: BatchRecords
  bytes: number
  parts: Part[]
  /**
   * Per record, the resolving functions of its own one-message send (holes for records that
   * belong to a part, and for acks-0 sends): parallel arrays instead of a Part object per send.
   */
  resolves: Array<SendResolve | undefined> | undefined
  rejects: Array<SendReject | undefined> | undefined
  createdMs: number
  encoded: Uint8Array | undefined
  /** The reusable buffer `encoded` lives in (large batches; see BATCH_BUFFER_BYTES). */
  buffer: Buffer | undefined
  attempts: number
  /** Position in the partition's send order (retries are re-queued by it). */
  order: number
  /** First sequence number, set when encoded with idempotence. */
  sequence: number
}

interface OpenBatch {
  /** Columns pre-sized from the first record's size; `count` slots are filled. */
  keys: Array<Uint8Array | null>
  values: Array<Uint8Array | null>
  timestamps: number[]
  count: number
  general: RecordInput[] | undefined
  bytes: number
  parts: Part[]
  /** Created by the first one-message send into the batch (see Batch). */
  resolves: Array<SendResolve | undefined> | undefined
  rejects: Array<SendReject | undefined> | undefined
  createdMs: number
}

/** An empty open batch with room for about `batchBytesMax / recordBytes` records. */
function openBatch (batchBytesMax: number, recordBytes: number, createdMs: number): OpenBatch {
  const slots = Math.min(OPEN_BATCH_SLOTS_MAX, Math.ceil(batchBytesMax / recordBytes))
  return { keys: new Array(slots), values: new Array(slots), timestamps: new Array(slots), count: 0, general: undefined, bytes: 0, parts: [], resolves: undefined, rejects: undefined, createdMs }
}

function toBytes (value: MessageBytes | null | undefined, what: string): Uint8Array | null {
  if (value === null || value === undefined) return null
  if (typeof value === 'string') return Buffer.from(value)
  if (value instanceof Uint8Array) return value
  throw new SluiceError('SLUICE_INVALID_OPTION', `${what} must be a Buffer, Uint8Array, string or null`)
}

/** Bytes headers add to a record (counted against batch.size, buffer.memory and max.message.bytes). */
function headerBytes (headers: Message['headers']): number {
  if (headers === undefined) return 0
  let bytes = 0
  for (const [key, value] of Object.entries(headers)) {
    bytes += Buffer.byteLength(key) + (value === null || value === undefined ? 0 : typeof value === 'string' ? Buffer.byteLength(value) : value.byteLength) + 10
  }
  return bytes
}

function toHeaders (headers: Message['headers']): RecordHeaderInput[] | undefined {
  if (headers === undefined) return undefined
  const result: RecordHeaderInput[] = []
  for (const [key, value] of Object.entries(headers)) {
    result.push({ key, value: value === undefined ? null : toBytes(value, `header ${key}`) })
  }
  return result
}

/** Per-partition accumulator and ordered sender. */
class PartitionSender {
  open: OpenBatch | undefined
  readonly queue: Batch[] = []
  inFlight = 0
  retrying = false
  nextSequence = 0
  /** The sequence after the last batch the engine acknowledged (batches are acknowledged in order). */
  acknowledgedSequence = 0
  /** A batch failed for good: the batches after it need new sequences once nothing is in flight. */
  sequenceGap = false
  /** Batches queued so far (the next batch's `order`). */
  enqueued = 0
  /** Settles when the last `sendBulk` run to this partition has queued all its batches. */
  bulkTail: Promise<void> | undefined

  constructor (readonly topic: string, readonly partition: number) {}
}

interface Waiter { bytes: number, resolve: () => void, reject: (error: unknown) => void, timer: NodeJS.Timeout }

export class Producer {
  readonly options: Readonly<ResolvedProducerOptions>
  private readonly engine: Engine
  private readonly encoder = new RecordBatchEncoder()
  private readonly batchBuffers: Buffer[] = []
  private readonly sticky: StickyPartitioner
  /** Per topic, the senders by partition index. */
  private readonly senders = new Map<string, PartitionSender[]>()
  private readonly dirty = new Set<PartitionSender>()
  private lingerTimer: NodeJS.Timeout | undefined
  private immediate: NodeJS.Immediate | undefined
  private bufferedBytes = 0
  private readonly bufferWaiters: Waiter[] = []
  private readonly settled = new Set<() => void>()
  /** The reject of every acks-0 one-message send: failures are only counted. */
  private readonly countAcksZeroError = (): void => { this.acksZeroErrors++ }
  private producerId = -1
  private producerEpoch = -1
  private idPromise: Promise<void> | undefined
  private closing: Promise<void> | undefined
  /** Failures of acks-0 sends, which have nobody to report to. */
  acksZeroErrors = 0

  constructor (engine: Engine, options: ProducerOptions = {}) {
    this.engine = engine
    this.options = resolveProducerOptions(options)
    this.sticky = new StickyPartitioner(this.options.batchSize)
  }

  /** Sends records to one topic; resolves per partition touched once acknowledged per `acks`. */
  send (record: ProducerRecord): Promise<RecordMetadata[]> {
    // The common case, one message to a known topic, joins its batch synchronously: one promise per call and no intermediate arrays or maps, which is
    // what lets per-message `send` keep up with the log.
    if (this.closing === undefined && record !== null && typeof record === 'object' && typeof record.topic === 'string' &&
      Array.isArray(record.messages) && record.messages.length === 1) {
      const topic = this.engine.topics.find(record.topic)
      const message = record.messages[0]
      if (topic !== undefined && typeof message === 'object' && message !== null && message.headers === undefined) {
        try {
          const sent = this.sendOne(topic, message, record.acks === undefined ? this.options.acks : resolveAcks(record.acks))
          if (sent !== undefined) return sent
        } catch (error) {
          return Promise.reject(error)
        }
      }
    }
    return this.sendRecords(record)
  }

  /** `send` of one header-less message; undefined when the buffer is full (the general path waits). */
  private sendOne (topic: TopicDescription, message: Message, acks: 0 | 1 | -1): Promise<RecordMetadata[]> | undefined {
    const key = toBytes(message.key, 'key')
    const value = toBytes(message.value, 'value')
    const bytes = (key === null ? 0 : key.byteLength) + (value === null ? 0 : value.byteLength) + RECORD_OVERHEAD_BYTES
    const maxMessageBytes = topic.config.maxMessageBytes
    if (bytes + 61 > maxMessageBytes) {
      throw new SluiceError('MESSAGE_TOO_LARGE', `message 0 of ${bytes} bytes exceeds max.message.bytes ${maxMessageBytes} of topic ${topic.name}`)
    }
    if (this.bufferWaiters.length > 0 || (this.bufferedBytes + bytes > this.options.bufferMemory && this.bufferedBytes > 0)) return undefined
    const partition = this.partitionFor(topic, message, key, value, bytes)
    this.bufferedBytes += bytes
    const sender = this.senderFor(topic.name, partition)
    const timestamp = message.timestamp ?? Date.now()
    let result: Promise<RecordMetadata[]>
    if (acks === 0) {
      this.addOne(sender, maxMessageBytes, key, value, timestamp, bytes, undefined, this.countAcksZeroError)
      result = Promise.resolve([{ topic: topic.name, partition, baseOffset: -1, lastOffset: -1, durability: 'sent', logAppendTime: -1 }])
    } else {
      result = new Promise<RecordMetadata[]>(captureResolvers)
      this.addOne(sender, maxMessageBytes, key, value, timestamp, bytes, capturedResolve, capturedReject)
      capturedResolve = capturedReject = undefined
    }
    this.scheduleLinger()
    return result
  }

  /** Adds one record to the partition's open batch, settled through its own resolving functions. */
  private addOne (sender: PartitionSender, maxMessageBytes: number, key: Uint8Array | null, value: Uint8Array | null, timestamp: number, bytes: number, resolve: SendResolve | undefined, reject: SendReject | undefined): void {
    const batchBytesMax = this.batchBytesMax(sender, maxMessageBytes)
    let open = sender.open
    if (open !== undefined && open.bytes > 0 && open.bytes + bytes > batchBytesMax) {
      this.closeOpenBatch(sender)
      open = undefined
    }
    if (open === undefined) {
      open = openBatch(batchBytesMax, bytes, timestamp)
      sender.open = open
      this.dirty.add(sender)
    }
    const index = open.count++
    if (open.resolves === undefined) {
      open.resolves = new Array(open.keys.length)
      open.rejects = new Array(open.keys.length)
    }
    open.resolves[index] = resolve
    open.rejects![index] = reject
    open.general?.push({ key, value, timestamp })
    open.keys[index] = key
    open.values[index] = value
    open.timestamps[index] = timestamp
    open.bytes += bytes
  }

  private async sendRecords (record: ProducerRecord): Promise<RecordMetadata[]> {
    this.ensureOpen()
    if (typeof record?.topic !== 'string') throw new SluiceError('SLUICE_INVALID_OPTION', 'send needs a topic')
    if (!Array.isArray(record.messages)) throw new SluiceError('SLUICE_INVALID_OPTION', 'send needs a messages array')
    const acks = record.acks === undefined ? this.options.acks : resolveAcks(record.acks)
    const topic = await this.describe(record.topic)
    const maxMessageBytes = topic.config.maxMessageBytes
    const now = Date.now()

    // Route each message, then add each partition's run in one piece so the call's records
    // stay contiguous (one metadata entry per partition).
    const routed = new Map<number, number[]>()
    const keys: Array<Uint8Array | null> = new Array(record.messages.length)
    const values: Array<Uint8Array | null> = new Array(record.messages.length)
    let totalBytes = 0
    for (let index = 0; index < record.messages.length; index++) {
      const message = record.messages[index]!
      if (typeof message !== 'object' || message === null) throw new SluiceError('SLUICE_INVALID_OPTION', `message ${index} must be an object`)
      const key = toBytes(message.key, 'key')
      const value = toBytes(message.value, 'value')
      keys[index] = key
      values[index] = value
      const bytes = (key?.byteLength ?? 0) + (value?.byteLength ?? 0) + RECORD_OVERHEAD_BYTES + headerBytes(message.headers)
      if (bytes + 61 > maxMessageBytes) {
        throw new SluiceError('MESSAGE_TOO_LARGE', `message ${index} of ${bytes} bytes exceeds max.message.bytes ${maxMessageBytes} of topic ${topic.name}`)
      }
      totalBytes += bytes
      const partition = this.partitionFor(topic, message, key, value, bytes)
      let indexes = routed.get(partition)
      if (indexes === undefined) routed.set(partition, indexes = [])
      indexes.push(index)
    }
    await this.reserve(totalBytes)

    const results: Array<Promise<RecordMetadata>> = []
    for (const [partition, indexes] of routed) {
      const sender = this.senderFor(topic.name, partition)
      const promise = new Promise<PartResult>((resolve, reject) => {
        this.addRecords(sender, maxMessageBytes, indexes, keys, values, record.messages, now, resolve, reject)
      })
      if (acks === 0) {
        promise.catch(() => { this.acksZeroErrors++ })
        results.push(Promise.resolve({ topic: topic.name, partition, baseOffset: -1, lastOffset: -1, durability: 'sent', logAppendTime: -1 }))
      } else {
        results.push(promise.then((result) => ({ topic: topic.name, partition, ...result })))
      }
    }
    this.scheduleLinger()
    return await Promise.all(results)
  }

  /** kafkajs-style `sendBatch({ topicMessages })`: several topics in one call. */
  async sendBatch (batch: { topicMessages: readonly ProducerRecord[], acks?: Acks }): Promise<RecordMetadata[]> {
    const calls = batch.topicMessages.map(async (record) => await this.send(batch.acks === undefined ? record : { ...record, acks: batch.acks }))
    return (await Promise.all(calls)).flat()
  }

  /**
   * The fast path: parallel arrays of keys and values (Buffers or Uint8Arrays) become batches
   * directly, with no object per record. The arrays must not change until the promise settles.
   */
  async sendBulk (bulk: BulkRecords): Promise<RecordMetadata[]> {
    this.ensureOpen()
    const acks = bulk.acks === undefined ? this.options.acks : resolveAcks(bulk.acks)
    const topic = await this.describe(bulk.topic)
    const { values } = bulk
    const keys = bulk.keys ?? null
    const count = values.length
    if (keys !== null && keys.length !== count) throw new SluiceError('SLUICE_INVALID_OPTION', 'keys and values must have the same length')
    if (bulk.timestamps !== undefined && bulk.timestamps.length !== count) throw new SluiceError('SLUICE_INVALID_OPTION', 'timestamps and values must have the same length')
    if (count === 0) return []
    const maxMessageBytes = topic.config.maxMessageBytes
    const batchBytesMax = Math.min(Math.max(this.options.batchSize, BULK_BATCH_BYTES), maxMessageBytes) - 61

    // Group record indexes per partition, keeping runs when all go to one partition.
    const runs: Array<{ partition: number, indexes: number[] | undefined, start: number, end: number }> = []
    if (bulk.partition !== undefined) {
      checkPartition(topic, bulk.partition)
      runs.push({ partition: bulk.partition, indexes: undefined, start: 0, end: count })
    } else if (keys !== null && this.options.partitioner === undefined) {
      const byPartition = new Map<number, number[]>()
      for (let index = 0; index < count; index++) {
        const key = keys[index]
        const partition = key === null || key === undefined
          ? this.sticky.next(topic.name, topic.partitionCount, (values[index]?.byteLength ?? 0) + RECORD_OVERHEAD_BYTES)
          : keyedPartition(key, topic.partitionCount)
        let list = byPartition.get(partition)
        if (list === undefined) byPartition.set(partition, list = [])
        list.push(index)
      }
      for (const [partition, indexes] of byPartition) runs.push({ partition, indexes, start: 0, end: indexes.length })
    } else if (this.options.partitioner === undefined) {
      runs.push({ partition: this.sticky.next(topic.name, topic.partitionCount, this.options.batchSize), indexes: undefined, start: 0, end: count })
    } else {
      const byPartition = new Map<number, number[]>()
      for (let index = 0; index < count; index++) {
        const partition = this.callPartitioner(topic, keys?.[index] ?? null, values[index] ?? null)
        let list = byPartition.get(partition)
        if (list === undefined) byPartition.set(partition, list = [])
        list.push(index)
      }
      for (const [partition, indexes] of byPartition) runs.push({ partition, indexes, start: 0, end: indexes.length })
    }

    const now = Date.now()
    const results: Array<Promise<RecordMetadata>> = []
    // Pieces already queued when a later one fails (oversized record, no buffer room) still go
    // out; the call reports the failure, and their own outcomes must not surface as unhandled.
    const queued: Array<Promise<unknown>> = []
    try {
      for (const run of runs) {
        const sender = this.senderFor(topic.name, run.partition)
        let first: PartResult | undefined
        const pieces: Array<Promise<PartResult>> = []
        // Runs to one partition queue their batches one run after the other: a piece waiting for
        // buffer room would otherwise let a later call's pieces in between. A call holds one
        // partition's turn at a time, so two calls never wait on each other's turns.
        const previous = sender.bulkTail
        let endTurn: () => void = () => {}
        const turn = new Promise<void>((resolve) => { endTurn = resolve })
        sender.bulkTail = turn
        try {
          if (previous !== undefined) await previous
          this.closeOpenBatch(sender)
          let position = run.start
          while (position < run.end) {
            // Cut the run into batches of at most batchBytesMax. `.length`, not `.byteLength`: V8
            // inlines the former (equal for a Uint8Array), which made this loop ~5x faster.
            let bytes = 0
            const start = position
            const indexes = run.indexes
            for (; position < run.end; position++) {
              const index = indexes === undefined ? position : indexes[position]!
              const key = keys === null ? null : keys[index]
              const value = values[index]
              const size = (key === null || key === undefined ? 0 : key.length) + (value === null || value === undefined ? 0 : value.length) + RECORD_OVERHEAD_BYTES
              if (size + 61 > maxMessageBytes) throw new SluiceError('MESSAGE_TOO_LARGE', `record ${index} of ${size} bytes exceeds max.message.bytes ${maxMessageBytes}`)
              if (bytes + size > batchBytesMax && bytes > 0) break
              bytes += size
            }
            await this.reserve(bytes)
            const records: BatchRecords = run.indexes === undefined
              ? { keys, values, timestamps: bulk.timestamps ?? undefined, general: undefined, start, count: position - start }
              : gather(run.indexes.slice(start, position), keys, values, bulk.timestamps)
            const piece = new Promise<PartResult>((resolve, reject) => {
              const batch: Batch = { records, bytes, parts: [{ resolve, reject, first: 0, count: records.count }], resolves: undefined, rejects: undefined, createdMs: now, encoded: undefined, buffer: undefined, attempts: 0, order: sender.enqueued++, sequence: -1 }
              sender.queue.push(batch)
              this.pump(sender)
            })
            pieces.push(piece)
            queued.push(piece)
          }
        } finally {
          endTurn()
          if (sender.bulkTail === turn) sender.bulkTail = undefined
        }
        const combined = Promise.all(pieces).then((parts) => {
          first = parts[0]
          const last = parts[parts.length - 1]!
          return { topic: topic.name, partition: run.partition, baseOffset: first!.baseOffset, lastOffset: last.lastOffset, durability: parts.every((part) => part.durability === 'flushed') ? 'flushed' as const : 'written' as const, logAppendTime: first!.logAppendTime }
        })
        if (acks === 0) {
          combined.catch(() => { this.acksZeroErrors++ })
          results.push(Promise.resolve({ topic: topic.name, partition: run.partition, baseOffset: -1, lastOffset: -1, durability: 'sent', logAppendTime: -1 }))
        } else {
          results.push(combined)
        }
      }
    } catch (error) {
      for (const pending of [...queued, ...results]) pending.catch(() => {})
      throw error
    }
    return await Promise.all(results)
  }

  /** Closes every open batch now and resolves when everything sent so far is settled. */
  async flush (): Promise<void> {
    this.closeAll()
    while (this.bufferedBytes > 0) {
      await new Promise<void>((resolve) => { this.settled.add(resolve) })
    }
  }

  /** Flushes and releases the producer. Idempotent; later sends fail with SLUICE_CLOSED. */
  close (): Promise<void> {
    this.closing ??= (async () => {
      await this.flush()
      if (this.lingerTimer !== undefined) clearTimeout(this.lingerTimer)
      if (this.immediate !== undefined) clearImmediate(this.immediate)
      // Everything settled: no batch holds a pooled buffer any more.
      this.batchBuffers.length = 0
    })()
    return this.closing
  }

  /** kafkajs name for close. */
  async disconnect (): Promise<void> { await this.close() }

  async [Symbol.asyncDispose] (): Promise<void> { await this.close() }

  // ---- routing --------------------------------------------------------------------------

  private async describe (name: string): Promise<TopicDescription> {
    const found = this.engine.topics.find(name)
    if (found !== undefined) return found
    return await this.engine.topic(name, { autoCreate: this.options.allowAutoTopicCreation })
  }

  private partitionFor (topic: TopicDescription, message: Message, key: Uint8Array | null, value: Uint8Array | null, bytes: number): number {
    if (message.partition !== undefined) {
      checkPartition(topic, message.partition)
      return message.partition
    }
    if (this.options.partitioner !== undefined) return this.callPartitioner(topic, key, value)
    if (key !== null) return keyedPartition(key, topic.partitionCount)
    return this.sticky.next(topic.name, topic.partitionCount, bytes)
  }

  private callPartitioner (topic: TopicDescription, key: Uint8Array | null, value: Uint8Array | null): number {
    const partition = this.options.partitioner!({ topic: topic.name, key, value, partitionCount: topic.partitionCount })
    checkPartition(topic, partition)
    return partition
  }

  private senderFor (topic: string, partition: number): PartitionSender {
    let byPartition = this.senders.get(topic)
    if (byPartition === undefined) this.senders.set(topic, byPartition = [])
    let sender = byPartition[partition]
    if (sender === undefined) byPartition[partition] = sender = new PartitionSender(topic, partition)
    return sender
  }

  /** Closes every open batch (flush, and a send waiting for buffer room). */
  private closeAll (): void {
    for (const byPartition of this.senders.values()) {
      for (const sender of byPartition) if (sender !== undefined) this.closeOpenBatch(sender)
    }
  }

  // ---- accumulator ----------------------------------------------------------------------

  private addRecords (
    sender: PartitionSender,
    maxMessageBytes: number,
    indexes: number[],
    keys: Array<Uint8Array | null>,
    values: Array<Uint8Array | null>,
    messages: readonly Message[],
    now: number,
    resolve: (result: PartResult) => void,
    reject: Part['reject']
  ): void {
    // One call's records may span several batches: collect each batch's part and combine.
    const partResults: Array<Promise<PartResult>> = []
    let part: Part | undefined
    for (const index of indexes) {
      const key = keys[index]!
      const value = values[index]!
      const message = messages[index]!
      const bytes = (key?.byteLength ?? 0) + (value?.byteLength ?? 0) + RECORD_OVERHEAD_BYTES + headerBytes(message.headers)
      const batchBytesMax = this.batchBytesMax(sender, maxMessageBytes)
      let open = sender.open
      if (open !== undefined && open.bytes > 0 && open.bytes + bytes > batchBytesMax) {
        this.closeOpenBatch(sender)
        open = undefined
        part = undefined
      }
      if (open === undefined) {
        open = openBatch(batchBytesMax, bytes, now)
        sender.open = open
        this.dirty.add(sender)
      }
      if (part === undefined) {
        const newPart: Part = { resolve: () => {}, reject: () => {}, first: open.count, count: 0 }
        partResults.push(new Promise((partResolve, partReject) => { newPart.resolve = partResolve; newPart.reject = partReject }))
        open.parts.push(newPart)
        part = newPart
      }
      const headers = message.headers === undefined ? undefined : toHeaders(message.headers)
      const timestamp = message.timestamp ?? now
      if (headers !== undefined && open.general === undefined) {
        const general: RecordInput[] = []
        for (let position = 0; position < open.count; position++) general.push({ key: open.keys[position]!, value: open.values[position]!, timestamp: open.timestamps[position]! })
        open.general = general
      }
      open.general?.push({ key, value, timestamp, ...(headers === undefined ? {} : { headers }) })
      const slot = open.count++
      open.keys[slot] = key
      open.values[slot] = value
      open.timestamps[slot] = timestamp
      open.bytes += bytes
      part.count++
    }
    Promise.all(partResults).then((results) => {
      resolve({
        baseOffset: results[0]!.baseOffset,
        lastOffset: results[results.length - 1]!.lastOffset,
        durability: results.every((result) => result.durability === 'flushed') ? 'flushed' : 'written',
        logAppendTime: results[0]!.logAppendTime
      })
    }, reject)
  }

  /**
   * Record bytes at which the partition's open batch closes: `batchSize`, or BACKLOG_BATCH_BYTES
   * while the pipeline is full, within max.message.bytes (61 = batch header).
   */
  private batchBytesMax (sender: PartitionSender, maxMessageBytes: number): number {
    const backlog = sender.inFlight >= IN_FLIGHT_MAX || sender.queue.length > 0
    return Math.min(backlog ? Math.max(this.options.batchSize, BACKLOG_BATCH_BYTES) : this.options.batchSize, maxMessageBytes - 61)
  }

  private scheduleLinger (): void {
    if (this.dirty.size === 0) return
    if (this.options.lingerMs === 0) {
      this.immediate ??= setImmediate(() => {
        this.immediate = undefined
        this.closeDirty()
      })
    } else {
      this.lingerTimer ??= setTimeout(() => {
        this.lingerTimer = undefined
        this.closeDirty()
      }, this.options.lingerMs)
    }
  }

  private closeDirty (): void {
    for (const sender of this.dirty) this.closeOpenBatch(sender)
    this.dirty.clear()
  }

  private closeOpenBatch (sender: PartitionSender): void {
    const open = sender.open
    if (open === undefined) return
    sender.open = undefined
    this.dirty.delete(sender)
    const count = open.count
    // Trim the unused pre-sized slots: the encoder takes the columns' length as the record count.
    if (open.keys.length !== count) {
      open.keys.length = count
      open.values.length = count
      open.timestamps.length = count
      if (open.resolves !== undefined) {
        open.resolves.length = count
        open.rejects!.length = count
      }
    }
    sender.queue.push({
      records: { keys: open.keys, values: open.values, timestamps: open.timestamps, general: open.general, start: 0, count },
      bytes: open.bytes,
      parts: open.parts,
      resolves: open.resolves,
      rejects: open.rejects,
      createdMs: open.createdMs,
      encoded: undefined,
      buffer: undefined,
      attempts: 0,
      order: sender.enqueued++,
      sequence: -1
    })
    this.pump(sender)
  }

  // ---- sender ---------------------------------------------------------------------------

  private encode (sender: PartitionSender, batch: Batch): Uint8Array {
    if (batch.encoded !== undefined) return batch.encoded
    const idempotent = this.options.idempotent
    const { records } = batch
    const fields = {
      compression: this.options.compression,
      producerId: idempotent ? this.producerId : -1,
      producerEpoch: idempotent ? this.producerEpoch : -1,
      baseSequence: idempotent ? sender.nextSequence : -1,
      // Records without their own timestamp take the batch's (CreateTime = when sent).
      ...(records.timestamps === undefined ? { baseTimestamp: batch.createdMs } : {})
    }
    let encoded: Uint8Array
    const buffer = batch.bytes >= BATCH_BUFFER_MIN_BYTES ? batch.buffer ?? this.batchBuffers.pop() ?? Buffer.allocUnsafe(BATCH_BUFFER_BYTES) : undefined
    const target = buffer ?? 'fresh'
    if (records.general !== undefined) {
      encoded = this.encoder.encode({ ...fields, records: records.general }, target)
    } else {
      encoded = this.encoder.encodeColumns({ ...fields, keys: records.keys, values: records.values, timestamps: records.timestamps, start: records.start, end: records.start + records.count }, target)
    }
    if (buffer !== undefined) {
      if (encoded.buffer === buffer.buffer) batch.buffer = buffer
      // Did not fit: a buffer from the pool goes back; the batch's own stays its own until retired.
      else if (buffer !== batch.buffer) this.releaseBuffer(buffer)
    }
    if (idempotent) {
      batch.sequence = sender.nextSequence
      sender.nextSequence = (sender.nextSequence + records.count) % 0x80000000
    }
    batch.encoded = encoded
    return encoded
  }

  /** Appends queued batches in order while the pipeline has room. */
  private pump (sender: PartitionSender): void {
    // Batches are encoded with the producer id, so the first ones wait for it (once).
    if (this.options.idempotent && this.producerId < 0) {
      void this.ensureProducerId().then(() => { this.pump(sender) }, (error: unknown) => {
        for (const batch of sender.queue.splice(0)) this.fail(batch, error)
      })
      return
    }
    while (!sender.retrying && sender.inFlight < IN_FLIGHT_MAX && sender.queue.length > 0) {
      const batch = sender.queue.shift()!
      let bytes: Uint8Array
      try {
        bytes = this.encode(sender, batch)
      } catch (error) {
        this.fail(batch, error)
        continue
      }
      sender.inFlight++
      batch.attempts++
      this.engine.append(sender.topic, sender.partition, bytes).then(
        (result) => {
          sender.inFlight--
          if (batch.sequence >= 0) sender.acknowledgedSequence = (batch.sequence + batch.records.count) % 0x80000000
          this.succeed(sender, batch, result)
          this.pump(sender)
        },
        (error: unknown) => {
          sender.inFlight--
          this.onAppendError(sender, batch, error)
        }
      )
    }
  }

  private onAppendError (sender: PartitionSender, batch: Batch, error: unknown): void {
    const elapsed = Date.now() - batch.createdMs
    // With idempotence, OUT_OF_ORDER_SEQUENCE_NUMBER means an earlier batch of this partition
    // failed while this one was in flight: this batch is fine and is sent again after it.
    const outOfOrder = this.options.idempotent && isSluiceError(error, 'OUT_OF_ORDER_SEQUENCE_NUMBER')
    const retriable = isSluiceError(error) && (error.retriable || outOfOrder) && error.code !== 'SLUICE_CLOSED'
    if (!retriable || batch.attempts > this.options.retries || elapsed >= this.options.deliveryTimeoutMs) {
      const cause = retriable
        ? new SluiceError('SLUICE_TIMEOUT', `batch to ${sender.topic}-${sender.partition} expired after ${elapsed} ms and ${batch.attempts} attempts (delivery.timeout.ms ${this.options.deliveryTimeoutMs})`, { cause: error })
        : error
      this.fail(batch, cause)
      if (!this.options.idempotent) {
        this.pump(sender)
        return
      }
      // The sequence of a batch that will never be written would leave a gap: once nothing is in
      // flight, the batches after it are re-encoded with sequences that follow what the log holds.
      sender.sequenceGap = true
      this.pauseAndResume(sender, 0)
      return
    }
    // Stop the pipeline; retry this batch first, in order, once everything in flight settled.
    sender.queue.unshift(batch)
    sender.queue.sort((a, b) => a.order - b.order)
    const backoff = Math.min(this.options.retryBackoffMs * 2 ** Math.max(0, batch.attempts - 1), this.options.retryBackoffMaxMs)
    this.pauseAndResume(sender, backoff * (0.8 + Math.random() * 0.4))
  }

  /** Stops the partition's pipeline and restarts it after `delayMs`, once nothing is in flight. */
  private pauseAndResume (sender: PartitionSender, delayMs: number): void {
    if (sender.retrying) return
    sender.retrying = true
    const resume = (): void => {
      if (sender.inFlight > 0) { setTimeout(resume, 1); return }
      sender.retrying = false
      if (sender.sequenceGap) {
        sender.sequenceGap = false
        sender.nextSequence = sender.acknowledgedSequence
        for (const queued of sender.queue) queued.encoded = undefined
      }
      this.pump(sender)
    }
    setTimeout(resume, delayMs)
  }

  /** Returns a batch buffer to the pool (its batch settled for good or did not use it). */
  private releaseBuffer (buffer: Buffer): void {
    if (this.batchBuffers.length < BATCH_BUFFERS_MAX) this.batchBuffers.push(buffer)
  }

  /** A batch settled for good: its bytes are no longer needed. */
  private retire (batch: Batch): void {
    batch.encoded = undefined
    if (batch.buffer !== undefined) {
      this.releaseBuffer(batch.buffer)
      batch.buffer = undefined
    }
  }

  private succeed (sender: PartitionSender, batch: Batch, result: AppendResult): void {
    this.retire(batch)
    const { durability, logAppendTime } = result
    const resolves = batch.resolves
    if (resolves !== undefined) {
      const { topic, partition } = sender
      for (let index = 0; index < resolves.length; index++) {
        const resolve = resolves[index]
        if (resolve === undefined) continue
        const offset = result.baseOffset + index
        resolve([{ topic, partition, baseOffset: offset, lastOffset: offset, durability, logAppendTime }])
      }
    }
    for (const part of batch.parts) {
      const baseOffset = result.baseOffset + part.first
      part.resolve({ baseOffset, lastOffset: baseOffset + part.count - 1, durability, logAppendTime })
    }
    this.release(batch.bytes)
  }

  private fail (batch: Batch, error: unknown): void {
    this.retire(batch)
    const rejects = batch.rejects
    if (rejects !== undefined) {
      for (let index = 0; index < rejects.length; index++) rejects[index]?.(error)
    }
    for (const part of batch.parts) part.reject(error)
    this.release(batch.bytes)
  }

  // ---- buffer memory --------------------------------------------------------------------

  private async reserve (bytes: number): Promise<void> {
    // First come, first served (Kafka's BufferPool): a send never overtakes one already waiting,
    // which would also reorder records of one partition.
    if (this.bufferWaiters.length === 0 && (this.bufferedBytes + bytes <= this.options.bufferMemory || this.bufferedBytes === 0)) {
      this.bufferedBytes += bytes
      return
    }
    // Close what is open so the wait can end.
    this.closeAll()
    await new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        bytes,
        resolve,
        reject,
        timer: setTimeout(() => {
          const at = this.bufferWaiters.indexOf(waiter)
          if (at >= 0) this.bufferWaiters.splice(at, 1)
          reject(new SluiceError('SLUICE_BUFFER_FULL', `no room in buffer.memory (${this.options.bufferMemory} bytes) after max.block.ms ${this.options.maxBlockMs}`))
        }, this.options.maxBlockMs)
      }
      this.bufferWaiters.push(waiter)
    })
  }

  private release (bytes: number): void {
    this.bufferedBytes -= bytes
    while (this.bufferWaiters.length > 0) {
      const waiter = this.bufferWaiters[0]!
      if (this.bufferedBytes + waiter.bytes > this.options.bufferMemory && this.bufferedBytes > 0) break
      this.bufferWaiters.shift()
      clearTimeout(waiter.timer)
      this.bufferedBytes += waiter.bytes
      waiter.resolve()
    }
    if (this.bufferedBytes === 0) {
      for (const done of this.settled) done()
      this.settled.clear()
    }
  }

  // ---- idempotence ----------------------------------------------------------------------

  private async ensureProducerId (): Promise<void> {
    if (!this.options.idempotent || this.producerId >= 0) return
    this.idPromise ??= this.engine.initProducerId().then((identity) => {
      this.producerId = identity.producerId
      this.producerEpoch = identity.producerEpoch
    }).finally(() => { this.idPromise = undefined })
    await this.idPromise
  }

  /** Producer id and epoch (-1 before the first send, or without idempotence). */
  get identity (): { producerId: number, producerEpoch: number } {
    return { producerId: this.producerId, producerEpoch: this.producerEpoch }
  }

  private ensureOpen (): void {
    if (this.closing !== undefined) throw new SluiceError('SLUICE_CLOSED', 'the producer is closed')
  }
}

function resolveAcks (acks: Acks): 0 | 1 | -1 {
  if (acks === 'all' || acks === -1) return -1
  if (acks === 0 || acks === 1) return acks
  throw new SluiceError('SLUICE_INVALID_OPTION', `acks must be 0, 1, -1 or 'all', got ${String(acks)}`)
}

function checkPartition (topic: TopicDescription, partition: number): void {
  if (!Number.isInteger(partition) || partition < 0 || partition >= topic.partitionCount) {
    throw new SluiceError('UNKNOWN_TOPIC_OR_PARTITION', `topic ${topic.name} has no partition ${String(partition)} (it has ${topic.partitionCount})`)
  }
}

function gather (indexes: number[], keys: ArrayLike<Uint8Array | null> | null, values: ArrayLike<Uint8Array | null>, timestamps: ArrayLike<number> | undefined): BatchRecords {
  return {
    keys: keys === null ? null : indexes.map((index) => keys[index] ?? null),
    values: indexes.map((index) => values[index] ?? null),
    timestamps: timestamps === undefined ? undefined : indexes.map((index) => timestamps[index]!),
    general: undefined,
    start: 0,
    count: indexes.length
  }
}
