/**
 * RecordBatch v2 encoder: records in, one Kafka batch (header + records, CRC-32C) out.
 *
 * Every batch is written straight into one buffer: a first pass computes each record's size
 * (kept in a reusable Int32Array so the second pass does not recompute it), the buffer is
 * allocated once at its exact size, the second pass writes header fields and records in place,
 * and the CRC is computed last over bytes [21, end). No per-record buffers, no concatenation.
 * `Buffer.allocUnsafe` is safe here because the write pass covers every byte (asserted).
 *
 * Record layout (all varints zigzag; see varint.ts):
 *
 * | field            | type    | notes                                   |
 * |------------------|---------|-----------------------------------------|
 * | length           | varint  | bytes of the fields below               |
 * | attributes       | int8    | 0                                       |
 * | timestampDelta   | varlong | timestamp - baseTimestamp               |
 * | offsetDelta      | varint  | offset - baseOffset                     |
 * | keyLength, key   | varint  | -1 = null key                           |
 * | valueLength,value| varint  | -1 = null value (tombstone)             |
 * | headersCount     | varint  | then per header: key (varint len, UTF-8), value (varint len or -1) |
 *
 * Two entry points: `encode` takes one object per record (any shape: string or byte keys and
 * values, headers, timestamps); `encodeColumns` takes parallel arrays of keys and values and is
 * the fast path for the common producer shape. A compressed batch writes its records to the
 * scratch first, compresses them, then builds the batch around the compressed bytes.
 *
 * Output: a fresh exact-size Buffer by default; with target 'scratch' a view of the encoder's
 * growable scratch, valid until the encoder's next call (for callers that copy or write it out
 * immediately); with a caller-owned Buffer as target, a view of its start when the batch fits
 * (else a fresh Buffer). A producer reuses its large batch buffers that way: fresh 256 KiB
 * Buffers are external memory, and V8 answers external memory growth with extra scavenges.
 */
import { assert } from '../core/assert.js'
import { SluiceError } from '../core/errors.js'
import { crc32c } from './crc32c.js'
import {
  BatchAttribute,
  BatchOffset,
  CURRENT_MAGIC,
  LOG_OVERHEAD,
  NO_PARTITION_LEADER_EPOCH,
  NO_PRODUCER_EPOCH,
  NO_SEQUENCE,
  RECORD_BATCH_OVERHEAD,
  writeInt32,
  writeInt64
} from './record-batch-header.js'
import {
  attributesOfCodec,
  compressRecords,
  compressRecordsSync,
  type CompressionCodec
} from './record-batch-compression.js'
import { sizeOfVarint, sizeOfVarlong, writeVarint, writeVarlong } from './varint.js'

export type TimestampType = 'CreateTime' | 'LogAppendTime'

/** Bytes or a string (encoded as UTF-8). */
export type RecordBytes = Uint8Array | string

export interface RecordHeaderInput {
  key: string
  value: RecordBytes | null
}

export interface RecordInput {
  key?: RecordBytes | null
  value: RecordBytes | null
  headers?: readonly RecordHeaderInput[]
  /** Milliseconds since the epoch. @defaultValue the batch's baseTimestamp */
  timestamp?: number
  /** Offset relative to the batch's baseOffset. @defaultValue the record's index */
  offsetDelta?: number
}

/** The batch-level fields; everything has Kafka's "none" default. */
export interface RecordBatchFields {
  /** @defaultValue 0 (a producer sends 0; the log assigns the real offset on append) */
  baseOffset?: number
  /** @defaultValue -1 (NO_PARTITION_LEADER_EPOCH) */
  partitionLeaderEpoch?: number
  /** @defaultValue 'none' */
  compression?: CompressionCodec
  /** @defaultValue 'CreateTime' */
  timestampType?: TimestampType
  /** @defaultValue false */
  isTransactional?: boolean
  /** @defaultValue false */
  isControl?: boolean
  /**
   * Sets attribute bit 6 (KIP-534): baseTimestamp is the delete horizon the log cleaner chose,
   * and record timestamps stay relative to it. Pass the horizon as `baseTimestamp`.
   * @defaultValue false
   */
  hasDeleteHorizon?: boolean
  /** @defaultValue -1 (not idempotent) */
  producerId?: number
  /** @defaultValue -1 */
  producerEpoch?: number
  /** @defaultValue -1 */
  baseSequence?: number
  /** @defaultValue the first record's timestamp, else the current time; -1 for an empty batch */
  baseTimestamp?: number
  /** @defaultValue the largest record timestamp; -1 for an empty batch */
  maxTimestamp?: number
  /** @defaultValue the last record's offsetDelta (records.length - 1 with default deltas) */
  lastOffsetDelta?: number
}

export interface RecordBatchInput extends RecordBatchFields {
  records: readonly RecordInput[]
}

/**
 * Records as parallel arrays: the batch holds the records at indexes [start, end); record i has
 * key `keys[i]` (or null when `keys` is null), value `values[i]`, offsetDelta i - start, no
 * headers, and timestamp `timestamps[i]` (or the batch's baseTimestamp). The arrays have equal
 * lengths.
 */
export interface RecordBatchColumns extends RecordBatchFields {
  keys: ArrayLike<Uint8Array | null> | null
  values: ArrayLike<Uint8Array | null>
  timestamps?: ArrayLike<number>
  /** First index of the batch's records. @defaultValue 0 */
  start?: number
  /** Index after the batch's last record. @defaultValue values.length */
  end?: number
}

/**
 * Where an encoder puts its output: a fresh Buffer, a view of its reused scratch, or a view of a
 * caller-owned Buffer (when the batch fits in it; otherwise a fresh Buffer).
 */
export type EncodeTarget = 'fresh' | 'scratch' | Buffer

/** Largest batch an encoder builds: batchLength is an int32. */
const BATCH_BYTES_MAX = 2 ** 31 - 1

/** Payloads up to this size are copied by a byte loop; above it `TypedArray#set` wins. */
const SMALL_COPY_BYTES = 24

/** The resolved batch fields, after defaults. */
interface ResolvedFields {
  baseOffset: number
  partitionLeaderEpoch: number
  attributes: number
  producerId: number
  producerEpoch: number
  baseSequence: number
}

function invalid (message: string): SluiceError {
  return new SluiceError('SLUICE_INVALID_OPTION', message)
}

function checkInt (name: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) throw invalid(`${name} must be an integer in [${min}, ${max}], got ${String(value)}`)
  return value
}

function checkSafe (name: string, value: number): number {
  if (!Number.isSafeInteger(value)) throw invalid(`${name} must be a safe integer, got ${String(value)}`)
  return value
}

const codecNames: readonly CompressionCodec[] = ['none', 'gzip', 'snappy', 'lz4', 'zstd']

function resolveFields (input: RecordBatchFields): ResolvedFields {
  const compression = input.compression ?? 'none'
  if (!codecNames.includes(compression)) throw invalid(`compression must be one of ${codecNames.join(', ')}, got ${String(compression)}`)
  let attributes = attributesOfCodec(compression)
  const timestampType = input.timestampType ?? 'CreateTime'
  if (timestampType === 'LogAppendTime') attributes |= BatchAttribute.timestampTypeLogAppend
  else if (timestampType !== 'CreateTime') throw invalid(`timestampType must be CreateTime or LogAppendTime, got ${String(timestampType)}`)
  if (input.isTransactional === true) attributes |= BatchAttribute.transactional
  if (input.isControl === true) attributes |= BatchAttribute.control
  if (input.hasDeleteHorizon === true) attributes |= BatchAttribute.deleteHorizon
  return {
    baseOffset: checkSafe('baseOffset', input.baseOffset ?? 0),
    partitionLeaderEpoch: checkInt('partitionLeaderEpoch', input.partitionLeaderEpoch ?? NO_PARTITION_LEADER_EPOCH, -0x80000000, 0x7fffffff),
    attributes,
    producerId: checkSafe('producerId', input.producerId ?? -1),
    producerEpoch: checkInt('producerEpoch', input.producerEpoch ?? NO_PRODUCER_EPOCH, -0x8000, 0x7fff),
    baseSequence: checkInt('baseSequence', input.baseSequence ?? NO_SEQUENCE, -0x80000000, 0x7fffffff)
  }
}

function sizeOfBytesField (bytes: RecordBytes | null | undefined): number {
  if (bytes === null || bytes === undefined) return 1
  const length = typeof bytes === 'string' ? Buffer.byteLength(bytes, 'utf8') : bytes.length
  return sizeOfVarint(length) + length
}

/** Writes a length-prefixed bytes field (null = -1); returns the next position. */
function writeBytesField (target: Buffer, position: number, bytes: RecordBytes | null | undefined): number {
  if (bytes === null || bytes === undefined) {
    target[position] = 1 // zigzag(-1)
    return position + 1
  }
  if (typeof bytes === 'string') {
    const length = Buffer.byteLength(bytes, 'utf8')
    position = writeVarint(target, position, length)
    return position + target.write(bytes, position, length, 'utf8')
  }
  position = writeVarint(target, position, bytes.length)
  return copyBytes(target, position, bytes)
}

function copyBytes (target: Uint8Array, position: number, source: Uint8Array): number {
  const length = source.length
  if (length <= SMALL_COPY_BYTES) {
    for (let index = 0; index < length; index++) target[position + index] = source[index]!
  } else {
    target.set(source, position)
  }
  return position + length
}

function checkPayload (name: string, bytes: unknown): void {
  if (bytes !== null && bytes !== undefined && typeof bytes !== 'string' && !(bytes instanceof Uint8Array)) {
    throw invalid(`${name} must be a Uint8Array, a string or null`)
  }
}

/**
 * A reusable batch encoder. Holds a growable scratch (record sizes and, for compressed or
 * 'scratch'-target batches, the bytes), so steady-state encoding allocates only its output.
 * Not reentrant: one call at a time (the scratch is shared between calls).
 */
export class RecordBatchEncoder {
  #sizes = new Int32Array(1024)
  #scratch: Buffer = Buffer.allocUnsafe(64 * 1024)

  /** Encodes records given one object each. */
  encode (input: RecordBatchInput, target: EncodeTarget = 'fresh'): Buffer {
    const { section, batch, recordsEnd, compression } = this.#writeGeneral(input, target)
    if (compression === 'none') return this.#finish(batch, recordsEnd)
    return this.#finishCompressed(batch, compressRecordsSync(compression, section), target)
  }

  /** `encode`, compressing (when the batch asks for it) off the main thread. */
  async encodeAsync (input: RecordBatchInput, target: EncodeTarget = 'fresh'): Promise<Buffer> {
    const { batch, recordsEnd, compression } = this.#writeGeneral(input, target)
    if (compression === 'none') return this.#finish(batch, recordsEnd)
    // Another call may reuse the scratch while compression runs: stage a copy of it.
    const staged = Buffer.from(batch.subarray(0, recordsEnd))
    const compressed = await compressRecords(compression, staged.subarray(RECORD_BATCH_OVERHEAD))
    return this.#finishCompressed(staged, compressed, target)
  }

  /** Encodes records given as parallel key/value arrays: the fast path. */
  encodeColumns (input: RecordBatchColumns, target: EncodeTarget = 'fresh'): Buffer {
    const { section, batch, recordsEnd, compression } = this.#writeColumns(input, target)
    if (compression === 'none') return this.#finish(batch, recordsEnd)
    return this.#finishCompressed(batch, compressRecordsSync(compression, section), target)
  }

  /** `encodeColumns`, compressing off the main thread. */
  async encodeColumnsAsync (input: RecordBatchColumns, target: EncodeTarget = 'fresh'): Promise<Buffer> {
    const { batch, recordsEnd, compression } = this.#writeColumns(input, target)
    if (compression === 'none') return this.#finish(batch, recordsEnd)
    const staged = Buffer.from(batch.subarray(0, recordsEnd))
    const compressed = await compressRecords(compression, staged.subarray(RECORD_BATCH_OVERHEAD))
    return this.#finishCompressed(staged, compressed, target)
  }

  #sizesFor (count: number): Int32Array {
    if (this.#sizes.length < count) this.#sizes = new Int32Array(Math.max(count, this.#sizes.length * 2))
    return this.#sizes
  }

  /** A buffer of exactly `size` bytes: fresh, a view of the (grown) scratch or of the caller's. */
  #bufferFor (size: number, target: EncodeTarget): Buffer {
    if (target === 'fresh') return Buffer.allocUnsafe(size)
    if (target !== 'scratch') return target.length >= size ? target.subarray(0, size) : Buffer.allocUnsafe(size)
    if (this.#scratch.length < size) this.#scratch = Buffer.allocUnsafe(Math.max(size, this.#scratch.length * 2))
    return this.#scratch.subarray(0, size)
  }

  /**
   * Writes the header fields (not the CRC, not the length) and the uncompressed records. For a
   * compressed batch the records go to the scratch at offset RECORD_BATCH_OVERHEAD and the
   * returned `section` is them.
   */
  #writeGeneral (input: RecordBatchInput, target: EncodeTarget): Written {
    const fields = resolveFields(input)
    const records = input.records
    if (!Array.isArray(records)) throw invalid('records must be an array')
    const count = records.length
    checkInt('records.length', count, 0, 0x7fffffff)
    const sizes = this.#sizesFor(count)

    const first = records[0] as RecordInput | undefined | null
    if (count > 0 && (typeof first !== 'object' || first === null)) throw invalid('records[0] must be an object')
    let baseTimestamp: number
    if (input.baseTimestamp !== undefined) baseTimestamp = checkSafe('baseTimestamp', input.baseTimestamp)
    else if (count === 0) baseTimestamp = -1
    else baseTimestamp = checkSafe('records[0].timestamp', first!.timestamp ?? Date.now())
    let maxTimestamp = count === 0 ? -1 : -Infinity
    let lastOffsetDelta = count === 0 ? 0 : count - 1

    let recordsBytes = 0
    for (let index = 0; index < count; index++) {
      const record = records[index]!
      if (typeof record !== 'object' || record === null) throw invalid(`records[${index}] must be an object`)
      checkPayload(`records[${index}].key`, record.key)
      checkPayload(`records[${index}].value`, record.value)
      const timestamp = record.timestamp ?? baseTimestamp
      checkSafe(`records[${index}].timestamp`, timestamp)
      checkSafe(`records[${index}].timestamp - baseTimestamp`, timestamp - baseTimestamp)
      if (timestamp > maxTimestamp) maxTimestamp = timestamp
      const offsetDelta = record.offsetDelta ?? index
      checkInt(`records[${index}].offsetDelta`, offsetDelta, 0, 0x7fffffff)
      lastOffsetDelta = offsetDelta
      let size = 1 + sizeOfVarlong(timestamp - baseTimestamp) + sizeOfVarint(offsetDelta) +
        sizeOfBytesField(record.key) + sizeOfBytesField(record.value)
      const headers = record.headers
      if (headers === undefined || headers.length === 0) {
        size += 1
      } else {
        if (!Array.isArray(headers)) throw invalid(`records[${index}].headers must be an array`)
        size += sizeOfVarint(headers.length)
        for (let h = 0; h < headers.length; h++) {
          const header = headers[h]!
          if (typeof header !== 'object' || header === null || typeof header.key !== 'string') throw invalid(`records[${index}].headers[${h}].key must be a string`)
          checkPayload(`records[${index}].headers[${h}].value`, header.value)
          size += sizeOfBytesField(header.key) + sizeOfBytesField(header.value)
        }
      }
      sizes[index] = size
      recordsBytes += sizeOfVarint(size) + size
      if (recordsBytes > BATCH_BYTES_MAX) throw new SluiceError('MESSAGE_TOO_LARGE', `batch records exceed ${BATCH_BYTES_MAX} bytes`)
    }
    if (input.maxTimestamp !== undefined) maxTimestamp = checkSafe('maxTimestamp', input.maxTimestamp)
    if (input.lastOffsetDelta !== undefined) lastOffsetDelta = checkInt('lastOffsetDelta', input.lastOffsetDelta, -0x80000000, 0x7fffffff)

    const compression = input.compression ?? 'none'
    const batchSize = RECORD_BATCH_OVERHEAD + recordsBytes
    if (batchSize > BATCH_BYTES_MAX) throw new SluiceError('MESSAGE_TOO_LARGE', `batch of ${batchSize} bytes exceeds ${BATCH_BYTES_MAX}`)
    // A compressed batch is built twice: records into the scratch, then the final buffer.
    const batch = compression === 'none' ? this.#bufferFor(batchSize, target) : this.#bufferFor(batchSize, 'scratch')
    writeHeaderFields(batch, fields, { lastOffsetDelta, baseTimestamp, maxTimestamp, recordsCount: count })

    let position: number = RECORD_BATCH_OVERHEAD
    for (let index = 0; index < count; index++) {
      const record = records[index]!
      position = writeVarint(batch, position, sizes[index]!)
      const bodyStart = position
      batch[position++] = 0
      position = writeVarlong(batch, position, (record.timestamp ?? baseTimestamp) - baseTimestamp)
      position = writeVarint(batch, position, record.offsetDelta ?? index)
      position = writeBytesField(batch, position, record.key)
      position = writeBytesField(batch, position, record.value)
      const headers = record.headers
      if (headers === undefined || headers.length === 0) {
        batch[position++] = 0
      } else {
        position = writeVarint(batch, position, headers.length)
        for (let h = 0; h < headers.length; h++) {
          const header = headers[h]!
          position = writeBytesField(batch, position, header.key)
          position = writeBytesField(batch, position, header.value)
        }
      }
      assert(position - bodyStart === sizes[index], 'record size pass and write pass disagree')
    }
    assert(position === batchSize, 'records did not fill the batch exactly')
    return { batch, section: batch.subarray(RECORD_BATCH_OVERHEAD, position), recordsEnd: position, compression }
  }

  #writeColumns (input: RecordBatchColumns, target: EncodeTarget): Written {
    const fields = resolveFields(input)
    const keys = input.keys
    const values = input.values
    const timestamps = input.timestamps
    const length = values.length
    checkInt('values.length', length, 0, 0x7fffffff)
    if (keys !== null && keys.length !== length) throw invalid(`keys.length ${keys.length} differs from values.length ${length}`)
    if (timestamps !== undefined && timestamps.length !== length) throw invalid(`timestamps.length ${timestamps.length} differs from values.length ${length}`)
    const start = input.start === undefined ? 0 : checkInt('start', input.start, 0, length)
    const end = input.end === undefined ? length : checkInt('end', input.end, start, length)
    const count = end - start
    const sizes = this.#sizesFor(count)

    let baseTimestamp: number
    if (input.baseTimestamp !== undefined) baseTimestamp = input.baseTimestamp
    else if (count === 0) baseTimestamp = -1
    else baseTimestamp = timestamps === undefined ? Date.now() : timestamps[start]!
    checkSafe('baseTimestamp', baseTimestamp)
    // With timestamps, the largest of them (as the general path computes it), even when an
    // explicit baseTimestamp is later than all of them.
    let maxTimestamp = count === 0 ? -1 : timestamps === undefined ? baseTimestamp : -Infinity

    // Size pass. Attributes (1 byte), headersCount 0 (1 byte), timestampDelta 0 (1 byte)
    // unless timestamps are given.
    let recordsBytes = 0
    for (let index = start; index < end; index++) {
      const key = keys === null ? null : keys[index]!
      const value = values[index]!
      // A string here would be measured in UTF-16 units and copied as garbage: refuse it.
      if ((key !== null && !(key instanceof Uint8Array)) || (value !== null && !(value instanceof Uint8Array))) {
        throw invalid(`keys[${index}] and values[${index}] must be Uint8Arrays or null`)
      }
      const delta = index - start
      let size = 3 + sizeOfVarint(delta)
      if (key === null) size += 1
      else size += sizeOfVarint(key.length) + key.length
      if (value === null) size += 1
      else size += sizeOfVarint(value.length) + value.length
      if (timestamps !== undefined) {
        const timestamp = timestamps[index]!
        checkSafe(`timestamps[${index}]`, timestamp)
        if (timestamp > maxTimestamp) maxTimestamp = timestamp
        // Producers send records stamped within milliseconds of each other: a delta in [0, 64)
        // is one varlong byte, without the general (floating-point) size loop.
        const delta = timestamp - baseTimestamp
        if (delta < 0 || delta >= 64) size += sizeOfVarlong(checkSafe(`timestamps[${index}] - baseTimestamp`, delta)) - 1
      }
      sizes[delta] = size
      recordsBytes += sizeOfVarint(size) + size
    }
    if (recordsBytes > BATCH_BYTES_MAX - RECORD_BATCH_OVERHEAD) throw new SluiceError('MESSAGE_TOO_LARGE', `batch records exceed ${BATCH_BYTES_MAX} bytes`)
    if (input.maxTimestamp !== undefined) maxTimestamp = checkSafe('maxTimestamp', input.maxTimestamp)
    const lastOffsetDelta = checkInt('lastOffsetDelta', input.lastOffsetDelta ?? (count === 0 ? 0 : count - 1), -0x80000000, 0x7fffffff)

    const compression = input.compression ?? 'none'
    const batchSize = RECORD_BATCH_OVERHEAD + recordsBytes
    const batch = compression === 'none' ? this.#bufferFor(batchSize, target) : this.#bufferFor(batchSize, 'scratch')
    writeHeaderFields(batch, fields, { lastOffsetDelta, baseTimestamp, maxTimestamp, recordsCount: count })

    // Write pass: plain byte stores for the one-byte fields, copies for the payloads.
    let position: number = RECORD_BATCH_OVERHEAD
    for (let index = start; index < end; index++) {
      const delta = index - start
      position = writeVarint(batch, position, sizes[delta]!)
      batch[position++] = 0
      if (timestamps === undefined) {
        batch[position++] = 0
      } else {
        const timestampDelta = timestamps[index]! - baseTimestamp
        if (timestampDelta >= 0 && timestampDelta < 64) batch[position++] = timestampDelta * 2
        else position = writeVarlong(batch, position, timestampDelta)
      }
      position = writeVarint(batch, position, delta)
      const key = keys === null ? null : keys[index]!
      if (key === null) {
        batch[position++] = 1
      } else {
        position = writeVarint(batch, position, key.length)
        position = copyBytes(batch, position, key)
      }
      const value = values[index]!
      if (value === null) {
        batch[position++] = 1
      } else {
        position = writeVarint(batch, position, value.length)
        position = copyBytes(batch, position, value)
      }
      batch[position++] = 0
    }
    // Guards a key or value array mutated between the passes, as well as bugs.
    assert(position === batchSize, 'records did not fill the batch exactly')
    return { batch, section: batch.subarray(RECORD_BATCH_OVERHEAD, position), recordsEnd: position, compression }
  }

  /** Length and CRC of an uncompressed batch whose records end at `end` (= its size). */
  #finish (batch: Buffer, end: number): Buffer {
    assert(end === batch.length, 'uncompressed batch must be exactly sized')
    writeInt32(batch, BatchOffset.batchLength, end - LOG_OVERHEAD)
    writeInt32(batch, BatchOffset.crc, crc32c(batch.subarray(BatchOffset.attributes, end)))
    return batch
  }

  /** Builds the final batch from the header fields in `staged` and the compressed records. */
  #finishCompressed (staged: Buffer, compressed: Uint8Array, target: EncodeTarget): Buffer {
    const size = RECORD_BATCH_OVERHEAD + compressed.length
    if (size > BATCH_BYTES_MAX) throw new SluiceError('MESSAGE_TOO_LARGE', `compressed batch of ${size} bytes exceeds ${BATCH_BYTES_MAX}`)
    // `staged` lives in the scratch; a 'scratch' output must not overlap it, so copy the
    // header out first when the scratch would be reused.
    if (target !== 'fresh') {
      const header = Buffer.from(staged.subarray(0, RECORD_BATCH_OVERHEAD))
      const compressedCopy = compressed.buffer === this.#scratch.buffer ? Buffer.from(compressed) : compressed
      const batch = this.#bufferFor(size, target)
      batch.set(header, 0)
      batch.set(compressedCopy, RECORD_BATCH_OVERHEAD)
      return this.#finish(batch, size)
    }
    const batch = Buffer.allocUnsafe(size)
    batch.set(staged.subarray(0, RECORD_BATCH_OVERHEAD), 0)
    batch.set(compressed, RECORD_BATCH_OVERHEAD)
    return this.#finish(batch, size)
  }
}

interface Written {
  batch: Buffer
  section: Uint8Array
  recordsEnd: number
  compression: CompressionCodec
}

interface DerivedFields {
  lastOffsetDelta: number
  baseTimestamp: number
  maxTimestamp: number
  recordsCount: number
}

/** Writes every header byte except batchLength and crc (written by `finish`). */
function writeHeaderFields (batch: Uint8Array, fields: ResolvedFields, derived: DerivedFields): void {
  writeInt64(batch, BatchOffset.baseOffset, fields.baseOffset)
  writeInt32(batch, BatchOffset.partitionLeaderEpoch, fields.partitionLeaderEpoch)
  batch[BatchOffset.magic] = CURRENT_MAGIC
  batch[BatchOffset.attributes] = 0
  batch[BatchOffset.attributes + 1] = fields.attributes
  writeInt32(batch, BatchOffset.lastOffsetDelta, derived.lastOffsetDelta)
  writeInt64(batch, BatchOffset.baseTimestamp, derived.baseTimestamp)
  writeInt64(batch, BatchOffset.maxTimestamp, derived.maxTimestamp)
  writeInt64(batch, BatchOffset.producerId, fields.producerId)
  batch[BatchOffset.producerEpoch] = fields.producerEpoch >> 8
  batch[BatchOffset.producerEpoch + 1] = fields.producerEpoch
  writeInt32(batch, BatchOffset.baseSequence, fields.baseSequence)
  writeInt32(batch, BatchOffset.recordsCount, derived.recordsCount)
}

const sharedEncoder = new RecordBatchEncoder()

/** Encodes a batch into a fresh Buffer (compressing synchronously when asked to). */
export function encodeRecordBatch (input: RecordBatchInput): Buffer {
  return sharedEncoder.encode(input, 'fresh')
}

/** Encodes a batch into a fresh Buffer, compressing off the main thread when asked to. */
export async function encodeRecordBatchAsync (input: RecordBatchInput): Promise<Buffer> {
  return await sharedEncoder.encodeAsync(input, 'fresh')
}

/** Encodes parallel key/value arrays into a fresh Buffer: the fast path. */
export function encodeRecordBatchColumns (input: RecordBatchColumns): Buffer {
  return sharedEncoder.encodeColumns(input, 'fresh')
}
