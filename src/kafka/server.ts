/**
 * The Kafka wire-protocol broker: a TCP listener serving one engine to any Kafka client
 * (kafkajs, librdkafka/kcat, Java), one `BrokerConnection` per socket.
 *
 * Owns the listening socket and its connections; does not own the engine (`close` leaves it
 * open, so the caller closes it afterwards and the log is left clean).
 *
 * Shutdown (`close`, idempotent): stop accepting, let every connection finish the requests it
 * has received (long polls are released at once), flush their responses, end the sockets.
 *
 * APIs served (ApiVersions advertises exactly these; every range starts at 0, see registry.ts):
 *
 * | API (key)              | versions | notes                                                   |
 * |------------------------|----------|---------------------------------------------------------|
 * | Produce (0)            | 0-9      | acks 0/1/-1, idempotent; RecordBatch v2 only            |
 * | Fetch (1)              | 0-12     | long poll, no fetch sessions (session id 0), no down-conversion |
 * | ListOffsets (2)        | 0-7      | -1 latest, -2 earliest, -3 max timestamp, timestamps    |
 * | Metadata (3)           | 0-12     | auto-creation, topic ids                                |
 * | OffsetCommit (8)       | 0-8      | v0 served as a simple commit                            |
 * | OffsetFetch (9)        | 0-8      | v8 multi-group, null topics = all                       |
 * | FindCoordinator (10)   | 0-4      | groups and transactional ids -> this node               |
 * | JoinGroup (11), Heartbeat (12), LeaveGroup (13), SyncGroup (14) | 0-6, 0-4, 0-4, 0-4 | classic protocol |
 * | DescribeGroups (15), ListGroups (16), DeleteGroups (42) | 0-5, 0-5, 0-2 |                 |
 * | SaslHandshake (17)     | 0-1      | no mechanism enabled (UNSUPPORTED_SASL_MECHANISM)       |
 * | ApiVersions (18)       | 0-3      | KIP-511 fallback to a v0 answer                         |
 * | CreateTopics (19), DeleteTopics (20), CreatePartitions (37) | 0-7, 0-6, 0-3 | replication factor 1 |
 * | DeleteRecords (21)     | 0-2      |                                                         |
 * | InitProducerId (22)    | 0-4      | idempotent producers; transactional ids refused         |
 * | DescribeConfigs (32), AlterConfigs (33), IncrementalAlterConfigs (44) | 0-4, 0-2, 0-1 | topic configs; broker configs read-only |
 *
 * Not served yet: transactions (AddPartitionsToTxn, AddOffsetsToTxn, EndTxn, TxnOffsetCommit:
 * InitProducerId with a transactional id and transactional batches answer
 * TRANSACTIONAL_ID_AUTHORIZATION_FAILED), SASL authentication and TLS, fetch sessions (KIP-227),
 * the KIP-848 consumer protocol, share groups, quotas (throttle time is always 0), replication.
 */
import { createHash } from 'node:crypto'
import { channel } from 'node:diagnostics_channel'
import { createServer, type Server, type Socket } from 'node:net'
import { SluiceError } from '../core/errors.js'
import type { Engine } from '../engine/engine.js'
import { BrokerConnection, type ConnectionSettings } from './connection.js'
import type { BrokerIdentity } from './handlers/index.js'

export { protocolErrorChannel } from './connection.js'
export { handlerErrorChannel, advertisedApiVersions } from './handlers/index.js'

/** Published on every accepted and every closed connection. */
export const connectionChannel = channel('kafka:broker:connection')

export interface BrokerOptions {
  /** The engine served; stays open after the broker closes. */
  engine: Engine
  /** Interface to listen on. @defaultValue '127.0.0.1' */
  host?: string
  /** TCP port; 0 picks a free one (read it from the result). @defaultValue 9092 */
  port?: number
  /** Host clients are told to connect to (Metadata, FindCoordinator). Kafka: `advertised.listeners`. @defaultValue the listening host ('localhost' for a wildcard address) */
  advertisedHost?: string
  /** Port clients are told to connect to. @defaultValue the listening port */
  advertisedPort?: number
  /** This broker's id. Kafka: `node.id`. @defaultValue 0 */
  nodeId?: number
  /** Cluster id reported in Metadata. @defaultValue derived from the engine's data directory */
  clusterId?: string
  /** Largest request frame accepted. Kafka: `socket.request.max.bytes`. @defaultValue 104857600 */
  maxRequestBytes?: number
  /** Connections open at once; further ones are refused. Kafka: `max.connections`. @defaultValue 10000 */
  connectionsMax?: number
  /** Close connections idle this long. Kafka: `connections.max.idle.ms`. @defaultValue 600000 */
  idleTimeoutMs?: number
  /** Requests read ahead per connection before reading pauses. Kafka: `queued.max.requests` (per broker there). @defaultValue 64 */
  queuedRequestsMax?: number
  /** Unsent response bytes per connection before reading pauses. @defaultValue 16777216 */
  writeBufferBytesMax?: number
}

export const brokerDefaults = Object.freeze({
  host: '127.0.0.1',
  port: 9092,
  nodeId: 0,
  maxRequestBytes: 100 * 1024 * 1024,
  connectionsMax: 10_000,
  idleTimeoutMs: 600_000,
  queuedRequestsMax: 64,
  writeBufferBytesMax: 16 * 1024 * 1024
})

const optionKeys = new Set(['engine', 'host', 'port', 'advertisedHost', 'advertisedPort', 'nodeId', 'clusterId', 'maxRequestBytes', 'connectionsMax', 'idleTimeoutMs', 'queuedRequestsMax', 'writeBufferBytesMax'])

export interface Broker {
  /** The address listened on. */
  readonly host: string
  /** The port listened on (the one picked when 0 was asked). */
  readonly port: number
  /** What clients are told (Metadata, FindCoordinator). */
  readonly advertisedHost: string
  readonly advertisedPort: number
  /** Connections open now. */
  readonly connectionCount: number
  /** Graceful shutdown; does not close the engine. Idempotent. */
  close (): Promise<void>
  [Symbol.asyncDispose] (): Promise<void>
}

function invalid (message: string): SluiceError {
  return new SluiceError('SLUICE_INVALID_OPTION', message)
}

function integerOption (options: BrokerOptions, name: keyof typeof brokerDefaults, min: number, max: number): number {
  const value = (options[name as keyof BrokerOptions] ?? brokerDefaults[name]) as number
  if (!Number.isSafeInteger(value) || value < min || value > max) throw invalid(`${name} must be an integer in [${min}, ${max}], got ${String(value)}`)
  return value
}

/** A Kafka-style cluster id (22 base64url characters) that stays the same for one data directory. */
function clusterIdFor (engine: Engine): string {
  return createHash('sha256').update(`sluice:${engine.options.dataDir}`).digest('base64url').slice(0, 22)
}

/** Starts listening; resolves once the port is bound. */
export async function startBroker (options: BrokerOptions): Promise<Broker> {
  if (typeof options !== 'object' || options === null) throw invalid('broker options must be an object')
  for (const key of Object.keys(options)) if (!optionKeys.has(key)) throw invalid(`unknown broker option ${key}`)
  const engine = options.engine
  if (typeof engine !== 'object' || engine === null) throw invalid('engine is required')
  const host = options.host ?? brokerDefaults.host
  if (typeof host !== 'string' || host.length === 0) throw invalid('host must be a non-empty string')
  const port = integerOption(options, 'port', 0, 65535)
  const nodeId = integerOption(options, 'nodeId', 0, 2 ** 31 - 1)
  // int32 frame sizes; at least room for a header and a small batch.
  const maxRequestBytes = integerOption(options, 'maxRequestBytes', 1024, 2 ** 31 - 1)
  const connectionsMax = integerOption(options, 'connectionsMax', 1, 1_000_000)
  const idleTimeoutMs = integerOption(options, 'idleTimeoutMs', 1, 2 ** 31 - 1)
  const queuedRequestsMax = integerOption(options, 'queuedRequestsMax', 1, 100_000)
  const writeBufferBytesMax = integerOption(options, 'writeBufferBytesMax', 1024, 2 ** 31 - 1)
  if (options.advertisedPort !== undefined && (!Number.isInteger(options.advertisedPort) || options.advertisedPort < 1 || options.advertisedPort > 65535)) {
    throw invalid(`advertisedPort must be an integer in [1, 65535], got ${String(options.advertisedPort)}`)
  }
  const settings: ConnectionSettings = Object.freeze({ maxRequestBytes, idleTimeoutMs, queuedRequestsMax, writeBufferBytesMax, closeTimeoutMs: 5000 })

  const connections = new Set<BrokerConnection>()
  const server: Server = createServer({ noDelay: true, pauseOnConnect: false })
  server.maxConnections = connectionsMax
  let identity: BrokerIdentity | undefined

  server.on('connection', (socket: Socket) => {
    if (identity === undefined || closePromise !== undefined) {
      socket.destroy()
      return
    }
    const connection = new BrokerConnection(socket, engine, identity, settings)
    connections.add(connection)
    if (connectionChannel.hasSubscribers) connectionChannel.publish({ event: 'open', remoteAddress: socket.remoteAddress, remotePort: socket.remotePort })
    void connection.closed.then(() => {
      connections.delete(connection)
      if (connectionChannel.hasSubscribers) connectionChannel.publish({ event: 'close', remoteAddress: socket.remoteAddress, remotePort: socket.remotePort })
    })
  })

  await new Promise<void>((resolve, reject) => {
    const onError = (error: Error): void => {
      reject(new SluiceError('SLUICE_INVALID_OPTION', `cannot listen on ${host}:${port}: ${error.message}`, { cause: error }))
    }
    server.once('error', onError)
    server.listen({ host, port }, () => {
      server.off('error', onError)
      resolve()
    })
  })
  server.on('error', () => { /* accept errors (EMFILE...) are per connection; the listener stays */ })

  const address = server.address()
  const boundPort = typeof address === 'object' && address !== null ? address.port : port
  const wildcard = host === '0.0.0.0' || host === '::'
  const advertisedHost = options.advertisedHost ?? (wildcard ? 'localhost' : host)
  const advertisedPort = options.advertisedPort ?? boundPort
  identity = Object.freeze({ nodeId, host: advertisedHost, port: advertisedPort, clusterId: options.clusterId ?? clusterIdFor(engine) })

  let closePromise: Promise<void> | undefined
  const close = (): Promise<void> => {
    closePromise ??= (async () => {
      const stopped = new Promise<void>((resolve) => server.close(() => { resolve() }))
      await Promise.all([...connections].map(async (connection) => { await connection.close() }))
      await stopped
    })()
    return closePromise
  }

  return {
    host,
    port: boundPort,
    advertisedHost,
    advertisedPort,
    get connectionCount () { return connections.size },
    close,
    [Symbol.asyncDispose]: close
  }
}
