/**
 * OffsetFetch (key 9): committed offsets of a group (-1 when none). v0-7 ask for one group
 * (topics null = every committed topic, v2+); v8+ for several groups at once, each with its own
 * error. Group-level errors go to the top-level error code from v2 on; v0-1 have none and carry
 * them on every partition instead.
 */
import type { FetchedTopicOffsets } from '../../engine/group-coordinator.js'
import { offsetFetchApi } from '../apis/offset-fetch.js'
import { defineHandler, groupCodeOf, type RequestContext } from './context.js'

interface TopicsAsked { name: string, partitionIndexes: number[] }

function fetchGroup (context: RequestContext, groupId: string, topics: TopicsAsked[] | null): { topics: FetchedTopicOffsets[], errorCode: number } {
  try {
    const fetched = context.engine.groups.fetchOffsets(groupId, topics === null ? null : topics.map((topic) => ({ topic: topic.name, partitions: topic.partitionIndexes })))
    return { topics: fetched, errorCode: 0 }
  } catch (error) {
    return { topics: [], errorCode: groupCodeOf(error, 'OffsetFetch') }
  }
}

function render (fetched: FetchedTopicOffsets[], asked: TopicsAsked[] | null, groupCode: number, perPartitionError: boolean) {
  if (groupCode !== 0) {
    if (!perPartitionError || asked === null) return []
    return asked.map((topic) => ({
      name: topic.name,
      partitions: topic.partitionIndexes.map((partitionIndex) => ({ partitionIndex, committedOffset: -1, committedLeaderEpoch: -1, metadata: '', errorCode: groupCode }))
    }))
  }
  return fetched.map((topic) => ({
    name: topic.topic,
    partitions: topic.partitions.map((partition) => ({
      partitionIndex: partition.partition,
      committedOffset: partition.offset,
      committedLeaderEpoch: partition.leaderEpoch,
      metadata: partition.metadata,
      errorCode: 0
    }))
  }))
}

export const offsetFetchHandler = defineHandler(offsetFetchApi, async (context, request) => {
  const body = request.body
  const version = request.apiVersion
  if (version >= 8) {
    return {
      throttleTimeMs: 0,
      groups: body.groups.map((group) => {
        const result = fetchGroup(context, group.groupId, group.topics)
        return { groupId: group.groupId, topics: render(result.topics, group.topics, result.errorCode, false), errorCode: result.errorCode }
      })
    }
  }
  const topics = version < 2 && body.topics === null ? [] : body.topics
  const result = fetchGroup(context, body.groupId, topics)
  return {
    throttleTimeMs: 0,
    topics: render(result.topics, topics, result.errorCode, version < 2),
    errorCode: result.errorCode
  }
})
