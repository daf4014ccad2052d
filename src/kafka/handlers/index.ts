/**
 * The dispatch table: API key -> handler. What this table holds, intersected with the codecs'
 * registry, is exactly what ApiVersions advertises; a request for any other API key (the
 * codecs know the transaction APIs, which no handler serves yet) is treated as unsupported.
 */
import { apiSchemas } from '../apis/index.js'
import type { SupportedApiVersion } from '../protocol/registry.js'
import { alterConfigsHandler } from './alter-configs.js'
import { apiVersionsHandler } from './api-versions.js'
import type { HandlerEntry } from './context.js'
import { createPartitionsHandler } from './create-partitions.js'
import { createTopicsHandler } from './create-topics.js'
import { deleteGroupsHandler } from './delete-groups.js'
import { deleteRecordsHandler } from './delete-records.js'
import { deleteTopicsHandler } from './delete-topics.js'
import { describeConfigsHandler } from './describe-configs.js'
import { describeGroupsHandler } from './describe-groups.js'
import { fetchHandler } from './fetch.js'
import { findCoordinatorHandler } from './find-coordinator.js'
import { heartbeatHandler } from './heartbeat.js'
import { incrementalAlterConfigsHandler } from './incremental-alter-configs.js'
import { initProducerIdHandler } from './init-producer-id.js'
import { joinGroupHandler } from './join-group.js'
import { leaveGroupHandler } from './leave-group.js'
import { listGroupsHandler } from './list-groups.js'
import { listOffsetsHandler } from './list-offsets.js'
import { metadataHandler } from './metadata.js'
import { offsetCommitHandler } from './offset-commit.js'
import { offsetFetchHandler } from './offset-fetch.js'
import { produceHandler } from './produce.js'
import { saslHandshakeHandler } from './sasl-handshake.js'
import { syncGroupHandler } from './sync-group.js'

export type { BrokerIdentity, Handler, HandlerEntry, RequestContext } from './context.js'
export { handlerErrorChannel } from './context.js'

const entries: HandlerEntry[] = [
  produceHandler,
  fetchHandler,
  listOffsetsHandler,
  metadataHandler,
  offsetCommitHandler,
  offsetFetchHandler,
  findCoordinatorHandler,
  joinGroupHandler,
  heartbeatHandler,
  leaveGroupHandler,
  syncGroupHandler,
  describeGroupsHandler,
  listGroupsHandler,
  saslHandshakeHandler,
  apiVersionsHandler(() => advertisedApiVersions()),
  createTopicsHandler,
  deleteTopicsHandler,
  deleteRecordsHandler,
  initProducerIdHandler,
  describeConfigsHandler,
  alterConfigsHandler,
  createPartitionsHandler,
  deleteGroupsHandler,
  incrementalAlterConfigsHandler
]

const byKey = new Map<number, HandlerEntry>()
for (const entry of entries) byKey.set(entry.api.apiKey, entry)

/** The handler of an API key, or undefined when the broker does not serve it. */
export function handlerFor (apiKey: number): HandlerEntry | undefined {
  return byKey.get(apiKey)
}

let advertised: SupportedApiVersion[] | undefined

/** The APIs and versions both decoded by the codecs and served by a handler, ascending by key. */
export function advertisedApiVersions (): readonly SupportedApiVersion[] {
  advertised ??= apiSchemas
    .filter((api) => byKey.get(api.apiKey)?.api === api)
    .map((api) => ({ apiKey: api.apiKey, minVersion: api.validVersions[0], maxVersion: api.validVersions[1] }))
  return advertised
}
