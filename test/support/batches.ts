/**
 * Test-only RecordBatch v2 builder, written from the header layout and crc32c alone so the
 * storage tests do not depend on the codec under test elsewhere. Records have null keys, no
 * headers, timestamps `timestamp + index`.
 */
import { crc32c } from '../../src/io/crc32c.js'
import { BatchOffset, RECORD_BATCH_OVERHEAD } from '../../src/io/record-batch-header.js'

function zigzagVarint (value: number, out: number[]): void {
  let n = value >= 0 ? value * 2 : -value * 2 - 1
  while (n >= 0x80) {
    out.push((n % 0x80) | 0x80)
    n = Math.floor(n / 0x80)
  }
  out.push(n)
}

export interface TestBatchInput {
  values: Uint8Array[]
  timestamp?: number
  baseOffset?: number
}

/** One uncompressed batch of the given record values. */
export function makeBatch (input: TestBatchInput): Buffer {
  const timestamp = input.timestamp ?? 1_700_000_000_000
  const records: number[] = []
  input.values.forEach((value, index) => {
    const body: number[] = [0]
    zigzagVarint(index, body) // timestampDelta
    zigzagVarint(index, body) // offsetDelta
    zigzagVarint(-1, body) // null key
    zigzagVarint(value.byteLength, body)
    for (const byte of value) body.push(byte)
    zigzagVarint(0, body) // headers
    zigzagVarint(body.length, records)
    for (const byte of body) records.push(byte)
  })
  const batch = Buffer.alloc(RECORD_BATCH_OVERHEAD + records.length)
  const count = input.values.length
  batch.writeBigInt64BE(BigInt(input.baseOffset ?? 0), BatchOffset.baseOffset)
  batch.writeInt32BE(batch.length - 12, BatchOffset.batchLength)
  batch.writeInt32BE(-1, BatchOffset.partitionLeaderEpoch)
  batch.writeInt8(2, BatchOffset.magic)
  batch.writeInt16BE(0, BatchOffset.attributes)
  batch.writeInt32BE(count - 1, BatchOffset.lastOffsetDelta)
  batch.writeBigInt64BE(BigInt(timestamp), BatchOffset.baseTimestamp)
  batch.writeBigInt64BE(BigInt(timestamp + count - 1), BatchOffset.maxTimestamp)
  batch.writeBigInt64BE(-1n, BatchOffset.producerId)
  batch.writeInt16BE(-1, BatchOffset.producerEpoch)
  batch.writeInt32BE(-1, BatchOffset.baseSequence)
  batch.writeInt32BE(count, BatchOffset.recordsCount)
  Buffer.from(records).copy(batch, RECORD_BATCH_OVERHEAD)
  batch.writeUInt32BE(crc32c(batch.subarray(BatchOffset.attributes)), BatchOffset.crc)
  return batch
}

/** A batch of `count` records of `valueBytes` bytes each, values derived from `seed`. */
export function makeSizedBatch (count: number, valueBytes: number, seed = 0, timestamp?: number): Buffer {
  const values: Uint8Array[] = []
  for (let index = 0; index < count; index++) {
    const value = new Uint8Array(valueBytes)
    for (let at = 0; at < valueBytes; at++) value[at] = (seed * 31 + index * 7 + at) & 0xff
    values.push(value)
  }
  return makeBatch(timestamp === undefined ? { values } : { values, timestamp })
}

/** Splits stored bytes into batches (by their length fields). */
export function splitBatches (bytes: Uint8Array): Buffer[] {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const batches: Buffer[] = []
  let at = 0
  while (at + 12 <= buffer.length) {
    const size = buffer.readInt32BE(at + 8) + 12
    batches.push(buffer.subarray(at, at + size))
    at += size
  }
  return batches
}

/** baseOffset of a stored batch. */
export function baseOffsetOf (batch: Uint8Array): number {
  return Number(Buffer.from(batch.buffer, batch.byteOffset, batch.byteLength).readBigInt64BE(0))
}

/** The batch with its baseOffset field set, as the log stores it. */
export function withBaseOffset (batch: Uint8Array, baseOffset: number): Buffer {
  const copy = Buffer.from(batch)
  copy.writeBigInt64BE(BigInt(baseOffset), 0)
  return copy
}
