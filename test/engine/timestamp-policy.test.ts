import { describe, expect, test } from 'vitest'
import type { Sluice } from '../../src/client/sluice.js'
import { isSluiceError } from '../../src/core/errors.js'
import { crc32c } from '../../src/io/crc32c.js'
import { encodeRecordBatch } from '../../src/io/record-batch-encoder.js'
import { BatchOffset } from '../../src/io/record-batch-header.js'
import { storedBatchViews } from '../support/stored-batches.js'
import { useTemporarySluice } from '../support/temporary-sluice.js'

const open = useTemporarySluice('sluice-timestamps-')

async function createTopic (target: Sluice, topic: string, configs: Record<string, string>): Promise<void> {
  await target.admin().createTopics({ topics: [{ topic, numPartitions: 1, configEntries: Object.entries(configs).map(([name, value]) => ({ name, value })) }] })
}

/** Every stored batch of partition 0 with its records' timestamps and offsets. */
async function storedBatches (target: Sluice, topic: string): Promise<Array<{ attributes: number, maxTimestamp: number, timestamps: number[], offsets: number[] }>> {
  return (await storedBatchViews(target.engine, topic)).map((batch) => {
    const records = [...batch]
    return { attributes: batch.attributes, maxTimestamp: batch.maxTimestamp, timestamps: records.map((record) => record.timestamp), offsets: records.map((record) => record.offset) }
  })
}

function rawBatch (timestamps: number[], options: { compression?: 'none' | 'lz4' | 'gzip', timestampType?: 'CreateTime' | 'LogAppendTime' } = {}): Buffer {
  return encodeRecordBatch({
    records: timestamps.map((timestamp, index) => ({ key: null, value: Buffer.from(`v${index}`), timestamp })),
    compression: options.compression ?? 'none',
    timestampType: options.timestampType ?? 'CreateTime'
  })
}

describe('message.timestamp.type=LogAppendTime', () => {
  test('the log stamps the append time on every record, keeps the CRC valid and reports the time', async () => {
    const target = await open()
    await createTopic(target, 'stamped', { 'message.timestamp.type': 'LogAppendTime' })
    const producer = target.producer({ acks: 1 })
    const before = Date.now()
    const [metadata] = await producer.send({ topic: 'stamped', messages: [{ value: 'a', timestamp: 1_000 }, { value: 'b', timestamp: 2_000 }] })
    const after = Date.now()
    await producer.close()
    expect(metadata!.logAppendTime).toBeGreaterThanOrEqual(before)
    expect(metadata!.logAppendTime).toBeLessThanOrEqual(after)

    const [batch, ...rest] = await storedBatches(target, 'stamped')
    expect(rest).toEqual([])
    expect(batch!.attributes & 0x08).toBe(0x08)
    expect(batch!.maxTimestamp).toBe(metadata!.logAppendTime)
    expect(batch!.timestamps).toEqual([metadata!.logAppendTime, metadata!.logAppendTime])
    expect(batch!.offsets).toEqual([0, 1])
  })

  test('compressed batches are stamped too, and offsetsForTimes finds them by append time', async () => {
    const target = await open()
    await createTopic(target, 'stamped', { 'message.timestamp.type': 'LogAppendTime' })
    const first = await target.engine.append('stamped', 0, rawBatch([5, 6, 7], { compression: 'lz4' }))
    await new Promise((resolve) => setTimeout(resolve, 5))
    const second = await target.engine.append('stamped', 0, rawBatch([1, 2], { compression: 'gzip' }))
    expect(second.logAppendTime).toBeGreaterThan(first.logAppendTime)

    const batches = await storedBatches(target, 'stamped')
    expect(batches.map((batch) => batch.timestamps)).toEqual([
      [first.logAppendTime, first.logAppendTime, first.logAppendTime],
      [second.logAppendTime, second.logAppendTime]
    ])
    const consumer = target.consumer({ groupId: 'g' })
    const [found] = await consumer.offsetsForTimes([{ topic: 'stamped', partition: 0, timestamp: first.logAppendTime + 1 }])
    expect(found).toMatchObject({ offset: 3, timestamp: second.logAppendTime })
    await consumer.close()
  })

  test('the caller keeps its own bytes: a retried buffer is stamped anew, not found stamped', async () => {
    const target = await open()
    await createTopic(target, 'stamped', { 'message.timestamp.type': 'LogAppendTime' })
    const batch = rawBatch([42])
    const copy = Buffer.from(batch)
    await target.engine.append('stamped', 0, batch)
    expect(batch.equals(copy)).toBe(true)
    await target.engine.append('stamped', 0, batch)
    expect((await storedBatches(target, 'stamped')).length).toBe(2)
  })

  test('switching a topic to LogAppendTime applies from the next append; earlier records keep their CreateTime', async () => {
    const target = await open()
    await createTopic(target, 'switched', {})
    await target.engine.append('switched', 0, rawBatch([10, 11]))
    await target.admin().alterConfigs('switched', { 'message.timestamp.type': 'LogAppendTime' })
    const stamped = await target.engine.append('switched', 0, rawBatch([12]))
    expect(stamped.logAppendTime).toBeGreaterThan(0)
    const batches = await storedBatches(target, 'switched')
    expect(batches.map((batch) => batch.timestamps)).toEqual([[10, 11], [stamped.logAppendTime]])
  })

  test('a LogAppendTime topic is stamped again after reopen, and stored stamps survive it', async () => {
    let target = await open()
    await createTopic(target, 'stamped', { 'message.timestamp.type': 'LogAppendTime' })
    const first = await target.engine.append('stamped', 0, rawBatch([1]))
    await target.close()
    target = await open()
    const second = await target.engine.append('stamped', 0, rawBatch([2]))
    expect(second.logAppendTime).toBeGreaterThanOrEqual(first.logAppendTime)
    expect((await storedBatches(target, 'stamped')).map((batch) => batch.timestamps)).toEqual([[first.logAppendTime], [second.logAppendTime]])
  })
})

describe('CreateTime bounds (message.timestamp.before.max.ms / after.max.ms)', () => {
  test('a record older than before.max.ms fails the batch with INVALID_TIMESTAMP and nothing is stored', async () => {
    const target = await open()
    await createTopic(target, 'bounded', { 'message.timestamp.before.max.ms': '60000' })
    const now = Date.now()
    await target.engine.append('bounded', 0, rawBatch([now - 1_000, now]))
    const error = await target.engine.append('bounded', 0, rawBatch([now, now - 3_600_000, now])).catch((caught: unknown) => caught)
    expect(isSluiceError(error) && error.code).toBe('INVALID_TIMESTAMP')
    expect(String((error as Error).message)).toContain('record 1')
    const log = target.engine.partitionLog('bounded', 0)
    expect(log.logEndOffset).toBe(2)
    expect((await storedBatches(target, 'bounded')).map((batch) => batch.offsets)).toEqual([[0, 1]])
    // The log goes on taking valid batches at the next offset.
    expect((await target.engine.append('bounded', 0, rawBatch([Date.now()]))).baseOffset).toBe(2)
  })

  test('a record further ahead than after.max.ms fails, inside a compressed batch too', async () => {
    const target = await open()
    await createTopic(target, 'bounded', { 'message.timestamp.after.max.ms': '1000' })
    const now = Date.now()
    const error = await target.engine.append('bounded', 0, rawBatch([now, now + 86_400_000], { compression: 'lz4' })).catch((caught: unknown) => caught)
    expect(isSluiceError(error) && error.code).toBe('INVALID_TIMESTAMP')
    await expect(target.engine.append('bounded', 0, rawBatch([now, now + 500], { compression: 'lz4' }))).resolves.toMatchObject({ baseOffset: 0, logAppendTime: -1 })
  })

  test('through the producer the error is typed and the next send goes through', async () => {
    const target = await open()
    await createTopic(target, 'bounded', { 'message.timestamp.before.max.ms': '60000' })
    const producer = target.producer({ acks: 1, retries: 0 })
    const error = await producer.send({ topic: 'bounded', messages: [{ value: 'old', timestamp: 1_000 }] }).catch((caught: unknown) => caught)
    expect(isSluiceError(error) && error.code).toBe('INVALID_TIMESTAMP')
    const [sent] = await producer.send({ topic: 'bounded', messages: [{ value: 'now' }] })
    expect(sent).toMatchObject({ logAppendTime: -1 })
    await producer.close()
    expect((await storedBatches(target, 'bounded')).length).toBe(1)
  })

  test('the default bounds check nothing', async () => {
    const target = await open()
    await createTopic(target, 'plain', {})
    await expect(target.engine.append('plain', 0, rawBatch([1, 2]))).resolves.toMatchObject({ baseOffset: 0, logAppendTime: -1 })
  })
})

describe('a batch the producer marked LogAppendTime itself', () => {
  test('is refused with INVALID_TIMESTAMP on a LogAppendTime topic', async () => {
    const target = await open()
    await createTopic(target, 'stamped', { 'message.timestamp.type': 'LogAppendTime' })
    const error = await target.engine.append('stamped', 0, rawBatch([1], { timestampType: 'LogAppendTime' })).catch((caught: unknown) => caught)
    expect(isSluiceError(error) && error.code).toBe('INVALID_TIMESTAMP')
    expect(target.engine.partitionLog('stamped', 0).logEndOffset).toBe(0)
  })

  test('is stored as CreateTime on a CreateTime topic, as Kafka does; without a time it is refused', async () => {
    const target = await open()
    await createTopic(target, 'plain', {})
    const marked = rawBatch([1_000, 1_005], { timestampType: 'LogAppendTime' })
    const copy = Buffer.from(marked)
    await expect(target.engine.append('plain', 0, marked)).resolves.toMatchObject({ baseOffset: 0, logAppendTime: -1 })
    expect(marked.equals(copy)).toBe(true)
    const [stored] = await storedBatches(target, 'plain')
    expect(stored!.attributes & 0x08).toBe(0)
    expect(stored!.timestamps).toEqual([1_000, 1_005])

    const untimed = encodeRecordBatch({ records: [{ key: null, value: Buffer.from('x'), timestamp: -1 }], timestampType: 'LogAppendTime', baseTimestamp: -1, maxTimestamp: -1 })
    const error = await target.engine.append('plain', 0, untimed).catch((caught: unknown) => caught)
    expect(isSluiceError(error) && error.code).toBe('INVALID_TIMESTAMP')
  })

  test('on a CreateTime topic with bounds, its time is checked against them', async () => {
    const target = await open()
    await createTopic(target, 'bounded', { 'message.timestamp.before.max.ms': '60000' })
    const error = await target.engine.append('bounded', 0, rawBatch([1_000], { timestampType: 'LogAppendTime' })).catch((caught: unknown) => caught)
    expect(isSluiceError(error) && error.code).toBe('INVALID_TIMESTAMP')
  })
})

test('an idempotent retry on a LogAppendTime topic is answered with the original stamp, also after a restart', async () => {
  let target = await open()
  await createTopic(target, 'stamped', { 'message.timestamp.type': 'LogAppendTime' })
  const { producerId } = await target.engine.initProducerId()
  const batch = encodeRecordBatch({ producerId, producerEpoch: 0, baseSequence: 0, records: [{ key: null, value: Buffer.from('once'), timestamp: 5 }] })
  const first = await target.engine.append('stamped', 0, batch)
  await new Promise((resolve) => setTimeout(resolve, 5))
  const retry = await target.engine.append('stamped', 0, batch)
  expect(retry).toMatchObject({ baseOffset: first.baseOffset, duplicate: true, logAppendTime: first.logAppendTime })
  await target.close()
  target = await open()
  expect(await target.engine.append('stamped', 0, batch)).toMatchObject({ baseOffset: first.baseOffset, duplicate: true, logAppendTime: first.logAppendTime })
  expect((await storedBatches(target, 'stamped')).length).toBe(1)
})

test('a corrupt batch is refused before any stamping: the CRC is never recomputed over bad bytes', async () => {
  const target = await open()
  await createTopic(target, 'stamped', { 'message.timestamp.type': 'LogAppendTime' })
  const batch = rawBatch([1, 2])
  batch[batch.length - 3]! ^= 0x40
  expect(crc32c(batch.subarray(BatchOffset.attributes))).not.toBe(batch.readUInt32BE(BatchOffset.crc))
  const error = await target.engine.append('stamped', 0, batch).catch((caught: unknown) => caught)
  expect(isSluiceError(error) && error.code).toBe('CORRUPT_MESSAGE')
  expect(target.engine.partitionLog('stamped', 0).logEndOffset).toBe(0)
})
