/**
 * Record keys and values of the compacted internal topic `__consumer_offsets`, in Kafka's
 * formats, so a data directory's committed offsets mean the same thing to Sluice and to Kafka
 * tooling that reads the topic. Also the group -> partition mapping Kafka uses to spread
 * groups over the topic's partitions (and FindCoordinator answers from).
 *
 * Keys (non-flexible; the version says which record type follows):
 *
 * | key version | record                | fields                                       |
 * |-------------|-----------------------|----------------------------------------------|
 * | 0, 1        | OffsetCommitKey       | group STRING, topic STRING, partition INT32  |
 * | 2           | GroupMetadataKey      | group STRING                                 |
 * | 3+          | newer record types    | not read by the classic coordinator          |
 *
 * OffsetCommitValue (Sluice writes version 3; reads 0-4, 4 being flexible):
 *
 * | field           | type    | versions |
 * |-----------------|---------|----------|
 * | version         | INT16   | 0+       |
 * | offset          | INT64   | 0+       |
 * | leaderEpoch     | INT32   | 3+ (default -1) |
 * | metadata        | STRING  | 0+ (COMPACT_STRING in 4+) |
 * | commitTimestamp | INT64   | 0+       |
 * | expireTimestamp | INT64   | 1 only   |
 *
 * GroupMetadataValue (Sluice writes version 3; reads 0-4):
 *
 * | field                 | type                         | versions |
 * |-----------------------|------------------------------|----------|
 * | version               | INT16                        | 0+       |
 * | protocolType          | STRING                       | 0+       |
 * | generation            | INT32                        | 0+       |
 * | protocol              | NULLABLE_STRING              | 0+       |
 * | leader                | NULLABLE_STRING              | 0+       |
 * | currentStateTimestamp | INT64 (default -1)           | 2+       |
 * | members               | ARRAY[MemberMetadata]        | 0+       |
 *
 * MemberMetadata: memberId STRING, groupInstanceId NULLABLE_STRING (3+), clientId STRING,
 * clientHost STRING, rebalanceTimeout INT32 (1+), sessionTimeout INT32, subscription BYTES,
 * assignment BYTES.
 *
 * A null value is a tombstone: it deletes the key when the topic is compacted, and replay
 * treats it as a deletion. Checksums are the RecordBatch's CRC-32C; these bytes carry none.
 * Bytes that do not parse raise SluiceError('SLUICE_CORRUPT_SEGMENT').
 */
import { SluiceError } from '../core/errors.js'
import { GroupCodecReader, GroupCodecWriter } from './group-codec.js'

/** The internal topic holding committed offsets and group metadata. */
export const OFFSETS_TOPIC = '__consumer_offsets'
/** Kafka: `offsets.topic.num.partitions`. */
export const OFFSETS_TOPIC_PARTITION_COUNT_DEFAULT = 50

const ERROR = 'SLUICE_CORRUPT_SEGMENT'

/** Java's `String.hashCode`: 31-polynomial over UTF-16 code units, 32-bit signed wrap. */
export function javaStringHashCode (text: string): number {
  let hash = 0
  for (let index = 0; index < text.length; index++) {
    hash = (Math.imul(31, hash) + text.charCodeAt(index)) | 0
  }
  return hash
}

/**
 * The `__consumer_offsets` partition of a group: `Utils.abs(groupId.hashCode()) % count`.
 * Kafka's `Utils.abs` maps Integer.MIN_VALUE to 0 (Math.abs would leave it negative).
 */
export function offsetsPartitionFor (groupId: string, partitionCount = OFFSETS_TOPIC_PARTITION_COUNT_DEFAULT): number {
  if (!Number.isInteger(partitionCount) || partitionCount < 1) {
    throw new SluiceError('SLUICE_INVALID_OPTION', `offsets topic partition count ${partitionCount} must be an integer >= 1`)
  }
  const hash = javaStringHashCode(groupId)
  const positive = hash === -0x80000000 ? 0 : Math.abs(hash)
  return positive % partitionCount
}

export interface OffsetCommitKey {
  type: 'offset-commit'
  group: string
  topic: string
  partition: number
}

export interface GroupMetadataKey {
  type: 'group-metadata'
  group: string
}

/** A key of a record type the classic coordinator does not read (KIP-848, share groups). */
export interface OtherRecordKey {
  type: 'other'
  version: number
}

export type OffsetsRecordKey = OffsetCommitKey | GroupMetadataKey | OtherRecordKey

export interface OffsetCommitValue {
  offset: number
  /** -1 when the committer did not know the leader epoch. */
  leaderEpoch: number
  metadata: string
  commitTimestamp: number
  /** Only version 1 stores it; -1 otherwise. */
  expireTimestamp: number
}

export interface GroupMemberMetadata {
  memberId: string
  groupInstanceId: string | null
  clientId: string
  clientHost: string
  rebalanceTimeoutMs: number
  sessionTimeoutMs: number
  /** The member's metadata for the group's selected protocol. */
  subscription: Uint8Array
  assignment: Uint8Array
}

export interface GroupMetadataValue {
  protocolType: string
  generationId: number
  protocol: string | null
  leader: string | null
  /** When the group entered its current state; -1 when unknown (versions < 2). */
  currentStateTimestamp: number
  members: GroupMemberMetadata[]
}

/** OffsetCommitKey, version 1 (the version Kafka writes; 0 is identical). */
export function encodeOffsetCommitKey (key: { group: string, topic: string, partition: number }): Uint8Array {
  return new GroupCodecWriter(16 + key.group.length + key.topic.length)
    .int16(1).string(key.group).string(key.topic).int32(key.partition).finish()
}

/** GroupMetadataKey, version 2. */
export function encodeGroupMetadataKey (group: string): Uint8Array {
  return new GroupCodecWriter(8 + group.length).int16(2).string(group).finish()
}

export function decodeOffsetsRecordKey (bytes: Uint8Array): OffsetsRecordKey {
  const reader = new GroupCodecReader(bytes, ERROR, `${OFFSETS_TOPIC} record key`)
  const version = reader.int16()
  if (version === 0 || version === 1) {
    const group = reader.string()
    const topic = reader.string()
    const partition = reader.int32()
    return { type: 'offset-commit', group, topic, partition }
  }
  if (version === 2) return { type: 'group-metadata', group: reader.string() }
  if (version < 0) reader.fail(`key version ${version}`)
  return { type: 'other', version }
}

/** OffsetCommitValue at version 3 (or 1 when an expire timestamp must be kept). */
export function encodeOffsetCommitValue (value: OffsetCommitValue): Uint8Array {
  const writer = new GroupCodecWriter(32 + value.metadata.length * 3)
  if (value.expireTimestamp >= 0) {
    return writer.int16(1).int64(value.offset).string(value.metadata)
      .int64(value.commitTimestamp).int64(value.expireTimestamp).finish()
  }
  return writer.int16(3).int64(value.offset).int32(value.leaderEpoch).string(value.metadata)
    .int64(value.commitTimestamp).finish()
}

export function decodeOffsetCommitValue (bytes: Uint8Array): OffsetCommitValue {
  const reader = new GroupCodecReader(bytes, ERROR, `${OFFSETS_TOPIC} offset commit value`)
  const version = reader.int16()
  if (version < 0 || version > 4) reader.fail(`value version ${version}`)
  const offset = reader.int64()
  const leaderEpoch = version >= 3 ? reader.int32() : -1
  const metadata = version >= 4 ? reader.compactString() : reader.string()
  const commitTimestamp = reader.int64()
  const expireTimestamp = version === 1 ? reader.int64() : -1
  if (version >= 4) reader.skipTaggedFields()
  return { offset, leaderEpoch, metadata, commitTimestamp, expireTimestamp }
}

/** GroupMetadataValue at version 3 (group instance ids need 3+). */
export function encodeGroupMetadataValue (value: GroupMetadataValue): Uint8Array {
  const writer = new GroupCodecWriter(128)
  writer.int16(3).string(value.protocolType).int32(value.generationId)
    .nullableString(value.protocol).nullableString(value.leader).int64(value.currentStateTimestamp)
  writer.int32(value.members.length)
  for (const member of value.members) {
    writer.string(member.memberId).nullableString(member.groupInstanceId).string(member.clientId)
      .string(member.clientHost).int32(member.rebalanceTimeoutMs).int32(member.sessionTimeoutMs)
      .bytes(member.subscription).bytes(member.assignment)
  }
  return writer.finish()
}

export function decodeGroupMetadataValue (bytes: Uint8Array): GroupMetadataValue {
  const reader = new GroupCodecReader(bytes, ERROR, `${OFFSETS_TOPIC} group metadata value`)
  const version = reader.int16()
  if (version < 0 || version > 4) reader.fail(`value version ${version}`)
  const flexible = version >= 4
  const string = (): string => flexible ? reader.compactString() : reader.string()
  const nullableString = (): string | null => flexible ? reader.compactNullableString() : reader.nullableString()
  const bytesField = (): Uint8Array => flexible ? reader.compactBytes() : reader.bytes()
  const protocolType = string()
  const generationId = reader.int32()
  const protocol = nullableString()
  const leader = nullableString()
  const currentStateTimestamp = version >= 2 ? reader.int64() : -1
  // A member is at least four string lengths, a timeout and two byte-array lengths.
  const memberCount = flexible ? reader.compactArrayCount(8) : reader.arrayCount(20)
  const members: GroupMemberMetadata[] = new Array(memberCount)
  for (let index = 0; index < memberCount; index++) {
    const memberId = string()
    const groupInstanceId = version >= 3 ? nullableString() : null
    const clientId = string()
    const clientHost = string()
    const rebalanceTimeoutMs = version >= 1 ? reader.int32() : -1
    const sessionTimeoutMs = reader.int32()
    const subscription = bytesField()
    const assignment = bytesField()
    if (flexible) reader.skipTaggedFields()
    members[index] = {
      memberId,
      groupInstanceId,
      clientId,
      clientHost,
      rebalanceTimeoutMs: rebalanceTimeoutMs === -1 ? sessionTimeoutMs : rebalanceTimeoutMs,
      sessionTimeoutMs,
      subscription,
      assignment
    }
  }
  if (flexible) reader.skipTaggedFields()
  return { protocolType, generationId, protocol, leader, currentStateTimestamp, members }
}
