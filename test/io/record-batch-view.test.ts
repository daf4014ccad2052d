import { describe, expect } from 'vitest'
import { fc, test } from '@fast-check/vitest'
import { isSluiceError } from '../../src/core/errors.js'
import { crc32c } from '../../src/io/crc32c.js'
import { BatchOffset, RecordBatchView, encodeRecordBatch, type CompressionCodec, type KafkaRecord } from '../../src/io/record-batch.js'

const TS = 1_700_000_000_000

const arbRecord = fc.record({
  key: fc.option(fc.uint8Array({ maxLength: 16 }), { nil: null }),
  value: fc.option(fc.uint8Array({ maxLength: 64 }), { nil: null }),
  headers: fc.array(fc.record({ key: fc.string({ maxLength: 6 }), value: fc.option(fc.uint8Array({ maxLength: 6 }), { nil: null }) }), { maxLength: 2 }),
  timestampDelta: fc.integer({ min: 0, max: 10_000 })
})

function encode (records: ReadonlyArray<{ key: Uint8Array | null, value: Uint8Array | null, headers: Array<{ key: string, value: Uint8Array | null }>, timestampDelta: number }>, compression: CompressionCodec = 'none'): Buffer {
  return Buffer.from(encodeRecordBatch({
    baseOffset: 40,
    compression,
    records: records.map((record) => ({ key: record.key, value: record.value, headers: record.headers, timestamp: TS + record.timestampDelta }))
  }))
}

function drain (view: RecordBatchView): KafkaRecord[] {
  const records = view.records()
  const out: KafkaRecord[] = []
  for (let record = records.nextRecord(); record !== undefined; record = records.nextRecord()) out.push(record)
  return out
}

function codeOf (run: () => unknown): string | undefined {
  try {
    run()
  } catch (error) {
    return isSluiceError(error) ? error.code : 'not a SluiceError'
  }
  return undefined
}

describe('RecordIterator.nextRecord', () => {
  test.prop([fc.array(arbRecord, { maxLength: 20 }), fc.constantFrom<CompressionCodec>('none', 'gzip', 'lz4')])('yields exactly what the iterator protocol yields, then undefined', (records, compression) => {
    const view = RecordBatchView.from(encode(records, compression))
    const viaNext = drain(view)
    expect(viaNext).toEqual([...view])
    expect(viaNext.map((record) => record.offset)).toEqual(records.map((_, index) => 40 + index))
    expect(viaNext.map((record) => record.timestamp)).toEqual(records.map((record) => TS + record.timestampDelta))
    const iterator = view.records()
    for (let index = 0; index < records.length; index++) expect(iterator.nextRecord()).toBeDefined()
    expect(iterator.nextRecord()).toBeUndefined()
    // The end stays the end, and the iterator protocol agrees.
    expect(iterator.nextRecord()).toBeUndefined()
    expect(iterator.next()).toEqual({ done: true, value: undefined })
  })

  test('keys and values are views of the batch bytes (Buffers when the batch is a Buffer)', () => {
    const bytes = encode([{ key: Buffer.from('k1'), value: Buffer.from('value-1'), headers: [], timestampDelta: 0 }])
    const [record] = drain(RecordBatchView.from(bytes))
    expect(Buffer.isBuffer(record!.key)).toBe(true)
    expect(Buffer.isBuffer(record!.value)).toBe(true)
    expect(record!.value!.buffer).toBe(bytes.buffer)
    expect(record!.value!.toString()).toBe('value-1')
  })

  test('malformed records raise CORRUPT_MESSAGE as the iterator does', () => {
    const good = (): Buffer => encode([{ key: Buffer.from('k'), value: Buffer.from('v'), headers: [], timestampDelta: 0 }])
    const refreshCrc = (batch: Buffer): Buffer => {
      batch.writeUInt32BE(crc32c(batch.subarray(BatchOffset.attributes)), BatchOffset.crc)
      return batch
    }
    const overrun = good()
    overrun[BatchOffset.records] = overrun[BatchOffset.records]! + 2 // record length one more than its bytes
    expect(codeOf(() => drain(RecordBatchView.from(refreshCrc(overrun))))).toBe('CORRUPT_MESSAGE')
    const tooFew = good()
    tooFew.writeInt32BE(2, BatchOffset.recordsCount)
    expect(codeOf(() => drain(RecordBatchView.from(refreshCrc(tooFew))))).toBe('CORRUPT_MESSAGE')
    const tooMany = good()
    tooMany.writeInt32BE(0, BatchOffset.recordsCount)
    expect(codeOf(() => drain(RecordBatchView.from(refreshCrc(tooMany))))).toBe('CORRUPT_MESSAGE')
  })
})
