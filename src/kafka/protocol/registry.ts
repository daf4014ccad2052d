/**
 * Lookup of the implemented APIs by key, the header versions each (API key, version) uses, and
 * the ApiVersions list Sluice advertises.
 *
 * Header rules (Kafka's `ApiMessageType.requestHeaderVersion/responseHeaderVersion`):
 * - request header v2 for flexible versions, v1 otherwise (v0 only exists for
 *   ControlledShutdown v0, which Sluice does not implement);
 * - response header v1 for flexible versions, v0 otherwise, except ApiVersions, whose response
 *   always uses header v0 so that a client can read it before it knows what the broker speaks.
 */
import { apiSchemas, ApiKey } from '../apis/index.js'
import { inRange, type ApiSchema } from '../schema/types.js'

const byKey: Array<ApiSchema<any, any> | undefined> = []
for (const api of apiSchemas) byKey[api.apiKey] = api

/** The schema of an implemented API, or undefined. */
export function findApi (apiKey: number): ApiSchema<any, any> | undefined {
  return apiKey >= 0 && apiKey < byKey.length ? byKey[apiKey] : undefined
}

export function isVersionSupported (api: ApiSchema<any, any>, apiVersion: number): boolean {
  return inRange(api.validVersions, apiVersion)
}

export function isFlexible (api: ApiSchema<any, any>, apiVersion: number): boolean {
  return inRange(api.flexibleVersions, apiVersion)
}

export function requestHeaderVersion (api: ApiSchema<any, any>, apiVersion: number): 1 | 2 {
  return isFlexible(api, apiVersion) ? 2 : 1
}

export function responseHeaderVersion (api: ApiSchema<any, any>, apiVersion: number): 0 | 1 {
  if (api.apiKey === ApiKey.ApiVersions) return 0
  return isFlexible(api, apiVersion) ? 1 : 0
}

export interface SupportedApiVersion {
  apiKey: number
  minVersion: number
  maxVersion: number
}

/**
 * Exactly the APIs and versions implemented, ascending by key, for the ApiVersions response.
 * Every range starts at 0: librdkafka before 2.11.1 disables features unless it sees version 0
 * advertised, and clients always pick the highest version both sides know.
 */
export function supportedApiVersions (): SupportedApiVersion[] {
  return apiSchemas.map((api) => ({ apiKey: api.apiKey, minVersion: api.validVersions[0], maxVersion: api.validVersions[1] }))
}
