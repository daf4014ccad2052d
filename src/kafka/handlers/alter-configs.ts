/**
 * AlterConfigs (key 33), the legacy whole-set form: the entries sent become the topic's
 * complete set of overrides (every config not named returns to its default), as in Kafka.
 * Only topic resources can change; broker configs are static here (INVALID_REQUEST).
 */
import { alterConfigsApi } from '../apis/alter-configs.js'
import { defineHandler, errorCode, kafkaCodeOf, messageOf } from './context.js'
import { RESOURCE_TYPE_TOPIC } from './describe-configs.js'

export const alterConfigsHandler = defineHandler(alterConfigsApi, async (context, request) => {
  const { engine } = context
  const responses = []
  for (const resource of request.body.resources) {
    const base = { resourceType: resource.resourceType, resourceName: resource.resourceName }
    if (resource.resourceType !== RESOURCE_TYPE_TOPIC) {
      responses.push({ ...base, errorCode: errorCode('INVALID_REQUEST'), errorMessage: 'only topic configs can be altered' })
      continue
    }
    try {
      const entries: Array<[string, string | null]> = resource.configs.map((config) => [config.name, config.value])
      await engine.topics.alterConfigs(resource.resourceName, entries, { validateOnly: request.body.validateOnly, mode: 'replace' })
      responses.push({ ...base, errorCode: 0, errorMessage: null })
    } catch (error) {
      responses.push({ ...base, errorCode: kafkaCodeOf(error, 'AlterConfigs'), errorMessage: messageOf(error) })
    }
  }
  return { throttleTimeMs: 0, responses }
})
