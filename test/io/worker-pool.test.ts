import { afterAll, describe, expect, it } from 'vitest'
import { WorkerPool, resolveWorkerPoolOptions, sharedWorkerPool, taskFileUrl, workerPoolDefaults } from '../../src/io/worker-pool.js'
import { compressSync } from '../../src/io/compression.js'
import { isSluiceError } from '../../src/core/errors.js'
import { recordLikeBytes } from './compression-fixtures.js'

async function rejection (promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise
  } catch (error) {
    return error
  }
  return expect.fail('expected a rejection')
}

describe('WorkerPool', () => {
  const pool = new WorkerPool({ threadsMax: 2 })
  afterAll(async () => { await pool.close() })

  it('resolves task files next to the module with its own extension (.ts under vitest)', () => {
    expect(taskFileUrl('compression-task')).toMatch(/^file:\/\/.*\/src\/io\/tasks\/compression-task\.ts$/)
  })

  it('creates no thread until the first task', () => {
    const lazy = new WorkerPool()
    expect(lazy.threadCount).toBe(0)
    return lazy.close()
  })

  it('runs a TypeScript task file in a worker under vitest and returns its bytes', async () => {
    const data = recordLikeBytes(300_000, 1)
    for (const codec of ['gzip', 'snappy', 'lz4', 'zstd'] as const) {
      const result = await pool.run<Uint8Array>('compression-task#compress', { codec, data })
      expect(Buffer.from(result.buffer, result.byteOffset, result.length).equals(compressSync(codec, data))).toBe(true)
      const back = await pool.run<Uint8Array>('compression-task#decompress', { codec, data: result })
      expect(Buffer.from(back).equals(data)).toBe(true)
    }
    expect(pool.threadCount).toBeGreaterThan(0)
    expect(pool.threadCount).toBeLessThanOrEqual(2)
  })

  it('moves the result back instead of copying it into a shared pool', async () => {
    const data = recordLikeBytes(100_000, 2)
    const result = await pool.run<Uint8Array>('compression-task#decompress', { codec: 'lz4', data: compressSync('lz4', data) })
    expect(result.byteOffset).toBe(0)
    expect(result.buffer.byteLength).toBe(data.length)
  })

  it('keeps the SluiceError code of an error thrown in the worker', async () => {
    const error = await rejection(pool.run('compression-task#decompress', { codec: 'zstd', data: Buffer.from('not zstd') }))
    expect(isSluiceError(error, 'CORRUPT_MESSAGE')).toBe(true)
    expect((error as Error).message).toMatch(/^zstd: /)
    const limited = await rejection(pool.run('compression-task#decompress', { codec: 'gzip', data: compressSync('gzip', Buffer.alloc(10_000)), decompressedBytesMax: 100 }))
    expect(isSluiceError(limited, 'CORRUPT_MESSAGE')).toBe(true)
  })

  it('transfers input listed in transferList (the caller\'s buffer is detached)', async () => {
    const data = recordLikeBytes(50_000, 3)
    const owned = new Uint8Array(data)
    const result = await pool.run<Uint8Array>('compression-task#compress', { codec: 'snappy', data: owned }, { transferList: [owned.buffer] })
    expect(owned.byteLength).toBe(0)
    expect(Buffer.from(result).equals(compressSync('snappy', data))).toBe(true)
  })

  it.each(['../compression', 'Compression-Task', 'compression-task#', 'compression-task#a-b', '', 'a/b'])('refuses the task name %j', async (name) => {
    expect(isSluiceError(await rejection(pool.run(name, {})), 'SLUICE_INVALID_OPTION')).toBe(true)
  })

  it('rejects an already aborted signal with SLUICE_ABORTED', async () => {
    const controller = new AbortController()
    controller.abort()
    const error = await rejection(pool.run('compression-task#compress', { codec: 'gzip', data: Buffer.from('x') }, { signal: controller.signal }))
    expect(isSluiceError(error, 'SLUICE_ABORTED')).toBe(true)
  })
})

describe('WorkerPool bounds and lifetime', () => {
  it('aborting a queued task rejects it with SLUICE_ABORTED and leaves the running one alone', async () => {
    const pool = new WorkerPool({ threadsMax: 1 })
    try {
      const data = recordLikeBytes(4 * 1024 * 1024, 4)
      const running = pool.run<Uint8Array>('compression-task#compress', { codec: 'gzip', data })
      const controller = new AbortController()
      const queued = pool.run('compression-task#compress', { codec: 'gzip', data }, { signal: controller.signal })
      controller.abort()
      expect(isSluiceError(await rejection(queued), 'SLUICE_ABORTED')).toBe(true)
      expect(Buffer.from(await running).equals(compressSync('gzip', data))).toBe(true)
    } finally {
      await pool.close()
    }
  })

  it('aborting a running task rejects it with SLUICE_ABORTED and the pool keeps working', async () => {
    const pool = new WorkerPool({ threadsMax: 1 })
    try {
      await pool.run('compression-task#compress', { codec: 'lz4', data: Buffer.from('warm up the thread') })
      // 16 MiB of gzip level 6 takes hundreds of milliseconds: still running when the abort lands.
      const data = recordLikeBytes(16 * 1024 * 1024, 6)
      const controller = new AbortController()
      const running = pool.run('compression-task#compress', { codec: 'gzip', data }, { signal: controller.signal })
      setTimeout(() => { controller.abort() }, 50)
      expect(isSluiceError(await rejection(running), 'SLUICE_ABORTED')).toBe(true)
      const after = await pool.run<Uint8Array>('compression-task#compress', { codec: 'zstd', data: Buffer.from('still alive') })
      expect(Buffer.from(after).equals(compressSync('zstd', Buffer.from('still alive')))).toBe(true)
    } finally {
      await pool.close()
    }
  })

  it('a full queue rejects with SLUICE_BUFFER_FULL instead of growing', async () => {
    const pool = new WorkerPool({ threadsMax: 1, queueMax: 1 })
    try {
      const data = recordLikeBytes(2 * 1024 * 1024, 5)
      const submitted = Array.from({ length: 4 }, async () => await pool.run('compression-task#compress', { codec: 'gzip', data }))
      const settled = await Promise.allSettled(submitted)
      const refused = settled.filter((outcome) => outcome.status === 'rejected')
      expect(refused.length).toBeGreaterThan(0)
      for (const outcome of refused) expect(isSluiceError((outcome as PromiseRejectedResult).reason, 'SLUICE_BUFFER_FULL')).toBe(true)
      expect(settled.filter((outcome) => outcome.status === 'fulfilled').length).toBeGreaterThan(0)
    } finally {
      await pool.close()
    }
  })

  it('close is idempotent, stops the threads, and later runs reject SLUICE_CLOSED', async () => {
    const pool = new WorkerPool({ threadsMax: 1 })
    await pool.run('compression-task#compress', { codec: 'lz4', data: Buffer.from('warm up') })
    const first = pool.close()
    const second = pool.close()
    await Promise.all([first, second])
    expect(pool.closed).toBe(true)
    expect(pool.threadCount).toBe(0)
    const error = await rejection(pool.run('compression-task#compress', { codec: 'lz4', data: Buffer.from('late') }))
    expect(isSluiceError(error, 'SLUICE_CLOSED')).toBe(true)
  })

  it('sharedWorkerPool returns one pool until it is closed, then a fresh one', async () => {
    const shared = sharedWorkerPool()
    expect(sharedWorkerPool()).toBe(shared)
    expect(shared.options.threadsMax).toBe(workerPoolDefaults.threadsMax)
    expect(shared.options.threadsMax).toBeLessThanOrEqual(2)
    await shared.close()
    const next = sharedWorkerPool()
    expect(next).not.toBe(shared)
    await next.close()
  })

  it('validates options', () => {
    expect(() => resolveWorkerPoolOptions({ threadsMax: 0 })).toThrow(expect.objectContaining({ code: 'SLUICE_INVALID_OPTION' }))
    expect(() => resolveWorkerPoolOptions({ queueMax: -1 })).toThrow(expect.objectContaining({ code: 'SLUICE_INVALID_OPTION' }))
    expect(() => resolveWorkerPoolOptions({ threads: 2 } as never)).toThrow(/workerPool.threads is not an option/)
    expect(resolveWorkerPoolOptions({ threadsMax: 1 })).toEqual({ ...workerPoolDefaults, threadsMax: 1 })
  })
})
