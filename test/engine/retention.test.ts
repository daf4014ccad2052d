import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, test } from 'vitest'
import { cleanablePartitionLog, type CleanableLog } from '../../src/engine/cleanable-log.js'
import { LogManager } from '../../src/engine/log-manager.js'
import type { PartitionLog, PartitionLogConfig } from '../../src/engine/partition-log.js'
import { DeletionScheduler, RetentionTask, applyRetention, deleteRecords, type RetentionConfig } from '../../src/engine/retention.js'
import { parseTopicConfig } from '../../src/engine/topic-config.js'
import { nodeFileSystem, type FileSystem } from '../../src/io/file-system.js'
import { makeSizedBatch, splitBatches } from '../support/batches.js'
import { FaultyFileSystem } from '../support/faulty-fs.js'

const cleanups: Array<() => Promise<void>> = []
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!()
})

async function temporaryDirectory (): Promise<string> {
  const directory = await mkdtemp(join(tmpdir(), 'sluice-retention-'))
  cleanups.push(async () => { await rm(directory, { recursive: true, force: true }) })
  return directory
}

/** One batch of 4 records x 200 bytes is 889 bytes; with this segment.bytes every batch gets its own segment. */
const BATCH_BYTES = makeSizedBatch(4, 200).length
const oneBatchPerSegment: Partial<PartitionLogConfig> = { segmentBytes: BATCH_BYTES + 10, segmentIndexBytes: 4096 }

interface Engine { manager: LogManager, log: PartitionLog, cleanable: CleanableLog }

async function openEngine (fs: FileSystem, directory: string, config = oneBatchPerSegment): Promise<Engine> {
  const manager = await LogManager.open({ directory, fs, flush: 'always', logConfig: config, checkpointIntervalMs: 3_600_000 })
  const log = manager.getLog('events', 0) ?? await manager.createLog('events', 0)
  const cleanable = cleanablePartitionLog(log, { fs, persistLogStartOffset: async () => { await manager.checkpoint(); await manager.checkpoint() } })
  cleanups.push(async () => { await manager.close().catch(() => {}) })
  return { manager, log, cleanable }
}

/** Appends `count` batches; batch i has timestamp base + i * 1000 and content seeded by i. */
async function appendBatches (log: PartitionLog, count: number, from = 0, base = 1_000_000): Promise<Buffer[]> {
  const batches: Buffer[] = []
  for (let index = from; index < from + count; index++) {
    const batch = makeSizedBatch(4, 200, index, base + index * 1000)
    await log.append(batch)
    batches.push(batch)
  }
  return batches
}

async function readAll (log: PartitionLog): Promise<Buffer[]> {
  const out: Buffer[] = []
  let offset = log.logStartOffset
  while (offset < log.highWatermark) {
    const { records } = await log.read(offset, { maxBytes: 1 << 20 })
    const split = splitBatches(records)
    expect(split.length).toBeGreaterThan(0)
    for (const batch of split) {
      out.push(Buffer.from(batch))
      offset = Number(batch.readBigInt64BE(0)) + batch.readInt32BE(23) + 1
    }
  }
  return out
}

/** Stored batches compare equal to appended ones except for the baseOffset the log assigned. */
function payload (batch: Uint8Array): string {
  return Buffer.from(batch).subarray(12).toString('hex')
}

function config (entries: Record<string, string>): RetentionConfig {
  return parseTopicConfig({ 'file.delete.delay.ms': '0', ...entries })
}

async function rejection (promise: Promise<unknown>): Promise<string | undefined> {
  try { await promise } catch (error) { return (error as { code?: string }).code }
  return undefined
}

describe('retention', () => {
  test('by size: deletes the oldest segments while the rest stays at least retention.bytes', async () => {
    const directory = await temporaryDirectory()
    const { log, cleanable } = await openEngine(nodeFileSystem, directory)
    const appended = await appendBatches(log, 10)
    expect(log.segmentList()).toHaveLength(10)
    // Keep at least 3.5 segments' worth: 6 whole segments go, 4 stay (cumulative rule).
    const result = await applyRetention(cleanable, config({ 'retention.bytes': String(Math.floor(BATCH_BYTES * 3.5)), 'retention.ms': '-1' }))
    expect(result.reason).toBe('retention-bytes')
    expect(result.deleted).toEqual([0, 4, 8, 12, 16, 20])
    expect(log.logStartOffset).toBe(24)
    expect((await readAll(log)).map(payload)).toEqual(appended.slice(6).map(payload))
    expect(await rejection(log.read(23))).toBe('OFFSET_OUT_OF_RANGE')
    const names = await readdir(join(directory, 'events-0'))
    expect(names.filter((name) => name.endsWith('.log')).sort()[0]).toBe('00000000000000000024.log')
  })

  test('by time: deletes segments whose newest record is older than retention.ms', async () => {
    const directory = await temporaryDirectory()
    const { log, cleanable } = await openEngine(nodeFileSystem, directory)
    const appended = await appendBatches(log, 6)
    // Batch i's newest record has timestamp 1_000_000 + i*1000 + 3. At now = 1_010_000 with
    // retention.ms 7000, batches whose max ts < 1_003_000 go: i = 0, 1 (max ts 1_001_003 ... ) and 2 (1_002_003).
    const result = await applyRetention(cleanable, config({ 'retention.ms': '7000' }), { now: 1_010_000 })
    expect(result.reason).toBe('retention-ms')
    expect(result.deleted).toEqual([0, 4, 8])
    expect(log.logStartOffset).toBe(12)
    expect((await readAll(log)).map(payload)).toEqual(appended.slice(3).map(payload))
    // Nothing more is old enough.
    expect((await applyRetention(cleanable, config({ 'retention.ms': '7000' }), { now: 1_010_000 })).deleted).toEqual([])
  })

  test('when every segment expires the log rolls first and keeps its end offset', async () => {
    const directory = await temporaryDirectory()
    const { log, cleanable } = await openEngine(nodeFileSystem, directory, { segmentBytes: 1 << 20, segmentIndexBytes: 4096 })
    await appendBatches(log, 3)
    expect(log.segmentList()).toHaveLength(1)
    const result = await applyRetention(cleanable, config({ 'retention.ms': '1' }), { now: 2_000_000 })
    expect(result.deleted).toEqual([0])
    expect(log.logEndOffset).toBe(12)
    expect(log.logStartOffset).toBe(12)
    expect(log.segmentList().map((segment) => segment.baseOffset)).toEqual([12])
    // An empty active segment is never deleted.
    expect((await applyRetention(cleanable, config({ 'retention.ms': '1' }), { now: 9_000_000 })).deleted).toEqual([])
    const next = await log.append(makeSizedBatch(4, 200, 99, 3_000_000))
    expect(next.baseOffset).toBe(12)
  })

  test('compact topics keep old segments; log-start breaches still go', async () => {
    const directory = await temporaryDirectory()
    const { log, cleanable } = await openEngine(nodeFileSystem, directory)
    await appendBatches(log, 4)
    const compact = config({ 'cleanup.policy': 'compact', 'retention.ms': '1', 'retention.bytes': '0' })
    expect((await applyRetention(cleanable, compact, { now: 9_000_000 })).deleted).toEqual([])
    log.advanceLogStartOffset(9)
    const result = await applyRetention(cleanable, compact, { now: 9_000_000 })
    expect(result.reason).toBe('log-start-offset')
    expect(result.deleted).toEqual([0, 4])
    expect(log.logStartOffset).toBe(9)
  })

  test('deleteRecords: exact offsets, high watermark, out of range', async () => {
    const directory = await temporaryDirectory()
    const { log, cleanable } = await openEngine(nodeFileSystem, directory)
    const appended = await appendBatches(log, 5)
    expect(await deleteRecords(cleanable, 6, { fileDeleteDelayMs: 0 })).toBe(6)
    expect(log.logStartOffset).toBe(6)
    expect(log.segmentList().map((segment) => segment.baseOffset)).toEqual([4, 8, 12, 16])
    expect(await rejection(log.read(5))).toBe('OFFSET_OUT_OF_RANGE')
    const { records } = await log.read(6)
    expect(payload(splitBatches(records)[0]!)).toBe(payload(appended[1]!))
    expect(await deleteRecords(cleanable, 3)).toBe(6) // below the start: nothing changes
    expect(await rejection(deleteRecords(cleanable, 21))).toBe('OFFSET_OUT_OF_RANGE')
    expect(await rejection(deleteRecords(cleanable, -2))).toBe('OFFSET_OUT_OF_RANGE')
    expect(await rejection(deleteRecords(cleanable, 1.5))).toBe('OFFSET_OUT_OF_RANGE')
    expect(log.logStartOffset).toBe(6)
    expect(await deleteRecords(cleanable, -1, { fileDeleteDelayMs: 0 })).toBe(20)
    // The active segment stays (it holds offsets 16..19, now below the start).
    expect(log.segmentList().map((segment) => segment.baseOffset)).toEqual([16])
    expect(await rejection(log.read(19))).toBe('OFFSET_OUT_OF_RANGE')
  })

  test('the log start offset survives a reopen (checkpoint)', async () => {
    const directory = await temporaryDirectory()
    const first = await openEngine(nodeFileSystem, directory)
    const appended = await appendBatches(first.log, 5)
    await deleteRecords(first.cleanable, 10, { fileDeleteDelayMs: 0 })
    await first.manager.close()
    const second = await openEngine(nodeFileSystem, directory)
    expect(second.log.logStartOffset).toBe(10)
    expect(await rejection(second.log.read(9))).toBe('OFFSET_OUT_OF_RANGE')
    const read = await readAll(second.log)
    expect(read.map(payload)).toEqual(appended.slice(2).map(payload))
  })

  test('deleted files linger as .deleted for file.delete.delay.ms, then go', async () => {
    const directory = await temporaryDirectory()
    const { log, cleanable } = await openEngine(nodeFileSystem, directory)
    await appendBatches(log, 3)
    const scheduler = new DeletionScheduler()
    await applyRetention(cleanable, { ...config({ 'retention.bytes': '0', 'retention.ms': '-1' }), fileDeleteDelayMs: 60_000 }, { scheduler })
    let names = await readdir(join(directory, 'events-0'))
    expect(names.filter((name) => name.endsWith('.deleted')).sort()).toEqual([
      '00000000000000000000.index.deleted', '00000000000000000000.log.deleted', '00000000000000000000.timeindex.deleted',
      '00000000000000000004.index.deleted', '00000000000000000004.log.deleted', '00000000000000000004.timeindex.deleted',
      '00000000000000000008.index.deleted', '00000000000000000008.log.deleted', '00000000000000000008.timeindex.deleted'
    ])
    expect(scheduler.pendingCount).toBe(9)
    expect(log.segmentList().map((segment) => segment.baseOffset)).toEqual([12])
    await scheduler.close()
    names = await readdir(join(directory, 'events-0'))
    expect(names.filter((name) => name.endsWith('.deleted'))).toEqual([])
  })

  test('the background task applies each log\'s config and never blocks appends', async () => {
    const directory = await temporaryDirectory()
    const { log, cleanable } = await openEngine(nodeFileSystem, directory)
    await appendBatches(log, 6)
    const results: unknown[] = []
    const task = new RetentionTask({ checkIntervalMs: 10, clock: () => 1_010_000, onResult: (_log, result) => { results.push(result) } })
    cleanups.push(async () => { await task.close() })
    task.add({ log: cleanable, config: () => config({ 'retention.ms': '7000' }) })
    task.start()
    // Appends go on while the task runs.
    const appends = appendBatches(log, 4, 6, 2_000_000)
    // Bounded wait: the task runs every 10 ms; its result is reported once the run finished.
    for (let attempt = 0; attempt < 500 && results.length === 0; attempt++) await new Promise((resolve) => setTimeout(resolve, 10))
    expect(log.logStartOffset).toBe(12)
    await appends
    expect(log.logEndOffset).toBe(40)
    expect(results.length).toBeGreaterThan(0)
  })
})

describe('retention crash safety (d)', () => {
  /**
   * Runs retention on a faulty disk that fails the `step`-th operation of `kind` (a crash point),
   * crashes the disk (unsynced changes are lost), reopens and checks that every record at or
   * above the start offset the engine promised is there, byte for byte.
   */
  async function crashAt (kind: 'rename' | 'syncDirectory' | 'unlink' | 'datasync', step: number): Promise<{ completed: boolean }> {
    const fs = new FaultyFileSystem()
    const directory = '/data'
    const first = await openEngine(fs, directory)
    const appended = await appendBatches(first.log, 6)
    fs.failOn(kind, 'EIO', { skip: step, times: 1 })
    let completed = true
    try {
      await applyRetention(first.cleanable, config({ 'retention.bytes': String(BATCH_BYTES * 2), 'retention.ms': '-1' }))
    } catch (error) {
      completed = false
      expect((error as { code?: string }).code).toBe('KAFKA_STORAGE_ERROR')
    }
    fs.crash()
    cleanups.pop()
    const second = await openEngine(fs, directory)
    const start = second.log.logStartOffset
    // Retention may have deleted at most the 4 oldest segments and nothing else.
    expect(start).toBeLessThanOrEqual(16)
    expect(start % 4).toBe(0)
    const read = await readAll(second.log)
    expect(read.map(payload)).toEqual(appended.slice(start / 4).map(payload))
    expect(second.log.logEndOffset).toBe(24)
    // Retention run again completes the work.
    await applyRetention(second.cleanable, config({ 'retention.bytes': String(BATCH_BYTES * 2), 'retention.ms': '-1' }))
    expect(second.log.logStartOffset).toBe(16)
    expect((await readAll(second.log)).map(payload)).toEqual(appended.slice(4).map(payload))
    const names = await fs.readdir(`${directory}/events-0`)
    expect(names.filter((name) => name.endsWith('.deleted'))).toEqual([])
    await second.manager.close()
    return { completed }
  }

  test('deleteRecords is durable when it returns: a crash right after keeps the new start offset', async () => {
    const fs = new FaultyFileSystem()
    const first = await openEngine(fs, '/data')
    const appended = await appendBatches(first.log, 5)
    expect(await deleteRecords(first.cleanable, 10, { fileDeleteDelayMs: 0 })).toBe(10)
    fs.crash()
    cleanups.pop()
    const second = await openEngine(fs, '/data')
    expect(second.log.logStartOffset).toBe(10)
    expect(await rejection(second.log.read(9))).toBe('OFFSET_OUT_OF_RANGE')
    expect((await readAll(second.log)).map(payload)).toEqual(appended.slice(2).map(payload))
  })

  for (const kind of ['rename', 'syncDirectory', 'unlink', 'datasync'] as const) {
    test(`crash at every ${kind} of a retention run loses nothing that should remain`, async () => {
      let step = 0
      // Bounded: each run either fails at step (then step + 1 is tried) or completes, ending the loop.
      for (; step < 64; step++) {
        const { completed } = await crashAt(kind, step)
        if (completed) break
      }
      expect(step).toBeLessThan(64)
      // The unlinks run after the run reported success (their failure only leaves `.deleted` files).
      if (kind !== 'unlink') expect(step).toBeGreaterThan(0)
    })
  }
})
