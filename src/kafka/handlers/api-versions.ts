/**
 * ApiVersions (key 18): the APIs and version ranges this broker serves, i.e. the codecs'
 * registry intersected with the handlers that exist (see `advertisedApiVersions` in
 * index.ts). Every range starts at 0 (librdkafka feature checks, see the protocol registry).
 */
import { apiVersionsApi } from '../apis/api-versions.js'
import { defineHandler } from './context.js'
import type { SupportedApiVersion } from '../protocol/registry.js'

/** Builds the handler over the advertised list (computed once by the dispatch table). */
export function apiVersionsHandler (advertised: () => readonly SupportedApiVersion[]) {
  return defineHandler(apiVersionsApi, async () => ({
    errorCode: 0,
    apiKeys: advertised(),
    throttleTimeMs: 0
  }))
}
