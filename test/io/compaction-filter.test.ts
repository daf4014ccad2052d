import { describe, expect, test } from 'vitest'
import { fc, test as propTest } from '@fast-check/vitest'
import { OffsetMap } from '../../src/io/compaction-offset-map.js'
import { filterBatches, type CompactionFilterContext } from '../../src/io/compaction-filter.js'
import { encodeRecordBatch, RecordBatchView, batchesIn, type RecordInput } from '../../src/io/record-batch.js'
import { WorkerPool } from '../../src/io/worker-pool.js'
import { decodeFilterResult } from '../../src/io/tasks/compaction-task.js'

const key = (text: string): Uint8Array => Buffer.from(text)

function context (map: OffsetMap, overrides: Partial<CompactionFilterContext> = {}): CompactionFilterContext {
  return { map, now: 1_000_000, deleteRetentionMs: 1000, lastBatchOffsetOf: () => -1, ...overrides }
}

function concat (chunks: Uint8Array[]): Buffer {
  return Buffer.concat(chunks)
}

function decodeAll (bytes: Uint8Array): Array<{ offset: number, key: string | null, value: string | null, timestamp: number }> {
  const out = []
  for (const batch of batchesIn(bytes)) {
    for (const record of batch) {
      out.push({ offset: record.offset, key: record.key === null ? null : Buffer.from(record.key).toString(), value: record.value === null ? null : Buffer.from(record.value).toString(), timestamp: record.timestamp })
    }
  }
  return out
}

describe('offset map', () => {
  test('full key comparison: keys with equal hashes never merge', () => {
    const map = OffsetMap.create({ entriesMax: 4, keyBytesMax: 64 })
    expect(map.put(key('a'), 1)).toBe(true)
    expect(map.put(key('b'), 2)).toBe(true)
    expect(map.put(key('a'), 5)).toBe(true)
    expect(map.get(key('a'))).toBe(5)
    expect(map.get(key('b'))).toBe(2)
    expect(map.get(key('c'))).toBe(-1)
    expect(map.latestOffset).toBe(-1)
    map.cover(5)
    map.cover(3)
    expect(map.latestOffset).toBe(5)
    expect(map.put(key('c'), 6)).toBe(true)
    expect(map.put(key('d'), 7)).toBe(true)
    expect(map.put(key('e'), 8)).toBe(false)
    expect(map.get(key('e'))).toBe(-1)
    expect(map.put(key('d'), 9)).toBe(true)
    map.clear()
    expect([map.size, map.latestOffset, map.get(key('a'))]).toEqual([0, -1, -1])
    expect(map.put(key('e'), 1)).toBe(true)
    expect(map.get(key('e'))).toBe(1)
  })

  propTest.prop([fc.array(fc.tuple(fc.uint8Array({ maxLength: 6 }), fc.nat(1000)), { maxLength: 300 })])('agrees with a Map keyed by the full bytes', (entries) => {
    const map = OffsetMap.create({ entriesMax: 512, keyBytesMax: 4096 })
    const model = new Map<string, number>()
    for (const [bytes, offset] of entries) {
      expect(map.put(bytes, offset)).toBe(true)
      const name = Buffer.from(bytes).toString('hex')
      model.set(name, Math.max(model.get(name) ?? -1, offset))
    }
    for (const [name, offset] of model) expect(map.get(Buffer.from(name, 'hex'))).toBe(offset)
    expect(map.size).toBe(model.size)
  })
})

describe('compaction filter', () => {
  test('keeps the newest record per key, drops keyless records, preserves offsets and lastOffsetDelta', () => {
    const records: RecordInput[] = [
      { key: 'k1', value: 'v1', timestamp: 100 },
      { key: null, value: 'nokey', timestamp: 101 },
      { key: 'k2', value: 'v2', timestamp: 102 },
      { key: 'k1', value: 'v1b', timestamp: 103 },
      { key: 'k3', value: 'v3', timestamp: 104 }
    ]
    const batch = encodeRecordBatch({ baseOffset: 10, records, compression: 'gzip', producerId: 7, producerEpoch: 2, baseSequence: 40, partitionLeaderEpoch: 3 })
    const map = OffsetMap.create()
    map.put(key('k1'), 13)
    map.put(key('k2'), 12)
    map.put(key('k3'), 20)
    map.cover(20)
    const out = concat(filterBatches(batch, context(map)))
    const view = RecordBatchView.from(out)
    expect(view.baseOffset).toBe(10)
    expect(view.lastOffsetDelta).toBe(4)
    expect(view.compression).toBe('gzip')
    expect([view.producerId, view.producerEpoch, view.baseSequence, view.partitionLeaderEpoch]).toEqual([7, 2, 40, 3])
    expect(decodeAll(out)).toEqual([
      { offset: 12, key: 'k2', value: 'v2', timestamp: 102 },
      { offset: 13, key: 'k1', value: 'v1b', timestamp: 103 }
    ])
  })

  test('untouched batches are returned as the same bytes', () => {
    const batch = encodeRecordBatch({ baseOffset: 0, records: [{ key: 'a', value: '1', timestamp: 5 }] })
    const map = OffsetMap.create()
    map.put(key('a'), 0)
    map.cover(0)
    const out = filterBatches(batch, context(map))
    expect(out).toHaveLength(1)
    expect(out[0]!.buffer).toBe(batch.buffer)
  })

  test('records past the map are kept whatever they are', () => {
    const batch = encodeRecordBatch({ baseOffset: 5, records: [{ key: null, value: 'x', timestamp: 1 }, { key: 'a', value: null, timestamp: 2 }] })
    const map = OffsetMap.create()
    map.put(key('a'), 4)
    map.cover(4)
    const out = concat(filterBatches(batch, context(map)))
    expect(decodeAll(out)).toEqual(decodeAll(batch))
    // The retained tombstone gets its delete horizon, as Kafka sets it on any retained tombstone.
    expect(RecordBatchView.from(out).hasDeleteHorizon).toBe(true)
  })

  test('tombstone lifecycle: horizon set on first pass, dropped once the clock passes it', () => {
    const batch = encodeRecordBatch({ baseOffset: 0, records: [{ key: 'a', value: 'live', timestamp: 50 }, { key: 'b', value: null, timestamp: 60 }] })
    const map = OffsetMap.create()
    map.put(key('a'), 0)
    map.put(key('b'), 1)
    map.cover(1)
    const first = concat(filterBatches(batch, context(map, { now: 10_000, deleteRetentionMs: 500 })))
    const view = RecordBatchView.from(first)
    expect(view.hasDeleteHorizon).toBe(true)
    expect(view.baseTimestamp).toBe(10_500)
    expect(decodeAll(first)).toEqual([
      { offset: 0, key: 'a', value: 'live', timestamp: 50 },
      { offset: 1, key: 'b', value: null, timestamp: 60 }
    ])
    // Before the horizon the batch is kept as it is (the horizon is not moved).
    const again = filterBatches(first, context(map, { now: 10_499 }))
    expect(concat(again)).toEqual(first)
    const after = concat(filterBatches(first, context(map, { now: 10_500 })))
    expect(decodeAll(after)).toEqual([{ offset: 0, key: 'a', value: 'live', timestamp: 50 }])
    expect(RecordBatchView.from(after).lastOffsetDelta).toBe(1)
  })

  test('the last batch of a producer stays as an empty batch; others vanish', () => {
    const one = encodeRecordBatch({ baseOffset: 0, producerId: 9, producerEpoch: 1, baseSequence: 0, records: [{ key: 'a', value: '1', timestamp: 1 }] })
    const two = encodeRecordBatch({ baseOffset: 1, producerId: 9, producerEpoch: 1, baseSequence: 1, records: [{ key: 'a', value: '2', timestamp: 2 }, { key: 'a', value: '3', timestamp: 3 }] })
    const map = OffsetMap.create()
    map.put(key('a'), 5)
    map.cover(5)
    const out = concat(filterBatches(Buffer.concat([one, two]), context(map, { lastBatchOffsetOf: (pid) => (pid === 9 ? 2 : -1) })))
    const batches = [...batchesIn(out)]
    expect(batches).toHaveLength(1)
    expect([batches[0]!.baseOffset, batches[0]!.lastOffsetDelta, batches[0]!.recordsCount, batches[0]!.baseSequence, batches[0]!.producerEpoch]).toEqual([1, 1, 0, 1, 1])
    expect(batches[0]!.baseTimestamp).toBe(3)
  })

  test('the final batch of a group stays, empty, so the group keeps its end offset', () => {
    const one = encodeRecordBatch({ baseOffset: 0, records: [{ key: 'a', value: '1', timestamp: 1 }] })
    const two = encodeRecordBatch({ baseOffset: 1, records: [{ key: 'a', value: '2', timestamp: 2 }, { key: null, value: 'x', timestamp: 3 }] })
    const map = OffsetMap.create()
    map.put(key('a'), 9)
    map.cover(9)
    const out = [...batchesIn(concat(filterBatches(Buffer.concat([one, two]), context(map, { keepBatchEndingAt: 2 }))))]
    expect(out.map((batch) => [batch.baseOffset, batch.lastOffset, batch.recordsCount])).toEqual([[1, 2, 0]])
  })

  test('the worker task returns the inline result', async () => {
    const batch = encodeRecordBatch({ baseOffset: 0, compression: 'lz4', records: [{ key: 'a', value: '1', timestamp: 1 }, { key: 'a', value: '2', timestamp: 2 }, { key: 'b', value: null, timestamp: 3 }] })
    const map = OffsetMap.create()
    map.put(key('a'), 1)
    map.put(key('b'), 2)
    map.cover(2)
    const inline = concat(filterBatches(batch, context(map)))
    const pool = new WorkerPool({ threadsMax: 1 })
    try {
      const result = decodeFilterResult(await pool.run<Uint8Array>('compaction-task#filter', { bytes: batch, map: map.state, now: 1_000_000, deleteRetentionMs: 1000, producerLastOffsets: [], keepBatchEndingAt: -1 }))
      expect(Buffer.from(result.bytes)).toEqual(inline)
      expect(result.stats.recordsKept).toBe(2)
    } finally {
      await pool.close()
    }
  })
})
