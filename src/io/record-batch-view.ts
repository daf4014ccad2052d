/**
 * Lazy decoding of RecordBatch v2 bytes.
 *
 * `RecordBatchView` wraps the bytes of one batch without copying them: header fields are read
 * on access, records are parsed one at a time by an iterator, and keys and values come out as
 * `subarray` views of the records section (of the batch itself when uncompressed, of the one
 * decompressed buffer otherwise). Views stay valid as long as the caller does not overwrite the
 * underlying bytes; `copyRecordBatch` makes an owned copy where that matters.
 *
 * `batchesIn` walks a buffer holding several batches back to back (a segment slice, a fetch
 * response's records). A trailing partial batch ends the walk cleanly, as Kafka allows fetch
 * responses to cut the last batch off; anything else that is wrong is a SluiceError.
 *
 * Invariants on what a view hands out: the batch lies entirely inside its buffer, its magic
 * is 2 and its batchLength covers at least the header (checked on construction). CRC and
 * the client-batch rules are checked by `validate`/`validateBatch` (on by default in
 * `RecordBatchView.from` and `batchesIn`). Every record the iterator yields was bounded by
 * its length varint, and its fields consumed exactly that length.
 */
import { SluiceError } from '../core/errors.js'
import {
  BatchAttribute,
  BatchOffset,
  LOG_OVERHEAD,
  RECORD_BATCH_OVERHEAD,
  readBatchHeader,
  readInt16,
  readInt32,
  readInt64,
  validateBatch,
  type RecordBatchHeader,
  type ValidateBatchOptions
} from './record-batch-header.js'
import {
  codecOfAttributes,
  decompressRecords,
  decompressRecordsSync,
  type CompressionCodec
} from './record-batch-compression.js'
import type { TimestampType } from './record-batch-encoder.js'
import { readVarint, readVarlong, type Cursor } from './varint.js'

export interface RecordHeader {
  key: string
  value: Uint8Array | null
}

/** One decoded record. `key`/`value` are views into the batch (or its decompressed records). */
export interface KafkaRecord {
  offset: number
  offsetDelta: number
  /** For LogAppendTime batches, the batch's maxTimestamp (Kafka's rule). */
  timestamp: number
  timestampDelta: number
  attributes: number
  key: Uint8Array | null
  value: Uint8Array | null
  headers: RecordHeader[]
}

/** A whole batch as plain data (see `decodeRecordBatch`). */
export interface DecodedRecordBatch extends RecordBatchHeader {
  compression: CompressionCodec
  timestampType: TimestampType
  isTransactional: boolean
  isControl: boolean
  hasDeleteHorizon: boolean
  records: KafkaRecord[]
}

const utf8 = new TextDecoder('utf-8', { fatal: false })
const noHeaders: RecordHeader[] = []
Object.freeze(noHeaders)

function corrupt (message: string): SluiceError {
  return new SluiceError('CORRUPT_MESSAGE', message)
}

/**
 * A batch's bytes with lazy accessors. Construct with `RecordBatchView.from` (validates) or
 * `RecordBatchView.unchecked` (bytes already validated, e.g. just appended by the log).
 */
export class RecordBatchView implements Iterable<KafkaRecord> {
  /** Exactly the batch's bytes (a view of the caller's buffer). */
  readonly bytes: Uint8Array
  #records: Uint8Array | null = null

  private constructor (bytes: Uint8Array) {
    this.bytes = bytes
  }

  /**
   * Views the batch at `position` of `bytes` after `validateBatch` (CRC included unless
   * `verifyCrc: false`).
   */
  static from (bytes: Uint8Array, position = 0, options?: ValidateBatchOptions): RecordBatchView {
    const header = validateBatch(bytes, position, options)
    return new RecordBatchView(bytes.subarray(position, position + header.batchLength + LOG_OVERHEAD))
  }

  /**
   * Views the batch at `position` checking only its bounds and magic, for bytes that were
   * validated before (the log's own appends, recovery-scanned segments).
   */
  static unchecked (bytes: Uint8Array, position = 0): RecordBatchView {
    return RecordBatchView.from(bytes, position, { verifyCrc: false })
  }

  get sizeInBytes (): number { return this.bytes.length }
  get baseOffset (): number { return readInt64(this.bytes, BatchOffset.baseOffset) }
  get batchLength (): number { return readInt32(this.bytes, BatchOffset.batchLength) }
  get partitionLeaderEpoch (): number { return readInt32(this.bytes, BatchOffset.partitionLeaderEpoch) }
  get magic (): number { return this.bytes[BatchOffset.magic]! }
  get crc (): number { return readInt32(this.bytes, BatchOffset.crc) >>> 0 }
  get attributes (): number { return readInt16(this.bytes, BatchOffset.attributes) }
  get lastOffsetDelta (): number { return readInt32(this.bytes, BatchOffset.lastOffsetDelta) }
  get baseTimestamp (): number { return readInt64(this.bytes, BatchOffset.baseTimestamp) }
  get maxTimestamp (): number { return readInt64(this.bytes, BatchOffset.maxTimestamp) }
  get producerId (): number { return readInt64(this.bytes, BatchOffset.producerId) }
  get producerEpoch (): number { return readInt16(this.bytes, BatchOffset.producerEpoch) }
  get baseSequence (): number { return readInt32(this.bytes, BatchOffset.baseSequence) }
  get recordsCount (): number { return readInt32(this.bytes, BatchOffset.recordsCount) }
  /** baseOffset + lastOffsetDelta. */
  get lastOffset (): number { return this.baseOffset + this.lastOffsetDelta }
  /** The offset after this batch. */
  get nextOffset (): number { return this.lastOffset + 1 }
  get compression (): CompressionCodec { return codecOfAttributes(this.bytes[BatchOffset.attributes + 1]!) }
  get timestampType (): TimestampType {
    return (this.bytes[BatchOffset.attributes + 1]! & BatchAttribute.timestampTypeLogAppend) !== 0 ? 'LogAppendTime' : 'CreateTime'
  }

  get isTransactional (): boolean { return (this.bytes[BatchOffset.attributes + 1]! & BatchAttribute.transactional) !== 0 }
  get isControl (): boolean { return (this.bytes[BatchOffset.attributes + 1]! & BatchAttribute.control) !== 0 }
  get hasDeleteHorizon (): boolean { return (this.bytes[BatchOffset.attributes + 1]! & BatchAttribute.deleteHorizon) !== 0 }

  /** All header fields as a plain object. */
  header (): RecordBatchHeader {
    return readBatchHeader(this.bytes, 0)
  }

  /** Re-runs `validateBatch` over this batch (CRC and, with `clientBatch`, the producer rules). */
  validate (options?: ValidateBatchOptions): RecordBatchHeader {
    return validateBatch(this.bytes, 0, options)
  }

  /**
   * The uncompressed records section: a view of the batch when uncompressed; otherwise
   * decompressed (synchronously) once and cached.
   */
  recordsSection (): Uint8Array {
    if (this.#records !== null) return this.#records
    const codec = this.compression
    const stored = this.bytes.subarray(RECORD_BATCH_OVERHEAD)
    this.#records = codec === 'none' ? stored : decompressSection(codec, stored)
    return this.#records
  }

  /** Decompresses the records section off the main thread, so iteration then needs no work. */
  async loadRecords (): Promise<void> {
    if (this.#records !== null) return
    const codec = this.compression
    const stored = this.bytes.subarray(RECORD_BATCH_OVERHEAD)
    if (codec === 'none') {
      this.#records = stored
      return
    }
    let decompressed: Uint8Array
    try {
      decompressed = await decompressRecords(codec, stored)
    } catch (error) {
      throw asCorrupt(error, codec)
    }
    this.#records ??= decompressed
  }

  /** Iterates the records lazily, one parsed record per step. */
  records (): RecordIterator {
    return new RecordIterator(this)
  }

  [Symbol.iterator] (): RecordIterator {
    return new RecordIterator(this)
  }

  /** Every record and header field as plain data. */
  decode (): DecodedRecordBatch {
    const header = readBatchHeader(this.bytes, 0)
    const records: KafkaRecord[] = []
    for (const record of this) records.push(record)
    const attributes = header.attributes
    return {
      ...header,
      compression: codecOfAttributes(attributes),
      timestampType: (attributes & BatchAttribute.timestampTypeLogAppend) !== 0 ? 'LogAppendTime' : 'CreateTime',
      isTransactional: (attributes & BatchAttribute.transactional) !== 0,
      isControl: (attributes & BatchAttribute.control) !== 0,
      hasDeleteHorizon: (attributes & BatchAttribute.deleteHorizon) !== 0,
      records
    }
  }
}

function asCorrupt (error: unknown, codec: CompressionCodec): SluiceError {
  if (error instanceof SluiceError) return error
  return new SluiceError('CORRUPT_MESSAGE', `records section does not decompress as ${codec}`, { cause: error })
}

function decompressSection (codec: CompressionCodec, stored: Uint8Array): Uint8Array {
  try {
    return decompressRecordsSync(codec, stored)
  } catch (error) {
    throw asCorrupt(error, codec)
  }
}

/**
 * Parses the records of one batch on demand. Raises CORRUPT_MESSAGE when a record overruns the
 * section, its fields do not fill exactly its declared length, the section holds fewer or more
 * records than recordsCount, or a length is negative (other than -1 for null).
 */
export class RecordIterator implements IterableIterator<KafkaRecord> {
  readonly #section: Uint8Array
  readonly #cursor: Cursor = { position: 0 }
  readonly #baseOffset: number
  readonly #baseTimestamp: number
  /** For LogAppendTime batches the timestamp every record reads as; else null. */
  readonly #appendTime: number | null
  readonly #count: number
  #index = 0

  constructor (view: RecordBatchView) {
    this.#count = view.recordsCount
    if (this.#count < 0) throw corrupt(`negative recordsCount ${this.#count}`)
    this.#section = view.recordsSection()
    this.#baseOffset = view.baseOffset
    this.#baseTimestamp = view.baseTimestamp
    this.#appendTime = view.timestampType === 'LogAppendTime' ? view.maxTimestamp : null
  }

  [Symbol.iterator] (): RecordIterator {
    return this
  }

  next (): IteratorResult<KafkaRecord, undefined> {
    const record = this.nextRecord()
    return record === undefined ? { done: true, value: undefined } : { done: false, value: record }
  }

  /**
   * The next record, or `undefined` after the last one: `next` without the iterator-result
   * object around each record. Hot loops (the consumer's delivery) call this directly, which
   * saves one allocation per record; the checks are the same.
   */
  nextRecord (): KafkaRecord | undefined {
    const section = this.#section
    const cursor = this.#cursor
    if (this.#index >= this.#count) {
      if (cursor.position !== section.length) {
        throw corrupt(`${section.length - cursor.position} bytes after the last of ${this.#count} records`)
      }
      return undefined
    }
    this.#index++
    if (cursor.position >= section.length) throw corrupt(`records section ends after ${this.#index - 1} of ${this.#count} records`)
    const length = readVarint(section, cursor)
    const start = cursor.position
    const end = start + length
    if (length < 0 || end > section.length) throw corrupt(`record length ${length} at byte ${start} overruns the ${section.length}-byte records section`)
    if (length === 0) throw corrupt(`empty record at byte ${start}`)
    const attributes = section[cursor.position++]!
    const timestampDelta = readVarlong(section, cursor, end)
    const offsetDelta = readVarint(section, cursor, end)
    const key = readNullableBytes(section, cursor, end, 'key')
    const value = readNullableBytes(section, cursor, end, 'value')
    const headersCount = readVarint(section, cursor, end)
    let headers: RecordHeader[]
    if (headersCount === 0) {
      headers = noHeaders
    } else {
      // Each header takes at least two bytes; this bounds the loop by the record's length.
      if (headersCount < 0 || headersCount * 2 > end - cursor.position) throw corrupt(`headersCount ${headersCount} invalid at byte ${cursor.position}`)
      headers = new Array<RecordHeader>(headersCount)
      for (let index = 0; index < headersCount; index++) {
        const headerKey = readNullableBytes(section, cursor, end, 'header key')
        if (headerKey === null) throw corrupt(`null header key at byte ${cursor.position}`)
        const headerValue = readNullableBytes(section, cursor, end, 'header value')
        headers[index] = { key: utf8.decode(headerKey), value: headerValue }
      }
    }
    if (cursor.position !== end) throw corrupt(`record at byte ${start} declares ${length} bytes, its fields take ${cursor.position - start}`)
    const timestamp = this.#appendTime ?? this.#baseTimestamp + timestampDelta
    if (!Number.isSafeInteger(timestamp)) throw corrupt(`record timestamp at byte ${start} is outside the safe integer range`)
    return {
      offset: this.#baseOffset + offsetDelta,
      offsetDelta,
      timestamp,
      timestampDelta,
      attributes,
      key,
      value,
      headers
    }
  }
}

function readNullableBytes (section: Uint8Array, cursor: Cursor, end: number, what: string): Uint8Array | null {
  const length = readVarint(section, cursor, end)
  if (length === -1) return null
  const start = cursor.position
  if (length < -1 || length > end - start) throw corrupt(`${what} length ${length} at byte ${start} overruns its record`)
  cursor.position = start + length
  return section.subarray(start, start + length)
}

/** Options of `validateBatchRecords`. */
export interface ValidateRecordsOptions {
  /** Refuse null keys, as compacted topics do (Kafka `cleanup.policy=compact`). @defaultValue false */
  requireKeys?: boolean
}

/**
 * Parses every record of a batch a client produced and applies Kafka's record-level append
 * checks (`LogValidator`): offsetDeltas run 0, 1, 2, ... in order (INVALID_RECORD otherwise),
 * and, with `requireKeys`, no record has a null key (INVALID_RECORD). Malformed records raise
 * CORRUPT_MESSAGE as in iteration. Returns the number of records.
 */
export function validateBatchRecords (view: RecordBatchView, options: ValidateRecordsOptions = {}): number {
  const requireKeys = options.requireKeys ?? false
  let index = 0
  for (const record of view) {
    if (record.offsetDelta !== index) {
      throw new SluiceError('INVALID_RECORD', `record ${index} of the batch has offsetDelta ${record.offsetDelta}`)
    }
    if (requireKeys && record.key === null) {
      throw new SluiceError('INVALID_RECORD', `record ${index} has a null key; compacted topics require keys`)
    }
    index++
  }
  return index
}

/** Options of `batchesIn`. */
export interface BatchesInOptions extends ValidateBatchOptions {
  /** Byte position of the first batch. @defaultValue 0 */
  position?: number
}

/**
 * Iterates the complete batches in `bytes`, validating each (`validateBatch` options). Stops at
 * the end or at a trailing partial batch (header or body cut off by the buffer's end).
 */
export function * batchesIn (bytes: Uint8Array, options: BatchesInOptions = {}): Generator<RecordBatchView, void, undefined> {
  let position = options.position ?? 0
  while (position + LOG_OVERHEAD <= bytes.length) {
    const batchLength = readInt32(bytes, position + BatchOffset.batchLength)
    // A length that runs past the buffer is a cut-off batch unless it is too small to be one.
    if (batchLength >= RECORD_BATCH_OVERHEAD - LOG_OVERHEAD && position + LOG_OVERHEAD + batchLength > bytes.length) return
    const view = RecordBatchView.from(bytes, position, options)
    position += view.sizeInBytes
    yield view
  }
}

/** Decodes the batch at `position` (validated, CRC included) into plain objects. */
export function decodeRecordBatch (bytes: Uint8Array, position = 0, options?: ValidateBatchOptions): DecodedRecordBatch {
  return RecordBatchView.from(bytes, position, options).decode()
}

/** An owned copy of a batch's bytes, for keeping a batch past the life of its buffer. */
export function copyRecordBatch (view: RecordBatchView): Buffer {
  return Buffer.from(view.bytes)
}
