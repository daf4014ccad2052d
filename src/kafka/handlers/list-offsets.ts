/**
 * ListOffsets (key 2): -1 latest (the high watermark, which is also the last stable offset
 * while the log holds no transactions), -2 earliest (log start), -3 the offset of the largest
 * timestamp (v7+), t >= 0 the first offset whose timestamp is >= t (offset -1 when none).
 * v0 answers in `old_style_offsets` (a one-element list, or empty when nothing matches).
 */
import { listOffsetsApi, type ListOffsetsResponse } from '../apis/list-offsets.js'
import type { MessageInput } from '../schema/types.js'
import { defineHandler, errorCode, kafkaCodeOf } from './context.js'

type PartitionAnswer = MessageInput<ListOffsetsResponse['topics'][number]['partitions'][number]>

export const listOffsetsHandler = defineHandler(listOffsetsApi, async (context, request) => {
  const { engine } = context
  const version = request.apiVersion
  const topics = []
  for (const topic of request.body.topics) {
    const partitions: PartitionAnswer[] = []
    for (const partition of topic.partitions) {
      const index = partition.partitionIndex
      const timestamp = partition.timestamp
      if (timestamp < -3 || (timestamp === -3 && version < 7)) {
        partitions.push({ partitionIndex: index, errorCode: errorCode('UNSUPPORTED_VERSION'), oldStyleOffsets: [], timestamp: -1, offset: -1, leaderEpoch: -1 })
        continue
      }
      try {
        const listed = await engine.listOffset(topic.name, index, timestamp)
        partitions.push({
          partitionIndex: index,
          errorCode: 0,
          oldStyleOffsets: version === 0 && listed.offset >= 0 && partition.maxNumOffsets > 0 ? [listed.offset] : [],
          timestamp: listed.timestamp,
          offset: listed.offset,
          leaderEpoch: listed.offset >= 0 ? 0 : -1
        })
      } catch (error) {
        partitions.push({ partitionIndex: index, errorCode: kafkaCodeOf(error, 'ListOffsets'), oldStyleOffsets: [], timestamp: -1, offset: -1, leaderEpoch: -1 })
      }
    }
    topics.push({ name: topic.name, partitions })
  }
  return { throttleTimeMs: 0, topics }
})
