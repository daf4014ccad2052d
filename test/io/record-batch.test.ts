import { describe, expect } from 'vitest'
import { fc, test } from '@fast-check/vitest'
import { isSluiceError, type ErrorCode } from '../../src/core/errors.js'
import { crc32c } from '../../src/io/crc32c.js'
import {
  BatchOffset,
  ControlRecordType,
  RecordBatchEncoder,
  RecordBatchView,
  batchesIn,
  decodeRecordBatch,
  encodeEndTransactionMarker,
  encodeRecordBatch,
  encodeRecordBatchAsync,
  encodeRecordBatchColumns,
  readBatchHeader,
  readControlRecordKey,
  readEndTransactionMarker,
  validateBatch,
  validateBatchRecords,
  type CompressionCodec,
  type RecordBatchInput
} from '../../src/io/record-batch.js'

const hex = (text: string): Buffer => Buffer.from(text.replace(/\s+/g, ''), 'hex')
const TS = 1_700_000_000_000

// Reference vectors (RecordBatch v2, CRC-32C): V1 and V2 as kafkajs 2.2.4 encodes them.
const V1 = hex('0000000000000000 00000044 00000000 02 83794a1d 0000 00000000 0000018bcfe56800 0000018bcfe56800 ffffffffffffffff ffff ffffffff 00000001 24 00 00 00 06 6b6579 0a 76616c7565 02 02 68 02 76')
const V2 = hex('0000000000000000 00000041 00000000 02 c00f64e1 0000 00000001 0000018bcfe56800 0000018bcfe56805 ffffffffffffffff ffff ffffffff 00000002 0e00000001026100 0e000a0201026200')
const V3 = hex('0000000000000005 00000042 00000000 02 a1ac499f 0030 00000000 0000018bcfe56800 0000018bcfe56800 00000000000003e8 0000 ffffffff 00000001 20 00 00 00 08 00000001 0c 000000000000 00')

// kafkajs's fixture `src/protocol/recordBatch/fixtures/v0_recordbatch.json`: a gzip batch with
// LogAppendTime (attributes 0x0009) holding one record, written by a Kafka broker.
const KAFKAJS_FIXTURE = Buffer.from([
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 113, 0, 0, 0, 0, 2, 228, 195, 36, 165, 0, 9, 0, 0, 0, 0, 0, 0, 1, 115, 237, 245,
  255, 167, 0, 0, 1, 115, 237, 245, 255, 201, 255, 255, 255, 255, 255, 255, 255, 255, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 31,
  139, 8, 0, 0, 0, 0, 0, 0, 19, 11, 99, 96, 96, 224, 202, 78, 173, 212, 53, 112, 40, 75, 204, 41, 77, 213, 53, 208, 53,
  50, 48, 50, 208, 53, 176, 208, 53, 52, 9, 49, 52, 183, 50, 52, 182, 50, 176, 208, 51, 179, 48, 138, 98, 0, 0, 181,
  227, 241, 167, 44, 0, 0, 0
])

const text = (bytes: Uint8Array | null): string | null => bytes === null ? null : Buffer.from(bytes).toString('utf8')

function errorCodeOf (action: () => unknown): ErrorCode | 'none' | 'other' {
  try {
    action()
    return 'none'
  } catch (error) {
    return isSluiceError(error) ? error.code : 'other'
  }
}

/** Rewrites the CRC after a deliberate edit, so the edit reaches the parser behind the CRC check. */
function refreshCrc (batch: Buffer): Buffer {
  batch.writeUInt32BE(crc32c(batch.subarray(BatchOffset.attributes)), BatchOffset.crc)
  return batch
}

describe('reference vectors', () => {
  test('V1 (one record, key, value, one header) encodes byte for byte', () => {
    const batch = encodeRecordBatch({
      partitionLeaderEpoch: 0,
      records: [{ key: 'key', value: 'value', headers: [{ key: 'h', value: 'v' }], timestamp: TS }]
    })
    expect(batch.toString('hex')).toBe(V1.toString('hex'))
  })

  test('V1 decodes', () => {
    const decoded = decodeRecordBatch(V1)
    expect(decoded).toMatchObject({
      baseOffset: 0, batchLength: 0x44, partitionLeaderEpoch: 0, magic: 2, crc: 0x83794a1d, attributes: 0,
      lastOffsetDelta: 0, baseTimestamp: TS, maxTimestamp: TS, producerId: -1, producerEpoch: -1, baseSequence: -1,
      recordsCount: 1, compression: 'none', timestampType: 'CreateTime', isTransactional: false, isControl: false
    })
    expect(decoded.records).toHaveLength(1)
    const [record] = decoded.records
    expect(record!.offset).toBe(0)
    expect(record!.timestamp).toBe(TS)
    expect(text(record!.key)).toBe('key')
    expect(text(record!.value)).toBe('value')
    expect(record!.headers.map((header) => [header.key, text(header.value)])).toEqual([['h', 'v']])
  })

  test('V2 (null keys, timestamp deltas) encodes byte for byte on both paths', () => {
    const general = encodeRecordBatch({
      partitionLeaderEpoch: 0,
      records: [{ key: null, value: 'a', timestamp: TS }, { value: Buffer.from('b'), timestamp: TS + 5 }]
    })
    expect(general.toString('hex')).toBe(V2.toString('hex'))
    const columns = encodeRecordBatchColumns({ partitionLeaderEpoch: 0, keys: null, values: [Buffer.from('a'), Buffer.from('b')], timestamps: [TS, TS + 5] })
    expect(columns.toString('hex')).toBe(V2.toString('hex'))
  })

  test('V2 decodes', () => {
    const view = RecordBatchView.from(V2)
    expect(view.maxTimestamp).toBe(TS + 5)
    expect(view.lastOffset).toBe(1)
    const records = [...view]
    expect(records.map((record) => [record.offset, record.timestamp, record.key, text(record.value)])).toEqual([
      [0, TS, null, 'a'],
      [1, TS + 5, null, 'b']
    ])
  })

  test('V3 (COMMIT marker) encodes byte for byte and decodes as a marker', () => {
    const batch = encodeEndTransactionMarker({ commit: true, producerId: 1000, producerEpoch: 0, coordinatorEpoch: 0, baseOffset: 5, partitionLeaderEpoch: 0, timestamp: TS })
    expect(batch.toString('hex')).toBe(V3.toString('hex'))
    const view = RecordBatchView.from(V3)
    expect(view.isControl).toBe(true)
    expect(view.isTransactional).toBe(true)
    expect(view.producerId).toBe(1000)
    expect(view.baseSequence).toBe(-1)
    const [record] = [...view]
    expect(record!.offset).toBe(5)
    expect(readControlRecordKey(record!.key)).toEqual({ version: 0, type: ControlRecordType.COMMIT })
    expect(readEndTransactionMarker(record!.key, record!.value)).toEqual({ commit: true, coordinatorEpoch: 0 })
  })

  test('an ABORT marker carries its coordinator epoch', () => {
    const batch = encodeEndTransactionMarker({ commit: false, producerId: 7, producerEpoch: 3, coordinatorEpoch: 42, timestamp: TS })
    const [record] = [...RecordBatchView.from(batch)]
    expect(readEndTransactionMarker(record!.key, record!.value)).toEqual({ commit: false, coordinatorEpoch: 42 })
    expect(errorCodeOf(() => readEndTransactionMarker(Buffer.from('00000002', 'hex'), record!.value))).toBe('CORRUPT_MESSAGE')
    expect(errorCodeOf(() => readControlRecordKey(Buffer.from('ffff0001', 'hex')))).toBe('CORRUPT_MESSAGE')
    expect(errorCodeOf(() => readControlRecordKey(null))).toBe('CORRUPT_MESSAGE')
  })

  test('the kafkajs fixture (gzip, LogAppendTime) decodes', () => {
    expect(KAFKAJS_FIXTURE.length).toBe(125)
    const view = RecordBatchView.from(KAFKAJS_FIXTURE)
    expect(view.crc).toBe(0xe4c324a5)
    expect(view.attributes).toBe(0x0009)
    expect(view.compression).toBe('gzip')
    expect(view.timestampType).toBe('LogAppendTime')
    const records = [...view]
    expect(records).toHaveLength(1)
    expect(text(records[0]!.key)).toBe('key-0')
    expect(text(records[0]!.value)).toBe('value-0-2020-08-14T17:13:08.682Z')
    // LogAppendTime: every record reads the batch's maxTimestamp.
    expect(records[0]!.timestamp).toBe(view.maxTimestamp)
    expect(view.maxTimestamp).not.toBe(view.baseTimestamp)
  })
})

const codecs: CompressionCodec[] = ['none', 'gzip', 'snappy', 'lz4', 'zstd']

const arbBytes = fc.oneof(fc.constant(null), fc.uint8Array({ maxLength: 40 }).map((bytes) => Buffer.from(bytes)))
const arbRecord = fc.record({
  key: arbBytes,
  value: arbBytes,
  headers: fc.array(fc.record({ key: fc.string({ maxLength: 8, unit: 'grapheme' }), value: arbBytes }), { maxLength: 3 }),
  timestampDelta: fc.integer({ min: -(2 ** 40), max: 2 ** 40 })
})
const arbBatch = fc.record({
  baseOffset: fc.integer({ min: 0, max: 2 ** 50 }),
  partitionLeaderEpoch: fc.integer({ min: -1, max: 2 ** 31 - 1 }),
  compression: fc.constantFrom(...codecs),
  isTransactional: fc.boolean(),
  producerId: fc.integer({ min: -1, max: 2 ** 50 }),
  producerEpoch: fc.integer({ min: -1, max: 2 ** 15 - 1 }),
  baseSequence: fc.integer({ min: -1, max: 2 ** 31 - 1 }),
  baseTimestamp: fc.integer({ min: 0, max: 2 ** 45 }),
  records: fc.array(arbRecord, { maxLength: 24 })
})

type ArbBatch = typeof arbBatch extends fc.Arbitrary<infer T> ? T : never

function toInput (batch: ArbBatch): RecordBatchInput {
  const { records, ...fields } = batch
  return {
    ...fields,
    records: records.map((record) => ({
      key: record.key,
      value: record.value,
      headers: record.headers,
      timestamp: batch.baseTimestamp + record.timestampDelta
    }))
  }
}

function expectDecodedEquals (view: RecordBatchView, batch: ArbBatch): void {
  expect(view.baseOffset).toBe(batch.baseOffset)
  expect(view.partitionLeaderEpoch).toBe(batch.partitionLeaderEpoch)
  expect(view.compression).toBe(batch.compression)
  expect(view.isTransactional).toBe(batch.isTransactional)
  expect(view.producerId).toBe(batch.producerId)
  expect(view.producerEpoch).toBe(batch.producerEpoch)
  expect(view.baseSequence).toBe(batch.baseSequence)
  expect(view.recordsCount).toBe(batch.records.length)
  if (batch.records.length > 0) {
    expect(view.baseTimestamp).toBe(batch.baseTimestamp)
    expect(view.maxTimestamp).toBe(Math.max(...batch.records.map((record) => batch.baseTimestamp + record.timestampDelta)))
    expect(view.lastOffsetDelta).toBe(batch.records.length - 1)
  }
  const decoded = [...view]
  expect(decoded).toHaveLength(batch.records.length)
  decoded.forEach((record, index) => {
    const expected = batch.records[index]!
    expect(record.offset).toBe(batch.baseOffset + index)
    expect(record.timestamp).toBe(batch.baseTimestamp + expected.timestampDelta)
    expect(record.key === null ? null : Buffer.from(record.key)).toEqual(expected.key)
    expect(record.value === null ? null : Buffer.from(record.value)).toEqual(expected.value)
    expect(record.headers.map((header) => ({ key: header.key, value: header.value === null ? null : Buffer.from(header.value) }))).toEqual(expected.headers)
  })
}

describe('roundtrip', () => {
  test.prop([arbBatch])('decode(encode(batch)) = batch, for every codec', (batch) => {
    const encoded = encodeRecordBatch(toInput(batch))
    expect(validateBatch(encoded, 0).batchLength + 12).toBe(encoded.length)
    expectDecodedEquals(RecordBatchView.from(encoded), batch)
  })

  test.prop([arbBatch])('the async encoder builds the same batch', async (batch) => {
    const encoded = await encodeRecordBatchAsync(toInput(batch))
    expectDecodedEquals(RecordBatchView.from(encoded), batch)
    const view = RecordBatchView.from(encoded)
    await view.loadRecords()
    expectDecodedEquals(view, batch)
  })

  test.prop([
    fc.array(fc.record({ key: arbBytes, value: arbBytes, timestamp: fc.integer({ min: 0, max: 2 ** 45 }) }), { minLength: 1, maxLength: 40 }),
    fc.boolean(),
    fc.boolean()
  ])('the columns fast path writes the same bytes as the general path', (records, withKeys, withTimestamps) => {
    const keys = withKeys ? records.map((record) => record.key) : null
    const values = records.map((record) => record.value)
    const timestamps = withTimestamps ? records.map((record) => record.timestamp) : undefined
    const baseTimestamp = records[0]!.timestamp
    const columns = encodeRecordBatchColumns({ keys, values, baseTimestamp, ...(timestamps === undefined ? {} : { timestamps }) })
    const general = encodeRecordBatch({
      baseTimestamp,
      records: records.map((record) => ({ key: withKeys ? record.key : null, value: record.value, timestamp: withTimestamps ? record.timestamp : baseTimestamp }))
    })
    expect(columns.toString('hex')).toBe(general.toString('hex'))
  })

  test('a scratch-target encode returns the same bytes, and is overwritten by the next call', () => {
    const encoder = new RecordBatchEncoder()
    const values = Array.from({ length: 100 }, (_, index) => Buffer.alloc(50, index))
    const fresh = encoder.encodeColumns({ keys: null, values, baseTimestamp: TS })
    const scratch = encoder.encodeColumns({ keys: null, values, baseTimestamp: TS }, 'scratch')
    expect(Buffer.compare(fresh, scratch)).toBe(0)
    const copy = Buffer.from(scratch)
    encoder.encodeColumns({ keys: null, values: values.slice(1), baseTimestamp: TS }, 'scratch')
    expect(Buffer.compare(copy, scratch)).not.toBe(0)
    for (const compression of codecs) {
      const compressed = encoder.encode({ compression, baseTimestamp: TS, records: values.map((value) => ({ value })) }, 'scratch')
      expect([...RecordBatchView.from(compressed)].map((record) => record.value![0])).toEqual(values.map((value) => value[0]))
    }
  })

  test('an empty batch has timestamps -1 and no records', () => {
    const batch = encodeRecordBatch({ records: [] })
    const view = RecordBatchView.from(batch)
    expect(view.recordsCount).toBe(0)
    expect(view.baseTimestamp).toBe(-1)
    expect(view.maxTimestamp).toBe(-1)
    expect([...view]).toEqual([])
  })

  test('LogAppendTime batches read every record at maxTimestamp', () => {
    const batch = encodeRecordBatch({ timestampType: 'LogAppendTime', maxTimestamp: TS + 99, records: [{ value: 'a', timestamp: TS }, { value: 'b', timestamp: TS + 1 }] })
    expect([...RecordBatchView.from(batch)].map((record) => record.timestamp)).toEqual([TS + 99, TS + 99])
  })

  test('a delete-horizon batch keeps record timestamps relative to the horizon', () => {
    const horizon = TS + 86_400_000
    const batch = encodeRecordBatch({ hasDeleteHorizon: true, baseTimestamp: horizon, records: [{ key: 'k', value: null, timestamp: TS }] })
    const view = RecordBatchView.from(batch)
    expect(view.hasDeleteHorizon).toBe(true)
    expect(view.baseTimestamp).toBe(horizon)
    expect(view.maxTimestamp).toBe(TS)
    expect([...view][0]!.timestamp).toBe(TS)
  })

  test('string keys, values and header values are UTF-8', () => {
    const batch = encodeRecordBatch({ records: [{ key: 'clé', value: 'värde ✓', headers: [{ key: 'ключ', value: 'значение' }], timestamp: TS }] })
    const [record] = [...RecordBatchView.from(batch)]
    expect(text(record!.key)).toBe('clé')
    expect(text(record!.value)).toBe('värde ✓')
    expect(record!.headers[0]!.key).toBe('ключ')
    expect(text(record!.headers[0]!.value)).toBe('значение')
  })

  test('invalid encoder input raises SLUICE_INVALID_OPTION', () => {
    const cases: Array<() => unknown> = [
      () => encodeRecordBatch({ records: [{ value: 42 as unknown as string }] }),
      () => encodeRecordBatch({ records: [null as unknown as { value: null }] }),
      () => encodeRecordBatch({ records: [{ value: null, timestamp: 1.5 }] }),
      () => encodeRecordBatch({ records: [{ value: null, offsetDelta: -1 }] }),
      () => encodeRecordBatch({ producerEpoch: 40000, records: [] }),
      () => encodeRecordBatch({ compression: 'toString' as CompressionCodec, records: [] }),
      () => encodeRecordBatch({ records: [{ value: null, headers: [{ key: 3 as unknown as string, value: null }] }] }),
      () => encodeRecordBatchColumns({ keys: [null], values: [null, null] }),
      () => encodeRecordBatchColumns({ keys: null, values: ['text' as unknown as Uint8Array] })
    ]
    for (const action of cases) expect(errorCodeOf(action)).toBe('SLUICE_INVALID_OPTION')
  })
})

describe('several batches in one buffer', () => {
  test.prop([fc.array(arbBatch, { minLength: 1, maxLength: 4 })])('batchesIn yields each complete batch and stops at a cut-off one', (batches) => {
    const encoded = batches.map((batch) => encodeRecordBatch(toInput(batch)))
    const all = Buffer.concat(encoded)
    const starts: number[] = []
    let position = 0
    for (const batch of encoded) {
      starts.push(position)
      position += batch.length
    }
    const views = [...batchesIn(all)]
    expect(views.map((view) => view.sizeInBytes)).toEqual(encoded.map((batch) => batch.length))
    views.forEach((view, index) => expectDecodedEquals(view, batches[index]!))
    // Cut inside the last batch at every point: only the complete batches before it come out.
    const lastStart = starts[starts.length - 1]!
    for (let cut = lastStart; cut < all.length; cut++) {
      expect([...batchesIn(all.subarray(0, cut))]).toHaveLength(encoded.length - 1)
    }
  })
})

describe('bad input', () => {
  const good = (): Buffer => Buffer.from(V1)

  test('truncated batches raise CORRUPT_MESSAGE', () => {
    for (let length = 0; length < V1.length; length++) {
      expect(errorCodeOf(() => RecordBatchView.from(V1.subarray(0, length)))).toBe('CORRUPT_MESSAGE')
      expect(errorCodeOf(() => decodeRecordBatch(V1.subarray(0, length)))).toBe('CORRUPT_MESSAGE')
    }
  })

  test('a wrong magic raises CORRUPT_MESSAGE', () => {
    for (const magic of [0, 1, 3, 0xff]) {
      const batch = good()
      batch[BatchOffset.magic] = magic
      expect(errorCodeOf(() => RecordBatchView.from(batch))).toBe('CORRUPT_MESSAGE')
    }
  })

  test('a CRC mismatch raises CORRUPT_MESSAGE, and skipping the check still parses', () => {
    const batch = good()
    batch.writeUInt8(batch.readUInt8(batch.length - 1) ^ 0x01, batch.length - 1)
    expect(errorCodeOf(() => RecordBatchView.from(batch))).toBe('CORRUPT_MESSAGE')
    expect(text([...RecordBatchView.unchecked(batch)][0]!.headers[0]!.value)).toBe('w')
  })

  test('negative, tiny and oversized batch lengths raise CORRUPT_MESSAGE', () => {
    for (const length of [-1, -0x80000000, 0, 48, 0x7fffffff, V1.length - 11]) {
      const batch = good()
      batch.writeInt32BE(length, BatchOffset.batchLength)
      expect(errorCodeOf(() => RecordBatchView.from(batch))).toBe('CORRUPT_MESSAGE')
      expect(errorCodeOf(() => [...batchesIn(batch)])).toBe(length < 49 ? 'CORRUPT_MESSAGE' : 'none')
    }
  })

  test('batchBytesMax is enforced as MESSAGE_TOO_LARGE', () => {
    expect(errorCodeOf(() => validateBatch(V1, 0, { batchBytesMax: V1.length - 1 }))).toBe('MESSAGE_TOO_LARGE')
    expect(errorCodeOf(() => validateBatch(V1, 0, { batchBytesMax: V1.length }))).toBe('none')
  })

  test('record lengths that overrun the section raise CORRUPT_MESSAGE', () => {
    const batch = good()
    batch[BatchOffset.records] = 0x26 // record length 19 instead of 18
    expect(errorCodeOf(() => [...RecordBatchView.from(refreshCrc(batch))])).toBe('CORRUPT_MESSAGE')
    const short = good()
    short[BatchOffset.records] = 0x22 // 17: the headers overrun the declared record
    expect(errorCodeOf(() => [...RecordBatchView.from(refreshCrc(short))])).toBe('CORRUPT_MESSAGE')
    const count = good()
    count.writeInt32BE(2, BatchOffset.recordsCount)
    expect(errorCodeOf(() => [...RecordBatchView.from(refreshCrc(count))])).toBe('CORRUPT_MESSAGE')
    count.writeInt32BE(0, BatchOffset.recordsCount)
    expect(errorCodeOf(() => [...RecordBatchView.from(refreshCrc(count))])).toBe('CORRUPT_MESSAGE')
    count.writeInt32BE(-5, BatchOffset.recordsCount)
    expect(errorCodeOf(() => RecordBatchView.from(refreshCrc(count)))).toBe('CORRUPT_MESSAGE')
  })

  test('unknown compression ids raise UNSUPPORTED_COMPRESSION_TYPE', () => {
    for (const id of [5, 6, 7]) {
      const batch = good()
      batch[BatchOffset.attributes + 1] = id
      expect(errorCodeOf(() => RecordBatchView.from(refreshCrc(batch)))).toBe('UNSUPPORTED_COMPRESSION_TYPE')
    }
  })

  test('a records section that does not decompress raises CORRUPT_MESSAGE', () => {
    for (const id of [1, 2, 3, 4]) {
      const batch = good()
      batch[BatchOffset.attributes + 1] = id
      expect(errorCodeOf(() => [...RecordBatchView.from(refreshCrc(batch))])).toBe('CORRUPT_MESSAGE')
    }
  })

  test('client-batch rules raise INVALID_RECORD', () => {
    expect(errorCodeOf(() => validateBatch(V1, 0, { clientBatch: true }))).toBe('none')
    expect(errorCodeOf(() => validateBatch(V3, 0, { clientBatch: true }))).toBe('INVALID_RECORD')
    const delta = good()
    delta.writeInt32BE(3, BatchOffset.lastOffsetDelta)
    expect(errorCodeOf(() => validateBatch(refreshCrc(delta), 0, { clientBatch: true }))).toBe('INVALID_RECORD')
    expect(errorCodeOf(() => validateBatch(delta, 0))).toBe('none')
    const sequence = encodeRecordBatch({ producerId: 5, producerEpoch: 0, baseSequence: -1, records: [{ value: 'x' }] })
    expect(errorCodeOf(() => validateBatch(sequence, 0, { clientBatch: true }))).toBe('INVALID_RECORD')
  })

  test('record-level client rules: offsetDeltas 0..n-1 and, for compacted topics, keys', () => {
    const good = encodeRecordBatch({ records: [{ key: 'a', value: 'x' }, { key: 'b', value: 'y' }] })
    expect(validateBatchRecords(RecordBatchView.from(good), { requireKeys: true })).toBe(2)
    const gap = encodeRecordBatch({ records: [{ key: 'a', value: 'x' }, { key: 'b', value: 'y', offsetDelta: 2 }] })
    expect(errorCodeOf(() => validateBatchRecords(RecordBatchView.from(gap)))).toBe('INVALID_RECORD')
    const keyless = encodeRecordBatch({ compression: 'lz4', records: [{ key: 'a', value: 'x' }, { key: null, value: 'y' }] })
    expect(validateBatchRecords(RecordBatchView.from(keyless))).toBe(2)
    expect(errorCodeOf(() => validateBatchRecords(RecordBatchView.from(keyless), { requireKeys: true }))).toBe('INVALID_RECORD')
  })

  test('int64 header fields outside the safe range raise CORRUPT_MESSAGE', () => {
    const batch = good()
    batch.writeBigInt64BE(2n ** 60n, BatchOffset.maxTimestamp)
    expect(errorCodeOf(() => RecordBatchView.from(refreshCrc(batch)))).toBe('CORRUPT_MESSAGE')
    expect(errorCodeOf(() => readBatchHeader(batch, 0))).toBe('CORRUPT_MESSAGE')
  })
})

/** Decodes everything reachable; the only acceptable failure is a SluiceError. */
function decodeFully (bytes: Uint8Array, verifyCrc: boolean): void {
  for (const view of batchesIn(bytes, { verifyCrc })) {
    const header = view.header()
    let count = 0
    for (const record of view) {
      count++
      if (record.key !== null) expect(record.key.buffer).toBeDefined()
      expect(record.offsetDelta).toBeGreaterThanOrEqual(-0x80000000)
    }
    expect(count).toBe(header.recordsCount)
  }
}

function expectDecodeOrSluiceError (bytes: Uint8Array, verifyCrc: boolean): void {
  try {
    decodeFully(bytes, verifyCrc)
  } catch (error) {
    if (!isSluiceError(error)) throw error
  }
}

describe('mutations never escape as another exception type', () => {
  const arbSmallBatch = arbBatch.map((batch) => ({ ...batch, records: batch.records.slice(0, 6) }))

  test.prop([arbSmallBatch, fc.array(fc.record({ index: fc.nat(), xor: fc.integer({ min: 1, max: 255 }) }), { minLength: 1, maxLength: 4 }), fc.boolean()], { numRuns: 500 })(
    'byte flips (CRC refreshed or not) decode or raise a SluiceError',
    (batch, flips, fixCrc) => {
      const encoded = encodeRecordBatch(toInput(batch))
      for (const flip of flips) {
        const index = flip.index % encoded.length
        encoded.writeUInt8(encoded.readUInt8(index) ^ flip.xor, index)
      }
      if (fixCrc && encoded.length >= BatchOffset.records) refreshCrc(encoded)
      expectDecodeOrSluiceError(encoded, true)
      expectDecodeOrSluiceError(encoded, false)
      expect(errorCodeOf(() => RecordBatchView.from(encoded))).not.toBe('other')
    }
  )

  test.prop([arbSmallBatch, fc.nat()], { numRuns: 300 })('truncations decode or raise a SluiceError', (batch, cut) => {
    const encoded = encodeRecordBatch(toInput(batch))
    const truncated = encoded.subarray(0, cut % encoded.length)
    expectDecodeOrSluiceError(truncated, true)
    expect(errorCodeOf(() => decodeRecordBatch(truncated))).toBe('CORRUPT_MESSAGE')
    // A truncated batch whose length field is patched to match reaches the record parser.
    if (truncated.length >= BatchOffset.records) {
      const patched = Buffer.from(truncated)
      patched.writeInt32BE(patched.length - 12, BatchOffset.batchLength)
      expectDecodeOrSluiceError(refreshCrc(patched), true)
    }
  })

  test.prop([fc.uint8Array({ maxLength: 300 }), fc.boolean()], { numRuns: 1000 })('random bytes decode or raise a SluiceError', (bytes, withHeader) => {
    const buffer = Buffer.from(bytes)
    if (withHeader && buffer.length >= BatchOffset.records) {
      // Give the noise a plausible header so the record parser and codecs see it.
      buffer.writeInt32BE(buffer.length - 12, BatchOffset.batchLength)
      buffer[BatchOffset.magic] = 2
      buffer.writeInt32BE(buffer.readInt32BE(BatchOffset.recordsCount) & 0xf, BatchOffset.recordsCount)
      buffer.fill(0, BatchOffset.baseTimestamp, BatchOffset.baseTimestamp + 2)
      buffer.fill(0, BatchOffset.maxTimestamp, BatchOffset.maxTimestamp + 2)
      buffer.fill(0, BatchOffset.producerId, BatchOffset.producerId + 2)
      buffer.fill(0, BatchOffset.baseOffset, BatchOffset.baseOffset + 2)
      refreshCrc(buffer)
    }
    expectDecodeOrSluiceError(buffer, true)
    expectDecodeOrSluiceError(buffer, false)
  })
})
