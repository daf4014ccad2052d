/**
 * A rolled segment is fdatasynced in the background: appends continue in the new segment at
 * once, while `flush`, `close`, the recovery point and the deletion of the old segment wait for
 * that fdatasync, and a failure of it is reported, never hidden.
 */
import { afterEach, describe, expect, test } from 'vitest'
import { isSluiceError } from '../../src/core/errors.js'
import { LogManager } from '../../src/engine/log-manager.js'
import type { PartitionLog } from '../../src/engine/partition-log.js'
import { makeSizedBatch, splitBatches } from '../support/batches.js'
import { FaultyFileSystem } from '../support/faulty-fs.js'

const managers: LogManager[] = []
afterEach(async () => {
  while (managers.length > 0) await managers.pop()!.close().catch(() => {})
})

const FIRST_SEGMENT_LOG = /00000000000000000000\.log$/
const logConfig = { segmentBytes: 2500, indexIntervalBytes: 128, segmentIndexBytes: 960 }

async function newFs (): Promise<FaultyFileSystem> {
  const fs = new FaultyFileSystem()
  await fs.mkdir('/data')
  return fs
}

async function openLog (fs: FaultyFileSystem): Promise<PartitionLog> {
  const manager = await LogManager.open({ directory: '/data', fs: fs.process(), flush: 'interval', logConfig })
  managers.push(manager)
  return manager.getLog('events', 0) ?? await manager.createLog('events', 0)
}

/** Appends until the log has rolled once; returns how many batches went in. */
async function appendUntilRolled (log: PartitionLog): Promise<number> {
  let count = 0
  // Bounded: a segment holds at most segment.bytes.
  while (log.segmentList().length < 2) {
    await log.append(makeSizedBatch(3, 100, count))
    count++
    expect(count).toBeLessThan(100)
  }
  return count
}

async function offsetsIn (log: PartitionLog): Promise<number[]> {
  const offsets: number[] = []
  let offset = log.logStartOffset
  while (offset < log.highWatermark) {
    const { records } = await log.read(offset, { maxBytes: 4096 })
    for (const batch of splitBatches(records)) {
      const base = Number(batch.readBigInt64BE(0))
      offsets.push(base)
      offset = base + batch.readInt32BE(23) + 1
    }
  }
  return offsets
}

async function settledWithin (promise: Promise<unknown>, ms: number): Promise<boolean> {
  let settled = false
  void promise.then(() => { settled = true }, () => { settled = true })
  await new Promise((resolve) => setTimeout(resolve, ms))
  return settled
}

describe('background fdatasync of a rolled segment', () => {
  test('appends go on while it runs; flush and the recovery point wait for it', async () => {
    const fs = await newFs()
    const log = await openLog(fs)
    const release = fs.holdDatasync(FIRST_SEGMENT_LOG)
    await appendUntilRolled(log)
    const newBase = log.activeSegment.baseOffset
    // The old segment's fdatasync is parked, yet appends to the new segment are acknowledged.
    const next = await log.append(makeSizedBatch(2, 50, 1000))
    expect(next.baseOffset).toBeGreaterThanOrEqual(newBase)
    expect(log.recoveryPoint).toBe(0)
    expect(log.hasUnflushedData).toBe(true)
    const flushing = log.flush()
    expect(await settledWithin(flushing, 30)).toBe(false)
    release()
    await flushing
    expect(log.recoveryPoint).toBe(log.logEndOffset)
    expect(log.hasUnflushedData).toBe(false)
    // Everything flushed survives a power loss.
    const before = await offsetsIn(log)
    fs.crash()
    expect(await offsetsIn(await openLog(fs))).toEqual(before)
  })

  test('a failed fdatasync fails flush with KAFKA_STORAGE_ERROR and keeps the recovery point below the segment', async () => {
    const fs = await newFs()
    const log = await openLog(fs)
    fs.failOn('datasync', 'EIO', { path: FIRST_SEGMENT_LOG })
    await appendUntilRolled(log)
    const error = await log.flush().then(() => undefined, (failure: unknown) => failure)
    expect(isSluiceError(error, 'KAFKA_STORAGE_ERROR')).toBe(true)
    expect(log.recoveryPoint).toBe(0)
    // The log keeps serving appends and reads.
    const next = await log.append(makeSizedBatch(1, 10, 2000))
    expect(next.baseOffset).toBe(log.logEndOffset - 1)
    expect((await offsetsIn(log)).length).toBeGreaterThan(1)
    // After a power loss, recovery rescans from the recovery point: a contiguous prefix remains.
    fs.clearFaults()
    fs.crash()
    const reopened = await openLog(fs)
    const offsets = await offsetsIn(reopened)
    for (let index = 1; index < offsets.length; index++) expect(offsets[index]!).toBeGreaterThan(offsets[index - 1]!)
    expect(reopened.logEndOffset).toBeLessThanOrEqual(next.lastOffset + 1)
  })

  test('deleting the old segment waits for its fdatasync to end', async () => {
    const fs = await newFs()
    const log = await openLog(fs)
    const release = fs.holdDatasync(FIRST_SEGMENT_LOG)
    await appendUntilRolled(log)
    const deleting = log.deleteOldestSegments(1)
    expect(await settledWithin(deleting, 30)).toBe(false)
    expect(fs.contents('/data/events-0/00000000000000000000.log')).toBeDefined()
    release()
    await deleting
    expect(fs.contents('/data/events-0/00000000000000000000.log')).toBeUndefined()
    expect(log.logStartOffset).toBe(log.segmentList()[0]!.baseOffset)
    await log.flush()
    expect(log.recoveryPoint).toBe(log.logEndOffset)
  })

  test('a power loss before it completed cuts the log at the hole it leaves (no later segment survives past lost offsets)', async () => {
    const fs = await newFs()
    const log = await openLog(fs)
    const release = fs.holdDatasync(FIRST_SEGMENT_LOG)
    await log.append(makeSizedBatch(3, 100, 1))
    await log.rollActiveSegment()
    await log.append(makeSizedBatch(2, 100, 2))
    // The new segment's bytes become durable; the rolled segment's never do.
    void log.flush().catch(() => {})
    await new Promise((resolve) => setTimeout(resolve, 20))
    fs.crash()
    release()
    const reopened = await openLog(fs)
    // Offsets 0-2 are gone with the power loss, so 3-4 may not be served after them.
    expect(reopened.logEndOffset).toBe(0)
    expect(await offsetsIn(reopened)).toEqual([])
    const next = await reopened.append(makeSizedBatch(1, 10, 3))
    expect(next.baseOffset).toBe(0)
  })

  test('an fdatasync failing while the segment rolls is repaired in that segment, leaving no hole', async () => {
    const fs = await newFs()
    const log = await openLog(fs)
    await log.append(makeSizedBatch(3, 100, 1))
    await log.flush()
    await log.append(makeSizedBatch(2, 100, 2))
    fs.failOn('datasync', 'EIO', { times: 1, path: FIRST_SEGMENT_LOG })
    const rolling = log.rollActiveSegment()
    const flushed = await log.flush().then(() => undefined, (error: unknown) => error)
    expect(isSluiceError(flushed, 'KAFKA_STORAGE_ERROR')).toBe(true)
    await rolling.catch(() => {})
    const next = await log.append(makeSizedBatch(1, 10, 3))
    const offsets = await offsetsIn(log)
    // Contiguous: the repair went back to the flushed boundary of the segment that failed.
    expect(offsets).toEqual(offsets.length === 2 ? [0, 3] : [0, 3, 5])
    expect(next.baseOffset).toBe(offsets.at(-1))
    await log.flush()
    fs.crash()
    expect(await offsetsIn(await openLog(fs))).toEqual(offsets)
  })

  test('close waits for it and leaves a clean shutdown', async () => {
    const fs = await newFs()
    const log = await openLog(fs)
    const release = fs.holdDatasync(FIRST_SEGMENT_LOG)
    await appendUntilRolled(log)
    const before = await offsetsIn(log)
    const manager = managers.pop()!
    const closing = manager.close()
    expect(await settledWithin(closing, 30)).toBe(false)
    release()
    await closing
    fs.crash()
    expect(await offsetsIn(await openLog(fs))).toEqual(before)
  })
})

describe("preallocation ahead of the data under flush 'always'", () => {
  async function openAlways (fs: FaultyFileSystem): Promise<{ manager: LogManager, log: PartitionLog }> {
    const manager = await LogManager.open({ directory: '/data', fs: fs.process(), flush: 'always', logConfig: { segmentBytes: 64 * 1024 * 1024 } })
    managers.push(manager)
    return { manager, log: manager.getLog('events', 0) ?? await manager.createLog('events', 0) }
  }

  test('appends across several 4 MiB preallocations keep every byte; close trims the zeros; a crash keeps what was acknowledged', async () => {
    const fs = await newFs()
    const { manager, log } = await openAlways(fs)
    const file = '/data/events-0/00000000000000000000.log'
    let acknowledged = 0
    // 12 MiB in 200 KiB batches, four in flight: the zeros run ahead in the background.
    for (let round = 0; round < 15; round++) {
      const results = await Promise.all([0, 1, 2, 3].map(async (index) => await log.append(makeSizedBatch(2, 100 * 1024, round * 4 + index))))
      for (const result of results) expect(result.durability).toBe('flushed')
      acknowledged += results.length
      // Zeros (never valid batches) lie ahead of the data, and at most one preallocation beyond it.
      const length = fs.contents(file)!.byteLength
      expect(length).toBeGreaterThanOrEqual(log.activeSegment.size)
      expect(length).toBeLessThanOrEqual(log.activeSegment.size + 2 * 4 * 1024 * 1024)
    }
    const before = await offsetsIn(log)
    expect(before).toHaveLength(acknowledged)
    fs.crash()
    const { manager: reopened, log: recovered } = await openAlways(fs)
    expect(await offsetsIn(recovered)).toEqual(before)
    await recovered.append(makeSizedBatch(1, 10, 999))
    managers.splice(managers.indexOf(reopened), 1)
    await reopened.close()
    expect(fs.contents(file)!.byteLength).toBe(recovered.activeSegment.size)
    // The crashed engine's own close (in afterEach) fails with EIO and changes nothing.
    expect(managers).toContain(manager)
  })
})

describe('storage faults in background work are typed', () => {
  test('a failing checkpoint and a failing segment deletion reject with KAFKA_STORAGE_ERROR', async () => {
    const fs = await newFs()
    const log = await openLog(fs)
    const manager = managers[managers.length - 1]!
    await appendUntilRolled(log)
    await log.flush()
    fs.failOn('rename', 'EIO', { times: 1 })
    const checkpointError = await manager.checkpoint().then(() => undefined, (error: unknown) => error)
    expect(isSluiceError(checkpointError, 'KAFKA_STORAGE_ERROR')).toBe(true)
    fs.failOn('unlink', 'EIO', { times: 1 })
    const deleteError = await log.deleteOldestSegments(1).then(() => undefined, (error: unknown) => error)
    expect(isSluiceError(deleteError, 'KAFKA_STORAGE_ERROR')).toBe(true)
    // The log start moved past the segment, and appends and reads go on.
    expect(log.logStartOffset).toBe(log.segmentList()[0]!.baseOffset)
    fs.clearFaults()
    await log.append(makeSizedBatch(1, 10, 3000))
    expect((await offsetsIn(log)).length).toBeGreaterThan(0)
    await manager.checkpoint()
  })
})
