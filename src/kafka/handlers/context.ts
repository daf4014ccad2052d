/**
 * What every API handler receives and returns, and the one mapping from thrown errors to
 * Kafka error codes at the broker edge.
 *
 * A handler turns one decoded request into one response body (or `null` for Produce with
 * acks=0, which Kafka never answers). Handlers never throw for operating conditions: each
 * per-partition / per-topic / per-group failure becomes that item's error code, as Kafka does.
 * Whatever still escapes a handler is treated by the connection as a bug: it is published on
 * `kafka:broker:handler-error` and answered with UNKNOWN_SERVER_ERROR when the response has a
 * top-level error code, else the connection is closed.
 */
import { channel } from 'node:diagnostics_channel'
import { isSluiceError } from '../../core/errors.js'
import { kafkaErrors, type KafkaErrorName } from '../../core/kafka-error-codes.js'
import type { Engine } from '../../engine/engine.js'
import type { KafkaRequest } from '../protocol/frame.js'
import type { ApiSchema, MessageInput, ResponseOf } from '../schema/types.js'

/** Published for every error a handler did not expect (a bug or an unmapped failure). */
export const handlerErrorChannel = channel('kafka:broker:handler-error')

/** This node as clients must see it (the advertised listener). */
export interface BrokerIdentity {
  readonly nodeId: number
  readonly host: string
  readonly port: number
  readonly clusterId: string
}

export interface RequestContext {
  readonly engine: Engine
  readonly broker: BrokerIdentity
  /** Kafka's `/address` form of the peer, as DescribeGroups reports `client_host`. */
  readonly clientHost: string
  /** Aborted when the connection closes or the broker shuts down: long waits return early. */
  readonly signal: AbortSignal
  /** Socket request limit, for handlers that size answers. */
  readonly maxRequestBytes: number
  /**
   * Closes this connection once the current request is done (Kafka's way of telling an acks=0
   * producer, which reads no response, that its request failed).
   */
  readonly closeConnection: (reason: string) => void
}

/** A handler for one API; `null` means "send no response". */
export type Handler<A extends ApiSchema<any, any> = ApiSchema<any, any>> =
  (context: RequestContext, request: KafkaRequest<A>) => Promise<MessageInput<ResponseOf<A>> | null>

export interface HandlerEntry<A extends ApiSchema<any, any> = ApiSchema<any, any>> {
  readonly api: A
  readonly handle: Handler<A>
}

/** Ties a handler to its schema so that the request body gets the API's type. */
export function defineHandler<A extends ApiSchema<any, any>> (api: A, handle: Handler<A>): HandlerEntry {
  return { api, handle: handle as Handler }
}

/** Kafka's numeric code for an error name. */
export function errorCode (name: KafkaErrorName): number {
  return kafkaErrors[name].code
}

/**
 * The Kafka code for anything a handler caught. SluiceErrors carry theirs (SLUICE_* codes map
 * through the error table; SLUICE_CLOSED/ABORTED mean the engine is going away, which a client
 * should treat as a retriable leader move rather than a hard failure; SLUICE_BUFFER_FULL is
 * answered REQUEST_TIMED_OUT so clients retry). Anything else is a bug: published and
 * answered as UNKNOWN_SERVER_ERROR.
 */
export function kafkaCodeOf (error: unknown, what: string): number {
  if (isSluiceError(error)) {
    if (error.code === 'SLUICE_CLOSED' || error.code === 'SLUICE_ABORTED') return errorCode('NOT_LEADER_OR_FOLLOWER')
    // The log's unwritten backlog is full: a retriable timeout lets the client back off and retry.
    if (error.code === 'SLUICE_BUFFER_FULL') return errorCode('REQUEST_TIMED_OUT')
    return error.kafkaCode
  }
  if (handlerErrorChannel.hasSubscribers) handlerErrorChannel.publish({ what, error })
  return errorCode('UNKNOWN_SERVER_ERROR')
}

/** Same as `kafkaCodeOf` for group APIs, where a closing engine means "find the coordinator again". */
export function groupCodeOf (error: unknown, what: string): number {
  if (isSluiceError(error) && (error.code === 'SLUICE_CLOSED' || error.code === 'SLUICE_ABORTED')) return errorCode('COORDINATOR_NOT_AVAILABLE')
  return kafkaCodeOf(error, what)
}

/** The message of an error for `error_message` fields; null when there is none. */
export function messageOf (error: unknown): string | null {
  return error instanceof Error ? error.message : null
}

/** A Buffer view of stored bytes, without copying (the codec takes Buffers for bytes fields). */
export function bufferView (bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
}

/** Kafka's "unknown" authorized-operations bit set (the field is only filled on request). */
export const AUTHORIZED_OPERATIONS_UNKNOWN = -2147483648

/** Kafka's "no topic id" (all-zero UUID) in its wire string form. */
export const ZERO_UUID = 'AAAAAAAAAAAAAAAAAAAAAA'

/**
 * A topic id in the form the protocol codec carries (Kafka's `Uuid.toString()`: 22 base64url
 * characters). The registry stores RFC 4122 text; anything else maps to the zero id.
 */
export function wireUuid (id: string): string {
  if (id.length === 22) return id
  const hex = id.replace(/-/g, '')
  if (hex.length !== 32 || !/^[0-9a-fA-F]+$/.test(hex)) return ZERO_UUID
  return Buffer.from(hex, 'hex').toString('base64url')
}
