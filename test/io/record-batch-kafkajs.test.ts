/**
 * Cross-checks the RecordBatch codec against kafkajs's independent implementation: batches
 * kafkajs encodes decode with ours, and batches we encode decode with kafkajs's decoder.
 *
 * kafkajs ships gzip only; snappy, lz4 and zstd are plugged into its codec table here through
 * Sluice's compression module, so those cases check the batch framing around the compressed
 * section (kafkajs's) against ours, not the codecs themselves (tested in compression's suite).
 */
import { createRequire } from 'node:module'
import { describe, expect } from 'vitest'
import { fc, test } from '@fast-check/vitest'
import { compress, decompress, type CompressionCodec } from '../../src/io/compression.js'
import { RecordBatchView, encodeRecordBatch, type RecordInput } from '../../src/io/record-batch.js'

const require = createRequire(import.meta.url)

interface KafkaJsEncoder { buffer: Buffer }
interface KafkaJsDecodedRecord {
  offset: string
  timestamp: string
  key: Buffer | null
  value: Buffer | null
  headers: Record<string, Buffer | Buffer[] | null>
}
interface KafkaJsDecodedBatch {
  firstOffset: string
  firstTimestamp: string
  maxTimestamp: string
  producerId: string
  producerEpoch: number
  firstSequence: number
  partitionLeaderEpoch: number
  lastOffsetDelta: number
  inTransaction: boolean
  records: KafkaJsDecodedRecord[]
}

const { RecordBatch } = require('kafkajs/src/protocol/recordBatch/v0') as {
  RecordBatch: (options: Record<string, unknown>) => Promise<KafkaJsEncoder>
}
const KafkaJsRecord = require('kafkajs/src/protocol/recordBatch/record/v0') as (options: Record<string, unknown>) => KafkaJsEncoder
const decodeKafkaJsBatch = require('kafkajs/src/protocol/recordBatch/v0/decoder') as (decoder: unknown) => Promise<KafkaJsDecodedBatch>
const KafkaJsDecoder = require('kafkajs/src/protocol/decoder') as new (buffer: Buffer) => unknown
const Long = require('kafkajs/src/utils/long') as { fromNumber: (value: number) => unknown }
const { Codecs, Types } = require('kafkajs/src/protocol/message/compression') as {
  Codecs: Record<number, () => unknown>
  Types: Record<string, number>
}

function plugCodec (id: number, codec: CompressionCodec): void {
  Codecs[id] = () => ({
    compress: async (encoder: KafkaJsEncoder) => await compress(codec, encoder.buffer),
    decompress: async (buffer: Buffer) => await decompress(codec, buffer)
  })
}
plugCodec(Types.Snappy!, 'snappy')
plugCodec(Types.LZ4!, 'lz4')
plugCodec(Types.ZSTD!, 'zstd')

const codecIds: Record<CompressionCodec, number> = { none: 0, gzip: 1, snappy: 2, lz4: 3, zstd: 4 }

// kafkajs models headers as an object (unique keys) with non-null values, and decodes a
// header key as a string: generate within that. The 'h' prefix keeps keys from looking like
// array indices, which a JS object would reorder.
const arbHeaders = fc.uniqueArray(fc.string({ maxLength: 6 }).map((key) => `h${key}`), { maxLength: 3 })
  .chain((keys) => fc.tuple(...keys.map((key) => fc.uint8Array({ maxLength: 12 }).map((value) => ({ key, value: Buffer.from(value) })))))
const arbNullableBytes = fc.oneof(fc.constant(null), fc.uint8Array({ maxLength: 64 }).map((bytes) => Buffer.from(bytes)))
const arbRecords = fc.array(fc.record({
  key: arbNullableBytes,
  value: arbNullableBytes,
  headers: arbHeaders,
  timestampDelta: fc.integer({ min: -(2 ** 35), max: 2 ** 35 })
}), { minLength: 1, maxLength: 20 })
const arbFields = fc.record({
  compression: fc.constantFrom<CompressionCodec>('none', 'gzip', 'snappy', 'lz4', 'zstd'),
  baseOffset: fc.integer({ min: 0, max: 2 ** 48 }),
  baseTimestamp: fc.integer({ min: 0, max: 2 ** 44 }),
  partitionLeaderEpoch: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
  isTransactional: fc.boolean(),
  producerId: fc.integer({ min: -1, max: 2 ** 48 }),
  producerEpoch: fc.integer({ min: 0, max: 2 ** 15 - 1 }),
  baseSequence: fc.integer({ min: 0, max: 2 ** 31 - 1 })
})

const bytesOrNull = (bytes: Uint8Array | null): Buffer | null => bytes === null ? null : Buffer.from(bytes)

describe('kafkajs cross-check', () => {
  test.prop([arbFields, arbRecords])('batches kafkajs encodes decode with RecordBatchView', async (fields, records) => {
    const timestamps = records.map((record) => fields.baseTimestamp + record.timestampDelta)
    const maxTimestamp = Math.max(...timestamps)
    const encoder = await RecordBatch({
      compression: codecIds[fields.compression],
      firstOffset: Long.fromNumber(fields.baseOffset),
      firstTimestamp: fields.baseTimestamp,
      maxTimestamp,
      partitionLeaderEpoch: fields.partitionLeaderEpoch,
      lastOffsetDelta: records.length - 1,
      transactional: fields.isTransactional,
      producerId: Long.fromNumber(fields.producerId),
      producerEpoch: fields.producerEpoch,
      firstSequence: fields.baseSequence,
      records: records.map((record, index) => KafkaJsRecord({
        offsetDelta: index,
        timestampDelta: record.timestampDelta,
        key: record.key,
        value: record.value,
        headers: Object.fromEntries(record.headers.map((header) => [header.key, header.value]))
      }))
    })
    const view = RecordBatchView.from(encoder.buffer, 0, { clientBatch: true })
    expect(view.compression).toBe(fields.compression)
    expect(view.baseOffset).toBe(fields.baseOffset)
    expect(view.baseTimestamp).toBe(fields.baseTimestamp)
    expect(view.maxTimestamp).toBe(maxTimestamp)
    expect(view.producerId).toBe(fields.producerId)
    expect(view.producerEpoch).toBe(fields.producerEpoch)
    expect(view.baseSequence).toBe(fields.baseSequence)
    expect(view.isTransactional).toBe(fields.isTransactional)
    const decoded = [...view]
    expect(decoded).toHaveLength(records.length)
    decoded.forEach((record, index) => {
      const expected = records[index]!
      expect(record.offset).toBe(fields.baseOffset + index)
      expect(record.timestamp).toBe(timestamps[index])
      expect(bytesOrNull(record.key)).toEqual(expected.key)
      expect(bytesOrNull(record.value)).toEqual(expected.value)
      expect(record.headers.map((header) => ({ key: header.key, value: bytesOrNull(header.value) }))).toEqual(expected.headers)
    })
  })

  test.prop([arbFields, arbRecords])('batches we encode decode with kafkajs', async (fields, records) => {
    const input: RecordInput[] = records.map((record) => ({
      key: record.key,
      value: record.value,
      headers: record.headers,
      timestamp: fields.baseTimestamp + record.timestampDelta
    }))
    const batch = encodeRecordBatch({ ...fields, records: input })
    const decoded = await decodeKafkaJsBatch(new KafkaJsDecoder(batch))
    expect(decoded.firstOffset).toBe(String(fields.baseOffset))
    expect(decoded.firstTimestamp).toBe(String(fields.baseTimestamp))
    expect(decoded.maxTimestamp).toBe(String(Math.max(...input.map((record) => record.timestamp!))))
    expect(decoded.producerId).toBe(String(fields.producerId))
    expect(decoded.producerEpoch).toBe(fields.producerEpoch)
    expect(decoded.firstSequence).toBe(fields.baseSequence)
    expect(decoded.partitionLeaderEpoch).toBe(fields.partitionLeaderEpoch)
    expect(decoded.lastOffsetDelta).toBe(records.length - 1)
    expect(decoded.inTransaction).toBe(fields.isTransactional)
    expect(decoded.records).toHaveLength(records.length)
    decoded.records.forEach((record, index) => {
      const expected = records[index]!
      expect(record.offset).toBe(String(fields.baseOffset + index))
      expect(record.timestamp).toBe(String(fields.baseTimestamp + expected.timestampDelta))
      expect(record.key).toEqual(expected.key)
      expect(record.value).toEqual(expected.value)
      expect(record.headers).toEqual(Object.fromEntries(expected.headers.map((header) => [header.key, header.value])))
    })
  })

  test('uncompressed batches are byte-identical to kafkajs for the same input', async () => {
    const records = [{ key: Buffer.from('k1'), value: Buffer.from('v1'), timestampDelta: 0 }, { key: null, value: Buffer.from('v2'), timestampDelta: 7 }]
    const fields = { baseOffset: 0, baseTimestamp: 1_700_000_000_000, partitionLeaderEpoch: 0, producerId: -1, producerEpoch: 0, baseSequence: 0 }
    const kafkajs = await RecordBatch({
      firstOffset: Long.fromNumber(0),
      firstTimestamp: fields.baseTimestamp,
      maxTimestamp: fields.baseTimestamp + 7,
      lastOffsetDelta: 1,
      records: records.map((record, index) => KafkaJsRecord({ offsetDelta: index, timestampDelta: record.timestampDelta, key: record.key, value: record.value }))
    })
    const ours = encodeRecordBatch({
      ...fields,
      records: records.map((record) => ({ key: record.key, value: record.value, timestamp: fields.baseTimestamp + record.timestampDelta }))
    })
    expect(ours.toString('hex')).toBe(kafkajs.buffer.toString('hex'))
  })
})
