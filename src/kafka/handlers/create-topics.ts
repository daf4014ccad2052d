/**
 * CreateTopics (key 19). Per topic:
 * - a name given twice in one request: INVALID_REQUEST for each occurrence (Kafka's rule);
 * - `num_partitions` -1 (v4+) takes the broker default (`num.partitions`); 0 or < -1 is
 *   INVALID_PARTITIONS;
 * - `replication_factor` must be 1 or -1 (the default): a single node holds one replica, so
 *   anything larger is INVALID_REPLICATION_FACTOR;
 * - a manual assignment must place every partition on this node only (one replica each);
 * - configs are Kafka-named entries validated by the engine (INVALID_CONFIG);
 * - TOPIC_ALREADY_EXISTS and INVALID_TOPIC_EXCEPTION come from the engine.
 * `validate_only` checks everything and creates nothing. v5+ answer with the resulting
 * partition count, replication factor and configs.
 */
import { topicConfigToEntries } from '../../engine/topic-config.js'
import type { TopicDescription } from '../../engine/topic-registry.js'
import { createTopicsApi, type CreateTopicsResponse } from '../apis/create-topics.js'
import type { MessageInput } from '../schema/types.js'
import { ZERO_UUID, defineHandler, errorCode, kafkaCodeOf, messageOf, wireUuid } from './context.js'

type TopicAnswer = MessageInput<CreateTopicsResponse['topics'][number]>

/** Kafka's ConfigSource values. */
const DYNAMIC_TOPIC_CONFIG = 1
const DEFAULT_CONFIG = 5

function failed (name: string, code: number, message: string | null): TopicAnswer {
  return { name, topicId: ZERO_UUID, errorCode: code, errorMessage: message, numPartitions: -1, replicationFactor: -1, configs: null }
}

function created (topic: TopicDescription): TopicAnswer {
  const entries = topicConfigToEntries(topic.config)
  return {
    name: topic.name,
    topicId: wireUuid(topic.topicId),
    errorCode: 0,
    errorMessage: null,
    numPartitions: topic.partitionCount,
    replicationFactor: 1,
    configs: Object.entries(entries).map(([name, value]) => ({
      name, value, readOnly: false, configSource: name in topic.overrides ? DYNAMIC_TOPIC_CONFIG : DEFAULT_CONFIG, isSensitive: false
    }))
  }
}

export const createTopicsHandler = defineHandler(createTopicsApi, async (context, request) => {
  const { engine, broker } = context
  const body = request.body
  const seen = new Map<string, number>()
  for (const topic of body.topics) seen.set(topic.name, (seen.get(topic.name) ?? 0) + 1)
  const topics: TopicAnswer[] = []
  for (const topic of body.topics) {
    if (seen.get(topic.name)! > 1) {
      topics.push(failed(topic.name, errorCode('INVALID_REQUEST'), `topic ${topic.name} appears more than once in the request`))
      continue
    }
    const manual = topic.assignments.length > 0
    if (manual && (topic.numPartitions !== -1 || topic.replicationFactor !== -1)) {
      topics.push(failed(topic.name, errorCode('INVALID_REQUEST'), 'both a replica assignment and num_partitions/replication_factor were given'))
      continue
    }
    if (manual && !topic.assignments.every((assignment, index) => assignment.partitionIndex === index && assignment.brokerIds.length === 1 && assignment.brokerIds[0] === broker.nodeId)) {
      topics.push(failed(topic.name, errorCode('INVALID_REPLICA_ASSIGNMENT'), `partitions must be numbered from 0 and placed on node ${broker.nodeId} only`))
      continue
    }
    const partitions = manual ? topic.assignments.length : topic.numPartitions === -1 ? engine.options.numPartitions : topic.numPartitions
    if (!manual && (partitions < 1)) {
      topics.push(failed(topic.name, errorCode('INVALID_PARTITIONS'), `number of partitions must be at least 1, got ${topic.numPartitions}`))
      continue
    }
    if (!manual && topic.replicationFactor !== -1 && topic.replicationFactor !== 1) {
      topics.push(failed(topic.name, errorCode('INVALID_REPLICATION_FACTOR'), `replication factor ${topic.replicationFactor} is impossible on a single node (it must be 1)`))
      continue
    }
    const configs: Array<[string, string | null]> = topic.configs.map((config) => [config.name, config.value])
    try {
      const description = await engine.createTopic(topic.name, { partitions, configs, validateOnly: body.validateOnly })
      topics.push(created(description))
    } catch (error) {
      topics.push(failed(topic.name, kafkaCodeOf(error, 'CreateTopics'), messageOf(error)))
    }
  }
  return { throttleTimeMs: 0, topics }
})
