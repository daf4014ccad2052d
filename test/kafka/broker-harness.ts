/**
 * A broker over a fresh engine in a temporary directory, on a free loopback port, for the
 * broker tests; plus kafkajs codecs for snappy/lz4/zstd built on Sluice's own compression.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { connect, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import kafkajs, { type KafkaConfig } from 'kafkajs'
import { Engine, type EngineOptions } from '../../src/engine/engine.js'
import { compress, decompress, type CompressionCodec } from '../../src/io/compression.js'
import { startBroker, type Broker, type BrokerOptions } from '../../src/kafka/server.js'

// kafkajs is CommonJS: its codec registry is reached through the default export under plain Node ESM too.
const { CompressionCodecs, CompressionTypes, Kafka, logLevel } = kafkajs

export interface BrokerHarness {
  engine: Engine
  broker: Broker
  dataDir: string
  address: string
  kafka: (config?: Partial<KafkaConfig>) => InstanceType<typeof Kafka>
  /** Closes the broker, then the engine, then removes the directory. */
  close: () => Promise<void>
}

export async function openBroker (options: { engine?: Partial<EngineOptions>, broker?: Partial<BrokerOptions>, dataDir?: string } = {}): Promise<BrokerHarness> {
  const dataDir = options.dataDir ?? await mkdtemp(join(tmpdir(), 'sluice-broker-'))
  const engine = await Engine.open({ dataDir, groups: { groupInitialRebalanceDelayMs: 0 }, ...options.engine })
  const broker = await startBroker({ engine, host: '127.0.0.1', port: 0, ...options.broker })
  const address = `127.0.0.1:${broker.port}`
  return {
    engine,
    broker,
    dataDir,
    address,
    kafka: (config = {}) => new Kafka({ clientId: 'broker-test', brokers: [address], logLevel: logLevel.NOTHING, retry: { retries: 8, initialRetryTime: 50 }, ...config }),
    close: async () => {
      await broker.close()
      await engine.close()
      if (options.dataDir === undefined) await rm(dataDir, { recursive: true, force: true })
    }
  }
}

function codec (name: CompressionCodec) {
  return () => ({
    compress: async (encoder: { buffer: Buffer }) => await compress(name, encoder.buffer),
    decompress: async (buffer: Buffer) => await decompress(name, buffer)
  })
}

/** Registers kafkajs codecs for snappy, lz4 and zstd (gzip is built into kafkajs). */
export function registerKafkajsCodecs (): void {
  CompressionCodecs[CompressionTypes.Snappy] = codec('snappy')
  CompressionCodecs[CompressionTypes.LZ4] = codec('lz4')
  CompressionCodecs[CompressionTypes.ZSTD] = codec('zstd')
}

/** Polls `condition` every 20 ms until it holds or `timeoutMs` passes (then throws `what`). */
export async function waitFor (condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs
  // Bounded by the deadline.
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

/** A raw client connection that collects response frames and notices the close. */
export class RawClient {
  readonly socket: Socket
  readonly frames: Buffer[] = []
  closed = false
  private pending = Buffer.alloc(0)
  private waiters: Array<() => void> = []

  private constructor (socket: Socket) {
    this.socket = socket
    socket.on('data', (chunk: Buffer) => {
      this.pending = Buffer.concat([this.pending, chunk])
      while (this.pending.length >= 4 && this.pending.length >= 4 + this.pending.readInt32BE(0)) {
        const size = this.pending.readInt32BE(0)
        this.frames.push(this.pending.subarray(4, 4 + size))
        this.pending = this.pending.subarray(4 + size)
      }
      this.notify()
    })
    socket.on('error', () => {})
    socket.on('close', () => { this.closed = true; this.notify() })
  }

  static async open (port: number): Promise<RawClient> {
    const socket = connect({ host: '127.0.0.1', port })
    await new Promise<void>((resolve, reject) => { socket.once('connect', resolve); socket.once('error', reject) })
    return new RawClient(socket)
  }

  private notify (): void {
    for (const waiter of this.waiters.splice(0)) waiter()
  }

  send (bytes: Buffer | Buffer[]): void {
    if (!this.closed) this.socket.write(Array.isArray(bytes) ? Buffer.concat(bytes) : bytes)
  }

  /** Resolves with 'frame' when `count` frames have arrived, 'closed' on close, 'timeout' otherwise. */
  async until (count: number, timeoutMs: number): Promise<'frame' | 'closed' | 'timeout'> {
    const deadline = Date.now() + timeoutMs
    // Bounded by the deadline.
    while (this.frames.length < count && !this.closed) {
      const left = deadline - Date.now()
      if (left <= 0) return 'timeout'
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left)
        this.waiters.push(() => { clearTimeout(timer); resolve() })
      })
    }
    return this.frames.length >= count ? 'frame' : 'closed'
  }

  destroy (): void { this.socket.destroy() }
}

