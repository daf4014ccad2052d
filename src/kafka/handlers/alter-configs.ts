/**
 * AlterConfigs (key 33), the legacy whole-set form: the entries sent become the topic's
 * complete set of overrides (every config not named returns to its default), as in Kafka.
 * Only topic resources can change; broker configs are static here (INVALID_REQUEST).
 */
import { alterConfigsApi } from '../apis/alter-configs.js'
import { alterTopicResources } from './alter-topic-resources.js'
import { defineHandler } from './context.js'

export const alterConfigsHandler = defineHandler(alterConfigsApi, async ({ engine }, request) => {
  const responses = await alterTopicResources(request.body.resources, 'AlterConfigs', async (resource) => {
    const entries: Array<[string, string | null]> = resource.configs.map((config) => [config.name, config.value])
    await engine.topics.alterConfigs(resource.resourceName, entries, { validateOnly: request.body.validateOnly, mode: 'replace' })
  })
  return { throttleTimeMs: 0, responses }
})
