/**
 * Byte layout of a Kafka RecordBatch v2 header (magic 2) and the checks every reader of
 * stored or received bytes makes before trusting a batch. All integers are big-endian.
 *
 * | offset | size | field                | CRC-covered |
 * |--------|------|----------------------|-------------|
 * | 0      | 8    | baseOffset           | no          |
 * | 8      | 4    | batchLength          | no          |
 * | 12     | 4    | partitionLeaderEpoch | no          |
 * | 16     | 1    | magic (= 2)          | no          |
 * | 17     | 4    | crc (CRC-32C)        | -           |
 * | 21     | 2    | attributes           | yes         |
 * | 23     | 4    | lastOffsetDelta      | yes         |
 * | 27     | 8    | baseTimestamp        | yes         |
 * | 35     | 8    | maxTimestamp         | yes         |
 * | 43     | 8    | producerId           | yes         |
 * | 51     | 2    | producerEpoch        | yes         |
 * | 53     | 4    | baseSequence         | yes         |
 * | 57     | 4    | recordsCount         | yes         |
 * | 61     | ..   | records              | yes         |
 *
 * The whole batch is `batchLength + 12` bytes (`LOG_OVERHEAD`). Because the CRC starts at the
 * attributes, the broker may patch baseOffset and partitionLeaderEpoch in place.
 */
import { SluiceError } from '../core/errors.js'
import { crc32c } from './crc32c.js'

export const BatchOffset = Object.freeze({
  baseOffset: 0,
  batchLength: 8,
  partitionLeaderEpoch: 12,
  magic: 16,
  crc: 17,
  attributes: 21,
  lastOffsetDelta: 23,
  baseTimestamp: 27,
  maxTimestamp: 35,
  producerId: 43,
  producerEpoch: 51,
  baseSequence: 53,
  recordsCount: 57,
  records: 61
})

/** Bytes before batchLength's coverage starts: baseOffset (8) + batchLength (4). */
export const LOG_OVERHEAD = 12
/** Fixed header size of a v2 batch. */
export const RECORD_BATCH_OVERHEAD = 61
export const CURRENT_MAGIC = 2

/** Attribute bits (low byte of the int16). */
export const BatchAttribute = Object.freeze({
  compressionMask: 0x07,
  timestampTypeLogAppend: 0x08,
  transactional: 0x10,
  control: 0x20,
  deleteHorizon: 0x40
})

export const NO_PRODUCER_ID = -1n
export const NO_PRODUCER_EPOCH = -1
export const NO_SEQUENCE = -1
export const NO_PARTITION_LEADER_EPOCH = -1

/** Total byte size of the batch starting at `position`, read from its length field. */
export function batchSizeAt (bytes: Uint8Array, position: number): number {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  return view.getInt32(position + BatchOffset.batchLength) + LOG_OVERHEAD
}

// ---------------------------------------------------------------------------------------------
// Reading and validating headers
//
// The int64 fields (baseOffset, baseTimestamp, maxTimestamp, producerId) are exposed as
// `number`: Sluice keeps offsets, timestamps and producer ids as safe integers, and a header
// holding a value outside that range is refused as CORRUPT_MESSAGE rather than rounded.

/** Smallest legal batchLength: the header after the length field, with no records. */
export const BATCH_LENGTH_MIN = RECORD_BATCH_OVERHEAD - LOG_OVERHEAD

/** Largest compression id Kafka defines (zstd); 5..7 are unknown codecs. */
export const COMPRESSION_ID_MAX = 4

/** The 2^32 multiplier joining the two halves of an int64. */
const TWO_POW_32 = 2 ** 32

/** All the fields of a v2 batch header, decoded. */
export interface RecordBatchHeader {
  baseOffset: number
  /** Bytes after the length field; the batch is `batchLength + LOG_OVERHEAD` bytes. */
  batchLength: number
  partitionLeaderEpoch: number
  magic: number
  /** The stored CRC-32C (unsigned). */
  crc: number
  attributes: number
  lastOffsetDelta: number
  baseTimestamp: number
  maxTimestamp: number
  producerId: number
  producerEpoch: number
  baseSequence: number
  recordsCount: number
}

function dataViewOf (bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
}

/**
 * Reads the big-endian int64 at `position` as a number. Raises CORRUPT_MESSAGE when the value
 * is not a safe integer (see the section comment).
 */
export function readInt64 (bytes: Uint8Array, position: number): number {
  const high = (bytes[position]! << 24) | (bytes[position + 1]! << 16) | (bytes[position + 2]! << 8) | bytes[position + 3]!
  const low = ((bytes[position + 4]! << 24) | (bytes[position + 5]! << 16) | (bytes[position + 6]! << 8) | bytes[position + 7]!) >>> 0
  // high in [-2^21, 2^21) keeps |value| <= 2^53, where the sum is exact.
  if (high >= -0x200000 && high < 0x200000) {
    const value = high * TWO_POW_32 + low
    if (Number.isSafeInteger(value)) return value
  }
  throw new SluiceError('CORRUPT_MESSAGE', `int64 at byte ${position} is outside the safe integer range`)
}

/** Writes the safe integer `value` as a big-endian int64 at `position`. */
export function writeInt64 (target: Uint8Array, position: number, value: number): void {
  const low = value % TWO_POW_32
  const high = (value - low) / TWO_POW_32
  const lowUnsigned = low < 0 ? low + TWO_POW_32 : low
  const highBits = low < 0 ? high - 1 : high
  writeInt32(target, position, highBits)
  writeInt32(target, position + 4, lowUnsigned)
}

/** Reads a big-endian int32 at `position`. */
export function readInt32 (bytes: Uint8Array, position: number): number {
  return (bytes[position]! << 24) | (bytes[position + 1]! << 16) | (bytes[position + 2]! << 8) | bytes[position + 3]!
}

/** Writes the low 32 bits of `value` big-endian at `position` (signed or unsigned input). */
export function writeInt32 (target: Uint8Array, position: number, value: number): void {
  target[position] = value >>> 24
  target[position + 1] = value >>> 16
  target[position + 2] = value >>> 8
  target[position + 3] = value
}

/** Reads a big-endian int16 at `position`. */
export function readInt16 (bytes: Uint8Array, position: number): number {
  return ((bytes[position]! << 24) | (bytes[position + 1]! << 16)) >> 16
}

/**
 * Decodes the 61-byte header at `position`. Checks only that the header bytes are present
 * (CORRUPT_MESSAGE otherwise) and that the int64 fields are safe integers; `validateBatch`
 * makes the full checks.
 */
export function readBatchHeader (bytes: Uint8Array, position: number): RecordBatchHeader {
  if (!Number.isInteger(position) || position < 0 || position + RECORD_BATCH_OVERHEAD > bytes.length) {
    throw new SluiceError('CORRUPT_MESSAGE', `batch header at byte ${position} needs ${RECORD_BATCH_OVERHEAD} bytes, buffer has ${bytes.length}`)
  }
  return {
    baseOffset: readInt64(bytes, position + BatchOffset.baseOffset),
    batchLength: readInt32(bytes, position + BatchOffset.batchLength),
    partitionLeaderEpoch: readInt32(bytes, position + BatchOffset.partitionLeaderEpoch),
    magic: (bytes[position + BatchOffset.magic]! << 24) >> 24,
    crc: readInt32(bytes, position + BatchOffset.crc) >>> 0,
    attributes: readInt16(bytes, position + BatchOffset.attributes),
    lastOffsetDelta: readInt32(bytes, position + BatchOffset.lastOffsetDelta),
    baseTimestamp: readInt64(bytes, position + BatchOffset.baseTimestamp),
    maxTimestamp: readInt64(bytes, position + BatchOffset.maxTimestamp),
    producerId: readInt64(bytes, position + BatchOffset.producerId),
    producerEpoch: readInt16(bytes, position + BatchOffset.producerEpoch),
    baseSequence: readInt32(bytes, position + BatchOffset.baseSequence),
    recordsCount: readInt32(bytes, position + BatchOffset.recordsCount)
  }
}

/** Options of `validateBatch`. */
export interface ValidateBatchOptions {
  /** Recompute the CRC-32C and compare. @defaultValue true */
  verifyCrc?: boolean
  /**
   * Apply the checks a broker makes on a batch a client produced (Kafka `LogValidator`):
   * `lastOffsetDelta + 1 == recordsCount > 0`, no control batches, and `producerId >= 0`
   * requires `baseSequence >= 0`. Off for stored batches, which compaction may have thinned.
   * @defaultValue false
   */
  clientBatch?: boolean
  /** Largest accepted batch in bytes. Kafka: `max.message.bytes`. @defaultValue 2^31 - 1 (no limit) */
  batchBytesMax?: number
}

export const validateBatchDefaults: Readonly<Required<ValidateBatchOptions>> = Object.freeze({
  verifyCrc: true,
  clientBatch: false,
  batchBytesMax: 2 ** 31 - 1
})

/**
 * Checks the batch at `position` and returns its header. The batch must lie entirely inside
 * `bytes`. Raises:
 * - CORRUPT_MESSAGE: header or batch cut off, batchLength below the header size, magic != 2,
 *   CRC mismatch, negative recordsCount, an int64 field outside the safe integer range;
 * - MESSAGE_TOO_LARGE: the batch is larger than `batchBytesMax`;
 * - UNSUPPORTED_COMPRESSION_TYPE: compression id 5..7;
 * - INVALID_RECORD (with `clientBatch`): count/lastOffsetDelta mismatch, a control batch, a
 *   producer id without a sequence.
 */
export function validateBatch (bytes: Uint8Array, position: number, options: ValidateBatchOptions = validateBatchDefaults): RecordBatchHeader {
  const verifyCrc = options.verifyCrc ?? validateBatchDefaults.verifyCrc
  const clientBatch = options.clientBatch ?? validateBatchDefaults.clientBatch
  const batchBytesMax = options.batchBytesMax ?? validateBatchDefaults.batchBytesMax
  if (!Number.isInteger(position) || position < 0 || position + LOG_OVERHEAD > bytes.length) {
    throw new SluiceError('CORRUPT_MESSAGE', `batch at byte ${position}: length field beyond the ${bytes.length}-byte buffer`)
  }
  const batchLength = readInt32(bytes, position + BatchOffset.batchLength)
  if (batchLength < BATCH_LENGTH_MIN) {
    throw new SluiceError('CORRUPT_MESSAGE', `batch at byte ${position}: batchLength ${batchLength} below the ${BATCH_LENGTH_MIN}-byte header`)
  }
  const batchSize = batchLength + LOG_OVERHEAD
  if (position + batchSize > bytes.length) {
    throw new SluiceError('CORRUPT_MESSAGE', `batch at byte ${position}: ${batchSize} bytes, only ${bytes.length - position} in the buffer`)
  }
  if (batchSize > batchBytesMax) {
    throw new SluiceError('MESSAGE_TOO_LARGE', `batch at byte ${position}: ${batchSize} bytes exceeds the limit of ${batchBytesMax}`)
  }
  const magic = bytes[position + BatchOffset.magic]!
  if (magic !== CURRENT_MAGIC) {
    throw new SluiceError('CORRUPT_MESSAGE', `batch at byte ${position}: magic ${magic}, expected ${CURRENT_MAGIC}`)
  }
  if (verifyCrc) {
    const stored = readInt32(bytes, position + BatchOffset.crc) >>> 0
    const computed = crc32c(bytes.subarray(position + BatchOffset.attributes, position + batchSize))
    if (stored !== computed) {
      throw new SluiceError('CORRUPT_MESSAGE', `batch at byte ${position}: CRC ${hex32(stored)} stored, ${hex32(computed)} computed`)
    }
  }
  const header = readBatchHeader(bytes, position)
  if (header.recordsCount < 0) {
    throw new SluiceError('CORRUPT_MESSAGE', `batch at byte ${position}: negative recordsCount ${header.recordsCount}`)
  }
  const compressionId = header.attributes & BatchAttribute.compressionMask
  if (compressionId > COMPRESSION_ID_MAX) {
    throw new SluiceError('UNSUPPORTED_COMPRESSION_TYPE', `batch at byte ${position}: unknown compression id ${compressionId}`)
  }
  if (clientBatch) {
    if (header.recordsCount === 0 || header.lastOffsetDelta + 1 !== header.recordsCount) {
      throw new SluiceError('INVALID_RECORD', `batch at byte ${position}: lastOffsetDelta ${header.lastOffsetDelta} does not match recordsCount ${header.recordsCount}`)
    }
    if ((header.attributes & BatchAttribute.control) !== 0) {
      throw new SluiceError('INVALID_RECORD', `batch at byte ${position}: clients may not produce control batches`)
    }
    if (header.producerId >= 0 && header.baseSequence < 0) {
      throw new SluiceError('INVALID_RECORD', `batch at byte ${position}: producerId ${header.producerId} without a baseSequence`)
    }
  }
  return header
}

function hex32 (value: number): string {
  return value.toString(16).padStart(8, '0')
}
