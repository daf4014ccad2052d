/**
 * The loop AlterConfigs and IncrementalAlterConfigs share: one result per resource, topics only
 * (broker configs are static here: INVALID_REQUEST), each resource's failure reported in its own
 * entry with Kafka's code while the others go on.
 */
import { errorCode, kafkaCodeOf, messageOf } from './context.js'
import { RESOURCE_TYPE_TOPIC } from './describe-configs.js'

export interface ConfigResource {
  resourceType: number
  resourceName: string
}

export interface ConfigResourceResult {
  resourceType: number
  resourceName: string
  errorCode: number
  errorMessage: string | null
}

export async function alterTopicResources<R extends ConfigResource> (
  resources: readonly R[],
  apiName: string,
  alter: (resource: R) => Promise<void>
): Promise<ConfigResourceResult[]> {
  const results: ConfigResourceResult[] = []
  for (const resource of resources) {
    const base = { resourceType: resource.resourceType, resourceName: resource.resourceName }
    if (resource.resourceType !== RESOURCE_TYPE_TOPIC) {
      results.push({ ...base, errorCode: errorCode('INVALID_REQUEST'), errorMessage: 'only topic configs can be altered' })
      continue
    }
    try {
      await alter(resource)
      results.push({ ...base, errorCode: 0, errorMessage: null })
    } catch (error) {
      results.push({ ...base, errorCode: kafkaCodeOf(error, apiName), errorMessage: messageOf(error) })
    }
  }
  return results
}
