/**
 * DeleteRecords (key 21): raises each partition's log start offset; offset -1 means "up to the
 * high watermark", as in Kafka. Answers the new low watermark.
 */
import { deleteRecordsApi } from '../apis/delete-records.js'
import { defineHandler, kafkaCodeOf } from './context.js'

export const deleteRecordsHandler = defineHandler(deleteRecordsApi, async (context, request) => {
  const { engine } = context
  const topics = []
  for (const topic of request.body.topics) {
    const partitions = []
    for (const partition of topic.partitions) {
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
