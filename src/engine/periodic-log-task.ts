/**
 * The skeleton the background cleaners share (retention, compaction): a set of registered
 * logs and, every `intervalMs`, one pass that runs `work` on each in turn. One pass at a time:
 * a tick that finds a pass running joins it instead of starting another. A failing log never
 * stops the pass; its error goes to `onResult` as a SluiceError (KAFKA_STORAGE_ERROR when it
 * was not one), like every result.
 */
import { SluiceError } from '../core/errors.js'
import type { CleanableLog } from './cleanable-log.js'

export interface PeriodicLogTaskOptions<Entry extends { log: CleanableLog }, Result> {
  /** What the task is, for messages ('retention', 'compaction'). */
  name: string
  intervalMs: number
  work: (entry: Entry) => Promise<Result>
  onResult?: ((log: CleanableLog, result: Result | SluiceError) => void) | undefined
}

export class PeriodicLogTask<Entry extends { log: CleanableLog }, Result> {
  readonly #logs = new Set<Entry>()
  readonly #options: PeriodicLogTaskOptions<Entry, Result>
  #timer: NodeJS.Timeout | undefined
  #running: Promise<void> | undefined
  #closing: Promise<void> | undefined

  constructor (options: PeriodicLogTaskOptions<Entry, Result>) {
    if (!Number.isSafeInteger(options.intervalMs) || options.intervalMs < 1) {
      throw new SluiceError('SLUICE_INVALID_OPTION', `${options.name} interval must be a positive integer of ms, got ${String(options.intervalMs)}`)
    }
    this.#options = options
  }

  /** Registers a log; the returned function unregisters it. */
  add (entry: Entry): () => void {
    this.#logs.add(entry)
    return () => { this.#logs.delete(entry) }
  }

  get closing (): boolean { return this.#closing !== undefined }

  start (): void {
    if (this.#timer !== undefined || this.#closing !== undefined) return
    this.#timer = setInterval(() => { void this.runOnce() }, this.#options.intervalMs)
    this.#timer.unref()
  }

  /** One pass over every log; concurrent calls share the pass in progress. */
  async runOnce (): Promise<void> {
    if (this.#closing !== undefined) return
    this.#running ??= this.#pass().finally(() => { this.#running = undefined })
    await this.#running
  }

  async #pass (): Promise<void> {
    for (const entry of [...this.#logs]) {
      if (this.#closing !== undefined) return
      try {
        this.#options.onResult?.(entry.log, await this.#options.work(entry))
      } catch (error) {
        const wrapped = error instanceof SluiceError
          ? error
          : new SluiceError('KAFKA_STORAGE_ERROR', `${this.#options.name} of ${entry.log.layout.directory} failed: ${(error as Error).message}`, { cause: error })
        this.#options.onResult?.(entry.log, wrapped)
      }
    }
  }

  /** Stops the timer and waits for the pass in progress. Idempotent. */
  close (): Promise<void> {
    this.#closing ??= (async () => {
      if (this.#timer !== undefined) clearInterval(this.#timer)
      await this.#running?.catch(() => {})
    })()
    return this.#closing
  }
}
