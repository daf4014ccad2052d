/**
 * One client connection of the broker: frames in, responses out, one request at a time.
 *
 * Framing: `size:int32` + payload. The size is checked against `maxRequestBytes` before any
 * byte of the payload is buffered (a negative or oversize frame closes the connection, as
 * Kafka's `socket.request.max.bytes` does). A frame wholly inside one socket chunk is a view of
 * that chunk; a frame split across chunks is kept as views of them and joined once complete,
 * so memory follows the bytes received, never the size announced.
 *
 * Order: responses leave strictly in request order. Requests are handled one after another,
 * as Kafka does by muting the channel while a request is in flight, with one exception:
 * consecutive Produce requests are pipelined (up to PRODUCE_PIPELINE_MAX in flight). That is
 * safe because the Produce handler issues all its appends synchronously when it starts, and
 * the log stages appends in call order, so batches reach each partition in request order; and
 * it matters because an append resolves only once its bytes were handed to the OS, so a
 * pipelining client (kafkajs, librdkafka) would otherwise pay one write latency per request.
 * Any other request waits until everything before it has completed, so a Fetch after a
 * Produce sees its records, and a long-poll Fetch simply delays what follows it. Produce with
 * acks=0 is handled but not answered.
 *
 * Back-pressure (every queue bounded):
 *   socket --data--> frames queue (<= queuedRequestsMax frames) --handlers--> in-flight slots
 *   (<= PRODUCE_PIPELINE_MAX) --in order--> socket.write
 *   - reading pauses while the queue is full or the socket's write buffer exceeds
 *     `writeBufferBytesMax`, and resumes once both drain; no request starts while the write
 *     buffer is over that bound;
 *   - a response is written with cork/uncork so its header and the stored batch views leave in
 *     one writev without copying the records.
 *
 * Bad input never reaches beyond this connection: an unknown API key or version is answered
 * with UNSUPPORTED_VERSION where the response can be encoded (ApiVersions per KIP-511, or an
 * API whose response has a top-level error code) and otherwise closes the connection; a
 * malformed request closes it (ApiVersions answers INVALID_REQUEST). A handler that throws is a
 * bug: published on `kafka:broker:handler-error` and answered with UNKNOWN_SERVER_ERROR when
 * the response has a top-level error code, else the connection closes.
 *
 * Idle: a connection with no traffic and no request in flight for `idleTimeoutMs` is closed
 * (Kafka's `connections.max.idle.ms`). Shutdown (`close`): stop reading, abort long waits,
 * finish the requests already received, flush the responses, end the socket.
 */
import { channel } from 'node:diagnostics_channel'
import type { Socket } from 'node:net'
import { apiVersionsApi } from './apis/api-versions.js'
import { ApiKey } from './apis/index.js'
import { FRAME_SIZE_BYTES, KafkaRequestError, decodeRequest, encodeResponse, type KafkaRequest } from './protocol/frame.js'
import type { ApiSchema } from './schema/types.js'
import { inRange } from './schema/types.js'
import { advertisedApiVersions, handlerErrorChannel, handlerFor, type BrokerIdentity, type RequestContext } from './handlers/index.js'
import type { Engine } from '../engine/engine.js'

/** Published when a connection is closed because of what the client sent. */
export const protocolErrorChannel = channel('kafka:broker:protocol-error')

export interface ConnectionSettings {
  readonly maxRequestBytes: number
  readonly idleTimeoutMs: number
  readonly queuedRequestsMax: number
  readonly writeBufferBytesMax: number
  /** How long `close` waits for a client to read its last responses before destroying the socket. */
  readonly closeTimeoutMs: number
}

const UNKNOWN_SERVER_ERROR = -1
const UNSUPPORTED_VERSION = 35

/**
 * Produce requests of one connection in flight at once. Matches the usual client windows
 * (librdkafka's idempotent limit is 5, kafkajs's default is unbounded) while bounding the
 * bytes staged per connection to a few requests.
 */
export const PRODUCE_PIPELINE_MAX = 16

/** What to do once a request has been handled, applied in request order. */
type Outcome = { kind: 'write', chunks: Buffer[] } | { kind: 'none' } | { kind: 'close', reason: string }

/** One started request: its outcome arrives when its handler completes. */
interface Slot {
  apiKey: number
  outcome: Outcome | undefined
}

/** A response body carrying only a top-level error, when the API's response has such a field. */
function topLevelErrorBody (api: ApiSchema<any, any>, apiVersion: number, code: number): Record<string, number> | undefined {
  const field = api.response.find((candidate) => candidate.name === 'errorCode')
  if (field === undefined || !inRange(field.versions, apiVersion) || field.tag !== undefined) return undefined
  return { errorCode: code }
}

export class BrokerConnection {
  readonly closed: Promise<void>
  private readonly abort = new AbortController()
  private readonly context: RequestContext
  private readonly queue: Buffer[] = []
  private readonly sizeBytes = Buffer.alloc(FRAME_SIZE_BYTES)
  private sizeFill = 0
  /** The frame being received across chunks: its size and the views received so far. */
  private frame: { size: number, fill: number, chunks: Buffer[] } | null = null
  /** Started requests whose responses have not been written yet, in request order. */
  private readonly inflight: Slot[] = []
  private idleWaiters: Array<() => void> = []
  private closing = false
  private paused = false
  private resolveClosed!: () => void
  private shutdownPromise: Promise<void> | undefined

  constructor (
    private readonly socket: Socket,
    engine: Engine,
    broker: BrokerIdentity,
    private readonly settings: ConnectionSettings
  ) {
    this.closed = new Promise((resolve) => { this.resolveClosed = resolve })
    this.context = {
      engine,
      broker,
      clientHost: `/${socket.remoteAddress ?? 'unknown'}`,
      signal: this.abort.signal,
      maxRequestBytes: settings.maxRequestBytes,
      closeConnection: (reason: string) => { this.reject(reason) }
    }
    socket.setNoDelay(true)
    socket.setTimeout(settings.idleTimeoutMs)
    socket.on('data', (chunk: Buffer) => { this.onData(chunk) })
    socket.on('drain', () => { this.maybeResume(); this.pump() })
    socket.on('timeout', () => {
      // A partial frame with no bytes for this long is idle too (a stalled or slow-loris client).
      if (this.inflight.length === 0 && this.queue.length === 0) socket.destroy()
    })
    socket.on('error', () => { /* 'close' follows; a client reset is not the broker's error */ })
    socket.on('close', () => {
      this.abort.abort()
      this.queue.length = 0
      this.notifyIdle()
      this.resolveClosed()
    })
  }

  /** Requests received and not yet answered (handled or waiting). */
  get pendingRequests (): number {
    return this.queue.length + this.inflight.length
  }

  private onData (chunk: Buffer): void {
    if (this.closing) return
    let offset = 0
    // Bounded: every round consumes at least one byte of the chunk or returns.
    while (offset < chunk.length) {
      if (this.frame === null) {
        let size: number
        if (this.sizeFill === 0 && chunk.length - offset >= FRAME_SIZE_BYTES) {
          size = chunk.readInt32BE(offset)
          offset += FRAME_SIZE_BYTES
        } else {
          const take = Math.min(FRAME_SIZE_BYTES - this.sizeFill, chunk.length - offset)
          chunk.copy(this.sizeBytes, this.sizeFill, offset, offset + take)
          this.sizeFill += take
          offset += take
          if (this.sizeFill < FRAME_SIZE_BYTES) return
          this.sizeFill = 0
          size = this.sizeBytes.readInt32BE(0)
        }
        if (size < 0 || size > this.settings.maxRequestBytes) {
          this.reject(`frame size ${size} is outside [0, ${this.settings.maxRequestBytes}]`)
          return
        }
        if (chunk.length - offset >= size) {
          this.enqueue(chunk.subarray(offset, offset + size))
          offset += size
          continue
        }
        // Memory follows the bytes that actually arrived, not the size a client announces.
        this.frame = { size, fill: 0, chunks: [] }
      }
      const take = Math.min(this.frame.size - this.frame.fill, chunk.length - offset)
      this.frame.chunks.push(chunk.subarray(offset, offset + take))
      this.frame.fill += take
      offset += take
      if (this.frame.fill === this.frame.size) {
        const { chunks, size } = this.frame
        this.frame = null
        this.enqueue(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size))
      }
    }
  }

  private enqueue (payload: Buffer): void {
    this.queue.push(payload)
    if (this.queue.length >= this.settings.queuedRequestsMax && !this.paused) {
      this.paused = true
      this.socket.pause()
    }
    this.pump()
  }

  private maybeResume (): void {
    if (!this.paused || this.closing) return
    if (this.queue.length >= this.settings.queuedRequestsMax) return
    if (this.socket.writableLength > this.settings.writeBufferBytesMax) return
    this.paused = false
    this.socket.resume()
  }

  /** Starts queued requests while the ordering rules and the write buffer allow. */
  private pump (): void {
    // Bounded by the queue: every round starts one request or stops.
    while (this.queue.length > 0 && !this.socket.destroyed) {
      if (this.socket.writableLength > this.settings.writeBufferBytesMax) {
        if (!this.paused) {
          this.paused = true
          this.socket.pause()
        }
        return
      }
      const next = this.queue[0]!
      const apiKey = next.length >= 2 ? next.readInt16BE(0) : -1
      if (this.inflight.length > 0) {
        const pipelined = apiKey === ApiKey.Produce && this.inflight.length < PRODUCE_PIPELINE_MAX &&
          this.inflight.every((slot) => slot.apiKey === ApiKey.Produce)
        if (!pipelined) return
      }
      this.queue.shift()
      this.start(next, apiKey)
      this.maybeResume()
    }
    if (this.inflight.length === 0 && this.queue.length === 0) this.notifyIdle()
  }

  /** Decodes and starts one request; its outcome is applied in order by `settle`. */
  private start (payload: Buffer, apiKey: number): void {
    const slot: Slot = { apiKey, outcome: undefined }
    this.inflight.push(slot)
    let request: KafkaRequest
    try {
      request = decodeRequest(payload)
    } catch (error) {
      slot.outcome = this.undecodableOutcome(error)
      queueMicrotask(() => { this.settle() })
      return
    }
    const entry = handlerFor(request.apiKey)
    if (entry === undefined || entry.api !== request.api) {
      const body = topLevelErrorBody(request.api, request.apiVersion, UNSUPPORTED_VERSION)
      slot.outcome = body === undefined ? { kind: 'close', reason: `${request.api.name} is not served by this broker` } : this.responseOutcome(request, body)
      // Settled from a microtask, never recursively: a chunk may hold thousands of frames.
      queueMicrotask(() => { this.settle() })
      return
    }
    let handled: Promise<unknown>
    try {
      handled = entry.handle(this.context, request)
    } catch (error) {
      handled = Promise.reject(error)
    }
    handled.then(
      (body) => { slot.outcome = body === null ? { kind: 'none' } : this.responseOutcome(request, body) },
      (error: unknown) => {
        if (handlerErrorChannel.hasSubscribers) handlerErrorChannel.publish({ what: request.api.name, error })
        const body = topLevelErrorBody(request.api, request.apiVersion, UNKNOWN_SERVER_ERROR)
        slot.outcome = body === undefined
          ? { kind: 'close', reason: `${request.api.name} v${request.apiVersion} failed: ${(error as Error)?.message ?? String(error)}` }
          : this.responseOutcome(request, body)
      }
    ).finally(() => { this.settle() })
  }

  /** Applies finished outcomes from the head, in request order, then starts what may follow. */
  private settle (): void {
    // Bounded by the in-flight slots.
    while (this.inflight.length > 0 && this.inflight[0]!.outcome !== undefined) {
      const outcome = this.inflight.shift()!.outcome!
      if (outcome.kind === 'write') this.write(outcome.chunks)
      else if (outcome.kind === 'close') {
        this.reject(outcome.reason)
        return
      }
    }
    this.pump()
  }

  private responseOutcome (request: KafkaRequest, body: unknown): Outcome {
    try {
      return { kind: 'write', chunks: encodeResponse(request.api, { apiVersion: request.apiVersion, correlationId: request.correlationId, body: body as never }) }
    } catch (error) {
      if (handlerErrorChannel.hasSubscribers) handlerErrorChannel.publish({ what: `${request.api.name} response`, error })
      return { kind: 'close', reason: `${request.api.name} v${request.apiVersion} response could not be encoded` }
    }
  }

  private undecodableOutcome (error: unknown): Outcome {
    if (error instanceof KafkaRequestError && error.apiKey === ApiKey.ApiVersions && error.correlationId !== undefined) {
      // KIP-511: answer in v0, which every client reads, with the list it should choose from.
      return {
        kind: 'write',
        chunks: encodeResponse(apiVersionsApi, {
          apiVersion: 0,
          correlationId: error.correlationId,
          body: { errorCode: error.kafkaCode, apiKeys: advertisedApiVersions() }
        })
      }
    }
    return { kind: 'close', reason: error instanceof Error ? error.message : String(error) }
  }

  private notifyIdle (): void {
    for (const waiter of this.idleWaiters.splice(0)) waiter()
  }

  private write (chunks: Buffer[]): void {
    if (this.socket.destroyed || !this.socket.writable) return
    this.socket.cork()
    for (const chunk of chunks) this.socket.write(chunk)
    this.socket.uncork()
  }

  /** Closes the connection because of what the client sent; other connections are unaffected. */
  private reject (reason: string): void {
    if (protocolErrorChannel.hasSubscribers) protocolErrorChannel.publish({ remoteAddress: this.socket.remoteAddress, remotePort: this.socket.remotePort, reason })
    this.queue.length = 0
    this.inflight.length = 0
    this.frame = null
    this.socket.destroy()
  }

  /**
   * Graceful close: no new requests are read, long waits are released, the requests already
   * received are answered, then the socket ends. Idempotent.
   */
  close (): Promise<void> {
    this.shutdownPromise ??= (async () => {
      this.closing = true
      this.frame = null
      this.socket.pause()
      this.abort.abort()
      // Bounded: the queue only shrinks once reading stopped and handlers return promptly once
      // aborted; a client that stops reading its responses is cut off after closeTimeoutMs.
      const cutOff = setTimeout(() => this.socket.destroy(), this.settings.closeTimeoutMs)
      while ((this.inflight.length > 0 || this.queue.length > 0) && !this.socket.destroyed) {
        await new Promise<void>((resolve) => {
          this.idleWaiters.push(resolve)
          this.pump()
        })
      }
      clearTimeout(cutOff)
      if (!this.socket.destroyed) this.socket.end()
      const timer = setTimeout(() => this.socket.destroy(), this.settings.closeTimeoutMs)
      await this.closed
      clearTimeout(timer)
    })()
    return this.shutdownPromise
  }
}
