/**
 * Metadata (key 3): this node is the only broker, the controller and the leader of every
 * partition (replicas = isr = [nodeId], leader epoch 0).
 *
 * Topic lists: null (v1+) or empty (v0) means every topic, internal ones flagged
 * `is_internal` as Kafka does. A named topic that does not exist is created when the request
 * allows it (`allow_auto_topic_creation`, v4+; always before v4) and the engine's
 * `autoCreateTopics` is on; the created topic is answered directly rather than with
 * LEADER_NOT_AVAILABLE first, since its partitions are usable as soon as creation returns
 * (kafkajs and librdkafka accept both). Otherwise UNKNOWN_TOPIC_OR_PARTITION. Lookups by topic
 * id (v10+ with a null name) are answered by id.
 */
import type { TopicDescription } from '../../engine/topic-registry.js'
import { metadataApi, type MetadataResponse } from '../apis/metadata.js'
import type { MessageInput } from '../schema/types.js'
import { AUTHORIZED_OPERATIONS_UNKNOWN, ZERO_UUID, defineHandler, errorCode, kafkaCodeOf, wireUuid, type RequestContext } from './context.js'

type TopicAnswer = MessageInput<MetadataResponse['topics'][number]>

function describeTopic (context: RequestContext, topic: TopicDescription): TopicAnswer {
  const nodes = [context.broker.nodeId]
  const partitions = []
  for (let index = 0; index < topic.partitionCount; index++) {
    partitions.push({ errorCode: 0, partitionIndex: index, leaderId: context.broker.nodeId, leaderEpoch: 0, replicaNodes: nodes, isrNodes: nodes, offlineReplicas: [] })
  }
  return {
    errorCode: 0,
    name: topic.name,
    topicId: wireUuid(topic.topicId),
    isInternal: topic.internal,
    partitions,
    topicAuthorizedOperations: AUTHORIZED_OPERATIONS_UNKNOWN
  }
}

function topicById (context: RequestContext, topicId: string): TopicDescription | undefined {
  for (const name of context.engine.topics.list({ includeInternal: true })) {
    const topic = context.engine.topics.find(name)
    if (topic !== undefined && wireUuid(topic.topicId) === topicId) return topic
  }
  return undefined
}

export const metadataHandler = defineHandler(metadataApi, async (context, request) => {
  const { engine } = context
  const body = request.body
  const requested = body.topics
  const all = requested === null || (request.apiVersion === 0 && requested.length === 0)
  const topics: TopicAnswer[] = []
  if (all) {
    for (const name of engine.topics.list({ includeInternal: true })) {
      const topic = engine.topics.find(name)
      if (topic !== undefined) topics.push(describeTopic(context, topic))
    }
  } else {
    const allowCreate = request.apiVersion < 4 || body.allowAutoTopicCreation
    for (const entry of requested) {
      if (entry.name === null) {
        const topic = topicById(context, entry.topicId)
        topics.push(topic === undefined
          ? { errorCode: errorCode('UNKNOWN_TOPIC_ID'), name: null, topicId: entry.topicId, partitions: [], topicAuthorizedOperations: AUTHORIZED_OPERATIONS_UNKNOWN }
          : describeTopic(context, topic))
        continue
      }
      const name = entry.name
      try {
        const topic = engine.topics.find(name) ?? await engine.topic(name, { autoCreate: allowCreate })
        topics.push(describeTopic(context, topic))
      } catch (error) {
        topics.push({ errorCode: kafkaCodeOf(error, 'Metadata'), name, topicId: ZERO_UUID, isInternal: name.startsWith('__'), partitions: [], topicAuthorizedOperations: AUTHORIZED_OPERATIONS_UNKNOWN })
      }
    }
  }
  return {
    throttleTimeMs: 0,
    brokers: [{ nodeId: context.broker.nodeId, host: context.broker.host, port: context.broker.port, rack: null }],
    clusterId: context.broker.clusterId,
    controllerId: context.broker.nodeId,
    topics,
    clusterAuthorizedOperations: AUTHORIZED_OPERATIONS_UNKNOWN
  }
})
