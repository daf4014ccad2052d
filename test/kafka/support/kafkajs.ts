/**
 * Access to kafkajs's protocol encoders and decoders (CommonJS, not part of its public API) for
 * golden cross-checks: kafkajs builds request frames that our decoder must read, and decodes
 * the response bodies our encoder writes.
 */
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)

interface KafkajsRequest {
  apiKey: number
  apiVersion: number
  encode: () => Promise<unknown>
}

type RequestFactory = (args: unknown) => KafkajsRequest
interface ResponseModule {
  decode: (payload: Buffer) => Promise<any>
  parse: (decoded: any) => Promise<any>
}

const buildFrame = require('kafkajs/src/protocol/request.js') as (args: { correlationId: number, clientId: string, request: KafkajsRequest }) => Promise<{ buffer: Buffer }>

/** A complete request frame (size prefix included) as kafkajs sends it. */
export async function kafkajsRequestFrame (api: string, version: number, args: unknown, correlationId = 42, clientId = 'golden-client'): Promise<Buffer> {
  const factory = require(`kafkajs/src/protocol/requests/${api}/v${version}/request.js`) as RequestFactory
  const request = factory(args)
  const encoder = await buildFrame({ correlationId, clientId, request })
  return encoder.buffer
}

/** kafkajs's decode + parse of a response body (the bytes after the correlation id). */
export async function kafkajsDecodeResponse (api: string, version: number, body: Buffer, requestArgs?: unknown): Promise<any> {
  const loaded = require(`kafkajs/src/protocol/requests/${api}/v${version}/response.js`) as ResponseModule | ((args: unknown) => ResponseModule)
  // A few kafkajs response modules (DeleteRecords) are factories over the request's arguments.
  const response = typeof loaded === 'function' ? loaded(requestArgs) : loaded
  return await response.parse(await response.decode(body))
}

/** kafkajs's Encoder class, to build record batches and nested bytes the way kafkajs does. */
export function kafkajsModule<T = any> (path: string): T {
  return require(`kafkajs/src/${path}`) as T
}
