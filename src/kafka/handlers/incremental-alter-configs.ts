/**
 * IncrementalAlterConfigs (key 44): per-key operations on a topic's overrides. SET (0) sets a
 * value, DELETE (1) returns a key to its default, APPEND (2) and SUBTRACT (3) add or remove
 * items of a list config (here `cleanup.policy`) starting from its current value. Only topic
 * resources can change (INVALID_REQUEST otherwise).
 */
import { incrementalAlterConfigsApi } from '../apis/incremental-alter-configs.js'
import { topicConfigToEntries } from '../../engine/topic-config.js'
import { SluiceError } from '../../core/errors.js'
import { alterTopicResources } from './alter-topic-resources.js'
import { defineHandler } from './context.js'

const SET = 0
const DELETE = 1
const APPEND = 2
const SUBTRACT = 3

function listOf (value: string | undefined): string[] {
  return value === undefined || value.length === 0 ? [] : value.split(',').map((item) => item.trim()).filter((item) => item.length > 0)
}

export const incrementalAlterConfigsHandler = defineHandler(incrementalAlterConfigsApi, async ({ engine }, request) => {
  const responses = await alterTopicResources(request.body.resources, 'IncrementalAlterConfigs', async (resource) => {
    const topic = engine.topics.find(resource.resourceName)
    if (topic === undefined) throw new SluiceError('UNKNOWN_TOPIC_OR_PARTITION', `topic ${resource.resourceName} does not exist`)
    const current = topicConfigToEntries(topic.config)
    const entries = new Map<string, string | null>()
    for (const config of resource.configs) {
      if (entries.has(config.name)) throw new SluiceError('INVALID_REQUEST', `config ${config.name} appears more than once`)
      switch (config.configOperation) {
        case SET: entries.set(config.name, config.value); break
        case DELETE: entries.set(config.name, null); break
        case APPEND:
        case SUBTRACT: {
          const items = listOf(current[config.name])
          const changes = listOf(config.value ?? '')
          const next = config.configOperation === APPEND
            ? [...items, ...changes.filter((item) => !items.includes(item))]
            : items.filter((item) => !changes.includes(item))
          entries.set(config.name, next.length === 0 ? null : next.join(','))
          break
        }
        default: throw new SluiceError('INVALID_REQUEST', `unknown config operation ${config.configOperation}`)
      }
    }
    await engine.topics.alterConfigs(resource.resourceName, entries, { validateOnly: request.body.validateOnly, mode: 'incremental' })
  })
  return { throttleTimeMs: 0, responses }
})
