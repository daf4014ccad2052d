/**
 * The "consumer" embedded protocol: the bytes consumers put in JoinGroup protocol metadata
 * (ConsumerProtocolSubscription) and in SyncGroup assignments (ConsumerProtocolAssignment).
 * The coordinator treats them as opaque; the group leader's assignor and the embedded
 * consumer read them, and DescribeGroups shows them.
 *
 * Non-flexible encoding at every version (Kafka never made these flexible):
 *
 * Subscription
 * | field             | type                                     | versions |
 * |-------------------|------------------------------------------|----------|
 * | version           | INT16                                    | 0+       |
 * | topics            | ARRAY[STRING]                            | 0+       |
 * | user_data         | NULLABLE_BYTES                           | 0+       |
 * | owned_partitions  | ARRAY[topic STRING, partitions ARRAY[INT32]] | 1+   |
 * | generation_id     | INT32 (default -1)                       | 2+       |
 * | rack_id           | NULLABLE_STRING (default null)           | 3+       |
 *
 * Assignment
 * | field               | type                                     | versions |
 * |---------------------|------------------------------------------|----------|
 * | version             | INT16                                    | 0+       |
 * | assigned_partitions | ARRAY[topic STRING, partitions ARRAY[INT32]] | 0+   |
 * | user_data           | NULLABLE_BYTES                           | 0+       |
 *
 * A version above the newest known one is read as its known prefix and the rest ignored,
 * which is how Kafka keeps old members working with newer ones. Malformed bytes raise
 * SluiceError('INVALID_REQUEST').
 */
import { SluiceError } from '../core/errors.js'
import { GroupCodecReader, GroupCodecWriter } from './group-codec.js'

/** Kafka's JoinGroup protocol type for consumers. */
export const CONSUMER_PROTOCOL_TYPE = 'consumer'
/** Newest subscription version this module reads and writes fully. */
export const SUBSCRIPTION_VERSION_MAX = 3
/** Newest assignment version; versions 1-3 add no fields to the assignment. */
export const ASSIGNMENT_VERSION_MAX = 3

/** Partitions of one topic, ascending, as assignments and owned partitions carry them. */
export interface TopicPartitions {
  topic: string
  partitions: number[]
}

export interface ConsumerProtocolSubscription {
  version: number
  topics: string[]
  userData: Uint8Array | null
  /** v1+: partitions the member owns going into the rebalance (cooperative protocols). */
  ownedPartitions: TopicPartitions[]
  /** v2+: the generation in which the member owned `ownedPartitions`; -1 when unknown. */
  generationId: number
  /** v3+: the member's `client.rack`. */
  rackId: string | null
}

export interface ConsumerProtocolAssignment {
  version: number
  assignedPartitions: TopicPartitions[]
  userData: Uint8Array | null
}

const ERROR = 'INVALID_REQUEST'

function checkVersion (version: number, what: string): void {
  if (!Number.isInteger(version) || version < 0 || version > 0x7fff) {
    throw new SluiceError(ERROR, `${what} version ${version} is not a valid INT16 >= 0`)
  }
}

function writeTopicPartitions (writer: GroupCodecWriter, list: readonly TopicPartitions[]): void {
  writer.int32(list.length)
  for (const entry of list) {
    writer.string(entry.topic)
    writer.int32(entry.partitions.length)
    for (const partition of entry.partitions) {
      if (!Number.isInteger(partition) || partition < 0 || partition > 0x7fffffff) {
        throw new SluiceError(ERROR, `partition ${partition} of ${entry.topic} is not an INT32 >= 0`)
      }
      writer.int32(partition)
    }
  }
}

function readTopicPartitions (reader: GroupCodecReader): TopicPartitions[] {
  // An entry is at least a 2-byte string length and a 4-byte array count.
  const count = reader.arrayCount(6)
  const list: TopicPartitions[] = new Array(count)
  for (let index = 0; index < count; index++) {
    const topic = reader.string()
    const partitionCount = reader.arrayCount(4)
    const partitions: number[] = new Array(partitionCount)
    for (let position = 0; position < partitionCount; position++) {
      const partition = reader.int32()
      if (partition < 0) reader.fail(`negative partition ${partition}`)
      partitions[position] = partition
    }
    list[index] = { topic, partitions }
  }
  return list
}

/**
 * Encodes a subscription at `subscription.version`, writing only that version's fields.
 * Writers must use a version they know (0-3); only readers accept newer ones.
 */
export function encodeSubscription (subscription: ConsumerProtocolSubscription): Uint8Array {
  const { version } = subscription
  checkVersion(version, 'subscription')
  if (version > SUBSCRIPTION_VERSION_MAX) {
    throw new SluiceError(ERROR, `subscription version ${version} > ${SUBSCRIPTION_VERSION_MAX} cannot be written`)
  }
  const writer = new GroupCodecWriter(64)
  writer.int16(version)
  writer.int32(subscription.topics.length)
  for (const topic of subscription.topics) writer.string(topic)
  writer.nullableBytes(subscription.userData)
  if (version >= 1) writeTopicPartitions(writer, subscription.ownedPartitions)
  if (version >= 2) writer.int32(subscription.generationId)
  if (version >= 3) writer.nullableString(subscription.rackId)
  return writer.finish()
}

/** Decodes subscription bytes of any version >= 0; fields a version lacks take Kafka's defaults. */
export function decodeSubscription (bytes: Uint8Array): ConsumerProtocolSubscription {
  const reader = new GroupCodecReader(bytes, ERROR, 'consumer protocol subscription')
  const version = reader.int16()
  if (version < 0) reader.fail(`version ${version}`)
  const topicCount = reader.arrayCount(2)
  const topics: string[] = new Array(topicCount)
  for (let index = 0; index < topicCount; index++) topics[index] = reader.string()
  const userData = reader.nullableBytes()
  const ownedPartitions = version >= 1 ? readTopicPartitions(reader) : []
  const generationId = version >= 2 ? reader.int32() : -1
  const rackId = version >= 3 ? reader.nullableString() : null
  return { version, topics, userData, ownedPartitions, generationId, rackId }
}

export function encodeAssignment (assignment: ConsumerProtocolAssignment): Uint8Array {
  const { version } = assignment
  checkVersion(version, 'assignment')
  if (version > ASSIGNMENT_VERSION_MAX) {
    throw new SluiceError(ERROR, `assignment version ${version} > ${ASSIGNMENT_VERSION_MAX} cannot be written`)
  }
  const writer = new GroupCodecWriter(64)
  writer.int16(version)
  writeTopicPartitions(writer, assignment.assignedPartitions)
  writer.nullableBytes(assignment.userData)
  return writer.finish()
}

/**
 * Decodes assignment bytes. Zero bytes decode as an empty assignment: that is what the
 * coordinator hands a member the leader left out of SyncGroup.
 */
export function decodeAssignment (bytes: Uint8Array): ConsumerProtocolAssignment {
  if (bytes.byteLength === 0) return { version: 0, assignedPartitions: [], userData: null }
  const reader = new GroupCodecReader(bytes, ERROR, 'consumer protocol assignment')
  const version = reader.int16()
  if (version < 0) reader.fail(`version ${version}`)
  const assignedPartitions = readTopicPartitions(reader)
  const userData = reader.nullableBytes()
  return { version, assignedPartitions, userData }
}
