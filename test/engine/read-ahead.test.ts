import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fc, test as fcTest } from '@fast-check/vitest'
import { afterEach, describe, expect, test } from 'vitest'
import { isSluiceError } from '../../src/core/errors.js'
import { FileCache } from '../../src/engine/file-cache.js'
import { CLEANED_SUFFIX, DataLayout } from '../../src/engine/layout.js'
import { PartitionLog } from '../../src/engine/partition-log.js'
import type { FlushPolicy, PartitionLogConfig, ReadResult } from '../../src/engine/partition-log.js'
import { ReadAheadPool } from '../../src/engine/read-ahead.js'
import { nodeFileSystem, writeFully } from '../../src/io/file-system.js'
import type { FileHandle, FileSystem } from '../../src/io/file-system.js'
import { baseOffsetOf, makeSizedBatch, splitBatches, withBaseOffset } from '../support/batches.js'
import { FaultyFileSystem } from '../support/faulty-fs.js'

/** Window size of the test pools: small, and unlike any other read length the log issues. */
const WINDOW_BYTES = 5003

const cleanups: Array<() => Promise<void>> = []
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!()
})

async function temporaryDirectory (): Promise<string> {
  const directory = await mkdtemp(join(tmpdir(), 'sluice-read-ahead-'))
  cleanups.push(async () => { await rm(directory, { recursive: true, force: true }) })
  return directory
}

/** A file system that records the length of every read, to tell read-ahead reads apart. */
function recordingReads (inner: FileSystem, lengths: number[]): FileSystem {
  return {
    ...inner,
    open: async (path, mode) => {
      const file = await inner.open(path, mode)
      const wrapped: FileHandle = {
        path: file.path,
        write: async (source, position) => await file.write(source, position),
        writev: async (sources, position) => await file.writev(sources, position),
        read: async (target, position) => { lengths.push(target.byteLength); return await file.read(target, position) },
        datasync: async () => { await file.datasync() },
        truncate: async (length) => { await file.truncate(length) },
        size: async () => await file.size(),
        close: async () => { await file.close() }
      }
      return wrapped
    }
  }
}

interface Opened { log: PartitionLog, files: FileCache }

async function openLog (options: {
  fs: FileSystem
  directory: string
  pool: ReadAheadPool
  flush?: FlushPolicy
  config?: Partial<PartitionLogConfig>
}): Promise<Opened> {
  const files = new FileCache(options.fs, 64)
  const log = await PartitionLog.open({
    layout: new DataLayout(options.directory).partition('events', 0),
    files,
    flush: options.flush ?? 'interval',
    config: { segmentIndexBytes: 4096, indexIntervalBytes: 2048, ...options.config },
    // Reads after the appends come from the file, not from the in-memory tail.
    tailRetainBytes: 0,
    readAhead: options.pool
  })
  cleanups.push(async () => { await log.close().catch(() => {}); await files.closeAll() })
  return { log, files }
}

async function reopen (opened: Opened, options: Parameters<typeof openLog>[0]): Promise<Opened> {
  await opened.log.close()
  await opened.files.closeAll()
  return await openLog(options)
}

function smallPool (overrides: ConstructorParameters<typeof ReadAheadPool>[0] = {}): ReadAheadPool {
  return new ReadAheadPool({ windowBytes: WINDOW_BYTES, depth: 2, windowsMax: 6, ...overrides })
}

/** Appends `batches` and returns them as stored (baseOffset assigned). */
async function appendAll (log: PartitionLog, batches: Buffer[]): Promise<Buffer[]> {
  const stored: Buffer[] = []
  for (const batch of batches) {
    const result = await log.append(batch)
    stored.push(withBaseOffset(batch, result.baseOffset))
  }
  return stored
}

function nextOffsetAfter (records: Uint8Array): number {
  const batches = splitBatches(records)
  const last = batches[batches.length - 1]!
  return baseOffsetOf(last) + last.readInt32BE(23) + 1
}

/** Sequential read from `from` to the high watermark; returns the batches read. */
async function readThrough (log: PartitionLog, from: number, maxBytes: number, buffer?: Uint8Array): Promise<Buffer[]> {
  const batches: Buffer[] = []
  let offset = from
  // Bounded: every read returns at least one batch and moves the offset past it.
  while (offset < log.highWatermark) {
    const { records } = await log.read(offset, buffer === undefined ? { maxBytes } : { maxBytes, buffer })
    expect(records.byteLength).toBeGreaterThan(0)
    for (const batch of splitBatches(records)) batches.push(Buffer.from(batch))
    offset = nextOffsetAfter(records)
  }
  return batches
}

function batchesOf (count: number, seed: number, sizes: (index: number) => number): Buffer[] {
  return Array.from({ length: count }, (_, index) => makeSizedBatch(1 + (index % 3), sizes(index), seed + index))
}

describe('read-ahead for sequential readers', () => {
  test('returns exactly the stored batches across window boundaries, for many response sizes', async () => {
    const directory = await temporaryDirectory()
    const lengths: number[] = []
    const fs = recordingReads(nodeFileSystem, lengths)
    const pool = smallPool()
    const options = { fs, directory, pool, config: { segmentBytes: 64 * 1024 } }
    let opened = await openLog(options)
    // Sizes from a few hundred bytes to batches larger than two windows.
    const stored = await appendAll(opened.log, batchesOf(60, 1, (index) => [300, 1700, 4100, 700, 11_000, 90][index % 6]!))
    opened = await reopen(opened, options)
    for (const maxBytes of [1, 2000, WINDOW_BYTES, 9000, 30_000]) {
      lengths.length = 0
      const read = await readThrough(opened.log, 0, maxBytes)
      expect(read).toEqual(stored)
      // The reads were served by read-ahead windows (one file read per window, not per fetch).
      expect(lengths.filter((length) => length === WINDOW_BYTES).length).toBeGreaterThan(3)
    }
    expect(pool.allocatedWindows).toBeLessThanOrEqual(6)
  })

  test('copies into the caller buffer when it fits (ReadOptions.buffer), else into new memory', async () => {
    const directory = await temporaryDirectory()
    const pool = smallPool()
    const options = { fs: nodeFileSystem, directory, pool }
    let opened = await openLog(options)
    const stored = await appendAll(opened.log, batchesOf(40, 2, () => 900))
    opened = await reopen(opened, options)
    const buffer = new Uint8Array(4000)
    const read: Buffer[] = []
    let offset = 0
    let viewsOfBuffer = 0
    while (offset < opened.log.highWatermark) {
      const { records } = await opened.log.read(offset, { maxBytes: 3000, buffer })
      if (records.buffer === buffer.buffer && records.byteOffset === buffer.byteOffset) viewsOfBuffer++
      for (const batch of splitBatches(records)) read.push(Buffer.from(batch))
      offset = nextOffsetAfter(records)
    }
    expect(read).toEqual(stored)
    expect(viewsOfBuffer).toBeGreaterThan(10)
    // A buffer too small for the response is ignored, as without read-ahead.
    const tiny = new Uint8Array(100)
    const small = await readThrough(opened.log, 0, 3000, tiny)
    expect(small).toEqual(stored)
  })

  test('after a failed fdatasync rolls the log back, the batches appended in place are read, not the windows of the lost ones', async () => {
    const fs = new FaultyFileSystem()
    const pool = smallPool()
    const options = { fs, directory: '/data', pool }
    let opened = await openLog(options)
    const first = await appendAll(opened.log, batchesOf(6, 10, () => 1000))
    opened = await reopen(opened, options)
    const { log } = opened
    // Written, visible under 'interval', not flushed yet.
    const lost = await appendAll(log, batchesOf(6, 20, () => 1000))
    const lostBase = baseOffsetOf(lost[0]!)
    // Read the first six one by one: the read-ahead windows then hold the next six too.
    expect(await readThrough(log, 0, 1000)).toEqual([...first, ...lost].slice(0, 12))
    const readAgain = [] as Buffer[]
    let offset = 0
    while (offset < lostBase) {
      const { records } = await log.read(offset, { maxBytes: 1000 })
      readAgain.push(...splitBatches(records).map((batch) => Buffer.from(batch)))
      offset = nextOffsetAfter(records)
    }
    expect(readAgain).toEqual(first)
    fs.failOn('datasync', 'EIO', { times: 1 })
    await expect(log.flush()).rejects.toSatisfy((error: unknown) => isSluiceError(error) && error.code === 'KAFKA_STORAGE_ERROR')
    // Same sizes, other contents, same offsets and positions as the lost batches.
    const replacement = await appendAll(log, batchesOf(6, 30, () => 1000))
    expect(baseOffsetOf(replacement[0]!)).toBe(lostBase)
    const { records } = await log.read(lostBase, { maxBytes: 1000 })
    expect(splitBatches(records).map((batch) => Buffer.from(batch))).toEqual([replacement[0]])
    expect(await readThrough(log, lostBase, 2500)).toEqual(replacement)
  })

  test('never returns bytes past the high watermark that a window already holds (flush always, fdatasync held)', async () => {
    const fs = new FaultyFileSystem()
    const pool = smallPool()
    const options = { fs, directory: '/data', pool, flush: 'always' as const }
    let opened = await openLog(options)
    const first = await appendAll(opened.log, batchesOf(8, 40, () => 1000))
    opened = await reopen(opened, options)
    const { log } = opened
    // Written and fdatasynced (the zeros written ahead are in place after this).
    const second = await appendAll(log, batchesOf(2, 50, () => 1000))
    const release = fs.holdDatasync(/\.log$/)
    const pending = batchesOf(6, 60, () => 1000).map(async (batch) => await log.append(batch))
    // Bounded wait for the drain to write them (their fdatasync is held).
    for (let round = 0; round < 1000 && log.activeSegment.writtenBytes < log.activeSegment.size; round++) await new Promise((resolve) => setImmediate(resolve))
    expect(log.activeSegment.writtenBytes).toBe(log.activeSegment.size)
    const highWatermark = log.highWatermark
    const visible: Buffer[] = []
    let offset = 0
    while (offset < highWatermark) {
      // One batch per read (read-ahead starts), then one read that asks for far more than is visible.
      const maxBytes = visible.length < first.length + second.length - 3 ? 1 : 1024 * 1024
      const { records, highWatermark: reported } = await log.read(offset, { maxBytes })
      for (const batch of splitBatches(records)) {
        expect(baseOffsetOf(batch) + batch.readInt32BE(23)).toBeLessThan(reported)
        visible.push(Buffer.from(batch))
      }
      offset = nextOffsetAfter(records)
    }
    expect(visible).toEqual([...first, ...second])
    expect((await log.read(highWatermark, { maxBytes: 3500 })).records.byteLength).toBe(0)
    release()
    const results = await Promise.all(pending)
    const rest = await readThrough(log, highWatermark, 3500)
    expect(rest.map(baseOffsetOf)).toEqual(results.map((result) => result.baseOffset))
  })

  test('a read racing the deletion of its segment (retention) returns no byte of the deleted segment', async () => {
    const directory = await temporaryDirectory()
    const pool = smallPool()
    const options = { fs: nodeFileSystem, directory, pool, config: { segmentBytes: 12_000 } }
    let opened = await openLog(options)
    const stored = await appendAll(opened.log, batchesOf(40, 70, () => 1000))
    opened = await reopen(opened, options)
    const { log } = opened
    const secondBase = log.segmentList()[1]!.baseOffset
    // Two reads in segment 0 start the read-ahead of its next windows.
    let offset = 0
    for (let index = 0; index < 3; index++) offset = nextOffsetAfter((await log.read(offset, { maxBytes: 1000 })).records)
    expect(offset).toBeLessThan(secondBase)
    const racing = log.read(offset, { maxBytes: 3000 })
    await log.deleteOldestSegments(1)
    const { records } = await racing
    const batches = splitBatches(records).map((batch) => Buffer.from(batch))
    expect(batches.length).toBeGreaterThan(0)
    for (const batch of batches) expect(baseOffsetOf(batch)).toBeGreaterThanOrEqual(secondBase)
    expect(batches).toEqual(stored.filter((batch) => baseOffsetOf(batch) >= secondBase).slice(0, batches.length))
    await expect(log.read(offset, { maxBytes: 3000 })).rejects.toSatisfy((error: unknown) => isSluiceError(error) && error.code === 'OFFSET_OUT_OF_RANGE')
  })

  test('after compaction replaces a segment, a reader continues in the cleaned segment, not in windows of the old file', async () => {
    const directory = await temporaryDirectory()
    const pool = smallPool()
    const options = { fs: nodeFileSystem, directory, pool, config: { segmentBytes: 30_000 } }
    let opened = await openLog(options)
    const stored = await appendAll(opened.log, batchesOf(60, 80, () => 1000))
    opened = await reopen(opened, options)
    const { log } = opened
    const old = log.segmentList()[0]!
    let offset = 0
    for (let index = 0; index < 3; index++) offset = nextOffsetAfter((await log.read(offset, { maxBytes: 1000 })).records)
    // The cleaner keeps every third batch of the first segment (offsets unchanged).
    const kept = stored.filter((batch) => baseOffsetOf(batch) < log.segmentList()[1]!.baseOffset).filter((_, index) => index % 3 === 0)
    await writeFile(`${old.logFile}${CLEANED_SUFFIX}`, Buffer.concat(kept))
    await log.replaceSegments([old])
    const expected = stored.filter((batch) => !(baseOffsetOf(batch) < log.segmentList()[1]!.baseOffset) || kept.includes(batch))
    const rest = await readThrough(log, offset, 2500)
    expect(rest).toEqual(expected.filter((batch) => baseOffsetOf(batch) + batch.readInt32BE(23) >= offset))
  })

  test('a failed read ahead never yields bytes: the reader reads the file itself and sees the error there', async () => {
    const fs = new FaultyFileSystem()
    const pool = smallPool()
    const options = { fs, directory: '/data', pool }
    let opened = await openLog(options)
    const stored = await appendAll(opened.log, batchesOf(30, 90, () => 1000))
    opened = await reopen(opened, options)
    const { log } = opened
    let offset = 0
    const read: Buffer[] = []
    for (let index = 0; index < 2; index++) {
      const { records } = await log.read(offset, { maxBytes: 1000 })
      read.push(...splitBatches(records).map((batch) => Buffer.from(batch)))
      offset = nextOffsetAfter(records)
    }
    await new Promise((resolve) => setTimeout(resolve, 20))
    fs.failOn('read', 'EIO')
    let failure: unknown
    // Bounded: at most one read per batch.
    while (offset < log.highWatermark && failure === undefined) {
      try {
        const { records } = await log.read(offset, { maxBytes: 1000 })
        read.push(...splitBatches(records).map((batch) => Buffer.from(batch)))
        offset = nextOffsetAfter(records)
      } catch (error) {
        failure = error
      }
    }
    expect(isSluiceError(failure) && failure.code === 'KAFKA_STORAGE_ERROR').toBe(true)
    expect(read).toEqual(stored.slice(0, read.length))
    fs.clearFaults()
    expect(await readThrough(log, offset, 1000)).toEqual(stored.slice(read.length))
  })

  test('memory stays within the pool; an idle reader loses its windows to an active one', async () => {
    const directory = await temporaryDirectory()
    let now = 0
    const pool = smallPool({ windowsMax: 3, idleMs: 100, clock: () => now })
    const lengths: number[] = []
    const options = { fs: recordingReads(nodeFileSystem, lengths), directory, pool }
    let opened = await openLog(options)
    const stored = await appendAll(opened.log, batchesOf(60, 100, () => 1000))
    opened = await reopen(opened, options)
    const { log } = opened
    const windowReads = (): number => lengths.filter((length) => length === WINDOW_BYTES).length
    const readers = [0, 30].map((index) => ({ offset: baseOffsetOf(stored[index]!), read: [] as Buffer[] }))
    const step = async (reader: { offset: number, read: Buffer[] }): Promise<void> => {
      const { records } = await log.read(reader.offset, { maxBytes: 1000 })
      reader.read.push(...splitBatches(records).map((batch) => Buffer.from(batch)))
      reader.offset = nextOffsetAfter(records)
      expect(pool.allocatedWindows).toBeLessThanOrEqual(3)
    }
    // Reader 0 takes every window of the pool.
    for (let index = 0; index < 3; index++) await step(readers[0]!)
    expect(pool.freeWindows).toBe(0)
    const first = windowReads()
    expect(first).toBeGreaterThanOrEqual(3)
    // Reader 1 is served without read-ahead while reader 0 is active.
    for (let index = 0; index < 3; index++) await step(readers[1]!)
    expect(pool.freeWindows).toBe(0)
    expect(windowReads()).toBe(first)
    // Reader 0 goes idle: reader 1 takes its windows; reader 0 continues correctly without them.
    now += 1000
    for (let index = 0; index < 3; index++) await step(readers[1]!)
    expect(windowReads()).toBeGreaterThan(first)
    for (let index = 0; index < 3; index++) await step(readers[0]!)
    expect(readers[0]!.read).toEqual(stored.slice(0, 6))
    expect(readers[1]!.read).toEqual(stored.slice(30, 36))
    expect(pool.allocatedWindows).toBe(3)
  })

  test('windows of a closed log go back to the pool when another reader needs them', async () => {
    const pool = smallPool({ windowsMax: 3, idleMs: 60_000, clock: () => 0 })
    const lengths: number[] = []
    const fs = recordingReads(nodeFileSystem, lengths)
    const logs: Opened[] = []
    const stored: Buffer[][] = []
    for (const seed of [110, 120]) {
      const options = { fs, directory: await temporaryDirectory(), pool }
      const opened = await openLog(options)
      stored.push(await appendAll(opened.log, batchesOf(30, seed, () => 1000)))
      logs.push(await reopen(opened, options))
    }
    const readSome = async (log: PartitionLog): Promise<Buffer[]> => {
      const read: Buffer[] = []
      let offset = 0
      for (let index = 0; index < 4; index++) {
        const { records } = await log.read(offset, { maxBytes: 1 })
        read.push(...splitBatches(records).map((batch) => Buffer.from(batch)))
        offset = nextOffsetAfter(records)
      }
      return read
    }
    expect(await readSome(logs[0]!.log)).toEqual(stored[0]!.slice(0, 4))
    expect(pool.freeWindows).toBe(0)
    await logs[0]!.log.close()
    const before = lengths.filter((length) => length === WINDOW_BYTES).length
    expect(await readSome(logs[1]!.log)).toEqual(stored[1]!.slice(0, 4))
    expect(lengths.filter((length) => length === WINDOW_BYTES).length).toBeGreaterThan(before)
    expect(pool.allocatedWindows).toBe(3)
  })
})

// ---- model test: sequential readers with read-ahead against a list of batches ----------------

/** `flushedOffset`: offsets below it are covered by an fdatasync (a failed one rolls the log back there). */
interface ReaderModel { batches: Buffer[], flushedOffset: number, logStart: number, nextOffset: number, seed: number, readers: number[] }
interface ReaderReal { fs: FaultyFileSystem, opened: Opened, options: Parameters<typeof openLog>[0] }

function lastOffsetOf (batch: Buffer): number { return baseOffsetOf(batch) + batch.readInt32BE(23) }

class AppendCommand implements fc.AsyncCommand<ReaderModel, ReaderReal> {
  constructor (readonly count: number, readonly size: number) {}
  check (): boolean { return true }
  async run (model: ReaderModel, real: ReaderReal): Promise<void> {
    const batch = makeSizedBatch(this.count, this.size, model.seed++)
    const result = await real.opened.log.append(batch)
    expect(result.baseOffset).toBe(model.nextOffset)
    model.batches.push(withBaseOffset(batch, result.baseOffset))
    model.nextOffset += this.count
  }

  toString (): string { return `append(${this.count}x${this.size})` }
}

class SequentialReadCommand implements fc.AsyncCommand<ReaderModel, ReaderReal> {
  constructor (readonly reader: number, readonly maxBytes: number) {}
  check (): boolean { return true }
  async run (model: ReaderModel, real: ReaderReal): Promise<void> {
    const { log } = real.opened
    let offset = Math.max(model.readers[this.reader]!, model.logStart)
    if (offset > model.nextOffset) {
      await expect(log.read(offset, { maxBytes: this.maxBytes })).rejects.toSatisfy((error: unknown) => isSluiceError(error) && error.code === 'OFFSET_OUT_OF_RANGE')
      offset = model.logStart
    }
    const { records } = await log.read(offset, { maxBytes: this.maxBytes })
    const got = splitBatches(records).map((batch) => Buffer.from(batch))
    const index = model.batches.findIndex((batch) => lastOffsetOf(batch) >= offset)
    if (index < 0) {
      expect(got).toEqual([])
      return
    }
    expect(got.length).toBeGreaterThan(0)
    expect(got).toEqual(model.batches.slice(index, index + got.length))
    if (got.length > 1) expect(records.byteLength).toBeLessThanOrEqual(this.maxBytes)
    model.readers[this.reader] = lastOffsetOf(got[got.length - 1]!) + 1
  }

  toString (): string { return `read(reader ${this.reader}, ${this.maxBytes})` }
}

/** Several reads in a row by one reader (a consumer catching up): the case read-ahead serves. */
class ReadRunCommand implements fc.AsyncCommand<ReaderModel, ReaderReal> {
  constructor (readonly reader: number, readonly maxBytes: number, readonly count: number) {}
  check (): boolean { return true }
  async run (model: ReaderModel, real: ReaderReal): Promise<void> {
    const read = new SequentialReadCommand(this.reader, this.maxBytes)
    for (let index = 0; index < this.count; index++) await read.run(model, real)
  }

  toString (): string { return `readRun(reader ${this.reader}, ${this.maxBytes}, x${this.count})` }
}

class FlushCommand implements fc.AsyncCommand<ReaderModel, ReaderReal> {
  constructor (readonly fail: boolean) {}
  check (): boolean { return true }
  async run (model: ReaderModel, real: ReaderReal): Promise<void> {
    const { log } = real.opened
    if (!this.fail || !log.hasUnflushedData) {
      await log.flush()
      model.flushedOffset = model.nextOffset
      return
    }
    // A failed fdatasync loses everything since the last good one; the log rolls back there.
    // Appends that filled a segment rolled it, and a roll flushes the segment it seals.
    model.flushedOffset = Math.max(model.flushedOffset, log.activeSegment.baseOffset)
    real.fs.failOn('datasync', 'EIO', { times: 1 })
    await expect(log.flush()).rejects.toSatisfy((error: unknown) => isSluiceError(error) && error.code === 'KAFKA_STORAGE_ERROR')
    real.fs.clearFaults()
    model.batches = model.batches.filter((batch) => lastOffsetOf(batch) < model.flushedOffset)
    model.nextOffset = model.flushedOffset
  }

  toString (): string { return this.fail ? 'flush (fails)' : 'flush' }
}

class RollCommand implements fc.AsyncCommand<ReaderModel, ReaderReal> {
  check (): boolean { return true }
  async run (model: ReaderModel, real: ReaderReal): Promise<void> {
    await real.opened.log.rollActiveSegment()
    model.flushedOffset = model.nextOffset
  }

  toString (): string { return 'roll' }
}

class DeleteOldestCommand implements fc.AsyncCommand<ReaderModel, ReaderReal> {
  /** With `racing`, a read of reader 0 is in flight while the segment goes. */
  constructor (readonly racing: boolean) {}
  check (): boolean { return true }
  async run (model: ReaderModel, real: ReaderReal): Promise<void> {
    const { log } = real.opened
    const segments = log.segmentList()
    if (segments.length < 2) return
    const before = model.batches
    const offset = Math.min(Math.max(model.readers[0]!, model.logStart), model.nextOffset)
    const racing = this.racing ? log.read(offset, { maxBytes: 4000 }) : undefined
    await log.deleteOldestSegments(1)
    model.logStart = Math.max(model.logStart, segments[1]!.baseOffset)
    model.batches = model.batches.filter((batch) => lastOffsetOf(batch) >= model.logStart)
    if (racing !== undefined) {
      // Whatever the race gave, every batch is the stored batch of its offset; or, when the
      // segment went under the read, the answer for the log as it is now.
      const outcome = await racing.then((result) => result, (error: unknown) => error)
      if (isSluiceError(outcome)) {
        expect(outcome.code).toBe('OFFSET_OUT_OF_RANGE')
        expect(offset).toBeLessThan(model.logStart)
      } else {
        for (const batch of splitBatches((outcome as ReadResult).records)) {
          expect(before.find((candidate) => baseOffsetOf(candidate) === baseOffsetOf(batch))).toEqual(Buffer.from(batch))
        }
      }
    }
  }

  toString (): string { return this.racing ? 'deleteOldest (read racing)' : 'deleteOldest' }
}

class CompactOldestCommand implements fc.AsyncCommand<ReaderModel, ReaderReal> {
  check (): boolean { return true }
  async run (model: ReaderModel, real: ReaderReal): Promise<void> {
    const { log } = real.opened
    const segments = log.segmentList()
    if (segments.length < 2) return
    const old = segments[0]!
    const end = segments[1]!.baseOffset
    const inSegment = model.batches.filter((batch) => baseOffsetOf(batch) < end)
    if (inSegment.length === 0) return
    const kept = inSegment.filter((_, index) => index % 2 === 0)
    const file = await real.fs.open(`${old.logFile}${CLEANED_SUFFIX}`, 'create')
    await writeFully(file, Buffer.concat(kept), 0)
    await file.datasync()
    await file.close()
    await log.replaceSegments([old])
    model.batches = model.batches.filter((batch) => baseOffsetOf(batch) >= end || kept.includes(batch))
  }

  toString (): string { return 'compactOldest' }
}

class ReopenCommand implements fc.AsyncCommand<ReaderModel, ReaderReal> {
  check (): boolean { return true }
  async run (model: ReaderModel, real: ReaderReal): Promise<void> {
    real.opened = await reopen(real.opened, real.options)
    if (real.opened.log.logStartOffset < model.logStart) real.opened.log.advanceLogStartOffset(model.logStart)
    model.flushedOffset = model.nextOffset
  }

  toString (): string { return 'close+reopen' }
}

const readerCommands = [
  ...Array.from({ length: 3 }, () => fc.tuple(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 50, max: 1500 })).map(([count, size]) => new AppendCommand(count, size))),
  // Reads are most of the program, in small steps, so that readers run ahead of their windows.
  ...Array.from({ length: 2 }, () => fc.tuple(fc.integer({ min: 0, max: 1 }), fc.integer({ min: 1, max: 4000 })).map(([reader, maxBytes]) => new SequentialReadCommand(reader, maxBytes))),
  ...Array.from({ length: 3 }, () => fc.tuple(fc.integer({ min: 0, max: 1 }), fc.integer({ min: 1, max: 3000 }), fc.integer({ min: 2, max: 10 })).map(([reader, maxBytes, count]) => new ReadRunCommand(reader, maxBytes, count))),
  fc.boolean().map((fail) => new FlushCommand(fail)),
  fc.constant(new RollCommand()),
  fc.boolean().map((racing) => new DeleteOldestCommand(racing)),
  fc.constant(new CompactOldestCommand()),
  // Reopening empties the in-memory tail: reads of the active segment then go to the file too.
  fc.constant(new ReopenCommand()),
  fc.constant(new ReopenCommand())
]

fcTest.prop([fc.commands(readerCommands, { maxCommands: 80, size: 'max' })], { numRuns: 40 })('sequential readers with read-ahead see exactly the list of batches through rollbacks, retention and compaction', async (program) => {
  const fs = new FaultyFileSystem()
  const options = { fs, directory: '/data', pool: smallPool({ windowsMax: 5 }), config: { segmentBytes: 12_000 } }
  const opened = await openLog(options)
  const model: ReaderModel = { batches: [], flushedOffset: 0, logStart: 0, nextOffset: 0, seed: 0, readers: [0, 0] }
  await fc.asyncModelRun(() => ({ model, real: { fs, opened, options } }), program)
})
