import { describe, expect, test } from 'vitest'
import {
  KAFKA_LONG_MAX,
  LONG_MAX,
  hasCompactPolicy,
  hasDeletePolicy,
  parseTopicConfig,
  resolveTopicConfig,
  topicConfigDefaults,
  topicConfigNames,
  topicConfigToEntries
} from '../../src/engine/topic-config.js'

function code (action: () => unknown): string | undefined {
  try {
    action()
  } catch (error) {
    return (error as { code?: string }).code
  }
  return undefined
}

describe('topic config', () => {
  test('defaults are Kafka\'s', () => {
    expect(topicConfigDefaults).toMatchObject({
      retentionMs: 604800000,
      retentionBytes: -1,
      segmentBytes: 1073741824,
      segmentMs: 604800000,
      segmentIndexBytes: 10485760,
      indexIntervalBytes: 4096,
      cleanupPolicy: 'delete',
      maxMessageBytes: 1048588,
      minCompactionLagMs: 0,
      maxCompactionLagMs: LONG_MAX,
      deleteRetentionMs: 86400000,
      minCleanableDirtyRatio: 0.5,
      messageTimestampType: 'CreateTime',
      fileDeleteDelayMs: 60000,
      flushMessages: LONG_MAX,
      flushMs: LONG_MAX
    })
    expect(Object.isFrozen(topicConfigDefaults)).toBe(true)
    const rendered = topicConfigToEntries(topicConfigDefaults)
    expect(rendered['flush.ms']).toBe(KAFKA_LONG_MAX)
    expect(rendered['retention.ms']).toBe('604800000')
    expect(rendered['cleanup.policy']).toBe('delete')
  })

  test('parses Kafka-named string entries on top of the defaults', () => {
    const config = parseTopicConfig({ 'retention.ms': '1000', 'cleanup.policy': 'delete, compact', 'min.cleanable.dirty.ratio': '0.25', preallocate: 'TRUE' })
    expect(config.retentionMs).toBe(1000)
    expect(config.cleanupPolicy).toBe('compact,delete')
    expect(config.minCleanableDirtyRatio).toBe(0.25)
    expect(config.preallocate).toBe(true)
    expect(config.segmentBytes).toBe(topicConfigDefaults.segmentBytes)
    expect(hasCompactPolicy(config) && hasDeletePolicy(config)).toBe(true)
    expect(parseTopicConfig(new Map([['cleanup.policy', 'compact']])).cleanupPolicy).toBe('compact')
    expect(parseTopicConfig([['retention.bytes', '-1']]).retentionBytes).toBe(-1)
  })

  test('other Kafka topic configs are accepted (and have no effect on one node)', () => {
    const config = parseTopicConfig({ 'unclean.leader.election.enable': 'true', 'local.retention.ms': '-2', 'follower.replication.throttled.replicas': '0:1,1:1', 'leader.replication.throttled.replicas': '*', 'remote.storage.enable': 'false', 'min.insync.replicas': '1', 'compression.type': 'zstd' })
    expect(config.uncleanLeaderElectionEnable).toBe(true)
    expect(config.followerReplicationThrottledReplicas).toBe('0:1,1:1')
    expect(config.compressionType).toBe('zstd')
  })

  test('Long.MAX round-trips through the sentinel', () => {
    const config = parseTopicConfig({ 'max.compaction.lag.ms': KAFKA_LONG_MAX, 'flush.messages': '9007199254740993' })
    expect(config.maxCompactionLagMs).toBe(LONG_MAX)
    expect(config.flushMessages).toBe(LONG_MAX)
    expect(topicConfigToEntries(config)['max.compaction.lag.ms']).toBe(KAFKA_LONG_MAX)
  })

  test('null reverts a key to its default', () => {
    const base = parseTopicConfig({ 'retention.ms': '5' })
    expect(parseTopicConfig({ 'retention.ms': null }, base).retentionMs).toBe(topicConfigDefaults.retentionMs)
  })

  test('overrides render only what differs from the defaults', () => {
    const config = parseTopicConfig({ 'retention.ms': '5', 'segment.bytes': String(topicConfigDefaults.segmentBytes) })
    expect(topicConfigToEntries(config, { onlyOverrides: true })).toEqual({ 'retention.ms': '5' })
  })

  test.each([
    [{ 'retention.msx': '1' }],
    [{ retentionMs: '1' }],
    [{ 'retention.ms': 'abc' }],
    [{ 'retention.ms': '-2' }],
    [{ 'retention.ms': '1.5' }],
    [{ 'retention.ms': '99999999999999999999' }],
    [{ 'segment.bytes': '13' }],
    [{ 'segment.bytes': '2147483648' }],
    [{ 'segment.ms': '0' }],
    [{ 'flush.messages': '0' }],
    [{ 'cleanup.policy': 'compact,compact' }],
    [{ 'cleanup.policy': 'remove' }],
    [{ 'cleanup.policy': '' }],
    [{ 'min.cleanable.dirty.ratio': '1.5' }],
    [{ 'min.cleanable.dirty.ratio': 'NaN' }],
    [{ 'message.timestamp.type': 'createtime' }],
    [{ preallocate: 'yes' }],
    [{ 'min.compaction.lag.ms': '10', 'max.compaction.lag.ms': '5' }],
    [{ 'retention.ms': 5 as unknown as string }],
    [{ 'remote.storage.enable': 'true' }],
    [{ 'local.retention.ms': '-3' }],
    [{ 'leader.replication.throttled.replicas': 'all' }]
  ])('rejects %j with INVALID_CONFIG', (entries) => {
    expect(code(() => parseTopicConfig(entries))).toBe('INVALID_CONFIG')
  })

  test('every accepted name parses its own rendered default', () => {
    const rendered = topicConfigToEntries(topicConfigDefaults)
    expect(Object.keys(rendered).sort()).toEqual([...topicConfigNames].sort())
    expect(parseTopicConfig(rendered)).toEqual(topicConfigDefaults)
  })

  test('typed options are validated the same way', () => {
    expect(resolveTopicConfig({ retentionMs: 10, cleanupPolicy: 'compact' })).toMatchObject({ retentionMs: 10, cleanupPolicy: 'compact' })
    expect(code(() => resolveTopicConfig({ retentionMs: 1.5 }))).toBe('INVALID_CONFIG')
    expect(code(() => resolveTopicConfig({ segmentBytes: 2 ** 31 }))).toBe('INVALID_CONFIG')
    expect(code(() => resolveTopicConfig({ cleanupPolicy: 'delete,compact' as 'compact,delete' }))).toBe('INVALID_CONFIG')
    expect(code(() => resolveTopicConfig({ 'retention.ms': 5 } as never))).toBe('INVALID_CONFIG')
    expect(code(() => resolveTopicConfig({ minCompactionLagMs: 10, maxCompactionLagMs: 1 }))).toBe('INVALID_CONFIG')
  })
})
