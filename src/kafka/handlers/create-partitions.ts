/**
 * CreatePartitions (key 37): grows a topic to `count` partitions (INVALID_PARTITIONS when
 * not larger). A manual assignment must place each new partition on this node only.
 */
import { createPartitionsApi } from '../apis/create-partitions.js'
import { defineHandler, errorCode, kafkaCodeOf, messageOf } from './context.js'

export const createPartitionsHandler = defineHandler(createPartitionsApi, async (context, request) => {
  const { engine, broker } = context
  const body = request.body
  const results = []
  for (const topic of body.topics) {
    if (topic.assignments !== null && !topic.assignments.every((assignment) => assignment.brokerIds.length === 1 && assignment.brokerIds[0] === broker.nodeId)) {
      results.push({ name: topic.name, errorCode: errorCode('INVALID_REPLICA_ASSIGNMENT'), errorMessage: `new partitions must be placed on node ${broker.nodeId} only` })
      continue
    }
    try {
      await engine.createPartitions(topic.name, topic.count, { validateOnly: body.validateOnly })
      results.push({ name: topic.name, errorCode: 0, errorMessage: null })
    } catch (error) {
      results.push({ name: topic.name, errorCode: kafkaCodeOf(error, 'CreatePartitions'), errorMessage: messageOf(error) })
    }
  }
  return { throttleTimeMs: 0, results }
})
