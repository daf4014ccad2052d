/**
 * Producer options, Kafka's producer configs in camelCase, with the defaults of the Java
 * client where they make sense in-process, and the reason where they differ.
 */
import { SluiceError } from '../core/errors.js'
import type { CompressionCodec } from '../io/compression.js'
import type { CustomPartitioner } from './partitioner.js'

/** 0: resolve once handed to the log; 1: once readable in the log; 'all' (-1): once as durable as the flush policy makes it. */
export type Acks = 0 | 1 | -1 | 'all'

export interface ProducerOptions {
  /** Kafka: `acks`. @defaultValue 'all' (Kafka >= 3.0) */
  acks?: Acks
  /** Kafka: `compression.type`. @defaultValue 'none' */
  compression?: CompressionCodec
  /**
   * Bytes of records per batch before it is sent. Kafka: `batch.size`. While a partition already
   * has its maximum of batches appending (5), its next batch keeps filling up to 256 KiB (within
   * `max.message.bytes`): it could not be sent sooner, and larger appends drain the backlog faster.
   * @defaultValue 16384
   */
  batchSize?: number
  /**
   * How long a non-full batch waits for more records. Kafka: `linger.ms` (5 in Kafka 4).
   * @defaultValue 0: in-process there is no network round trip to amortise, so a batch closes
   * at the end of the current event-loop turn; everything sent in one turn shares a batch.
   */
  lingerMs?: number
  /** Bytes of records waiting to be appended before `send` blocks. Kafka: `buffer.memory`. @defaultValue 33554432 */
  bufferMemory?: number
  /** How long `send` waits for buffer space before SLUICE_BUFFER_FULL. Kafka: `max.block.ms`. @defaultValue 60000 */
  maxBlockMs?: number
  /** Retries of a retriable failure. Kafka: `retries`. @defaultValue 2147483647 */
  retries?: number
  /** First retry backoff. Kafka: `retry.backoff.ms`. @defaultValue 100 */
  retryBackoffMs?: number
  /** Largest retry backoff (exponential growth stops here). Kafka: `retry.backoff.max.ms`. @defaultValue 1000 */
  retryBackoffMaxMs?: number
  /** Upper bound from `send` to success or failure, retries included. Kafka: `delivery.timeout.ms`. @defaultValue 120000 */
  deliveryTimeoutMs?: number
  /** Producer id, epoch and sequence numbers so a retried batch is never written twice. Kafka: `enable.idempotence`. @defaultValue true */
  idempotent?: boolean
  /** Replaces the default partitioner for records without an explicit partition. Kafka: `partitioner.class`. */
  partitioner?: CustomPartitioner
  /** Create unknown topics on send (when the engine allows it). @defaultValue true */
  allowAutoTopicCreation?: boolean
}

export interface ResolvedProducerOptions extends Required<Omit<ProducerOptions, 'partitioner' | 'acks'>> {
  acks: 0 | 1 | -1
  partitioner: CustomPartitioner | undefined
}

export const producerDefaults = Object.freeze({
  acks: -1 as const,
  compression: 'none' as CompressionCodec,
  batchSize: 16_384,
  lingerMs: 0,
  bufferMemory: 32 * 1024 * 1024,
  maxBlockMs: 60_000,
  retries: 2_147_483_647,
  retryBackoffMs: 100,
  retryBackoffMaxMs: 1000,
  deliveryTimeoutMs: 120_000,
  idempotent: true,
  allowAutoTopicCreation: true
})

const renamed: Record<string, string> = {
  'linger.ms': 'lingerMs',
  'batch.size': 'batchSize',
  'buffer.memory': 'bufferMemory',
  'enable.idempotence': 'idempotent',
  idempotence: 'idempotent',
  'compression.type': 'compression',
  'delivery.timeout.ms': 'deliveryTimeoutMs',
  'max.block.ms': 'maxBlockMs'
}

const integerBounds: Array<[keyof ResolvedProducerOptions, number, number]> = [
  ['batchSize', 1, 64 * 1024 * 1024],
  ['lingerMs', 0, 3_600_000],
  ['bufferMemory', 1024, 2 ** 40],
  ['maxBlockMs', 0, 2 ** 31 - 1],
  ['retries', 0, 2_147_483_647],
  ['retryBackoffMs', 0, 3_600_000],
  ['retryBackoffMaxMs', 0, 3_600_000],
  ['deliveryTimeoutMs', 1, 2 ** 31 - 1]
]

export function resolveProducerOptions (options: ProducerOptions = {}): Readonly<ResolvedProducerOptions> {
  if (typeof options !== 'object' || options === null) throw new SluiceError('SLUICE_INVALID_OPTION', 'producer options must be an object')
  for (const key of Object.keys(options)) {
    if (key in producerDefaults || key === 'partitioner') continue
    const hint = renamed[key]
    throw new SluiceError('SLUICE_INVALID_OPTION', hint === undefined ? `unknown producer option ${key}` : `unknown producer option ${key}: use ${hint}`)
  }
  const acks = options.acks === 'all' ? -1 : (options.acks ?? producerDefaults.acks)
  if (acks !== 0 && acks !== 1 && acks !== -1) throw new SluiceError('SLUICE_INVALID_OPTION', `acks must be 0, 1, -1 or 'all', got ${String(options.acks)}`)
  const resolved: ResolvedProducerOptions = { ...producerDefaults, ...options, acks, partitioner: options.partitioner }
  for (const [key, low, high] of integerBounds) {
    const value = resolved[key]
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < low || value > high) {
      throw new SluiceError('SLUICE_INVALID_OPTION', `producer option ${key} must be an integer in [${low}, ${high}], got ${String(value)}`)
    }
  }
  if (!['none', 'gzip', 'snappy', 'lz4', 'zstd'].includes(resolved.compression)) {
    throw new SluiceError('SLUICE_INVALID_OPTION', `compression must be none, gzip, snappy, lz4 or zstd, got ${String(resolved.compression)}`)
  }
  if (resolved.partitioner !== undefined && typeof resolved.partitioner !== 'function') {
    throw new SluiceError('SLUICE_INVALID_OPTION', 'partitioner must be a function')
  }
  if (resolved.retryBackoffMaxMs < resolved.retryBackoffMs) resolved.retryBackoffMaxMs = resolved.retryBackoffMs
  return Object.freeze(resolved)
}
