/**
 * Per-topic configuration with Kafka's names, defaults and bounds (`LogConfig`).
 *
 * Two faces of the same values:
 * - the Kafka face: a map of dotted names to strings (`retention.ms` -> `"604800000"`), as
 *   CreateTopics, AlterConfigs and DescribeConfigs carry them and as the topic registry stores
 *   a topic's overrides;
 * - the TypeScript face: a frozen `TopicConfig` object of camelCase fields (`retentionMs`), the
 *   only form the engine passes around after parsing.
 *
 * Invariants of a resolved `TopicConfig`:
 * - every field is present and inside Kafka's bounds (checked here, never re-checked deep in the
 *   engine);
 * - Kafka's `Long.MAX_VALUE` ("never") is represented as `Number.MAX_SAFE_INTEGER`: both are far
 *   beyond any clock or size this engine meets, and offsets/times stay plain numbers. Rendering
 *   back to strings turns it into `9223372036854775807` again so Kafka clients see their value;
 * - `minCompactionLagMs <= maxCompactionLagMs` (Kafka rejects the pair otherwise).
 *
 * Bad input never throws anything but SluiceError('INVALID_CONFIG') naming the key, the value
 * and the bound; unknown keys are rejected rather than ignored, so a typo never silently falls
 * back to a default.
 */
import { SluiceError } from '../core/errors.js'

/** Kafka `cleanup.policy`: which background task bounds the log. */
export type CleanupPolicy = 'delete' | 'compact' | 'compact,delete'

/** Kafka `message.timestamp.type`. */
export type MessageTimestampType = 'CreateTime' | 'LogAppendTime'

/** Kafka `compression.type` for a topic: `producer` keeps what the producer sent. */
export type TopicCompressionType = 'producer' | 'uncompressed' | 'gzip' | 'snappy' | 'lz4' | 'zstd'

/** A topic's resolved configuration. Every field mirrors one Kafka topic config. */
export interface TopicConfig {
  /** Kafka `retention.ms`: delete a segment once its newest record is older. -1 = forever. @defaultValue 604800000 (7 d) */
  readonly retentionMs: number
  /** Kafka `retention.bytes`: delete oldest segments while the log stays at least this big without them. -1 = no limit. @defaultValue -1 */
  readonly retentionBytes: number
  /** Kafka `segment.bytes`: roll the active segment past this size. @defaultValue 1073741824 (1 GiB) */
  readonly segmentBytes: number
  /** Kafka `segment.ms`: roll the active segment after this long. @defaultValue 604800000 (7 d) */
  readonly segmentMs: number
  /** Kafka `segment.jitter.ms`: random amount subtracted from `segment.ms`. @defaultValue 0 */
  readonly segmentJitterMs: number
  /** Kafka `segment.index.bytes`: preallocated size of each offset/time index file. @defaultValue 10485760 (10 MiB) */
  readonly segmentIndexBytes: number
  /** Kafka `index.interval.bytes`: log bytes between two offset-index entries. @defaultValue 4096 */
  readonly indexIntervalBytes: number
  /** Kafka `cleanup.policy`. @defaultValue 'delete' */
  readonly cleanupPolicy: CleanupPolicy
  /** Kafka `flush.messages`: fsync after this many unflushed records. @defaultValue Long.MAX (never) */
  readonly flushMessages: number
  /** Kafka `flush.ms`: fsync when the last flush is older than this. @defaultValue Long.MAX (never) */
  readonly flushMs: number
  /** Kafka `max.message.bytes`: largest batch accepted, in bytes. @defaultValue 1048588 */
  readonly maxMessageBytes: number
  /** Kafka `min.compaction.lag.ms`: records younger than this are never compacted. @defaultValue 0 */
  readonly minCompactionLagMs: number
  /** Kafka `max.compaction.lag.ms`: records older than this make the log eligible whatever its dirty ratio. @defaultValue Long.MAX */
  readonly maxCompactionLagMs: number
  /** Kafka `delete.retention.ms`: how long a tombstone survives after its delete horizon is set. @defaultValue 86400000 (1 d) */
  readonly deleteRetentionMs: number
  /** Kafka `min.cleanable.dirty.ratio`: compact once dirty bytes exceed this share of the log. @defaultValue 0.5 */
  readonly minCleanableDirtyRatio: number
  /** Kafka `message.timestamp.type`. @defaultValue 'CreateTime' */
  readonly messageTimestampType: MessageTimestampType
  /** Kafka `message.timestamp.before.max.ms`: CreateTime may lag the broker clock by this much. @defaultValue Long.MAX */
  readonly messageTimestampBeforeMaxMs: number
  /** Kafka `message.timestamp.after.max.ms`: CreateTime may lead the broker clock by this much. @defaultValue Long.MAX */
  readonly messageTimestampAfterMaxMs: number
  /** Kafka `file.delete.delay.ms`: how long a `.deleted` segment file lingers before unlink. @defaultValue 60000 */
  readonly fileDeleteDelayMs: number
  /** Kafka `compression.type`. @defaultValue 'producer' */
  readonly compressionType: TopicCompressionType
  /** Kafka `min.insync.replicas`; a single node has one replica, so only 1 lets `acks=all` succeed. @defaultValue 1 */
  readonly minInsyncReplicas: number
  /** Kafka `preallocate`: preallocate segment files. @defaultValue false */
  readonly preallocate: boolean
  /** Kafka `unclean.leader.election.enable`; one replica, so accepted and without effect. @defaultValue false */
  readonly uncleanLeaderElectionEnable: boolean
  /** Kafka `message.downconversion.enable`; accepted and without effect (no pre-v2 fetches). @defaultValue true */
  readonly messageDownconversionEnable: boolean
  /** Kafka `remote.storage.enable`: tiered storage, which Sluice does not have, so only false is accepted. @defaultValue false */
  readonly remoteStorageEnable: boolean
  /** Kafka `local.retention.ms` (tiered storage); -2 = use retention.ms. Accepted and without effect. @defaultValue -2 */
  readonly localRetentionMs: number
  /** Kafka `local.retention.bytes` (tiered storage); -2 = use retention.bytes. Accepted and without effect. @defaultValue -2 */
  readonly localRetentionBytes: number
  /** Kafka `leader.replication.throttled.replicas`; one replica, so accepted and without effect. @defaultValue '' */
  readonly leaderReplicationThrottledReplicas: string
  /** Kafka `follower.replication.throttled.replicas`; accepted and without effect. @defaultValue '' */
  readonly followerReplicationThrottledReplicas: string
}

/** Kafka's `Long.MAX_VALUE`, the "never" of several configs, as Kafka clients spell it. */
export const KAFKA_LONG_MAX = '9223372036854775807'
/** How Sluice holds Kafka's `Long.MAX_VALUE`. */
export const LONG_MAX = Number.MAX_SAFE_INTEGER
const INT_MAX = 2 ** 31 - 1

/** Kafka's defaults (`LogConfig`, `ServerLogConfigs`). */
export const topicConfigDefaults: Readonly<TopicConfig> = Object.freeze({
  retentionMs: 604_800_000,
  retentionBytes: -1,
  segmentBytes: 1_073_741_824,
  segmentMs: 604_800_000,
  segmentJitterMs: 0,
  segmentIndexBytes: 10_485_760,
  indexIntervalBytes: 4096,
  cleanupPolicy: 'delete',
  flushMessages: LONG_MAX,
  flushMs: LONG_MAX,
  maxMessageBytes: 1_048_588,
  minCompactionLagMs: 0,
  maxCompactionLagMs: LONG_MAX,
  deleteRetentionMs: 86_400_000,
  minCleanableDirtyRatio: 0.5,
  messageTimestampType: 'CreateTime',
  messageTimestampBeforeMaxMs: LONG_MAX,
  messageTimestampAfterMaxMs: LONG_MAX,
  fileDeleteDelayMs: 60_000,
  compressionType: 'producer',
  minInsyncReplicas: 1,
  preallocate: false,
  uncleanLeaderElectionEnable: false,
  messageDownconversionEnable: true,
  remoteStorageEnable: false,
  localRetentionMs: -2,
  localRetentionBytes: -2,
  leaderReplicationThrottledReplicas: '',
  followerReplicationThrottledReplicas: ''
})

/** A partial `TopicConfig`, as callers of the TypeScript API give it. */
export type TopicConfigOptions = { -readonly [K in keyof TopicConfig]?: TopicConfig[K] }

type Kind =
  | { type: 'long', min: number }
  | { type: 'int', min: number, max?: number }
  | { type: 'ratio' }
  | { type: 'boolean' }
  | { type: 'enum', values: readonly string[] }
  | { type: 'cleanupPolicy' }
  | { type: 'replicaList' }

interface Definition { readonly field: keyof TopicConfig, readonly kind: Kind }

/**
 * Kafka name -> field and bound. Bounds are Kafka's `ConfigDef` validators, except where noted.
 * Sizes that become int32 file positions (`segment.bytes`, index sizes) are ints, as in Kafka.
 */
const definitions: ReadonlyMap<string, Definition> = new Map<string, Definition>([
  ['retention.ms', { field: 'retentionMs', kind: { type: 'long', min: -1 } }],
  ['retention.bytes', { field: 'retentionBytes', kind: { type: 'long', min: -1 } }],
  // 14 = LegacyRecord.RECORD_OVERHEAD_V0, Kafka's floor for a segment.
  ['segment.bytes', { field: 'segmentBytes', kind: { type: 'int', min: 14 } }],
  ['segment.ms', { field: 'segmentMs', kind: { type: 'long', min: 1 } }],
  ['segment.jitter.ms', { field: 'segmentJitterMs', kind: { type: 'long', min: 0 } }],
  // 4 bytes is Kafka's floor; the index needs room for at least one 12-byte time entry to work,
  // which Kafka also does not insist on, so neither do we.
  ['segment.index.bytes', { field: 'segmentIndexBytes', kind: { type: 'int', min: 4 } }],
  ['index.interval.bytes', { field: 'indexIntervalBytes', kind: { type: 'int', min: 0 } }],
  ['cleanup.policy', { field: 'cleanupPolicy', kind: { type: 'cleanupPolicy' } }],
  ['flush.messages', { field: 'flushMessages', kind: { type: 'long', min: 1 } }],
  ['flush.ms', { field: 'flushMs', kind: { type: 'long', min: 0 } }],
  ['max.message.bytes', { field: 'maxMessageBytes', kind: { type: 'int', min: 0 } }],
  ['min.compaction.lag.ms', { field: 'minCompactionLagMs', kind: { type: 'long', min: 0 } }],
  ['max.compaction.lag.ms', { field: 'maxCompactionLagMs', kind: { type: 'long', min: 1 } }],
  ['delete.retention.ms', { field: 'deleteRetentionMs', kind: { type: 'long', min: 0 } }],
  ['min.cleanable.dirty.ratio', { field: 'minCleanableDirtyRatio', kind: { type: 'ratio' } }],
  ['message.timestamp.type', { field: 'messageTimestampType', kind: { type: 'enum', values: ['CreateTime', 'LogAppendTime'] } }],
  ['message.timestamp.before.max.ms', { field: 'messageTimestampBeforeMaxMs', kind: { type: 'long', min: 0 } }],
  ['message.timestamp.after.max.ms', { field: 'messageTimestampAfterMaxMs', kind: { type: 'long', min: 0 } }],
  ['file.delete.delay.ms', { field: 'fileDeleteDelayMs', kind: { type: 'long', min: 0 } }],
  ['compression.type', { field: 'compressionType', kind: { type: 'enum', values: ['producer', 'uncompressed', 'gzip', 'snappy', 'lz4', 'zstd'] } }],
  ['min.insync.replicas', { field: 'minInsyncReplicas', kind: { type: 'int', min: 1 } }],
  ['preallocate', { field: 'preallocate', kind: { type: 'boolean' } }],
  ['unclean.leader.election.enable', { field: 'uncleanLeaderElectionEnable', kind: { type: 'boolean' } }],
  ['message.downconversion.enable', { field: 'messageDownconversionEnable', kind: { type: 'boolean' } }],
  // Kafka refuses `true` when the broker has no tiered storage: so does Sluice (see finish()).
  ['remote.storage.enable', { field: 'remoteStorageEnable', kind: { type: 'boolean' } }],
  ['local.retention.ms', { field: 'localRetentionMs', kind: { type: 'long', min: -2 } }],
  ['local.retention.bytes', { field: 'localRetentionBytes', kind: { type: 'long', min: -2 } }],
  ['leader.replication.throttled.replicas', { field: 'leaderReplicationThrottledReplicas', kind: { type: 'replicaList' } }],
  ['follower.replication.throttled.replicas', { field: 'followerReplicationThrottledReplicas', kind: { type: 'replicaList' } }]
])

const namesByField: ReadonlyMap<keyof TopicConfig, string> = new Map(
  [...definitions].map(([name, definition]) => [definition.field, name])
)

/** Every Kafka config name a topic accepts, in Kafka's spelling. */
export const topicConfigNames: readonly string[] = Object.freeze([...definitions.keys()])

/** The Kafka name of a field (`retentionMs` -> `retention.ms`). */
export function topicConfigName (field: keyof TopicConfig): string {
  const name = namesByField.get(field)
  if (name === undefined) throw new SluiceError('INVALID_CONFIG', `unknown topic config field '${String(field)}'`)
  return name
}

/** True when the policy has the delete task (retention) running. */
export function hasDeletePolicy (config: Pick<TopicConfig, 'cleanupPolicy'>): boolean {
  return config.cleanupPolicy === 'delete' || config.cleanupPolicy === 'compact,delete'
}

/** True when the policy has the compaction task running. */
export function hasCompactPolicy (config: Pick<TopicConfig, 'cleanupPolicy'>): boolean {
  return config.cleanupPolicy === 'compact' || config.cleanupPolicy === 'compact,delete'
}

/** Kafka-named string entries; `null` (as AlterConfigs sends it) means "back to the default". */
export type TopicConfigEntries =
  | Readonly<Record<string, string | null>>
  | ReadonlyMap<string, string | null>
  | Iterable<readonly [string, string | null]>

function entriesOf (entries: TopicConfigEntries): Array<readonly [string, string | null]> {
  if (entries instanceof Map) return [...(entries as ReadonlyMap<string, string | null>).entries()]
  if (typeof (entries as Iterable<unknown>)[Symbol.iterator] === 'function') return [...(entries as Iterable<readonly [string, string | null]>)]
  return Object.entries(entries as Record<string, string | null>)
}

/**
 * Parses Kafka-named string entries on top of `base` (the defaults unless given), validating
 * every key and value. Throws SluiceError('INVALID_CONFIG') for an unknown key, a malformed or
 * out-of-bound value, a duplicate key, or a min/max compaction lag conflict.
 */
export function parseTopicConfig (entries: TopicConfigEntries, base: Readonly<TopicConfig> = topicConfigDefaults): Readonly<TopicConfig> {
  const result: Record<string, unknown> = { ...base }
  const seen = new Set<string>()
  for (const [name, value] of entriesOf(entries)) {
    if (typeof name !== 'string') throw new SluiceError('INVALID_CONFIG', 'topic config name must be a string')
    const definition = definitions.get(name)
    if (definition === undefined) throw unknownName(name)
    if (seen.has(name)) throw new SluiceError('INVALID_CONFIG', `topic config '${name}' given twice`)
    seen.add(name)
    result[definition.field] = value === null ? topicConfigDefaults[definition.field] : parseValue(name, definition.kind, value)
  }
  return finish(result)
}

/**
 * Validates a typed partial config on top of `base` (the defaults unless given). Unknown fields
 * and values of the wrong type or outside Kafka's bounds throw SluiceError('INVALID_CONFIG').
 */
export function resolveTopicConfig (options: TopicConfigOptions = {}, base: Readonly<TopicConfig> = topicConfigDefaults): Readonly<TopicConfig> {
  if (typeof options !== 'object' || options === null) throw new SluiceError('INVALID_CONFIG', 'topic config must be an object')
  const result: Record<string, unknown> = { ...base }
  for (const [field, value] of Object.entries(options)) {
    if (value === undefined) continue
    const name = namesByField.get(field as keyof TopicConfig)
    if (name === undefined) {
      const hint = definitions.has(field) ? ` (use the camelCase field '${definitions.get(field)!.field}' or parseTopicConfig for Kafka names)` : ''
      throw new SluiceError('INVALID_CONFIG', `unknown topic config field '${field}'${hint}`)
    }
    const definition = definitions.get(name)!
    checkTyped(name, definition.kind, value)
    result[field] = value
  }
  return finish(result)
}

/**
 * Renders a config as Kafka-named strings. With `onlyOverrides`, only the entries that differ
 * from the defaults (what the registry persists, so a later change of a default applies).
 */
export function topicConfigToEntries (config: Readonly<TopicConfig>, options: { onlyOverrides?: boolean } = {}): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [name, definition] of definitions) {
    const value = config[definition.field]
    if (options.onlyOverrides === true && value === topicConfigDefaults[definition.field]) continue
    out[name] = renderValue(value)
  }
  return out
}

function renderValue (value: TopicConfig[keyof TopicConfig]): string {
  if (typeof value === 'number') return value === LONG_MAX ? KAFKA_LONG_MAX : String(value)
  return String(value)
}

function unknownName (name: string): SluiceError {
  const camel = namesByField.has(name as keyof TopicConfig) ? ` (Kafka spells it '${namesByField.get(name as keyof TopicConfig)!}')` : ''
  return new SluiceError('INVALID_CONFIG', `unknown topic config '${name}'${camel}`)
}

function invalid (name: string, value: unknown, why: string): SluiceError {
  return new SluiceError('INVALID_CONFIG', `invalid value ${JSON.stringify(value)} for topic config '${name}': ${why}`)
}

const INTEGER = /^[+-]?\d+$/
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/

function parseValue (name: string, kind: Kind, raw: unknown): unknown {
  if (typeof raw !== 'string') throw invalid(name, raw, 'expected a string')
  const text = raw.trim()
  switch (kind.type) {
    case 'long': {
      if (!INTEGER.test(text)) throw invalid(name, raw, 'expected an integer')
      const big = BigInt(text)
      if (big > 9223372036854775807n || big < -9223372036854775808n) throw invalid(name, raw, 'outside the int64 range')
      if (big < BigInt(kind.min)) throw invalid(name, raw, `must be at least ${kind.min}`)
      // Values past 2^53 only ever mean "effectively never"; clamp them to the one sentinel.
      return big >= BigInt(LONG_MAX) ? LONG_MAX : Number(big)
    }
    case 'int': {
      if (!INTEGER.test(text)) throw invalid(name, raw, 'expected an integer')
      const value = Number(text)
      checkInt(name, kind, value, raw)
      return value
    }
    case 'ratio': {
      if (!DECIMAL.test(text)) throw invalid(name, raw, 'expected a number')
      const value = Number(text)
      if (!(value >= 0 && value <= 1)) throw invalid(name, raw, 'must be between 0 and 1')
      return value
    }
    case 'boolean': {
      const lower = text.toLowerCase()
      if (lower === 'true') return true
      if (lower === 'false') return false
      throw invalid(name, raw, 'expected true or false')
    }
    case 'enum': {
      if (!kind.values.includes(text)) throw invalid(name, raw, `expected one of ${kind.values.join(', ')}`)
      return text
    }
    case 'cleanupPolicy':
      return parseCleanupPolicy(name, raw, text)
    case 'replicaList':
      checkReplicaList(name, raw, text)
      return text
  }
}

/** Kafka's throttled-replicas syntax: empty, `*`, or `partition:broker` pairs separated by commas. */
function checkReplicaList (name: string, raw: unknown, text: string): void {
  if (text === '' || text === '*') return
  if (!/^\d+:\d+(,\d+:\d+)*$/.test(text.replaceAll(' ', ''))) throw invalid(name, raw, "expected '*' or a list of partition:broker pairs")
}

/** Kafka takes a list: "compact", "delete", "compact,delete" or "delete, compact" are all valid. */
function parseCleanupPolicy (name: string, raw: unknown, text: string): CleanupPolicy {
  const items = text.split(',').map((item) => item.trim())
  const compact = items.includes('compact')
  const remove = items.includes('delete')
  for (const item of items) {
    if (item !== 'compact' && item !== 'delete') throw invalid(name, raw, 'expected a list of compact and delete')
  }
  if (items.length !== new Set(items).size) throw invalid(name, raw, 'duplicate entry')
  if (compact && remove) return 'compact,delete'
  if (compact) return 'compact'
  return 'delete'
}

function checkInt (name: string, kind: { min: number, max?: number }, value: number, raw: unknown): void {
  const max = kind.max ?? INT_MAX
  if (!Number.isInteger(value)) throw invalid(name, raw, 'expected an integer')
  if (value < kind.min) throw invalid(name, raw, `must be at least ${kind.min}`)
  if (value > max) throw invalid(name, raw, `must be at most ${max}`)
}

function checkTyped (name: string, kind: Kind, value: unknown): void {
  switch (kind.type) {
    case 'long':
      if (typeof value !== 'number' || !Number.isSafeInteger(value)) throw invalid(name, value, 'expected a safe integer')
      if (value < kind.min) throw invalid(name, value, `must be at least ${kind.min}`)
      return
    case 'int':
      if (typeof value !== 'number') throw invalid(name, value, 'expected an integer')
      checkInt(name, kind, value, value)
      return
    case 'ratio':
      if (typeof value !== 'number' || !(value >= 0 && value <= 1)) throw invalid(name, value, 'must be a number between 0 and 1')
      return
    case 'boolean':
      if (typeof value !== 'boolean') throw invalid(name, value, 'expected a boolean')
      return
    case 'enum':
      if (typeof value !== 'string' || !kind.values.includes(value)) throw invalid(name, value, `expected one of ${kind.values.join(', ')}`)
      return
    case 'cleanupPolicy':
      if (value !== 'delete' && value !== 'compact' && value !== 'compact,delete') throw invalid(name, value, "expected 'delete', 'compact' or 'compact,delete'")
      return
    case 'replicaList':
      if (typeof value !== 'string') throw invalid(name, value, 'expected a string')
      checkReplicaList(name, value, value.trim())
  }
}

function finish (result: Record<string, unknown>): Readonly<TopicConfig> {
  const config = result as unknown as TopicConfig
  if (config.remoteStorageEnable) {
    throw new SluiceError('INVALID_CONFIG', 'remote.storage.enable=true: tiered storage is not available on this broker')
  }
  if (config.minCompactionLagMs > config.maxCompactionLagMs) {
    throw new SluiceError('INVALID_CONFIG', `conflicting topic configs: min.compaction.lag.ms ${config.minCompactionLagMs} > max.compaction.lag.ms ${config.maxCompactionLagMs}`)
  }
  return Object.freeze(config)
}
