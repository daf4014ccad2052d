/**
 * The embedded admin client: topics, partitions, configs, groups, offsets, and consumer lag,
 * the figure operators watch first.
 *
 * Lag of a group on a partition = high watermark - committed offset (records the group has not
 * processed yet). With no committed offset the lag is null: where the group would start
 * depends on its consumers' `autoOffsetReset`.
 */
import { SluiceError } from '../core/errors.js'
import type { Engine } from '../engine/engine.js'
import type { GroupDescription, GroupListing } from '../engine/group-coordinator.js'
import { decodeAssignment } from '../engine/consumer-protocol.js'
import type { TopicPartitions } from '../engine/consumer-protocol.js'
import { topicConfigToEntries } from '../engine/topic-config.js'
import type { TopicConfigEntries, TopicConfigOptions } from '../engine/topic-config.js'
import type { TopicDescription } from '../engine/topic-registry.js'

export interface NewTopic {
  topic: string
  /** @defaultValue the engine's numPartitions */
  numPartitions?: number
  /** Kafka-named configs, e.g. `{ 'cleanup.policy': 'compact' }`. */
  configEntries?: Record<string, string> | Array<{ name: string, value: string }>
  /** Typed camelCase configs, e.g. `{ retentionMs: 60000 }`. */
  config?: TopicConfigOptions
}

export interface PartitionOffsets {
  partition: number
  /** Log start offset (Kafka's low watermark). */
  low: number
  /** High watermark: the next offset to be written and readable. */
  high: number
}

export interface PartitionLag {
  topic: string
  partition: number
  /** -1 when the group has committed nothing for the partition. */
  committedOffset: number
  logStartOffset: number
  logEndOffset: number
  /** logEndOffset - committedOffset; null without a committed offset. */
  lag: number | null
}

export interface GroupLag {
  groupId: string
  partitions: PartitionLag[]
  /** Sum of the known lags. */
  totalLag: number
}

export interface DescribedGroupMember {
  memberId: string
  groupInstanceId: string | null
  clientId: string
  clientHost: string
  /** Decoded consumer-protocol assignment (empty for other protocol types). */
  assignment: TopicPartitions[]
}

export interface DescribedGroup extends Omit<GroupDescription, 'members'> {
  members: DescribedGroupMember[]
}

function configEntries (entries: NewTopic['configEntries']): TopicConfigEntries | undefined {
  if (entries === undefined) return undefined
  if (Array.isArray(entries)) return entries.map(({ name, value }) => [name, value] as const)
  return Object.entries(entries)
}

export class Admin {
  constructor (private readonly engine: Engine) {}

  /** Creates topics; resolves to false when every one of them already existed (kafkajs semantics), true otherwise. */
  async createTopics (request: { topics: readonly NewTopic[], validateOnly?: boolean }): Promise<boolean> {
    let created = false
    for (const topic of request.topics) {
      if (this.engine.topics.has(topic.topic)) continue
      const entries = configEntries(topic.configEntries)
      await this.engine.createTopic(topic.topic, {
        partitions: topic.numPartitions ?? this.engine.options.numPartitions,
        ...(entries === undefined ? {} : { configs: entries }),
        ...(topic.config === undefined ? {} : { config: topic.config }),
        ...(request.validateOnly === true ? { validateOnly: true } : {})
      })
      created = true
    }
    return created
  }

  async deleteTopics (request: { topics: readonly string[] }): Promise<void> {
    for (const topic of request.topics) await this.engine.deleteTopic(topic)
  }

  /** Names of the user topics (internal ones with `includeInternal`). */
  listTopics (options: { includeInternal?: boolean } = {}): string[] {
    return this.engine.topics.list(options)
  }

  describeTopic (topic: string): TopicDescription {
    return this.engine.topics.describe(topic)
  }

  /** Grows topics to `count` partitions each (never shrinks: INVALID_PARTITIONS). */
  async createPartitions (request: { topicPartitions: ReadonlyArray<{ topic: string, count: number }>, validateOnly?: boolean }): Promise<void> {
    for (const { topic, count } of request.topicPartitions) {
      await this.engine.createPartitions(topic, count, request.validateOnly === true ? { validateOnly: true } : {})
    }
  }

  /** Every config of a topic, Kafka-named, with which ones are set on the topic. */
  describeConfigs (topic: string): Array<{ name: string, value: string, isDefault: boolean }> {
    const description = this.engine.topics.describe(topic)
    return Object.entries(topicConfigToEntries(description.config)).map(([name, value]) => ({ name, value, isDefault: !(name in description.overrides) }))
  }

  /** Sets configs of a topic (incremental: only the named keys change; null restores the default). */
  async alterConfigs (topic: string, entries: Record<string, string | null>, options: { validateOnly?: boolean } = {}): Promise<TopicDescription> {
    return await this.engine.topics.alterConfigs(topic, Object.entries(entries), { mode: 'incremental', ...(options.validateOnly === true ? { validateOnly: true } : {}) })
  }

  /** Low and high watermarks of every partition of a topic. */
  fetchTopicOffsets (topic: string): PartitionOffsets[] {
    const description = this.engine.topics.describe(topic)
    const result: PartitionOffsets[] = []
    for (let partition = 0; partition < description.partitionCount; partition++) {
      const log = this.engine.partitionLog(topic, partition)
      result.push({ partition, low: log.logStartOffset, high: log.highWatermark })
    }
    return result
  }

  /** Per partition, the first offset whose timestamp is >= `timestamp` (the high watermark when none). */
  async fetchTopicOffsetsByTimestamp (topic: string, timestamp: number): Promise<Array<{ partition: number, offset: number }>> {
    const description = this.engine.topics.describe(topic)
    const result: Array<{ partition: number, offset: number }> = []
    for (let partition = 0; partition < description.partitionCount; partition++) {
      const found = await this.engine.listOffset(topic, partition, timestamp)
      result.push({ partition, offset: found.offset === -1 ? this.engine.partitionLog(topic, partition).highWatermark : found.offset })
    }
    return result
  }

  /** Deletes records below the given offsets (-1 = everything); returns the new low watermarks. */
  async deleteTopicRecords (request: { topic: string, partitions: ReadonlyArray<{ partition: number, offset: number }> }): Promise<Array<{ partition: number, lowWatermark: number }>> {
    const result: Array<{ partition: number, lowWatermark: number }> = []
    for (const { partition, offset } of request.partitions) {
      result.push({ partition, lowWatermark: await this.engine.deleteRecords(request.topic, partition, offset) })
    }
    return result
  }

  listGroups (options: { states?: string[] } = {}): GroupListing[] {
    return this.engine.groups.listGroups(options.states ?? [])
  }

  describeGroups (groupIds: readonly string[]): DescribedGroup[] {
    return this.engine.groups.describeGroups(groupIds).map((group) => ({
      ...group,
      members: group.members.map((member) => ({
        memberId: member.memberId,
        groupInstanceId: member.groupInstanceId,
        clientId: member.clientId,
        clientHost: member.clientHost,
        assignment: group.protocolType === 'consumer' && member.memberAssignment.byteLength > 0
          ? safeAssignment(member.memberAssignment)
          : []
      }))
    }))
  }

  async deleteGroups (groupIds: readonly string[]): Promise<Array<{ groupId: string, errorCode: string }>> {
    return await this.engine.groups.deleteGroups(groupIds)
  }

  /** Committed offsets of a group (all its partitions, or the topics named). */
  fetchOffsets (groupId: string, topics?: readonly string[]): Array<{ topic: string, partitions: Array<{ partition: number, offset: number, metadata: string }> }> {
    const request = topics === undefined ? null : topics.map((topic) => ({ topic, partitions: this.partitionsOf(topic) }))
    return this.engine.groups.fetchOffsets(groupId, request).map((topic) => ({
      topic: topic.topic,
      partitions: topic.partitions.map((partition) => ({ partition: partition.partition, offset: partition.offset, metadata: partition.metadata }))
    }))
  }

  /** Commits offsets for a group that has no active members (SLUICE: as Kafka's AdminClient.alterConsumerGroupOffsets). */
  async setOffsets (groupId: string, topic: string, partitions: ReadonlyArray<{ partition: number, offset: number }>): Promise<void> {
    const results = await this.engine.groups.commitOffsets({
      groupId,
      generationId: -1,
      memberId: '',
      groupInstanceId: null,
      offsets: partitions.map(({ partition, offset }) => ({ topic, partition, offset }))
    })
    for (const result of results) {
      if (result.errorCode !== 'NONE') throw new SluiceError(result.errorCode, `setting the offset of ${groupId} on ${result.topic}-${result.partition} failed`)
    }
  }

  /** Resets a group's offsets on a topic to the earliest or latest offsets, or to a timestamp. The group must have no active members. */
  async resetOffsets (request: { groupId: string, topic: string, to: 'earliest' | 'latest' | { timestamp: number } }): Promise<Array<{ partition: number, offset: number }>> {
    const { groupId, topic, to } = request
    const description = this.engine.topics.describe(topic)
    const offsets: Array<{ partition: number, offset: number }> = []
    for (let partition = 0; partition < description.partitionCount; partition++) {
      const log = this.engine.partitionLog(topic, partition)
      let offset: number
      if (to === 'earliest') offset = log.logStartOffset
      else if (to === 'latest') offset = log.highWatermark
      else {
        const found = await this.engine.listOffset(topic, partition, to.timestamp)
        offset = found.offset === -1 ? log.highWatermark : found.offset
      }
      offsets.push({ partition, offset })
    }
    await this.setOffsets(groupId, topic, offsets)
    return offsets
  }

  /**
   * Consumer lag of a group per partition: committed offset, log end, and their difference,
   * for every partition the group has committed (or of the topics named).
   */
  lag (groupId: string, topics?: readonly string[]): GroupLag {
    const committed = this.fetchOffsets(groupId, topics)
    const partitions: PartitionLag[] = []
    let totalLag = 0
    for (const { topic, partitions: list } of committed) {
      if (!this.engine.topics.has(topic)) continue
      for (const { partition, offset } of list) {
        const log = this.engine.logs.getLog(topic, partition)
        if (log === undefined) continue
        const lag = offset >= 0 ? Math.max(0, log.highWatermark - offset) : null
        if (lag !== null) totalLag += lag
        partitions.push({ topic, partition, committedOffset: offset, logStartOffset: log.logStartOffset, logEndOffset: log.highWatermark, lag })
      }
    }
    partitions.sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition))
    return { groupId, partitions, totalLag }
  }

  private partitionsOf (topic: string): number[] {
    const description = this.engine.topics.find(topic)
    return description === undefined ? [] : Array.from({ length: description.partitionCount }, (_, index) => index)
  }
}

function safeAssignment (bytes: Uint8Array): TopicPartitions[] {
  try {
    return decodeAssignment(bytes).assignedPartitions
  } catch {
    return []
  }
}
