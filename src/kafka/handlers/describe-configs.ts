/**
 * DescribeConfigs (key 32) for topics (resource type 2) and this broker (resource type 4).
 *
 * Topic resources list every topic config Sluice knows with its effective value; a config set
 * on the topic has source DYNAMIC_TOPIC_CONFIG (1) and is_default false, every other one
 * DEFAULT_CONFIG (5). Broker resources (name '' or this node's id) list the broker settings
 * that shape what clients see, all read-only. `configuration_keys` null means all; unknown
 * keys are left out, as Kafka does. Synonyms are not tracked (empty lists).
 */
import { topicConfigToEntries } from '../../engine/topic-config.js'
import { describeConfigsApi, type DescribeConfigsResponse } from '../apis/describe-configs.js'
import type { MessageInput } from '../schema/types.js'
import { defineHandler, errorCode, kafkaCodeOf, messageOf, type RequestContext } from './context.js'

type ResultAnswer = MessageInput<DescribeConfigsResponse['results'][number]>

export const RESOURCE_TYPE_TOPIC = 2
export const RESOURCE_TYPE_BROKER = 4
const DYNAMIC_TOPIC_CONFIG = 1
const STATIC_BROKER_CONFIG = 4
const DEFAULT_CONFIG = 5

/** The broker settings DescribeConfigs reports, as Kafka names them. */
function brokerConfigs (context: RequestContext): Record<string, string> {
  const options = context.engine.options
  return {
    'broker.id': String(context.broker.nodeId),
    'node.id': String(context.broker.nodeId),
    'auto.create.topics.enable': String(options.autoCreateTopics),
    'num.partitions': String(options.numPartitions),
    'default.replication.factor': '1',
    'min.insync.replicas': '1',
    'offsets.topic.num.partitions': String(options.offsetsTopicPartitions),
    'offsets.topic.replication.factor': '1',
    'transaction.state.log.replication.factor': '1',
    'log.retention.check.interval.ms': String(options.retentionCheckIntervalMs),
    'socket.request.max.bytes': String(context.maxRequestBytes),
    'delete.topic.enable': 'true'
  }
}

export const describeConfigsHandler = defineHandler(describeConfigsApi, async (context, request) => {
  const { engine, broker } = context
  const version = request.apiVersion
  const results: ResultAnswer[] = []
  for (const resource of request.body.resources) {
    const base = { resourceType: resource.resourceType, resourceName: resource.resourceName }
    const keys = resource.configurationKeys === null ? null : new Set(resource.configurationKeys)
    const entry = (name: string, value: string, isDefault: boolean, source: number, readOnly: boolean) => ({
      name, value, readOnly, isDefault, configSource: version >= 1 ? source : -1, isSensitive: false, synonyms: [], configType: 0, documentation: null
    })
    try {
      if (resource.resourceType === RESOURCE_TYPE_TOPIC) {
        const topic = engine.topics.find(resource.resourceName)
        if (topic === undefined) {
          results.push({ ...base, errorCode: errorCode('UNKNOWN_TOPIC_OR_PARTITION'), errorMessage: `topic ${resource.resourceName} does not exist`, configs: [] })
          continue
        }
        const configs = Object.entries(topicConfigToEntries(topic.config))
          .filter(([name]) => keys === null || keys.has(name))
          .map(([name, value]) => {
            const overridden = name in topic.overrides
            return entry(name, value, !overridden, overridden ? DYNAMIC_TOPIC_CONFIG : DEFAULT_CONFIG, false)
          })
        results.push({ ...base, errorCode: 0, errorMessage: null, configs })
      } else if (resource.resourceType === RESOURCE_TYPE_BROKER) {
        if (resource.resourceName !== '' && resource.resourceName !== String(broker.nodeId)) {
          results.push({ ...base, errorCode: errorCode('INVALID_REQUEST'), errorMessage: `this node is broker ${broker.nodeId}`, configs: [] })
          continue
        }
        const configs = Object.entries(brokerConfigs(context))
          .filter(([name]) => keys === null || keys.has(name))
          .map(([name, value]) => entry(name, value, false, STATIC_BROKER_CONFIG, true))
        results.push({ ...base, errorCode: 0, errorMessage: null, configs })
      } else {
        results.push({ ...base, errorCode: errorCode('INVALID_REQUEST'), errorMessage: `resource type ${resource.resourceType} is not supported`, configs: [] })
      }
    } catch (error) {
      results.push({ ...base, errorCode: kafkaCodeOf(error, 'DescribeConfigs'), errorMessage: messageOf(error), configs: [] })
    }
  }
  return { throttleTimeMs: 0, results }
})
