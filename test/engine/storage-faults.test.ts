/**
 * Disk faults through the fault-injecting file system: EIO and ENOSPC on writes and fdatasync,
 * short writes, loss of everything not covered by an fdatasync on crash. Invariants: the failing
 * call gets KAFKA_STORAGE_ERROR, reads keep working, appends work again once the fault clears,
 * and after a crash every append acknowledged as flushed is there, byte for byte, with
 * contiguous offsets and nothing partial.
 */
import { fc, test } from '@fast-check/vitest'
import { afterEach, describe, expect } from 'vitest'
import { isSluiceError } from '../../src/core/errors.js'
import { LogManager } from '../../src/engine/log-manager.js'
import type { PartitionLog } from '../../src/engine/partition-log.js'
import { makeSizedBatch, splitBatches, withBaseOffset } from '../support/batches.js'
import { FaultyFileSystem } from '../support/faulty-fs.js'
import type { FaultCode, FaultOperation } from '../support/faulty-fs.js'

const managers: LogManager[] = []
afterEach(async () => {
  while (managers.length > 0) await managers.pop()!.close().catch(() => {})
})

const logConfig = { segmentBytes: 2500, indexIntervalBytes: 128, segmentIndexBytes: 960 }

async function openEngine (fs: FaultyFileSystem, flush: 'always' | 'interval' = 'always'): Promise<{ manager: LogManager, log: PartitionLog }> {
  const manager = await LogManager.open({ directory: '/data', fs: fs.process(), flush, logConfig })
  managers.push(manager)
  const log = await manager.createLog('events', 0)
  return { manager, log }
}

async function readEverything (log: PartitionLog): Promise<Map<number, Buffer>> {
  const batches = new Map<number, Buffer>()
  let offset = log.logStartOffset
  let expected = offset
  while (offset < log.highWatermark) {
    const { records } = await log.read(offset, { maxBytes: 4096 })
    const split = splitBatches(records)
    expect(split.length).toBeGreaterThan(0)
    for (const batch of split) {
      const base = Number(batch.readBigInt64BE(0))
      expect(base).toBe(expected) // contiguous offsets, nothing partial
      batches.set(base, Buffer.from(batch))
      offset = base + batch.readInt32BE(23) + 1
      expected = offset
    }
  }
  return batches
}

async function errorOf (promise: Promise<unknown>): Promise<unknown> {
  return await promise.then(() => undefined, (error: unknown) => error)
}

async function newFs (): Promise<FaultyFileSystem> {
  const fs = new FaultyFileSystem()
  await fs.mkdir('/data')
  return fs
}

describe('storage faults', () => {
  test('EIO on write: the append fails typed, reads keep working, appends resume at the same offset', async () => {
    const fs = await newFs()
    const { log } = await openEngine(fs)
    const first = makeSizedBatch(3, 40, 1)
    await log.append(first)
    fs.failOn('write', 'EIO', { path: /\.log$/ })
    const failed = await errorOf(log.append(makeSizedBatch(2, 40, 2)))
    expect(isSluiceError(failed, 'KAFKA_STORAGE_ERROR')).toBe(true)
    expect((await readEverything(log)).get(0)).toEqual(withBaseOffset(first, 0))
    const again = await errorOf(log.append(makeSizedBatch(2, 40, 3)))
    expect(isSluiceError(again, 'KAFKA_STORAGE_ERROR')).toBe(true)
    fs.clearFaults()
    const recovered = await log.append(makeSizedBatch(2, 40, 4))
    expect(recovered).toMatchObject({ baseOffset: 3, durability: 'flushed' })
    fs.crash()
    const { log: reopened } = await openEngine(fs)
    const batches = await readEverything(reopened)
    expect([...batches.keys()]).toEqual([0, 3])
  })

  test('EIO on fdatasync: the waiting appends fail, the suspect range is dropped, then appends resume', async () => {
    const fs = await newFs()
    const { log } = await openEngine(fs)
    await log.append(makeSizedBatch(1, 10, 1))
    fs.failOn('datasync', 'EIO', { times: 1, path: /\.log$/ })
    const results = await Promise.allSettled([log.append(makeSizedBatch(1, 10, 2)), log.append(makeSizedBatch(1, 10, 3))])
    for (const result of results) {
      expect(result.status).toBe('rejected')
      expect(isSluiceError((result as PromiseRejectedResult).reason, 'KAFKA_STORAGE_ERROR')).toBe(true)
    }
    expect(log.highWatermark).toBe(1)
    expect((await readEverything(log)).size).toBe(1)
    const next = await log.append(makeSizedBatch(1, 10, 4))
    expect(next).toMatchObject({ baseOffset: 1, durability: 'flushed' })
    fs.crash()
    const { log: reopened } = await openEngine(fs)
    expect(reopened.logEndOffset).toBe(2)
  })

  test('ENOSPC after a short write: the partial bytes are truncated away', async () => {
    const fs = await newFs()
    const { log } = await openEngine(fs)
    await log.append(makeSizedBatch(2, 30, 1))
    fs.shortWrites = true
    fs.failOn('write', 'ENOSPC', { skip: 1, path: /\.log$/ })
    const failed = await errorOf(log.append(makeSizedBatch(4, 100, 2)))
    expect(isSluiceError(failed, 'KAFKA_STORAGE_ERROR')).toBe(true)
    fs.clearFaults()
    const next = await log.append(makeSizedBatch(1, 5, 3))
    expect(next.baseOffset).toBe(2)
    await log.flush()
    expect([...(await readEverything(log)).keys()]).toEqual([0, 2])
    fs.crash()
    const { log: reopened } = await openEngine(fs)
    expect([...(await readEverything(reopened)).keys()]).toEqual([0, 2])
  })

  test('when the repair itself fails, appends keep failing typed until the fault clears', async () => {
    const fs = await newFs()
    const { log } = await openEngine(fs)
    await log.append(makeSizedBatch(1, 10, 1))
    fs.failOn('write', 'EIO', { path: /\.log$/ })
    fs.failOn('truncate', 'EIO')
    for (let attempt = 0; attempt < 3; attempt++) {
      const error = await errorOf(log.append(makeSizedBatch(1, 10, 2)))
      expect(isSluiceError(error, 'KAFKA_STORAGE_ERROR')).toBe(true)
      expect((await log.read(0)).records.byteLength).toBeGreaterThan(0)
    }
    fs.clearFaults()
    expect((await log.append(makeSizedBatch(1, 10, 3))).baseOffset).toBe(1)
  })

  test('short writes alone are completed transparently', async () => {
    const fs = await newFs()
    const { log } = await openEngine(fs)
    fs.shortWrites = true
    const batches = [makeSizedBatch(5, 100, 1), makeSizedBatch(3, 300, 2), makeSizedBatch(1, 7, 3)]
    for (const batch of batches) await log.append(batch)
    fs.shortWrites = false
    fs.crash()
    const { log: reopened } = await openEngine(fs)
    const stored = await readEverything(reopened)
    expect([...stored.values()]).toEqual([withBaseOffset(batches[0]!, 0), withBaseOffset(batches[1]!, 5), withBaseOffset(batches[2]!, 8)])
  })

  const step = fc.oneof(
    fc.record({ kind: fc.constant('append' as const), count: fc.integer({ min: 1, max: 6 }), size: fc.integer({ min: 1, max: 300 }) }),
    fc.record({
      kind: fc.constant('fault' as const),
      operation: fc.constantFrom<FaultOperation>('write', 'datasync', 'truncate', 'open', 'syncDirectory'),
      code: fc.constantFrom<FaultCode>('EIO', 'ENOSPC'),
      times: fc.integer({ min: 1, max: 3 })
    }),
    fc.record({ kind: fc.constant('crashDuring' as const), count: fc.integer({ min: 1, max: 12 }), size: fc.integer({ min: 1, max: 600 }), ticks: fc.integer({ min: 0, max: 12 }) }),
    fc.record({ kind: fc.constant('checkpoint' as const) }),
    fc.record({ kind: fc.constant('short' as const) }),
    fc.record({ kind: fc.constant('clear' as const) }),
    fc.record({ kind: fc.constant('crash' as const) })
  )

  test.prop([fc.array(step, { minLength: 1, maxLength: 25 })], { numRuns: 60 })(
    'random faults and crashes never lose an append acknowledged as flushed',
    async (steps) => {
      const fs = await newFs()
      let engine = await openEngine(fs)
      const acknowledged = new Map<number, Buffer>()
      let seed = 0
      const crashAndReopen = async (): Promise<void> => {
        fs.crash()
        engine = await openEngine(fs)
        const stored = await readEverything(engine.log)
        for (const [offset, batch] of acknowledged) expect(stored.get(offset)).toEqual(batch)
        // Indexes agree with the data: a read at each batch's last offset starts at that batch.
        for (const [offset, batch] of stored) {
          const { records } = await engine.log.read(offset + batch.readInt32BE(23), { maxBytes: 1 })
          expect(Number(Buffer.from(records).readBigInt64BE(0))).toBe(offset)
        }
      }
      for (const current of steps) {
        if (current.kind === 'append') {
          const batches = Array.from({ length: current.count }, () => makeSizedBatch(1 + (seed % 3), current.size, seed++))
          const results = await Promise.allSettled(batches.map(async (batch) => await engine.log.append(batch)))
          results.forEach((result, index) => {
            if (result.status === 'fulfilled') {
              expect(result.value.durability).toBe('flushed')
              acknowledged.set(result.value.baseOffset, withBaseOffset(batches[index]!, result.value.baseOffset))
            } else {
              expect(isSluiceError(result.reason, 'KAFKA_STORAGE_ERROR')).toBe(true)
            }
          })
          // Whatever failed, what is readable is acknowledged, byte for byte.
          const stored = await readEverything(engine.log)
          for (const [offset, batch] of stored) expect(acknowledged.get(offset)).toEqual(batch)
        } else if (current.kind === 'crashDuring') {
          // Crash while appends are in flight: whatever resolved as flushed must survive.
          const batches = Array.from({ length: current.count }, () => makeSizedBatch(1 + (seed % 3), current.size, seed++))
          const errors: unknown[] = []
          const pending = batches.map(async (batch) => {
            try {
              const result = await engine.log.append(batch)
              acknowledged.set(result.baseOffset, withBaseOffset(batch, result.baseOffset))
            } catch (error) {
              errors.push(error)
            }
          })
          for (let tick = 0; tick < current.ticks; tick++) await new Promise((resolve) => setImmediate(resolve))
          fs.crash()
          await Promise.all(pending)
          for (const error of errors) expect(isSluiceError(error)).toBe(true)
          await crashAndReopen()
        } else if (current.kind === 'fault') {
          fs.failOn(current.operation, current.code, { times: current.times })
        } else if (current.kind === 'checkpoint') {
          // A recovery-point checkpoint lets the next recovery resume mid-segment.
          await engine.manager.checkpoint().catch(() => {})
        } else if (current.kind === 'short') {
          fs.shortWrites = true
        } else if (current.kind === 'clear') {
          fs.clearFaults()
        } else {
          await crashAndReopen()
        }
      }
      fs.clearFaults()
      await crashAndReopen()
      const next = await engine.log.append(makeSizedBatch(1, 1, 0))
      expect(next.baseOffset).toBe(engine.log.logEndOffset - 1)
    }
  )
})
