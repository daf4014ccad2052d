/**
 * OffsetCommit (key 8). v0 is the ZooKeeper-era commit without generation or member: it is
 * served as a simple commit (generation -1, member ''), which the coordinator accepts only
 * while the group has no active members. v1+ carry the generation and member id, v7+ the
 * group instance id. Partitions of topics that do not exist are UNKNOWN_TOPIC_OR_PARTITION
 * (as Kafka 2.8+ answers); a group-level failure (ILLEGAL_GENERATION, UNKNOWN_MEMBER_ID,
 * REBALANCE_IN_PROGRESS, ...) is every partition's error, which is how the protocol carries it.
 */
import type { OffsetCommitPartition } from '../../engine/group-coordinator.js'
import { offsetCommitApi } from '../apis/offset-commit.js'
import { defineHandler, errorCode, groupCodeOf } from './context.js'

export const offsetCommitHandler = defineHandler(offsetCommitApi, async (context, request) => {
  const { engine } = context
  const body = request.body
  const version = request.apiVersion
  const codes = new Map<string, number>()
  const key = (topic: string, partition: number): string => `${topic}\u0000${partition}`
  const offsets: OffsetCommitPartition[] = []
  for (const topic of body.topics) {
    const description = engine.topics.find(topic.name)
    for (const partition of topic.partitions) {
      if (description === undefined || partition.partitionIndex < 0 || partition.partitionIndex >= description.partitionCount) {
        codes.set(key(topic.name, partition.partitionIndex), errorCode('UNKNOWN_TOPIC_OR_PARTITION'))
        continue
      }
      offsets.push({
        topic: topic.name,
        partition: partition.partitionIndex,
        offset: partition.committedOffset,
        leaderEpoch: version >= 6 ? partition.committedLeaderEpoch : -1,
        metadata: partition.committedMetadata
      })
    }
  }
  let groupCode = 0
  if (offsets.length > 0) {
    try {
      const results = await engine.groups.commitOffsets({
        groupId: body.groupId,
        generationId: version >= 1 ? body.generationIdOrMemberEpoch : -1,
        memberId: version >= 1 ? body.memberId : '',
        groupInstanceId: version >= 7 ? body.groupInstanceId : null,
        offsets
      })
      for (const result of results) codes.set(key(result.topic, result.partition), result.errorCode === 'NONE' ? 0 : errorCode(result.errorCode))
    } catch (error) {
      groupCode = groupCodeOf(error, 'OffsetCommit')
    }
  }
  return {
    throttleTimeMs: 0,
    topics: body.topics.map((topic) => ({
      name: topic.name,
      partitions: topic.partitions.map((partition) => ({
        partitionIndex: partition.partitionIndex,
        errorCode: codes.get(key(topic.name, partition.partitionIndex)) ?? groupCode
      }))
    }))
  }
})
