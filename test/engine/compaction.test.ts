import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, test } from 'vitest'
import { fc } from '@fast-check/vitest'
import { cleanablePartitionLog, type CleanableLog } from '../../src/engine/cleanable-log.js'
import { CompactionTask, compactLog, readCleanerCheckpoint, type CompactionConfig } from '../../src/engine/compaction.js'
import { LogManager } from '../../src/engine/log-manager.js'
import type { PartitionLog, PartitionLogConfig } from '../../src/engine/partition-log.js'
import { parseTopicConfig } from '../../src/engine/topic-config.js'
import { nodeFileSystem, type FileSystem } from '../../src/io/file-system.js'
import { batchesIn, encodeEndTransactionMarker, encodeRecordBatch, type CompressionCodec } from '../../src/io/record-batch.js'
import { WorkerPool } from '../../src/io/worker-pool.js'
import { FaultyFileSystem, type FaultOperation } from '../support/faulty-fs.js'

const cleanups: Array<() => Promise<void>> = []
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!()
})

async function temporaryDirectory (): Promise<string> {
  const directory = await mkdtemp(join(tmpdir(), 'sluice-compaction-'))
  cleanups.push(async () => { await rm(directory, { recursive: true, force: true }) })
  return directory
}

interface Engine { manager: LogManager, log: PartitionLog, cleanable: CleanableLog }

/** Segments roll past ~600 bytes: two or three of the test batches each. */
const smallSegments: Partial<PartitionLogConfig> = { segmentBytes: 600, segmentIndexBytes: 4096, indexIntervalBytes: 100 }

async function openEngine (fs: FileSystem, directory: string, logConfig = smallSegments): Promise<Engine> {
  const manager = await LogManager.open({ directory, fs, flush: 'always', logConfig, checkpointIntervalMs: 3_600_000 })
  const log = manager.getLog('table', 0) ?? await manager.createLog('table', 0)
  const cleanable = cleanablePartitionLog(log, { fs, persistLogStartOffset: async () => { await manager.checkpoint() } })
  cleanups.push(async () => { await manager.close().catch(() => {}) })
  return { manager, log, cleanable }
}

interface Entry { key: string | null, value: string | null }
interface Stored { offset: number, key: string | null, value: string | null, timestamp: number }

const codecs: CompressionCodec[] = ['none', 'gzip', 'lz4', 'snappy', 'zstd']

/** Appends one batch per entry list; returns every record with the offset the log gave it. */
async function appendAll (log: PartitionLog, batches: Entry[][], options: { timestamp?: number, producerId?: number } = {}): Promise<Stored[]> {
  const stored: Stored[] = []
  let sequence = 0
  for (let index = 0; index < batches.length; index++) {
    const entries = batches[index]!
    const timestamp = (options.timestamp ?? 1_000_000) + index * 10
    const batch = encodeRecordBatch({
      compression: codecs[index % codecs.length],
      ...(options.producerId === undefined ? {} : { producerId: options.producerId, producerEpoch: 0, baseSequence: sequence }),
      records: entries.map((entry, at) => ({ key: entry.key, value: entry.value, timestamp: timestamp + at, headers: [{ key: 'h', value: `i${index}` }] }))
    })
    sequence += entries.length
    const { baseOffset } = await log.append(batch)
    entries.forEach((entry, at) => stored.push({ offset: baseOffset + at, key: entry.key, value: entry.value, timestamp: timestamp + at }))
  }
  return stored
}

/** Everything a consumer reads from the log start, every batch CRC-checked by the decoder. */
async function consume (log: PartitionLog): Promise<{ records: Stored[], batches: Array<{ base: number, last: number, count: number }> }> {
  const records: Stored[] = []
  const batches: Array<{ base: number, last: number, count: number }> = []
  let offset = log.logStartOffset
  while (offset < log.highWatermark) {
    const read = await log.read(offset, { maxBytes: 1 << 20 })
    let progressed = false
    for (const batch of batchesIn(read.records)) {
      batches.push({ base: batch.baseOffset, last: batch.lastOffset, count: batch.recordsCount })
      for (const record of batch) {
        const key = record.key === null ? null : Buffer.from(record.key).toString()
        const value = record.value === null ? null : Buffer.from(record.value).toString()
        if (record.offset >= offset) records.push({ offset: record.offset, key, value, timestamp: record.timestamp })
      }
      offset = batch.lastOffset + 1
      progressed = true
    }
    expect(progressed).toBe(true)
  }
  return { records, batches }
}

function config (entries: Record<string, string> = {}): CompactionConfig {
  return parseTopicConfig({ 'cleanup.policy': 'compact', 'segment.bytes': '4096', ...entries })
}

/** The model: newest record per key below `end` (keyless dropped; tombstones kept), everything from `end` on. */
function expectedAfterCompaction (stored: Stored[], end: number, dropTombstones = false): Stored[] {
  const newest = new Map<string, number>()
  for (const record of stored) if (record.offset < end && record.key !== null) newest.set(record.key, record.offset)
  return stored.filter((record) => {
    if (record.offset >= end) return true
    if (record.key === null || newest.get(record.key) !== record.offset) return false
    return !(dropTombstones && record.value === null)
  })
}

function workload (rounds: number, keys: number): Entry[][] {
  const batches: Entry[][] = []
  for (let round = 0; round < rounds; round++) {
    const entries: Entry[] = []
    for (let k = 0; k < 3; k++) {
      const key = `k${(round * 3 + k) % keys}`
      entries.push({ key, value: `${key}-v${round}` })
    }
    if (round % 4 === 1) entries.push({ key: null, value: `nokey-${round}` })
    if (round % 5 === 3) entries.push({ key: `k${round % keys}`, value: null })
    batches.push(entries)
  }
  return batches
}

describe('compaction', () => {
  test('keeps the newest record per key with its offset; consumers read valid batches; appends continue', async () => {
    const directory = await temporaryDirectory()
    const { log, cleanable } = await openEngine(nodeFileSystem, directory)
    const stored = await appendAll(log, workload(24, 7))
    const active = log.activeSegment.baseOffset
    expect(log.segmentList().length).toBeGreaterThan(4)
    const leo = log.logEndOffset
    const result = await compactLog(cleanable, config(), { now: 2_000_000 })
    expect(result.cleaned).toBe(true)
    expect(result.reason).toBe('dirty-ratio')
    expect(result.checkpoint).toBe(active)
    const { records, batches } = await consume(log)
    expect(records).toEqual(expectedAfterCompaction(stored, active))
    expect(log.logEndOffset).toBe(leo)
    // Offsets only grow, batches do not overlap.
    for (let index = 1; index < batches.length; index++) expect(batches[index]!.base).toBeGreaterThan(batches[index - 1]!.last)
    const next = await log.append(encodeRecordBatch({ records: [{ key: 'k1', value: 'after' }] }))
    expect(next.baseOffset).toBe(leo)
    // A fetch at an offset that compaction removed starts at the next surviving batch.
    const gone = stored.find((record) => record.offset < active && !records.some((kept) => kept.offset === record.offset))!
    const read = await log.read(gone.offset)
    const first = [...batchesIn(read.records)][0]!
    expect(first.lastOffset).toBeGreaterThanOrEqual(gone.offset)
  })

  test('a second run has nothing dirty; new data is compacted against the old; results survive a reopen', async () => {
    const directory = await temporaryDirectory()
    const first = await openEngine(nodeFileSystem, directory)
    const stored = await appendAll(first.log, workload(12, 5))
    await compactLog(first.cleanable, config(), { now: 2_000_000 })
    expect((await compactLog(first.cleanable, config(), { now: 2_000_000 })).reason).toBe('nothing-dirty')
    stored.push(...await appendAll(first.log, workload(12, 5).map((entries) => entries.map((entry) => ({ ...entry, value: entry.value === null ? null : `${entry.value}-2` })))))
    const active = first.log.activeSegment.baseOffset
    const second = await compactLog(first.cleanable, config(), { now: 2_000_000, force: true })
    expect(second.cleaned).toBe(true)
    const expected = expectedAfterCompaction(stored, active)
    expect((await consume(first.log)).records).toEqual(expected)
    await first.manager.close()
    const reopened = await openEngine(nodeFileSystem, directory)
    expect((await consume(reopened.log)).records).toEqual(expected)
    expect(await readCleanerCheckpoint(reopened.cleanable)).toBe(active)
  })

  test('tombstone lifecycle follows the delete horizon on a controlled clock', async () => {
    const directory = await temporaryDirectory()
    const { log, cleanable } = await openEngine(nodeFileSystem, directory, { segmentBytes: 300, segmentIndexBytes: 4096 })
    await appendAll(log, [[{ key: 'a', value: 'a1' }], [{ key: 'b', value: 'b1' }], [{ key: 'a', value: null }], [{ key: 'c', value: 'c1' }]])
    const cfg = config({ 'delete.retention.ms': '1000' })
    await compactLog(cleanable, cfg, { now: 50_000, force: true })
    let records = (await consume(log)).records
    expect(records.map((record) => [record.key, record.value])).toEqual([['b', 'b1'], ['a', null], ['c', 'c1']])
    expect((await compactLog(cleanable, cfg, { now: 50_999 })).reason).toBe('nothing-dirty')
    await compactLog(cleanable, cfg, { now: 50_999, force: true })
    records = (await consume(log)).records
    expect(records.map((record) => [record.key, record.value])).toEqual([['b', 'b1'], ['a', null], ['c', 'c1']])
    // Nothing is dirty, but the horizon has passed: the cleaner runs on its own (no force).
    const due = await compactLog(cleanable, cfg, { now: 51_000 })
    expect(due.reason).toBe('delete-horizon')
    records = (await consume(log)).records
    expect(records.map((record) => [record.key, record.value])).toEqual([['b', 'b1'], ['c', 'c1']])
    expect((await compactLog(cleanable, cfg, { now: 99_000 })).reason).toBe('nothing-dirty')
    // Timestamps read back unchanged even though the tombstone's batch stored the horizon.
    expect(records[0]!.timestamp).toBe(1_000_010)
  })

  test('min.compaction.lag.ms protects young segments; the policy must include compact', async () => {
    const directory = await temporaryDirectory()
    const { log, cleanable } = await openEngine(nodeFileSystem, directory)
    const stored = await appendAll(log, workload(12, 3))
    expect((await compactLog(cleanable, parseTopicConfig({ 'cleanup.policy': 'delete' }), { now: 2_000_000 })).reason).toBe('not-compacted')
    const young = await compactLog(cleanable, config({ 'min.compaction.lag.ms': '1000000' }), { now: 1_000_000 + 1_000_060 })
    // Only segments whose newest record is at least 1_000_000 ms old (timestamps < 1_000_060) are cleanable.
    const cleanableEnd = young.checkpoint
    expect(cleanableEnd).toBeGreaterThan(0)
    expect(cleanableEnd).toBeLessThan(log.activeSegment.baseOffset)
    expect((await consume(log)).records).toEqual(expectedAfterCompaction(stored, cleanableEnd))
  })

  test('the last batch of a producer stays, empty; batch fields are preserved', async () => {
    const directory = await temporaryDirectory()
    const { log, cleanable } = await openEngine(nodeFileSystem, directory, { segmentBytes: 300, segmentIndexBytes: 4096 })
    await appendAll(log, [[{ key: 'x', value: '1' }], [{ key: 'x', value: '2' }, { key: 'y', value: '1' }]], { producerId: 77 })
    await appendAll(log, [[{ key: 'x', value: '3' }], [{ key: 'y', value: '2' }], [{ key: 'z', value: '1' }], [{ key: 'w', value: '1' }], [{ key: 'v', value: '1' }], [{ key: 'u', value: '1' }]])
    expect(log.activeSegment.baseOffset).toBeGreaterThan(4)
    await compactLog(cleanable, config(), { now: 2_000_000, force: true })
    const read = await log.read(0, { maxBytes: 1 << 20 })
    const batches = [...batchesIn(read.records)]
    const producerBatches = batches.filter((batch) => batch.producerId === 77)
    expect(producerBatches.map((batch) => [batch.baseOffset, batch.lastOffset, batch.recordsCount, batch.baseSequence, batch.producerEpoch])).toEqual([[1, 2, 0, 1, 0]])
  })

  test('aborted transactions vanish whatever their keys and never shadow committed values', async () => {
    const directory = await temporaryDirectory()
    const { log, cleanable } = await openEngine(nodeFileSystem, directory, { segmentBytes: 300, segmentIndexBytes: 4096 })
    await log.append(encodeRecordBatch({ records: [{ key: 'k', value: 'committed', timestamp: 1 }] }))
    await log.append(encodeRecordBatch({ isTransactional: true, producerId: 5, producerEpoch: 0, baseSequence: 0, records: [{ key: 'k', value: 'aborted', timestamp: 2 }, { key: 'only-aborted', value: 'x', timestamp: 2 }] }))
    await log.append(encodeEndTransactionMarker({ commit: false, producerId: 5, producerEpoch: 0, coordinatorEpoch: 0, timestamp: 3 }))
    await appendAll(log, [[{ key: 'f1', value: '1' }], [{ key: 'f2', value: '1' }], [{ key: 'f3', value: '1' }], [{ key: 'f4', value: '1' }]])
    await compactLog(cleanable, config(), { now: 2_000_000, force: true })
    const read = await log.read(0, { maxBytes: 1 << 20 })
    const batches = [...batchesIn(read.records)]
    const values = batches.filter((batch) => !batch.isControl).flatMap((batch) => [...batch].map((record) => `${Buffer.from(record.key!).toString()}=${Buffer.from(record.value!).toString()}`))
    expect(values.slice(0, 1)).toEqual(['k=committed'])
    expect(values.some((value) => value.startsWith('only-aborted') || value === 'k=aborted')).toBe(false)
    // The ABORT marker stays (the producer's last batch, and markers are not removed yet).
    expect(batches.filter((batch) => batch.isControl).map((batch) => batch.baseOffset)).toEqual([3])
  })

  test('nothing is cleaned from the first open transaction on', async () => {
    const directory = await temporaryDirectory()
    const { log, cleanable } = await openEngine(nodeFileSystem, directory, { segmentBytes: 300, segmentIndexBytes: 4096 })
    await log.append(encodeRecordBatch({ records: [{ key: 'k', value: 'v1', timestamp: 1 }] }))
    await log.append(encodeRecordBatch({ isTransactional: true, producerId: 6, producerEpoch: 0, baseSequence: 0, records: [{ key: 'k', value: 'v2', timestamp: 2 }] }))
    await appendAll(log, [[{ key: 'f1', value: '1' }], [{ key: 'f2', value: '1' }], [{ key: 'k', value: 'v3' }], [{ key: 'f4', value: '1' }], [{ key: 'f5', value: '1' }]])
    const open = await compactLog(cleanable, config(), { now: 2_000_000, force: true })
    expect(open.checkpoint).toBeLessThanOrEqual(1)
    let records = (await consume(log)).records
    expect(records.filter((record) => record.key === 'k').map((record) => record.value)).toEqual(['v1', 'v2', 'v3'])
    await log.append(encodeEndTransactionMarker({ commit: true, producerId: 6, producerEpoch: 0, coordinatorEpoch: 0, timestamp: 3 }))
    await appendAll(log, [[{ key: 'f6', value: '1' }], [{ key: 'f7', value: '1' }], [{ key: 'f8', value: '1' }]])
    await compactLog(cleanable, config(), { now: 2_000_000, force: true })
    records = (await consume(log)).records
    expect(records.filter((record) => record.key === 'k').map((record) => record.value)).toEqual(['v3'])
  })

  test('the worker pool gives the same log as the inline filter', async () => {
    const inlineDirectory = await temporaryDirectory()
    const workerDirectory = await temporaryDirectory()
    const inline = await openEngine(nodeFileSystem, inlineDirectory)
    const worker = await openEngine(nodeFileSystem, workerDirectory)
    const batches = workload(16, 6)
    await appendAll(inline.log, batches)
    await appendAll(worker.log, batches)
    const pool = new WorkerPool({ threadsMax: 1 })
    cleanups.push(async () => { await pool.close() })
    await compactLog(inline.cleanable, config(), { now: 2_000_000 })
    const result = await compactLog(worker.cleanable, config(), { now: 2_000_000, pool })
    expect(result.checkpoint).toBe(worker.log.activeSegment.baseOffset)
    expect(result.stats.recordsRead).toBeGreaterThan(result.stats.recordsKept)
    const a = await inline.log.read(0, { maxBytes: 1 << 20 })
    const b = await worker.log.read(0, { maxBytes: 1 << 20 })
    expect(Buffer.from(b.records)).toEqual(Buffer.from(a.records))
  })

  test('a small offset map cleans in several passes without losing a key', async () => {
    const directory = await temporaryDirectory()
    const { log, cleanable } = await openEngine(nodeFileSystem, directory)
    const stored = await appendAll(log, workload(20, 12))
    const active = log.activeSegment.baseOffset
    let passes = 0
    // Bounded: each pass moves the checkpoint forward by at least one batch.
    while ((await readCleanerCheckpoint(cleanable)) < active && passes < 50) {
      await compactLog(cleanable, config(), { now: 2_000_000, force: true, offsetMap: { entriesMax: 4, keyBytesMax: 64 } })
      passes++
    }
    expect(passes).toBeGreaterThan(1)
    expect(passes).toBeLessThan(50)
    // Each key's newest record below the active segment is there, with its value and offset.
    const records = (await consume(log)).records
    for (const record of expectedAfterCompaction(stored, active)) expect(records).toContainEqual(record)
    // Nothing that was not appended at that offset appears.
    for (const record of records) expect(stored).toContainEqual(record)
  })

  test('the background task compacts registered logs', async () => {
    const directory = await temporaryDirectory()
    const { log, cleanable } = await openEngine(nodeFileSystem, directory)
    const stored = await appendAll(log, workload(12, 4))
    const active = log.activeSegment.baseOffset
    const outcomes: unknown[] = []
    const pool = new WorkerPool({ threadsMax: 1 })
    cleanups.push(async () => { await pool.close() })
    const task = new CompactionTask({ backoffMs: 10, clock: () => 2_000_000, pool, onResult: (_log, result) => { outcomes.push(result) } })
    cleanups.push(async () => { await task.close() })
    task.add({ log: cleanable, config: () => config() })
    task.start()
    // Bounded wait: the task runs every 10 ms.
    for (let attempt = 0; attempt < 500 && await readCleanerCheckpoint(cleanable) < active; attempt++) await new Promise((resolve) => setTimeout(resolve, 10))
    expect(await readCleanerCheckpoint(cleanable)).toBe(active)
    expect(outcomes.length).toBeGreaterThan(0)
    expect((await consume(log)).records).toEqual(expectedAfterCompaction(stored, active))
  })
})

describe('compaction model', () => {
  const entry = fc.record({
    key: fc.option(fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f'), { nil: null, freq: 6 }),
    value: fc.option(fc.string({ maxLength: 40 }), { nil: null, freq: 5 })
  })
  const scenario = fc.record({
    first: fc.array(fc.array(entry, { minLength: 1, maxLength: 6 }), { minLength: 1, maxLength: 25 }),
    second: fc.array(fc.array(entry, { minLength: 1, maxLength: 6 }), { maxLength: 15 }),
    segmentBytes: fc.constantFrom(200, 400, 900),
    reopen: fc.boolean()
  })

  test('compacting, appending and compacting again equals the model (newest per key below the active segment)', async () => {
    let run = 0
    await fc.assert(fc.asyncProperty(scenario, async ({ first, second, segmentBytes, reopen }) => {
      const directory = await temporaryDirectory()
      run++
      let engine = await openEngine(nodeFileSystem, join(directory, String(run)), { segmentBytes, segmentIndexBytes: 4096, indexIntervalBytes: 64 })
      const stored = await appendAll(engine.log, first)
      await compactLog(engine.cleanable, config({ 'segment.bytes': String(segmentBytes * 3) }), { now: 2_000_000 })
      expect((await consume(engine.log)).records).toEqual(expectedAfterCompaction(stored, Math.max(await readCleanerCheckpoint(engine.cleanable), 0)))
      if (reopen) {
        await engine.manager.close()
        cleanups.pop()
        engine = await openEngine(nodeFileSystem, join(directory, String(run)), { segmentBytes, segmentIndexBytes: 4096, indexIntervalBytes: 64 })
      }
      stored.push(...await appendAll(engine.log, second, { timestamp: 5_000_000 }))
      await compactLog(engine.cleanable, config({ 'segment.bytes': String(segmentBytes * 3) }), { now: 2_000_000, force: true })
      const end = engine.log.activeSegment.baseOffset
      expect(await readCleanerCheckpoint(engine.cleanable)).toBe(end)
      expect((await consume(engine.log)).records).toEqual(expectedAfterCompaction(stored, end))
      await engine.manager.close()
      cleanups.pop()
    }), { numRuns: 25 })
  })
})

describe('compaction crash safety (d)', () => {
  const batches = workload(16, 5)

  /** Fails the operation, crashes the disk, reopens: the log is the old one or the compacted one, never less. */
  async function crashDuring (operation: FaultOperation, options: { skip?: number, path?: RegExp }): Promise<'old' | 'compacted' | 'completed'> {
    const fs = new FaultyFileSystem()
    const first = await openEngine(fs, '/data')
    const stored = await appendAll(first.log, batches)
    const active = first.log.activeSegment.baseOffset
    const before = (await consume(first.log)).records
    fs.failOn(operation, 'EIO', { times: 1, ...options })
    let outcome: 'old' | 'compacted' | 'completed' = 'completed'
    try {
      await compactLog(first.cleanable, config(), { now: 2_000_000, force: true })
    } catch (error) {
      expect((error as { code?: string }).code).toBe('KAFKA_STORAGE_ERROR')
      outcome = 'old'
    }
    fs.crash()
    cleanups.pop()
    const second = await openEngine(fs, '/data')
    const after = (await consume(second.log)).records
    const compacted = expectedAfterCompaction(stored, active)
    // Never lost: the newest record of every key, and everything from the active segment on.
    for (const record of compacted) expect(after).toContainEqual(record)
    // Never invented: every record read was appended at that offset.
    for (const record of after) expect(stored).toContainEqual(record)
    expect(second.log.logEndOffset).toBe(first.log.logEndOffset)
    if (outcome === 'old' && after.length < before.length) outcome = 'compacted'
    // A later run finishes the job.
    await compactLog(second.cleanable, config(), { now: 2_000_000, force: true })
    expect((await consume(second.log)).records).toEqual(compacted)
    const names = await fs.readdir('/data/table-0')
    expect(names.filter((name) => /\.(cleaned|swap|deleted)$/.test(name))).toEqual([])
    await second.manager.close()
    return outcome
  }

  test('stop after .cleaned is written (its rename to .swap fails): the old log stays', async () => {
    expect(await crashDuring('rename', { path: /\.cleaned$/ })).toBe('old')
  })

  test('stop after .swap is renamed (deleting the old segments fails): the swap completes at load', async () => {
    expect(await crashDuring('unlink', { path: /\d{20}\.(log|index|timeindex)$/ })).toBe('compacted')
  })

  test('stop after the old segments are deleted (the final rename fails): the swap completes at load', async () => {
    expect(await crashDuring('rename', { path: /\.swap$/ })).toBe('compacted')
  })

  for (const operation of ['write', 'datasync', 'rename', 'syncDirectory', 'unlink', 'open'] as const) {
    test(`a crash at every ${operation} of a compaction loses nothing that should remain`, async () => {
      let step = 0
      // Bounded: each run either fails at `step` (then the next is tried) or completes.
      for (; step < 200; step++) {
        if (await crashDuring(operation, { skip: step }) === 'completed') break
      }
      expect(step).toBeLessThan(200)
    })
  }
})
