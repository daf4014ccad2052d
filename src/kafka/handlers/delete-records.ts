/**
 * DeleteRecords (key 21): raises each partition's log start offset; offset -1 means "up to the
 * high watermark", as in Kafka. Answers the new low watermark. Records of internal topics
 * (committed offsets) cannot be deleted by clients: INVALID_TOPIC_EXCEPTION, as in Kafka.
 */
import { deleteRecordsApi } from '../apis/delete-records.js'
import { defineHandler, errorCode, kafkaCodeOf } from './context.js'

export const deleteRecordsHandler = defineHandler(deleteRecordsApi, async (context, request) => {
  const { engine } = context
  const topics = []
  for (const topic of request.body.topics) {
    const partitions = []
    const internal = engine.topics.find(topic.name)?.internal === true
    for (const partition of topic.partitions) {
      if (internal) {
        partitions.push({ partitionIndex: partition.partitionIndex, lowWatermark: -1, errorCode: errorCode('INVALID_TOPIC_EXCEPTION') })
        continue
      }
      try {
        const offset = partition.offset === -1 ? engine.partitionLog(topic.name, partition.partitionIndex).highWatermark : partition.offset
        const lowWatermark = await engine.deleteRecords(topic.name, partition.partitionIndex, offset)
        partitions.push({ partitionIndex: partition.partitionIndex, lowWatermark, errorCode: 0 })
      } catch (error) {
        partitions.push({ partitionIndex: partition.partitionIndex, lowWatermark: -1, errorCode: kafkaCodeOf(error, 'DeleteRecords') })
      }
    }
    topics.push({ name: topic.name, partitions })
  }
  return { throttleTimeMs: 0, topics }
})
