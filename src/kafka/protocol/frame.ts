/**
 * Kafka frames: `size:int32` + header + body, for requests (decoded by the broker) and
 * responses (encoded by the broker); the reverse directions exist for tests and clients.
 *
 * | part            | request                                           | response            |
 * |-----------------|---------------------------------------------------|---------------------|
 * | size            | int32, bytes after itself                         | same                |
 * | header v0       | -                                                 | correlationId:int32 |
 * | header v1       | apiKey:int16 apiVersion:int16 correlationId:int32 clientId:NULLABLE_STRING | v0 + TAG_BUFFER |
 * | header v2       | v1 + TAG_BUFFER (clientId keeps its int16 length) | -                   |
 *
 * The first 8 bytes of every request header are the same in all versions, so the API key,
 * version and correlation id are known before anything else is trusted: a request this module
 * cannot serve raises a `KafkaRequestError` carrying them, and the server either answers
 * (`unsupportedApiVersionsResponse` for ApiVersions, as KIP-511 asks) or closes the connection.
 *
 * Decoded bytes/records fields are views of the payload Buffer; the payload must stay
 * unchanged while the request is being handled.
 */
import { SluiceError, type ErrorCode } from '../../core/errors.js'
import { ApiKey } from '../apis/index.js'
import { apiVersionsApi } from '../apis/api-versions.js'
import { requestHeaderSchema } from '../apis/request-header.js'
import { structCodec } from '../schema/codec.js'
import type { ApiSchema, MessageInput, RequestOf, ResponseOf } from '../schema/types.js'
import { Reader } from './reader.js'
import {
  findApi, isFlexible, isVersionSupported, requestHeaderVersion, responseHeaderVersion, supportedApiVersions
} from './registry.js'
import { Writer } from './writer.js'

/** Bytes of the size prefix. */
export const FRAME_SIZE_BYTES = 4

/** A request the protocol layer could not decode, with what is known of it for the answer. */
export class KafkaRequestError extends SluiceError {
  /** Undefined when the header itself was unreadable. */
  readonly apiKey: number | undefined
  readonly apiVersion: number | undefined
  readonly correlationId: number | undefined

  constructor (code: ErrorCode, message: string, header: { apiKey?: number, apiVersion?: number, correlationId?: number }, cause?: unknown) {
    super(code, message, cause === undefined ? {} : { cause })
    this.name = 'KafkaRequestError'
    this.apiKey = header.apiKey
    this.apiVersion = header.apiVersion
    this.correlationId = header.correlationId
  }
}

export interface KafkaRequest<A extends ApiSchema<any, any> = ApiSchema<any, any>> {
  api: A
  apiKey: number
  apiVersion: number
  correlationId: number
  clientId: string | null
  headerVersion: 1 | 2
  body: RequestOf<A>
}

/** Narrows a decoded request to one API, so that its body gets that API's type. */
export function isRequestFor<A extends ApiSchema<any, any>> (request: KafkaRequest, api: A): request is KafkaRequest<A> {
  return request.api === api
}

/**
 * The size prefix at `offset`, or -1 if fewer than 4 bytes are there yet. A negative size is
 * INVALID_REQUEST; the caller compares the size with its frame limit before buffering.
 */
export function readFrameSize (buffer: Buffer, offset = 0): number {
  if (buffer.length - offset < FRAME_SIZE_BYTES) return -1
  const size = buffer.readInt32BE(offset)
  if (size < 0) throw new SluiceError('INVALID_REQUEST', `negative frame size ${size}`)
  return size
}

/**
 * Decodes one request: `payload` is the frame without its size prefix.
 * Raises `KafkaRequestError` with code UNSUPPORTED_VERSION (unknown API key or version) or
 * INVALID_REQUEST (malformed header or body).
 */
export function decodeRequest (payload: Buffer): KafkaRequest {
  if (payload.length < 8) {
    throw new KafkaRequestError('INVALID_REQUEST', `request of ${payload.length} bytes is shorter than a header`, {})
  }
  const apiKey = payload.readInt16BE(0)
  const apiVersion = payload.readInt16BE(2)
  const correlationId = payload.readInt32BE(4)
  const header = { apiKey, apiVersion, correlationId }
  const api = findApi(apiKey)
  if (api === undefined) {
    throw new KafkaRequestError('UNSUPPORTED_VERSION', `unknown API key ${apiKey}`, header)
  }
  if (!isVersionSupported(api, apiVersion)) {
    throw new KafkaRequestError('UNSUPPORTED_VERSION', `${api.name} version ${apiVersion} is not supported (${api.validVersions[0]}-${api.validVersions[1]})`, header)
  }
  const headerVersion = requestHeaderVersion(api, apiVersion)
  const reader = new Reader(payload, 0)
  try {
    const decodedHeader = structCodec(requestHeaderSchema.fields, headerVersion, headerVersion >= 2).read(reader)
    const flexible = isFlexible(api, apiVersion)
    const body = structCodec(api.request, apiVersion, flexible).read(reader)
    if (reader.remaining !== 0) {
      throw new SluiceError('INVALID_REQUEST', `${reader.remaining} unexpected bytes after the body`)
    }
    return {
      api,
      apiKey,
      apiVersion,
      correlationId,
      clientId: decodedHeader.clientId as string | null,
      headerVersion,
      body
    }
  } catch (error) {
    if (error instanceof SluiceError) {
      throw new KafkaRequestError('INVALID_REQUEST', `${api.name} v${apiVersion}: ${error.message}`, header, error)
    }
    throw error
  }
}

export interface ResponseFrame<A extends ApiSchema<any, any>> {
  apiVersion: number
  correlationId: number
  body: MessageInput<ResponseOf<A>>
}

/**
 * Encodes a response frame (size + header + body) as chunks for `writev`. Record payloads in
 * the body are referenced, not copied.
 */
export function encodeResponse<A extends ApiSchema<any, any>> (api: A, frame: ResponseFrame<A>): Buffer[] {
  const writer = new Writer()
  writeResponse(writer, api, frame)
  return writer.finish()
}

/**
 * Appends a response frame to `writer`, so that several pipelined responses can leave in one
 * `writev`. Returns the frame's size in bytes, size prefix included.
 */
export function writeResponse<A extends ApiSchema<any, any>> (writer: Writer, api: A, frame: ResponseFrame<A>): number {
  const start = writer.length
  const sizeSlot = writer.reserve(FRAME_SIZE_BYTES)
  writer.writeInt32(frame.correlationId)
  if (responseHeaderVersion(api, frame.apiVersion) === 1) writer.writeUVarint(0)
  structCodec(api.response, frame.apiVersion, isFlexible(api, frame.apiVersion)).write(writer, frame.body)
  const size = writer.length - start
  writer.patchInt32(sizeSlot, size - FRAME_SIZE_BYTES)
  return size
}

/**
 * The answer to an ApiVersions request of a version Sluice does not know (KIP-511): a v0
 * response with UNSUPPORTED_VERSION and the supported list, so the client retries with a
 * version both sides speak.
 */
export function unsupportedApiVersionsResponse (correlationId: number): Buffer[] {
  return encodeResponse(apiVersionsApi, {
    apiVersion: 0,
    correlationId,
    body: { errorCode: 35, apiKeys: supportedApiVersions() }
  })
}

export interface RequestFrame<A extends ApiSchema<any, any>> {
  apiVersion: number
  correlationId: number
  clientId: string | null
  body: MessageInput<RequestOf<A>>
}

/** Encodes a request frame (size + header + body); the client side of `decodeRequest`. */
export function encodeRequest<A extends ApiSchema<any, any>> (api: A, frame: RequestFrame<A>): Buffer[] {
  const writer = new Writer()
  const sizeSlot = writer.reserve(FRAME_SIZE_BYTES)
  const headerVersion = requestHeaderVersion(api, frame.apiVersion)
  structCodec(requestHeaderSchema.fields, headerVersion, headerVersion >= 2).write(writer, {
    requestApiKey: api.apiKey,
    requestApiVersion: frame.apiVersion,
    correlationId: frame.correlationId,
    clientId: frame.clientId
  })
  structCodec(api.request, frame.apiVersion, isFlexible(api, frame.apiVersion)).write(writer, frame.body)
  writer.patchInt32(sizeSlot, writer.length - FRAME_SIZE_BYTES)
  return writer.finish()
}

export interface DecodedResponse<A extends ApiSchema<any, any>> {
  correlationId: number
  body: ResponseOf<A>
}

/** Decodes a response payload (frame without its size prefix); the client side of `encodeResponse`. */
export function decodeResponse<A extends ApiSchema<any, any>> (api: A, apiVersion: number, payload: Buffer): DecodedResponse<A> {
  const reader = new Reader(payload)
  const correlationId = reader.readInt32()
  if (responseHeaderVersion(api, apiVersion) === 1) reader.readTaggedFields(null)
  const body = structCodec(api.response, apiVersion, isFlexible(api, apiVersion)).read(reader)
  if (reader.remaining !== 0) {
    throw new SluiceError('INVALID_REQUEST', `${reader.remaining} unexpected bytes after the ${api.name} response`)
  }
  return { correlationId, body: body as ResponseOf<A> }
}

export { ApiKey }
