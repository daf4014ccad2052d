/**
 * `Sluice`: the embedded engine as an application uses it. One instance owns one data
 * directory; producers, consumers and the admin client are cheap views onto it.
 *
 * ```ts
 * await using sluice = await Sluice.open({ dataDir: './data' })
 * const producer = sluice.producer()
 * await producer.send({ topic: 'orders', messages: [{ key: 'k', value: 'v' }] })
 * ```
 *
 * `close()` stops every consumer (committing), flushes every producer, then flushes and closes
 * the engine, leaving a clean-shutdown marker so the next open skips recovery.
 */
import { SluiceError } from '../core/errors.js'
import { Engine } from '../engine/engine.js'
import type { EngineOptions } from '../engine/engine.js'
import { Admin } from './admin.js'
import { Consumer } from './consumer.js'
import type { ConsumerOptions } from './consumer-options.js'
import { Producer } from './producer.js'
import type { ProducerOptions } from './producer-options.js'

export interface SluiceOptions extends Omit<EngineOptions, 'dataDir' | 'groups'> {
  /** The data directory (created when missing). @defaultValue './sluice-data' */
  dataDir?: string
  /**
   * Group coordinator settings. `groupInitialRebalanceDelayMs` defaults to 0 embedded (Kafka:
   * 3000): every member of an in-process group joins within microseconds of the others, so
   * waiting for stragglers only delays the first assignment.
   */
  groups?: EngineOptions['groups']
}

export const sluiceDefaults = Object.freeze({ dataDir: './sluice-data', groupInitialRebalanceDelayMs: 0 })

export class Sluice {
  private readonly producers = new Set<Producer>()
  private readonly consumers = new Set<Consumer>()
  private closePromise: Promise<void> | undefined

  private constructor (readonly engine: Engine) {}

  /** Opens (creating or recovering) a data directory. */
  static async open (options: SluiceOptions = {}): Promise<Sluice> {
    const { dataDir, groups, ...rest } = options
    const engine = await Engine.open({
      ...rest,
      dataDir: dataDir ?? sluiceDefaults.dataDir,
      groups: { groupInitialRebalanceDelayMs: sluiceDefaults.groupInitialRebalanceDelayMs, ...groups }
    })
    return new Sluice(engine)
  }

  producer (options: ProducerOptions = {}): Producer {
    this.ensureOpen()
    const producer = new Producer(this.engine, options)
    this.producers.add(producer)
    return producer
  }

  consumer (options: ConsumerOptions = {}): Consumer {
    this.ensureOpen()
    const consumer = new Consumer(this.engine, options)
    this.consumers.add(consumer)
    return consumer
  }

  admin (): Admin {
    this.ensureOpen()
    return new Admin(this.engine)
  }

  /** Stops consumers, flushes producers, closes the engine cleanly. Idempotent. */
  close (): Promise<void> {
    this.closePromise ??= (async () => {
      await Promise.allSettled([...this.consumers].map(async (consumer) => { await consumer.close() }))
      await Promise.allSettled([...this.producers].map(async (producer) => { await producer.close() }))
      await this.engine.close()
    })()
    return this.closePromise
  }

  async [Symbol.asyncDispose] (): Promise<void> { await this.close() }

  private ensureOpen (): void {
    if (this.closePromise !== undefined) throw new SluiceError('SLUICE_CLOSED', 'this Sluice instance is closed')
  }
}
