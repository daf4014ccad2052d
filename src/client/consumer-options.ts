/**
 * Consumer options, Kafka's consumer configs in camelCase. Defaults follow the Java client
 * except where the reason is written beside the value.
 */
import { SluiceError } from '../core/errors.js'

export type OffsetReset = 'earliest' | 'latest' | 'none'

export interface ConsumerOptions {
  /** Joins this consumer group (coordinated partitions, committed offsets). Kafka: `group.id`. */
  groupId?: string
  /** Static membership: rejoining with the same id keeps the assignment without a rebalance. Kafka: `group.instance.id`. */
  groupInstanceId?: string
  /** Identifies the consumer in group descriptions. Kafka: `client.id`. @defaultValue 'sluice' */
  clientId?: string
  /** Where to start without a committed offset, or after OFFSET_OUT_OF_RANGE. Kafka: `auto.offset.reset`. @defaultValue 'latest' */
  autoOffsetReset?: OffsetReset
  /** Commit processed offsets in the background. Kafka: `enable.auto.commit`. @defaultValue true */
  enableAutoCommit?: boolean
  /** Kafka: `auto.commit.interval.ms`. @defaultValue 5000 */
  autoCommitIntervalMs?: number
  /** Kafka: `session.timeout.ms`. @defaultValue 45000 */
  sessionTimeoutMs?: number
  /** Kafka: `heartbeat.interval.ms`. @defaultValue 3000 */
  heartbeatIntervalMs?: number
  /**
   * A handler running longer than this makes the consumer leave its group so the partitions
   * move on (also the rebalance timeout). Kafka: `max.poll.interval.ms`. @defaultValue 300000
   */
  maxPollIntervalMs?: number
  /**
   * Assignors offered, most preferred first (Kafka protocol names: 'cooperative-sticky',
   * 'range', 'roundrobin'). Kafka: `partition.assignment.strategy`.
   * @defaultValue ['cooperative-sticky']: incremental rebalancing keeps unaffected partitions
   * flowing. (Kafka's default adds 'range', which makes Java fall back to eager rebalancing:
   * the protocol is cooperative only when every assignor offered is.)
   */
  partitionAssigners?: string[]
  /** Bytes read per partition per fetch (at least one batch). Kafka: `max.partition.fetch.bytes`. @defaultValue 1048576 */
  maxBytesPerPartition?: number
  /** Longest wait of a caught-up fetch before re-checking. Kafka: `fetch.max.wait.ms`. @defaultValue 500 */
  maxWaitMs?: number
  /** How often topic lists and partition counts are re-checked for RegExp subscriptions and new partitions. Kafka: `metadata.max.age.ms`. @defaultValue 1000 (cheap in-process) */
  metadataMaxAgeMs?: number
}

export interface ResolvedConsumerOptions extends Required<Omit<ConsumerOptions, 'groupId' | 'groupInstanceId'>> {
  groupId: string | undefined
  groupInstanceId: string | undefined
}

export const consumerDefaults = Object.freeze({
  clientId: 'sluice',
  autoOffsetReset: 'latest' as OffsetReset,
  enableAutoCommit: true,
  autoCommitIntervalMs: 5000,
  sessionTimeoutMs: 45_000,
  heartbeatIntervalMs: 3000,
  maxPollIntervalMs: 300_000,
  partitionAssigners: Object.freeze(['cooperative-sticky']) as unknown as string[],
  maxBytesPerPartition: 1024 * 1024,
  maxWaitMs: 500,
  metadataMaxAgeMs: 1000
})

const renamed: Record<string, string> = {
  'group.id': 'groupId',
  'auto.offset.reset': 'autoOffsetReset',
  'enable.auto.commit': 'enableAutoCommit',
  'session.timeout.ms': 'sessionTimeoutMs',
  fromBeginning: 'autoOffsetReset: \'earliest\' (or subscribe({ fromBeginning }))',
  autoCommit: 'enableAutoCommit'
}

const integerBounds: Array<[keyof ResolvedConsumerOptions, number, number]> = [
  ['autoCommitIntervalMs', 1, 2 ** 31 - 1],
  ['sessionTimeoutMs', 1, 2 ** 31 - 1],
  ['heartbeatIntervalMs', 1, 2 ** 31 - 1],
  ['maxPollIntervalMs', 1, 2 ** 31 - 1],
  ['maxBytesPerPartition', 1, 2 ** 31 - 1],
  ['maxWaitMs', 0, 2 ** 31 - 1],
  ['metadataMaxAgeMs', 1, 2 ** 31 - 1]
]

export function resolveConsumerOptions (options: ConsumerOptions = {}): Readonly<ResolvedConsumerOptions> {
  if (typeof options !== 'object' || options === null) throw new SluiceError('SLUICE_INVALID_OPTION', 'consumer options must be an object')
  for (const key of Object.keys(options)) {
    if (key in consumerDefaults || key === 'groupId' || key === 'groupInstanceId') continue
    const hint = renamed[key]
    throw new SluiceError('SLUICE_INVALID_OPTION', hint === undefined ? `unknown consumer option ${key}` : `unknown consumer option ${key}: use ${hint}`)
  }
  const resolved: ResolvedConsumerOptions = { ...consumerDefaults, groupId: undefined, groupInstanceId: undefined, ...options }
  if (resolved.groupId !== undefined && (typeof resolved.groupId !== 'string' || resolved.groupId.length === 0)) {
    throw new SluiceError('INVALID_GROUP_ID', 'groupId must be a non-empty string')
  }
  if (resolved.groupInstanceId !== undefined && (typeof resolved.groupInstanceId !== 'string' || resolved.groupInstanceId.length === 0)) {
    throw new SluiceError('SLUICE_INVALID_OPTION', 'groupInstanceId must be a non-empty string')
  }
  if (!['earliest', 'latest', 'none'].includes(resolved.autoOffsetReset)) {
    throw new SluiceError('SLUICE_INVALID_OPTION', `autoOffsetReset must be 'earliest', 'latest' or 'none', got ${String(resolved.autoOffsetReset)}`)
  }
  for (const [key, low, high] of integerBounds) {
    const value = resolved[key]
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < low || value > high) {
      throw new SluiceError('SLUICE_INVALID_OPTION', `consumer option ${key} must be an integer in [${low}, ${high}], got ${String(value)}`)
    }
  }
  if (resolved.heartbeatIntervalMs >= resolved.sessionTimeoutMs) {
    throw new SluiceError('SLUICE_INVALID_OPTION', `heartbeatIntervalMs (${resolved.heartbeatIntervalMs}) must be lower than sessionTimeoutMs (${resolved.sessionTimeoutMs})`)
  }
  if (!Array.isArray(resolved.partitionAssigners) || resolved.partitionAssigners.length === 0) {
    throw new SluiceError('SLUICE_INVALID_OPTION', 'partitionAssigners must be a non-empty array of assignor names')
  }
  resolved.partitionAssigners = [...resolved.partitionAssigners]
  return Object.freeze(resolved)
}
