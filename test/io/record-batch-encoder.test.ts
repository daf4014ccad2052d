import { describe, expect } from 'vitest'
import { fc, test } from '@fast-check/vitest'
import { isSluiceError } from '../../src/core/errors.js'
import { RecordBatchEncoder, RecordBatchView, encodeRecordBatch, encodeRecordBatchColumns } from '../../src/io/record-batch.js'

const TS = 1_700_000_000_000
const arbBytes = fc.option(fc.uint8Array({ maxLength: 300 }), { nil: null })

describe('RecordBatchEncoder.encodeColumns', () => {
  test.prop([
    fc.array(fc.record({ key: arbBytes, value: arbBytes, timestamp: fc.integer({ min: TS, max: TS + 2 ** 40 }) }), { minLength: 1, maxLength: 120 }),
    fc.nat(),
    fc.nat(),
    fc.boolean(),
    fc.boolean()
  ])('a [start, end) range encodes the same bytes as the sliced columns', (records, a, b, withKeys, withTimestamps) => {
    const start = a % records.length
    const end = start + (b % (records.length - start + 1))
    const keys = withKeys ? records.map((record) => record.key) : null
    const values = records.map((record) => record.value)
    const timestamps = withTimestamps ? records.map((record) => record.timestamp) : undefined
    const fields = { baseTimestamp: TS, producerId: 7, producerEpoch: 1, baseSequence: 3 }
    const ranged = encodeRecordBatchColumns({ ...fields, keys, values, start, end, ...(timestamps === undefined ? {} : { timestamps }) })
    const sliced = encodeRecordBatchColumns({
      ...fields,
      keys: keys === null ? null : keys.slice(start, end),
      values: values.slice(start, end),
      ...(timestamps === undefined ? {} : { timestamps: timestamps.slice(start, end) })
    })
    expect(ranged.toString('hex')).toBe(sliced.toString('hex'))
    const decoded = [...RecordBatchView.from(ranged)]
    expect(decoded.map((record) => record.offset)).toEqual(Array.from({ length: end - start }, (_, index) => index))
  })

  test.prop([fc.array(fc.integer({ min: -200, max: 200 }), { minLength: 1, maxLength: 200 })])(
    'timestamps a few milliseconds apart (one-byte deltas and their edges) encode as the general path does',
    (offsets) => {
      const timestamps = offsets.map((offset) => TS + offset)
      const values = offsets.map((offset) => Buffer.from(String(offset)))
      const columns = encodeRecordBatchColumns({ keys: null, values, timestamps, baseTimestamp: TS })
      const general = encodeRecordBatch({ baseTimestamp: TS, records: values.map((value, index) => ({ value, timestamp: timestamps[index]! })) })
      expect(columns.toString('hex')).toBe(general.toString('hex'))
      expect([...RecordBatchView.from(columns)].map((record) => record.timestamp)).toEqual(timestamps)
    }
  )

  test('timestamps that are not safe integers raise SLUICE_INVALID_OPTION', () => {
    for (const bad of [TS + 0.5, 1.5, Number.NaN, 2 ** 60]) {
      let code = 'none'
      try {
        encodeRecordBatchColumns({ keys: null, values: [Buffer.from('a'), Buffer.from('b')], timestamps: [TS, bad], baseTimestamp: TS })
      } catch (error) {
        code = isSluiceError(error) ? error.code : 'other'
      }
      expect(code).toBe('SLUICE_INVALID_OPTION')
    }
  })

  test('a range outside the columns raises SLUICE_INVALID_OPTION', () => {
    const values = [Buffer.from('a'), Buffer.from('b')]
    for (const range of [{ start: -1 }, { start: 3 }, { start: 1, end: 0 }, { end: 3 }, { start: 0.5 }]) {
      let code = 'none'
      try {
        encodeRecordBatchColumns({ keys: null, values, ...range })
      } catch (error) {
        code = isSluiceError(error) ? error.code : 'other'
      }
      expect(code).toBe('SLUICE_INVALID_OPTION')
    }
  })

  test('a caller-owned target holds the batch when it fits, and a fresh buffer is used when not', () => {
    const encoder = new RecordBatchEncoder()
    const values = Array.from({ length: 50 }, (_, index) => Buffer.alloc(40, index))
    const expected = encoder.encodeColumns({ keys: null, values, baseTimestamp: TS })
    const owned = Buffer.alloc(64 * 1024, 0xee)
    const inOwned = encoder.encodeColumns({ keys: null, values, baseTimestamp: TS }, owned)
    expect(inOwned.buffer).toBe(owned.buffer)
    expect(inOwned.byteOffset).toBe(owned.byteOffset)
    expect(Buffer.compare(inOwned, expected)).toBe(0)
    // The bytes past the batch are left alone.
    expect(owned[expected.length]).toBe(0xee)

    const small = Buffer.alloc(100)
    const elsewhere = encoder.encodeColumns({ keys: null, values, baseTimestamp: TS }, small)
    expect(elsewhere.buffer).not.toBe(small.buffer)
    expect(Buffer.compare(elsewhere, expected)).toBe(0)

    // A compressed batch lands there too.
    const compressed = encoder.encodeColumns({ keys: null, values, baseTimestamp: TS, compression: 'lz4' }, owned)
    expect(compressed.buffer).toBe(owned.buffer)
    expect([...RecordBatchView.from(compressed)].map((record) => record.value![0])).toEqual(values.map((value) => value[0]))
  })
})
