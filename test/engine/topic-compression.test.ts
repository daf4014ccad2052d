import { describe, expect, test } from 'vitest'
import type { Sluice } from '../../src/client/sluice.js'
import { isSluiceError } from '../../src/core/errors.js'
import type { CompressionCodec } from '../../src/io/compression.js'
import { encodeRecordBatch } from '../../src/io/record-batch-encoder.js'
import { storedBatchViews } from '../support/stored-batches.js'
import { useTemporarySluice } from '../support/temporary-sluice.js'

const open = useTemporarySluice('sluice-topic-compression-')

async function createTopic (target: Sluice, topic: string, compressionType: string): Promise<void> {
  await target.admin().createTopics({ topics: [{ topic, numPartitions: 1, configEntries: [{ name: 'compression.type', value: compressionType }] }] })
}

interface StoredBatch { compression: CompressionCodec, producerId: number, baseSequence: number, records: Array<{ offset: number, timestamp: number, key: string | null, value: string, headers: string[] }> }

async function storedBatches (target: Sluice, topic: string): Promise<StoredBatch[]> {
  return (await storedBatchViews(target.engine, topic)).map((batch) => ({
    compression: batch.compression,
    producerId: batch.producerId,
    baseSequence: batch.baseSequence,
    records: [...batch].map((record) => ({
      offset: record.offset,
      timestamp: record.timestamp,
      key: record.key === null ? null : Buffer.from(record.key).toString(),
      value: Buffer.from(record.value!).toString(),
      headers: record.headers.map((header) => `${header.key}=${Buffer.from(header.value ?? []).toString()}`)
    }))
  }))
}

function batchOf (values: string[], compression: CompressionCodec, fields: { producerId?: number, baseSequence?: number } = {}): Buffer {
  return encodeRecordBatch({
    compression,
    producerId: fields.producerId ?? -1,
    producerEpoch: fields.producerId === undefined ? -1 : 0,
    baseSequence: fields.baseSequence ?? -1,
    records: values.map((value, index) => ({ key: `k${index}`, value, timestamp: 1_700_000_000_000 + index, headers: [{ key: 'h', value: Buffer.from(value) }] }))
  })
}

describe('topic compression.type', () => {
  test('a codec other than the producer\'s is applied to every stored batch, records unchanged', async () => {
    const target = await open()
    await createTopic(target, 'lz4-topic', 'lz4')
    await target.engine.append('lz4-topic', 0, batchOf(['a', 'b', 'c'], 'none'))
    await target.engine.append('lz4-topic', 0, batchOf(['d'], 'gzip'))
    await target.engine.append('lz4-topic', 0, batchOf(['e', 'f'], 'lz4'))
    const batches = await storedBatches(target, 'lz4-topic')
    expect(batches.map((batch) => batch.compression)).toEqual(['lz4', 'lz4', 'lz4'])
    expect(batches.flatMap((batch) => batch.records)).toEqual([
      { offset: 0, timestamp: 1_700_000_000_000, key: 'k0', value: 'a', headers: ['h=a'] },
      { offset: 1, timestamp: 1_700_000_000_001, key: 'k1', value: 'b', headers: ['h=b'] },
      { offset: 2, timestamp: 1_700_000_000_002, key: 'k2', value: 'c', headers: ['h=c'] },
      { offset: 3, timestamp: 1_700_000_000_000, key: 'k0', value: 'd', headers: ['h=d'] },
      { offset: 4, timestamp: 1_700_000_000_000, key: 'k0', value: 'e', headers: ['h=e'] },
      { offset: 5, timestamp: 1_700_000_000_001, key: 'k1', value: 'f', headers: ['h=f'] }
    ])
  })

  test('uncompressed stores compressed batches decompressed', async () => {
    const target = await open()
    await createTopic(target, 'plain-topic', 'uncompressed')
    for (const codec of ['gzip', 'snappy', 'lz4', 'zstd'] as const) await target.engine.append('plain-topic', 0, batchOf([codec], codec))
    const batches = await storedBatches(target, 'plain-topic')
    expect(batches.map((batch) => batch.compression)).toEqual(['none', 'none', 'none', 'none'])
    expect(batches.map((batch) => batch.records[0]!.value)).toEqual(['gzip', 'snappy', 'lz4', 'zstd'])
  })

  test('pipelined idempotent batches keep their order while some wait for recompression', async () => {
    const target = await open()
    await createTopic(target, 'zstd-topic', 'zstd')
    const { producerId } = await target.engine.initProducerId()
    const pending: Array<Promise<unknown>> = []
    const expected: string[] = []
    let sequence = 0
    for (let index = 0; index < 40; index++) {
      // Alternate batches that need recompression (large, off the event loop) with ones that do not.
      const values = Array.from({ length: index % 2 === 0 ? 200 : 3 }, (_, record) => `b${index}-r${record}-${'x'.repeat(index % 2 === 0 ? 300 : 1)}`)
      expected.push(...values)
      pending.push(target.engine.append('zstd-topic', 0, batchOf(values, index % 2 === 0 ? 'none' : 'zstd', { producerId, baseSequence: sequence })))
      sequence += values.length
    }
    await Promise.all(pending)
    const batches = await storedBatches(target, 'zstd-topic')
    expect(batches.every((batch) => batch.compression === 'zstd' && batch.producerId === producerId)).toBe(true)
    expect(batches.flatMap((batch) => batch.records.map((record) => record.value))).toEqual(expected)
    expect(batches.flatMap((batch) => batch.records.map((record) => record.offset))).toEqual(expected.map((_, index) => index))
  })

  test('the embedded producer on a recompressing topic: every record stored once, in order', async () => {
    const target = await open()
    await createTopic(target, 'gzip-topic', 'gzip')
    // Small batches, so that many are in flight to the partition at once.
    const producer = target.producer({ acks: 'all', compression: 'none', batchSize: 1024 })
    const values = Array.from({ length: 5_000 }, (_, index) => Buffer.from(`m${index}`))
    await Promise.all(values.slice(0, 2_500).map(async (value) => await producer.send({ topic: 'gzip-topic', messages: [{ value, partition: 0 }] })))
    await producer.sendBulk({ topic: 'gzip-topic', partition: 0, values: values.slice(2_500) })
    await producer.close()
    const batches = await storedBatches(target, 'gzip-topic')
    expect(new Set(batches.map((batch) => batch.compression))).toEqual(new Set(['gzip']))
    expect(batches.flatMap((batch) => batch.records.map((record) => record.value))).toEqual(values.map((value) => value.toString()))
  })

  test('a corrupt batch is refused before recompression could bless it with a new CRC; later appends go on', async () => {
    const target = await open()
    await createTopic(target, 'lz4-topic', 'lz4')
    const corrupt = batchOf(['a', 'b'], 'none')
    corrupt[corrupt.length - 2]! ^= 0x01
    const error = await target.engine.append('lz4-topic', 0, corrupt).catch((caught: unknown) => caught)
    expect(isSluiceError(error) && error.code).toBe('CORRUPT_MESSAGE')
    const undecompressable = batchOf(['c'], 'gzip')
    // Garbage in place of the gzip stream, under a valid CRC: the codec refuses it.
    undecompressable.fill(0x5a, 61)
    const { crc32c } = await import('../../src/io/crc32c.js')
    undecompressable.writeUInt32BE(crc32c(undecompressable.subarray(21)), 17)
    const second = await target.engine.append('lz4-topic', 0, undecompressable).catch((caught: unknown) => caught)
    expect(isSluiceError(second) && second.code).toBe('CORRUPT_MESSAGE')
    await expect(target.engine.append('lz4-topic', 0, batchOf(['ok'], 'none'))).resolves.toMatchObject({ baseOffset: 0 })
    expect((await storedBatches(target, 'lz4-topic')).flatMap((batch) => batch.records.map((record) => record.value))).toEqual(['ok'])
  })

  test('an oversized batch is MESSAGE_TOO_LARGE before any recompression', async () => {
    const target = await open()
    await target.admin().createTopics({ topics: [{ topic: 'small', numPartitions: 1, configEntries: [{ name: 'compression.type', value: 'gzip' }, { name: 'max.message.bytes', value: '200' }] }] })
    const error = await target.engine.append('small', 0, batchOf(['y'.repeat(500)], 'none')).catch((caught: unknown) => caught)
    expect(isSluiceError(error) && error.code).toBe('MESSAGE_TOO_LARGE')
    expect(target.engine.partitionLog('small', 0).logEndOffset).toBe(0)
  })

  test('altering compression.type applies from the next append', async () => {
    const target = await open()
    await createTopic(target, 'switched', 'producer')
    await target.engine.append('switched', 0, batchOf(['a'], 'none'))
    await target.admin().alterConfigs('switched', { 'compression.type': 'snappy' })
    await target.engine.append('switched', 0, batchOf(['b'], 'none'))
    expect((await storedBatches(target, 'switched')).map((batch) => batch.compression)).toEqual(['none', 'snappy'])
  })
})
