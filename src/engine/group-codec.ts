/**
 * Reader and writer for the small, non-flexible Kafka encodings the group coordinator owns:
 * the consumer-protocol bytes embedded in JoinGroup/SyncGroup and the `__consumer_offsets`
 * record keys and values. The wire protocol layer has its own primitives; these live in the
 * engine because the engine must read and write these bytes without the wire.
 *
 * Primitive encodings (big-endian):
 *
 * | type            | bytes                                                    |
 * |-----------------|----------------------------------------------------------|
 * | INT16/32/64     | 2 / 4 / 8, two's complement                              |
 * | STRING          | INT16 length (>= 0), UTF-8 bytes                         |
 * | NULLABLE_STRING | INT16 length, -1 = null                                  |
 * | BYTES           | INT32 length (>= 0), bytes                               |
 * | NULLABLE_BYTES  | INT32 length, -1 = null                                  |
 * | ARRAY           | INT32 count (-1 = null), elements                        |
 * | COMPACT_*       | UNSIGNED_VARINT (length + 1), 0 = null (flexible only)   |
 * | TAGGED_FIELDS   | UNSIGNED_VARINT count, then (tag, size, bytes) each      |
 *
 * Invariant: a reader never reads past its view and never allocates a count it has not
 * checked against the bytes remaining, so garbage input costs at most its own length.
 */
import { SluiceError, type ErrorCode } from '../core/errors.js'

const textEncoder = new TextEncoder()
const textDecoder = new TextDecoder('utf-8')

/** Largest length an INT16-prefixed string can carry. */
export const STRING_BYTES_MAX = 0x7fff

/** Bounds-checked cursor over a byte view. Errors carry the code the caller chose. */
export class GroupCodecReader {
  readonly #view: DataView
  readonly #bytes: Uint8Array
  #position = 0

  constructor (bytes: Uint8Array, readonly errorCode: ErrorCode, readonly what: string) {
    this.#bytes = bytes
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  }

  get position (): number { return this.#position }
  get remaining (): number { return this.#bytes.byteLength - this.#position }

  fail (reason: string): never {
    throw new SluiceError(this.errorCode, `${this.what}: ${reason} at byte ${this.#position}`)
  }

  #need (count: number): void {
    if (count > this.remaining) this.fail(`needs ${count} bytes, ${this.remaining} left`)
  }

  int16 (): number {
    this.#need(2)
    const value = this.#view.getInt16(this.#position)
    this.#position += 2
    return value
  }

  int32 (): number {
    this.#need(4)
    const value = this.#view.getInt32(this.#position)
    this.#position += 4
    return value
  }

  /** INT64 as a number; values beyond 2^53 are an error because offsets are safe integers. */
  int64 (): number {
    this.#need(8)
    const value = this.#view.getBigInt64(this.#position)
    this.#position += 8
    if (value > BigInt(Number.MAX_SAFE_INTEGER) || value < BigInt(Number.MIN_SAFE_INTEGER)) {
      this.fail(`int64 ${value} is not a safe integer`)
    }
    return Number(value)
  }

  unsignedVarint (): number {
    let value = 0
    for (let shift = 0; shift <= 28; shift += 7) {
      this.#need(1)
      const byte = this.#bytes[this.#position++]!
      value |= (byte & 0x7f) << shift
      if ((byte & 0x80) === 0) return value >>> 0
    }
    return this.fail('unsigned varint longer than 5 bytes')
  }

  #utf8 (length: number): string {
    this.#need(length)
    const text = textDecoder.decode(this.#bytes.subarray(this.#position, this.#position + length))
    this.#position += length
    return text
  }

  string (): string {
    const length = this.int16()
    if (length < 0) this.fail(`string length ${length}`)
    return this.#utf8(length)
  }

  nullableString (): string | null {
    const length = this.int16()
    if (length < -1) this.fail(`string length ${length}`)
    return length === -1 ? null : this.#utf8(length)
  }

  compactNullableString (): string | null {
    const lengthPlusOne = this.unsignedVarint()
    return lengthPlusOne === 0 ? null : this.#utf8(lengthPlusOne - 1)
  }

  compactString (): string {
    const text = this.compactNullableString()
    if (text === null) this.fail('null compact string')
    return text
  }

  /** A copy, so decoded values never pin the caller's (possibly pooled) buffer. */
  #copy (length: number): Uint8Array {
    this.#need(length)
    // Not `slice`: on a Buffer input that returns a view, not a copy.
    const copy = new Uint8Array(length)
    copy.set(this.#bytes.subarray(this.#position, this.#position + length))
    this.#position += length
    return copy
  }

  bytes (): Uint8Array {
    const length = this.int32()
    if (length < 0) this.fail(`bytes length ${length}`)
    return this.#copy(length)
  }

  nullableBytes (): Uint8Array | null {
    const length = this.int32()
    if (length < -1) this.fail(`bytes length ${length}`)
    return length === -1 ? null : this.#copy(length)
  }

  compactBytes (): Uint8Array {
    const lengthPlusOne = this.unsignedVarint()
    if (lengthPlusOne === 0) this.fail('null compact bytes')
    return this.#copy(lengthPlusOne - 1)
  }

  /**
   * An array count, checked against the bytes left given the smallest element size, so an
   * absurd count fails here instead of allocating.
   */
  arrayCount (elementBytesMin: number): number {
    const count = this.int32()
    if (count < 0) this.fail(`array count ${count}`)
    if (count * elementBytesMin > this.remaining) this.fail(`array count ${count} exceeds the bytes left`)
    return count
  }

  compactArrayCount (elementBytesMin: number): number {
    const countPlusOne = this.unsignedVarint()
    if (countPlusOne === 0) this.fail('null compact array')
    const count = countPlusOne - 1
    if (count * elementBytesMin > this.remaining) this.fail(`array count ${count} exceeds the bytes left`)
    return count
  }

  /** Skips a flexible struct's tagged fields (none are known to the coordinator). */
  skipTaggedFields (): void {
    const count = this.unsignedVarint()
    for (let index = 0; index < count; index++) {
      this.unsignedVarint()
      const size = this.unsignedVarint()
      this.#need(size)
      this.#position += size
    }
  }
}

/** Growable big-endian writer; `finish()` returns a view of exactly the bytes written. */
export class GroupCodecWriter {
  #bytes: Uint8Array
  #view: DataView
  #position = 0

  constructor (capacity = 64) {
    this.#bytes = new Uint8Array(capacity)
    this.#view = new DataView(this.#bytes.buffer)
  }

  #reserve (count: number): void {
    const needed = this.#position + count
    if (needed <= this.#bytes.byteLength) return
    let capacity = this.#bytes.byteLength * 2
    while (capacity < needed) capacity *= 2
    const grown = new Uint8Array(capacity)
    grown.set(this.#bytes.subarray(0, this.#position))
    this.#bytes = grown
    this.#view = new DataView(grown.buffer)
  }

  int16 (value: number): this {
    this.#reserve(2)
    this.#view.setInt16(this.#position, value)
    this.#position += 2
    return this
  }

  int32 (value: number): this {
    this.#reserve(4)
    this.#view.setInt32(this.#position, value)
    this.#position += 4
    return this
  }

  int64 (value: number): this {
    this.#reserve(8)
    this.#view.setBigInt64(this.#position, BigInt(value))
    this.#position += 8
    return this
  }

  #raw (bytes: Uint8Array): this {
    this.#reserve(bytes.byteLength)
    this.#bytes.set(bytes, this.#position)
    this.#position += bytes.byteLength
    return this
  }

  string (text: string): this {
    const encoded = textEncoder.encode(text)
    if (encoded.byteLength > STRING_BYTES_MAX) {
      throw new SluiceError('INVALID_REQUEST', `string of ${encoded.byteLength} bytes exceeds ${STRING_BYTES_MAX}`)
    }
    return this.int16(encoded.byteLength).#raw(encoded)
  }

  nullableString (text: string | null): this {
    return text === null ? this.int16(-1) : this.string(text)
  }

  bytes (bytes: Uint8Array): this {
    return this.int32(bytes.byteLength).#raw(bytes)
  }

  nullableBytes (bytes: Uint8Array | null): this {
    return bytes === null ? this.int32(-1) : this.bytes(bytes)
  }

  finish (): Uint8Array {
    return this.#bytes.subarray(0, this.#position)
  }
}
