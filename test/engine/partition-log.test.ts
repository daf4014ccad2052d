import { mkdtemp, rm, readdir, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, test, vi } from 'vitest'
import { isSluiceError } from '../../src/core/errors.js'
import { FileCache } from '../../src/engine/file-cache.js'
import { SegmentIndexCache } from '../../src/engine/index-cache.js'
import { DataLayout } from '../../src/engine/layout.js'
import { PartitionLog } from '../../src/engine/partition-log.js'
import type { FlushPolicy, PartitionLogConfig } from '../../src/engine/partition-log.js'
import { nodeFileSystem } from '../../src/io/file-system.js'
import { encodeRecordBatch } from '../../src/io/record-batch-encoder.js'
import type { FileSystem } from '../../src/io/file-system.js'
import { makeBatch, makeSizedBatch, splitBatches, withBaseOffset } from '../support/batches.js'
import { FaultyFileSystem } from '../support/faulty-fs.js'

const cleanups: Array<() => Promise<void>> = []
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!()
})

async function temporaryDirectory (): Promise<string> {
  const directory = await mkdtemp(join(tmpdir(), 'sluice-log-'))
  cleanups.push(async () => { await rm(directory, { recursive: true, force: true }) })
  return directory
}

interface OpenOptions {
  fs?: FileSystem
  directory: string
  flush?: FlushPolicy
  config?: Partial<PartitionLogConfig>
  recoveryPoint?: number
  indexCache?: SegmentIndexCache
}

async function openLog (options: OpenOptions): Promise<{ log: PartitionLog, files: FileCache }> {
  const files = new FileCache(options.fs ?? nodeFileSystem, 64)
  const logOptions: Parameters<typeof PartitionLog.open>[0] = {
    layout: new DataLayout(options.directory).partition('events', 0),
    files,
    flush: options.flush ?? 'interval',
    config: { segmentIndexBytes: 4096, ...options.config }
  }
  if (options.recoveryPoint !== undefined) logOptions.recoveryPoint = options.recoveryPoint
  if (options.indexCache !== undefined) logOptions.indexCache = options.indexCache
  const log = await PartitionLog.open(logOptions)
  cleanups.push(async () => { await log.close().catch(() => {}); await files.closeAll() })
  return { log, files }
}

async function readAll (log: PartitionLog, from = log.logStartOffset): Promise<Buffer[]> {
  const batches: Buffer[] = []
  let offset = from
  while (offset < log.highWatermark) {
    const { records } = await log.read(offset, { maxBytes: 64 * 1024 })
    const split = splitBatches(records)
    expect(split.length).toBeGreaterThan(0)
    for (const batch of split) {
      batches.push(Buffer.from(batch))
      offset = Number(batch.readBigInt64BE(0)) + batch.readInt32BE(23) + 1
    }
  }
  return batches
}

describe('PartitionLog', () => {
  test('append assigns consecutive offsets and read returns the stored bytes unchanged', async () => {
    const { log } = await openLog({ directory: await temporaryDirectory() })
    const first = makeSizedBatch(3, 10, 1)
    const second = makeSizedBatch(5, 10, 2)
    const a = await log.append(first)
    const b = await log.append(second)
    expect(a).toMatchObject({ baseOffset: 0, lastOffset: 2, durability: 'written' })
    expect(b).toMatchObject({ baseOffset: 3, lastOffset: 7, durability: 'written' })
    expect(log.logEndOffset).toBe(8)
    expect(log.highWatermark).toBe(8)
    const all = await readAll(log)
    expect(all).toEqual([withBaseOffset(first, 0), withBaseOffset(second, 3)])
    // Reading from an offset inside the second batch starts at that batch.
    const { records } = await log.read(5)
    expect(Buffer.from(records)).toEqual(withBaseOffset(second, 3))
  })

  test('concurrent appends resolve in offset order with contiguous offsets', async () => {
    const { log } = await openLog({ directory: await temporaryDirectory() })
    const results = await Promise.all(Array.from({ length: 200 }, async (_, index) => await log.append(makeSizedBatch(1 + (index % 4), 20, index))))
    let next = 0
    for (const result of results) {
      expect(result.baseOffset).toBe(next)
      next = result.lastOffset + 1
    }
    expect(log.logEndOffset).toBe(next)
    expect((await readAll(log)).length).toBe(200)
  })

  test("flush 'always' acknowledges as flushed and shares one fdatasync among concurrent appends", async () => {
    const fs = new FaultyFileSystem()
    await fs.mkdir('/data')
    const { log } = await openLog({ fs, directory: '/data', flush: 'always' })
    const before = fs.calls.get('datasync') ?? 0
    const results = await Promise.all(Array.from({ length: 64 }, async (_, index) => await log.append(makeSizedBatch(2, 50, index))))
    expect(results.every((result) => result.durability === 'flushed')).toBe(true)
    const syncs = (fs.calls.get('datasync') ?? 0) - before
    expect(syncs).toBeGreaterThan(0)
    expect(syncs).toBeLessThan(8)
    fs.crash()
    const reopened = await openLog({ fs, directory: '/data', flush: 'always', recoveryPoint: 0 })
    expect((await readAll(reopened.log)).length).toBe(64)
  })

  test('rolls on segment.ms, measured between the first batch\'s timestamp and the incoming one', async () => {
    const { log } = await openLog({ directory: await temporaryDirectory(), config: { segmentMs: 1000 } })
    const start = 1_700_000_000_000
    for (const at of [0, 500, 999, 1000]) await log.append(makeSizedBatch(1, 10, at, start + at))
    expect(log.segmentList().map((segment) => segment.baseOffset)).toEqual([0])
    await log.append(makeSizedBatch(1, 10, 9, start + 1001))
    expect(log.segmentList().map((segment) => segment.baseOffset)).toEqual([0, 4])
    await log.append(makeSizedBatch(1, 10, 9, start + 1500))
    expect(log.segmentList().map((segment) => segment.baseOffset)).toEqual([0, 4])
  })

  test('segment.jitter.ms rolls a segment up to that much earlier, drawn once per segment', async () => {
    const random = vi.spyOn(Math, 'random').mockReturnValue(0.6)
    try {
      const { log } = await openLog({ directory: await temporaryDirectory(), config: { segmentMs: 1000, segmentJitterMs: 1000 } })
      const start = 1_700_000_000_000
      await log.append(makeSizedBatch(1, 10, 0, start))
      await log.append(makeSizedBatch(1, 10, 1, start + 400))
      expect(log.segmentList().length).toBe(1)
      // A jitter of 600 ms: the segment rolls after 400 ms instead of 1000.
      await log.append(makeSizedBatch(1, 10, 2, start + 401))
      expect(log.segmentList().map((segment) => segment.baseOffset)).toEqual([0, 2])
      expect(random).toHaveBeenCalledTimes(1)
      await log.append(makeSizedBatch(1, 10, 3, start + 402))
      expect(random).toHaveBeenCalledTimes(2)
    } finally {
      random.mockRestore()
    }
  })

  test('rolls segments on segment.bytes and reads across them; reopen (clean) keeps everything', async () => {
    const directory = await temporaryDirectory()
    const config = { segmentBytes: 4096, indexIntervalBytes: 256 }
    const { log, files } = await openLog({ directory, config })
    const written: Buffer[] = []
    for (let index = 0; index < 120; index++) {
      const batch = makeSizedBatch(2, 40 + (index % 7) * 10, index, 1_700_000_000_000 + index * 10)
      const result = await log.append(batch)
      written.push(withBaseOffset(batch, result.baseOffset))
    }
    expect(log.segmentList().length).toBeGreaterThan(3)
    expect(await readAll(log)).toEqual(written)
    for (let offset = 0; offset < log.logEndOffset; offset += 7) {
      const { records } = await log.read(offset, { maxBytes: 1 })
      const [batch] = splitBatches(records)
      const base = Number(batch!.readBigInt64BE(0))
      expect(base).toBeLessThanOrEqual(offset)
      expect(base + batch!.readInt32BE(23)).toBeGreaterThanOrEqual(offset)
    }
    await log.close()
    await files.closeAll()
    const names = (await readdir(join(directory, 'events-0'))).sort()
    expect(names).toContain('00000000000000000000.log')
    expect(names).toContain('00000000000000000000.timeindex')
    const indexSize = (await stat(join(directory, 'events-0', '00000000000000000000.index'))).size
    expect(indexSize % 8).toBe(0)
    expect(indexSize).toBeLessThan(4096)
    const reopened = await openLog({ directory, config })
    expect(reopened.log.logEndOffset).toBe(240)
    expect(await readAll(reopened.log)).toEqual(written)
    const next = await reopened.log.append(makeSizedBatch(1, 10))
    expect(next.baseOffset).toBe(240)
  })

  test('index mirrors of old segments stay within the index cache bound and reload on demand', async () => {
    const directory = await temporaryDirectory()
    const config = { segmentBytes: 1024, indexIntervalBytes: 100 }
    const indexCache = new SegmentIndexCache(2)
    const { log, files } = await openLog({ directory, config, indexCache })
    const written: Buffer[] = []
    for (let index = 0; index < 60; index++) {
      const batch = makeSizedBatch(1, 150, index)
      written.push(withBaseOffset(batch, (await log.append(batch)).baseOffset))
    }
    await log.close()
    await files.closeAll()
    const reopened = await openLog({ directory, config, indexCache })
    expect(reopened.log.segmentList().length).toBeGreaterThan(5)
    for (let pass = 0; pass < 2; pass++) {
      expect(await readAll(reopened.log)).toEqual(written)
      const loaded = reopened.log.segmentList().filter((segment) => segment.indexesLoaded && segment !== reopened.log.activeSegment)
      expect(loaded.length).toBeLessThanOrEqual(2)
      expect(indexCache.size).toBeLessThanOrEqual(2)
    }
  })

  test('offsetForTimestamp finds the first record at or after a timestamp', async () => {
    const { log } = await openLog({ directory: await temporaryDirectory(), config: { segmentBytes: 2048, indexIntervalBytes: 100 } })
    for (let index = 0; index < 50; index++) await log.append(makeSizedBatch(4, 30, index, 1000 + index * 10))
    // Batch i holds offsets 4i..4i+3 with timestamps 1000+10i .. 1000+10i+3.
    expect(await log.offsetForTimestamp(0)).toEqual({ offset: 0, timestamp: 1000 })
    expect(await log.offsetForTimestamp(1000 + 10 * 17 + 2)).toEqual({ offset: 4 * 17 + 2, timestamp: 1000 + 10 * 17 + 2 })
    expect(await log.offsetForTimestamp(1000 + 10 * 17 + 5)).toEqual({ offset: 4 * 18, timestamp: 1000 + 10 * 18 })
    expect(await log.offsetForTimestamp(999_999)).toBeUndefined()
    expect(await log.offsetForTimestamp(-1)).toEqual({ offset: 200, timestamp: -1 })
    expect(await log.offsetForTimestamp(-2)).toEqual({ offset: 0, timestamp: -1 })
  })

  test('offsetForTimestamp searches inside compressed batches record by record', async () => {
    const { log } = await openLog({ directory: await temporaryDirectory() })
    for (const [index, codec] of (['gzip', 'lz4', 'zstd', 'snappy'] as const).entries()) {
      // Batch i: offsets 10i..10i+9, timestamps 5000+100i+2j, in shuffled order within the batch.
      const records = Array.from({ length: 10 }, (_, j) => ({ key: null, value: Buffer.from(`r${j}`), timestamp: 5000 + 100 * index + 2 * ((j * 7) % 10) }))
      await log.append(encodeRecordBatch({ compression: codec, records }))
    }
    // In batch 2 (zstd), timestamps are 5200 + 2 * [0, 7, 4, 1, 8, 5, 2, 9, 6, 3]: the first record at or after 5207 is offset 21 (5214).
    expect(await log.offsetForTimestamp(5207)).toEqual({ offset: 21, timestamp: 5214 })
    expect(await log.offsetForTimestamp(5200)).toEqual({ offset: 20, timestamp: 5200 })
    expect(await log.offsetForTimestamp(5019)).toEqual({ offset: 10, timestamp: 5100 })
    expect(await log.offsetForTimestamp(5302)).toEqual({ offset: 31, timestamp: 5314 })
    expect(await log.offsetForTimestamp(5319)).toBeUndefined()
  })

  test.each(['none', 'lz4'] as const)('offsetForTimestamp skips a batch whose late records all lie below the log start offset (%s)', async (compression) => {
    const { log } = await openLog({ directory: await temporaryDirectory() })
    // Batch A: offsets 0-9, the late record (150) at offset 2; batch B: offsets 10-19 at 200+.
    const early = Array.from({ length: 10 }, (_, index) => ({ key: null, value: Buffer.from(`a${index}`), timestamp: index === 2 ? 150 : 100 + index }))
    await log.append(encodeRecordBatch({ compression, records: early }))
    await log.append(encodeRecordBatch({ compression, records: Array.from({ length: 10 }, (_, index) => ({ key: null, value: Buffer.from(`b${index}`), timestamp: 200 + index })) }))
    expect(await log.offsetForTimestamp(140)).toEqual({ offset: 2, timestamp: 150 })
    log.advanceLogStartOffset(5)
    expect(await log.offsetForTimestamp(140)).toEqual({ offset: 10, timestamp: 200 })
    expect(await log.offsetForTimestamp(107)).toEqual({ offset: 7, timestamp: 107 })
  })

  test('bad input: oversized, corrupt and malformed batches are typed errors and store nothing', async () => {
    const { log } = await openLog({ directory: await temporaryDirectory(), config: { maxMessageBytes: 1000 } })
    await log.append(makeSizedBatch(1, 10))
    const expectCode = async (promise: Promise<unknown>, code: string): Promise<void> => {
      const error = await promise.then(() => undefined, (caught: unknown) => caught)
      expect(isSluiceError(error, code as never)).toBe(true)
    }
    await expectCode(log.append(makeSizedBatch(1, 2000)), 'MESSAGE_TOO_LARGE')
    const flipped = makeSizedBatch(2, 20)
    flipped[flipped.length - 1]! ^= 0x01
    await expectCode(log.append(flipped), 'CORRUPT_MESSAGE')
    const badMagic = makeSizedBatch(1, 10)
    badMagic[16] = 1
    await expectCode(log.append(badMagic), 'CORRUPT_MESSAGE')
    await expectCode(log.append(makeSizedBatch(1, 10).subarray(0, 40)), 'CORRUPT_MESSAGE')
    const twoBatches = Buffer.concat([makeSizedBatch(1, 10), makeSizedBatch(1, 10)])
    await expectCode(log.append(twoBatches), 'CORRUPT_MESSAGE')
    await expectCode(log.read(5), 'OFFSET_OUT_OF_RANGE')
    await expectCode(log.read(-1), 'OFFSET_OUT_OF_RANGE')
    expect((await log.read(1)).records.byteLength).toBe(0)
    await expectCode(log.read(0, { maxBytes: Number.NaN }), 'SLUICE_INVALID_OPTION')
    // maxBytes 0 still returns the one batch that holds the offset.
    expect(splitBatches((await log.read(0, { maxBytes: 0 })).records).length).toBe(1)
    expect(log.logEndOffset).toBe(1)
    expect((await readAll(log)).length).toBe(1)
  })

  test('reads below the log start offset fail with OFFSET_OUT_OF_RANGE after segments are deleted', async () => {
    const { log } = await openLog({ directory: await temporaryDirectory(), config: { segmentBytes: 1024 } })
    for (let index = 0; index < 40; index++) await log.append(makeSizedBatch(1, 100, index))
    const segments = log.segmentList()
    expect(segments.length).toBeGreaterThan(2)
    const secondBase = segments[1]!.baseOffset
    await log.deleteOldestSegments(1)
    expect(log.logStartOffset).toBe(secondBase)
    const error = await log.read(0).catch((caught: unknown) => caught)
    expect(isSluiceError(error, 'OFFSET_OUT_OF_RANGE')).toBe(true)
    expect((await readAll(log)).length).toBe(40 - secondBase)
  })

  test('appends after close reject with SLUICE_CLOSED; close is idempotent', async () => {
    const { log } = await openLog({ directory: await temporaryDirectory() })
    await log.append(makeBatch({ values: [new Uint8Array([1])] }))
    const first = log.close()
    const second = log.close()
    await first
    await second
    const error = await log.append(makeSizedBatch(1, 1)).catch((caught: unknown) => caught)
    expect(isSluiceError(error, 'SLUICE_CLOSED')).toBe(true)
  })
})
