/**
 * The engine's worker threads: one lazily created Piscina pool shared by everything in the
 * process that has CPU work too long for the event loop (recovery scans, compaction, large
 * compression jobs).
 *
 * Task files live in `src/io/tasks/` (`dist/io/tasks/` once built), one file per kind of
 * work. A task is named `<file-stem>` for the file's default export or `<file-stem>#<export>`
 * for a named export: `run('compression-task#compress', payload)` runs the `compress` export
 * of `tasks/compression-task.{ts,js}`. Names are checked against a strict kebab-case pattern,
 * so a task name can never point outside `tasks/`.
 *
 * Source vs build: the task file is resolved next to this module with this module's own
 * extension. Built, that is `.js` and the workers load it natively. Under vitest or tsx this
 * module is `.ts`, which Node 20 cannot load in a worker, so the pool is created with
 * `execArgv: ['--import', 'tsx']` and the workers register tsx's loader before importing the
 * task (tsx is a devDependency; only source runs need it).
 *
 * Bounds: at most `threadsMax` threads (the machine has two cores; more threads than cores
 * only adds switching), at most `queueMax` tasks waiting (a full queue rejects with
 * SLUICE_BUFFER_FULL rather than growing without limit), idle threads exit after
 * `idleTimeoutMs` and idle workers do not keep the process alive.
 *
 * Errors: a task that throws a SluiceError reaches the caller with the same `code` (structured
 * clone keeps only name, message and stack, so `run` rebuilds the SluiceError from the code
 * carried in the message prefix `[CODE] `; see `tasks/task-error.ts`). An aborted signal rejects
 * with SLUICE_ABORTED: a queued task is dropped, a running one has its thread terminated (Piscina's
 * behaviour; a new thread replaces it). After `close()` every `run` rejects with SLUICE_CLOSED.
 */
import { availableParallelism } from 'node:os'
import { extname } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { MessagePort } from 'node:worker_threads'
import { Piscina } from 'piscina'
import { SluiceError, type ErrorCode } from '../core/errors.js'
import { decodeTaskError } from './tasks/task-error.js'

export interface WorkerPoolOptions {
  /** Upper bound of worker threads. @defaultValue min(2, availableParallelism()) */
  threadsMax?: number
  /** Upper bound of tasks waiting for a thread; beyond it `run` rejects SLUICE_BUFFER_FULL. @defaultValue 1024 */
  queueMax?: number
  /** An idle thread exits after this long. @defaultValue 30000 */
  idleTimeoutMs?: number
}

export const workerPoolDefaults = Object.freeze({
  threadsMax: Math.max(1, Math.min(2, availableParallelism())),
  queueMax: 1024,
  idleTimeoutMs: 30_000
})

export interface WorkerRunOptions {
  signal?: AbortSignal
  /** ArrayBuffers (or typed arrays' buffers) moved to the worker instead of copied. */
  transferList?: ReadonlyArray<ArrayBuffer | MessagePort>
}

type PiscinaRunOptions = NonNullable<Parameters<Piscina['run']>[1]>

const taskNamePattern = /^([a-z0-9]+(?:-[a-z0-9]+)*)(?:#([A-Za-z_$][A-Za-z0-9_$]*))?$/
const moduleExtension = extname(fileURLToPath(import.meta.url))
/** Source runs (`.ts`) need tsx's loader in each worker; built runs (`.js`) need nothing. */
const sourceRun = moduleExtension === '.ts' || moduleExtension === '.mts'

/** The file URL of a task file, next to this module with this module's extension. */
export function taskFileUrl (fileStem: string): string {
  return new URL(`./tasks/${fileStem}${moduleExtension}`, import.meta.url).href
}

export class WorkerPool {
  readonly #options: Readonly<Required<WorkerPoolOptions>>
  #piscina: Piscina | undefined
  #closing: Promise<void> | undefined

  constructor (options: WorkerPoolOptions = {}) {
    this.#options = resolveWorkerPoolOptions(options)
  }

  get options (): Readonly<Required<WorkerPoolOptions>> {
    return this.#options
  }

  /** Threads currently alive (0 until the first task: the pool is created lazily). */
  get threadCount (): number {
    return this.#piscina?.threads.length ?? 0
  }

  get closed (): boolean {
    return this.#closing !== undefined
  }

  /**
   * Runs the task `taskName` (`<file-stem>` or `<file-stem>#<export>`) with `payload` on a
   * worker thread and resolves with its result (structured clone; transfer large results
   * from the task with `Piscina.move`).
   */
  async run<Result = unknown> (taskName: string, payload: unknown, options: WorkerRunOptions = {}): Promise<Result> {
    if (this.#closing !== undefined) throw new SluiceError('SLUICE_CLOSED', 'worker pool is closed')
    const { signal } = options
    if (signal?.aborted === true) throw new SluiceError('SLUICE_ABORTED', `task ${taskName} aborted`, { cause: signal.reason })
    const match = taskNamePattern.exec(taskName)
    if (match === null) throw new SluiceError('SLUICE_INVALID_OPTION', `task name ${JSON.stringify(taskName)} is not <file-stem> or <file-stem>#<export>`)
    const piscina = this.#pool()
    try {
      const runOptions: PiscinaRunOptions = {
        filename: taskFileUrl(match[1]!),
        name: match[2] ?? 'default',
        signal: signal ?? null
      }
      if (options.transferList !== undefined) runOptions.transferList = options.transferList as PiscinaRunOptions['transferList']
      return await piscina.run(payload, runOptions) as Result
    } catch (error) {
      throw translateRunError(taskName, error, signal)
    }
  }

  /** Finishes running and queued tasks, then stops the threads. Idempotent. */
  async close (): Promise<void> {
    this.#closing ??= this.#piscina === undefined ? Promise.resolve() : this.#piscina.close()
    return await this.#closing
  }

  async [Symbol.asyncDispose] (): Promise<void> {
    await this.close()
  }

  #pool (): Piscina {
    if (this.#piscina === undefined) {
      this.#piscina = new Piscina({
        minThreads: 0,
        maxThreads: this.#options.threadsMax,
        maxQueue: this.#options.queueMax,
        idleTimeout: this.#options.idleTimeoutMs,
        ...(sourceRun ? { execArgv: ['--import', 'tsx'] } : {})
      })
    }
    return this.#piscina
  }
}

let shared: WorkerPool | undefined

/**
 * The process-wide pool, created on first use with the default options. Once it has been
 * closed, the next call creates a fresh one.
 */
export function sharedWorkerPool (): WorkerPool {
  if (shared === undefined || shared.closed) shared = new WorkerPool()
  return shared
}

export function resolveWorkerPoolOptions (options: WorkerPoolOptions = {}): Readonly<Required<WorkerPoolOptions>> {
  for (const key of Object.keys(options)) {
    if (!(key in workerPoolDefaults)) throw new SluiceError('SLUICE_INVALID_OPTION', `workerPool.${key} is not an option`)
  }
  const resolved = { ...workerPoolDefaults, ...dropUndefined(options) }
  checkInteger('threadsMax', resolved.threadsMax, 1, 256)
  checkInteger('queueMax', resolved.queueMax, 0, 1_000_000)
  checkInteger('idleTimeoutMs', resolved.idleTimeoutMs, 0, 2 ** 31 - 1)
  return Object.freeze(resolved)
}

function checkInteger (name: string, value: number, min: number, max: number): void {
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new SluiceError('SLUICE_INVALID_OPTION', `workerPool.${name} must be an integer in [${min}, ${max}], got ${String(value)}`)
  }
}

function dropUndefined<T extends object> (value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, entry]) => entry !== undefined)) as Partial<T>
}

function translateRunError (taskName: string, error: unknown, signal: AbortSignal | undefined): unknown {
  if (signal?.aborted === true || (error as { name?: unknown } | null)?.name === 'AbortError') {
    return new SluiceError('SLUICE_ABORTED', `task ${taskName} aborted`, { cause: signal?.reason ?? error })
  }
  if (error instanceof Error && error.message === 'Task queue is at limit') {
    return new SluiceError('SLUICE_BUFFER_FULL', `worker pool queue is full; task ${taskName} refused`, { cause: error })
  }
  const decoded = decodeTaskError(error)
  if (decoded !== undefined) return new SluiceError(decoded.code as ErrorCode, decoded.message, { cause: error })
  return error
}
