/**
 * Bounds-checked reader of Kafka protocol primitives over one Buffer.
 *
 * Invariants:
 * - Every read checks the bytes it needs against `end` first; short input raises
 *   `SluiceError('INVALID_REQUEST')`, never a RangeError, and nothing is allocated for a
 *   length before that length has been checked against the bytes that remain.
 * - BYTES, COMPACT_BYTES and RECORDS come back as `subarray` views of the input (zero copy).
 *   A caller that keeps one beyond the life of the frame copies it explicitly.
 * - INT64 comes back as a `number`; a value outside the safe-integer range is rejected,
 *   because Sluice keeps offsets, ids and timestamps as safe integers (bigint stays here).
 *
 * Encodings (all big-endian; "uvarint" is unsigned LEB128 without zigzag):
 *
 * | type                      | layout                                        | null          |
 * |---------------------------|-----------------------------------------------|---------------|
 * | STRING / NULLABLE_STRING  | int16 length, UTF-8 bytes                     | length -1     |
 * | COMPACT_(NULLABLE_)STRING | uvarint (length + 1), UTF-8 bytes             | uvarint 0     |
 * | BYTES / NULLABLE_BYTES    | int32 length, bytes                           | length -1     |
 * | COMPACT_(NULLABLE_)BYTES  | uvarint (length + 1), bytes                   | uvarint 0     |
 * | ARRAY                     | int32 count, elements                         | count -1      |
 * | COMPACT_ARRAY             | uvarint (count + 1), elements                 | uvarint 0     |
 * | UUID                      | 16 bytes                                      | all zero      |
 * | TAG_BUFFER                | uvarint count, then (uvarint tag, uvarint size, bytes) each |  |
 */
import { SluiceError } from '../../core/errors.js'

/** The null UUID (all zero bytes) in Kafka's printed form: URL-safe base64 without padding. */
export const ZERO_UUID = 'AAAAAAAAAAAAAAAAAAAAAA'

const EMPTY = Buffer.alloc(0)

/**
 * `Buffer#utf8Slice` skips the argument normalisation of `toString('utf8', ...)` (~3x faster for
 * the short names that fill protocol headers); present in every supported Node version.
 */
interface Utf8Slicing { utf8Slice: (start: number, end: number) => string }

function truncated (needed: number, remaining: number, offset: number): SluiceError {
  return new SluiceError('INVALID_REQUEST', `truncated input: need ${needed} bytes at offset ${offset}, ${remaining} remain`)
}

export class Reader {
  /** Position of the next byte to read. */
  offset: number
  /** One past the last readable byte. */
  end: number

  constructor (readonly buffer: Buffer, offset = 0, end = buffer.length) {
    if (offset < 0 || end > buffer.length || offset > end) {
      throw new SluiceError('INVALID_REQUEST', `reader window [${offset}, ${end}) outside buffer of ${buffer.length} bytes`)
    }
    this.offset = offset
    this.end = end
  }

  get remaining (): number {
    return this.end - this.offset
  }

  /** Throws INVALID_REQUEST unless `count` more bytes can be read. */
  need (count: number): void {
    if (count > this.end - this.offset) throw truncated(count, this.end - this.offset, this.offset)
  }

  skip (count: number): void {
    if (count < 0) throw new SluiceError('INVALID_REQUEST', `negative skip ${count}`)
    this.need(count)
    this.offset += count
  }

  readInt8 (): number {
    this.need(1)
    return this.buffer.readInt8(this.offset++)
  }

  readUInt8 (): number {
    this.need(1)
    return this.buffer[this.offset++]!
  }

  readBoolean (): boolean {
    return this.readUInt8() !== 0
  }

  readInt16 (): number {
    this.need(2)
    const value = this.buffer.readInt16BE(this.offset)
    this.offset += 2
    return value
  }

  readUInt16 (): number {
    this.need(2)
    const value = this.buffer.readUInt16BE(this.offset)
    this.offset += 2
    return value
  }

  readInt32 (): number {
    this.need(4)
    const value = this.buffer.readInt32BE(this.offset)
    this.offset += 4
    return value
  }

  readUInt32 (): number {
    this.need(4)
    const value = this.buffer.readUInt32BE(this.offset)
    this.offset += 4
    return value
  }

  /** INT64 as a safe-integer number; larger magnitudes are INVALID_REQUEST. */
  readInt64 (): number {
    this.need(8)
    const high = this.buffer.readInt32BE(this.offset)
    const low = this.buffer.readUInt32BE(this.offset + 4)
    // |high| < 2^21 keeps high * 2^32 + low exact; the safe-integer check then trims -2^53.
    if (high < -0x200000 || high > 0x1fffff) {
      throw new SluiceError('INVALID_REQUEST', `int64 at offset ${this.offset} is outside the safe integer range`)
    }
    const value = high * 4294967296 + low
    if (!Number.isSafeInteger(value)) {
      throw new SluiceError('INVALID_REQUEST', `int64 at offset ${this.offset} is outside the safe integer range`)
    }
    this.offset += 8
    return value
  }

  /** INT64 as a bigint, for the rare field that may use the full range. */
  readBigInt64 (): bigint {
    this.need(8)
    const value = this.buffer.readBigInt64BE(this.offset)
    this.offset += 8
    return value
  }

  readFloat64 (): number {
    this.need(8)
    const value = this.buffer.readDoubleBE(this.offset)
    this.offset += 8
    return value
  }

  /** Unsigned LEB128 of at most 5 bytes (32 bits), as Kafka's `ByteUtils.readUnsignedVarint`. */
  readUVarint (): number {
    let value = 0
    for (let shift = 0; shift < 35; shift += 7) {
      if (this.offset >= this.end) throw truncated(1, 0, this.offset)
      const byte = this.buffer[this.offset++]!
      if (shift === 28 && byte > 0x0f) {
        throw new SluiceError('INVALID_REQUEST', `unsigned varint at offset ${this.offset - 1} exceeds 32 bits`)
      }
      value += (byte & 0x7f) * 2 ** shift
      if ((byte & 0x80) === 0) return value
    }
    throw new SluiceError('INVALID_REQUEST', `unsigned varint at offset ${this.offset} is longer than 5 bytes`)
  }

  /** Zigzag-encoded signed 32-bit varint (record fields). */
  readVarint (): number {
    const raw = this.readUVarint()
    return (raw % 2 === 0) ? raw / 2 : -(raw + 1) / 2
  }

  /** Zigzag-encoded signed 64-bit varint as a safe-integer number. */
  readVarlong (): number {
    let raw = 0n
    for (let shift = 0n; shift < 70n; shift += 7n) {
      if (this.offset >= this.end) throw truncated(1, 0, this.offset)
      const byte = this.buffer[this.offset++]!
      raw |= BigInt(byte & 0x7f) << shift
      if ((byte & 0x80) === 0) {
        if (raw > 0xffffffffffffffffn) break
        const value = (raw >> 1n) ^ -(raw & 1n)
        const result = Number(value)
        if (!Number.isSafeInteger(result)) break
        return result
      }
    }
    throw new SluiceError('INVALID_REQUEST', `varlong ending at offset ${this.offset} is malformed or unsafe`)
  }

  readUuid (): string {
    this.need(16)
    const value = this.buffer.toString('base64url', this.offset, this.offset + 16)
    this.offset += 16
    return value
  }

  private utf8 (length: number): string {
    this.need(length)
    const start = this.offset
    this.offset += length
    return length === 0 ? '' : (this.buffer as unknown as Utf8Slicing).utf8Slice(start, start + length)
  }

  /** STRING (int16 length); null is INVALID_REQUEST. */
  readString (): string {
    const length = this.readInt16()
    if (length < 0) throw new SluiceError('INVALID_REQUEST', `null or negative length ${length} for a non-nullable string`)
    return this.utf8(length)
  }

  readNullableString (): string | null {
    const length = this.readInt16()
    if (length === -1) return null
    if (length < 0) throw new SluiceError('INVALID_REQUEST', `negative string length ${length}`)
    return this.utf8(length)
  }

  readCompactString (): string {
    const lengthPlusOne = this.readUVarint()
    if (lengthPlusOne === 0) throw new SluiceError('INVALID_REQUEST', 'null for a non-nullable compact string')
    return this.utf8(lengthPlusOne - 1)
  }

  readCompactNullableString (): string | null {
    const lengthPlusOne = this.readUVarint()
    if (lengthPlusOne === 0) return null
    return this.utf8(lengthPlusOne - 1)
  }

  private view (length: number): Buffer {
    this.need(length)
    const start = this.offset
    this.offset += length
    return length === 0 ? EMPTY : this.buffer.subarray(start, start + length)
  }

  /** BYTES (int32 length) as a view. */
  readBytes (): Buffer {
    const length = this.readInt32()
    if (length < 0) throw new SluiceError('INVALID_REQUEST', `null or negative length ${length} for non-nullable bytes`)
    return this.view(length)
  }

  readNullableBytes (): Buffer | null {
    const length = this.readInt32()
    if (length === -1) return null
    if (length < 0) throw new SluiceError('INVALID_REQUEST', `negative bytes length ${length}`)
    return this.view(length)
  }

  readCompactBytes (): Buffer {
    const lengthPlusOne = this.readUVarint()
    if (lengthPlusOne === 0) throw new SluiceError('INVALID_REQUEST', 'null for non-nullable compact bytes')
    return this.view(lengthPlusOne - 1)
  }

  readCompactNullableBytes (): Buffer | null {
    const lengthPlusOne = this.readUVarint()
    if (lengthPlusOne === 0) return null
    return this.view(lengthPlusOne - 1)
  }

  /**
   * Element count of an ARRAY (`compact` false) or COMPACT_ARRAY, or -1 for null. The count is
   * checked against the bytes left: `count * elementBytesMin` must fit, so an absurd count fails
   * here, before any array is allocated. `elementBytesMin` below 1 is treated as 1.
   */
  readArrayLength (compact: boolean, nullable: boolean, elementBytesMin: number): number {
    let count: number
    if (compact) {
      const countPlusOne = this.readUVarint()
      count = countPlusOne - 1
    } else {
      count = this.readInt32()
    }
    if (count === -1) {
      if (!nullable) throw new SluiceError('INVALID_REQUEST', 'null for a non-nullable array')
      return -1
    }
    if (count < 0) throw new SluiceError('INVALID_REQUEST', `negative array length ${count}`)
    const perElement = elementBytesMin < 1 ? 1 : elementBytesMin
    if (count * perElement > this.end - this.offset) {
      throw new SluiceError('INVALID_REQUEST', `array of ${count} elements cannot fit in the ${this.end - this.offset} bytes left`)
    }
    return count
  }

  /**
   * Reads a TAG_BUFFER. For each field, `onTag(tag, reader)` gets a reader bounded to that
   * field's bytes and returns true if it knew the tag; unknown tags are skipped. A known field
   * must consume exactly its declared size.
   */
  readTaggedFields (onTag: ((tag: number, field: Reader) => boolean) | null): void {
    const count = this.readUVarint()
    // Each tagged field takes at least two bytes (tag and size).
    if (count * 2 > this.end - this.offset) {
      throw new SluiceError('INVALID_REQUEST', `${count} tagged fields cannot fit in the ${this.end - this.offset} bytes left`)
    }
    for (let index = 0; index < count; index++) {
      const tag = this.readUVarint()
      const size = this.readUVarint()
      this.need(size)
      const fieldEnd = this.offset + size
      if (onTag !== null) {
        const field = new Reader(this.buffer, this.offset, fieldEnd)
        if (onTag(tag, field) && field.offset !== fieldEnd) {
          throw new SluiceError('INVALID_REQUEST', `tagged field ${tag} declared ${size} bytes but used ${field.offset - this.offset}`)
        }
      }
      this.offset = fieldEnd
    }
  }
}
