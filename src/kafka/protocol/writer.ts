/**
 * Writer of Kafka protocol primitives into a list of chunks for `socket.writev`/`cork`.
 *
 * Small values are copied into a scratch chunk that grows by doubling; a BYTES or RECORDS value
 * at least `viewBytesMin` long is not copied but appended as its own chunk (the caller's view),
 * so a Fetch response over stored batches costs a few header bytes per partition, not a copy of
 * the data. Chunks are `subarray`s of what was written: no uninitialised byte escapes.
 *
 * Invariants:
 * - `length` is the exact number of bytes across all chunks, including the chunk in progress.
 * - A slot from `reserve` stays writable until `finish`, even after its chunk has been pushed:
 *   pushed chunks are views of the same memory.
 * - Views appended with `writeView` must not change until the chunks are written out.
 *
 * Encodings are those listed in `reader.ts`.
 */
import { assert } from '../../core/assert.js'

const EMPTY = Buffer.alloc(0)

/** Where a reserved fixed-width field lives, to be patched once its value is known. */
export interface WriterSlot {
  readonly chunk: Buffer
  readonly offset: number
}

export interface WriterOptions {
  /** First scratch chunk size; later chunks double up to `chunkBytesMax`. @defaultValue 1024 */
  chunkBytes?: number
  /** Values at least this long are appended as views instead of copied. @defaultValue 4096 */
  viewBytesMin?: number
}

const CHUNK_BYTES_MAX = 64 * 1024

export class Writer {
  private readonly chunks: Buffer[] = []
  private current: Buffer
  private position = 0
  private pushedBytes = 0
  private nextChunkBytes: number
  private readonly viewBytesMin: number
  private finished = false

  constructor (options: WriterOptions = {}) {
    this.nextChunkBytes = options.chunkBytes ?? 1024
    this.viewBytesMin = options.viewBytesMin ?? 4096
    this.current = EMPTY
  }

  /** Bytes written so far. */
  get length (): number {
    return this.pushedBytes + this.position
  }

  private ensure (count: number): void {
    if (this.position + count <= this.current.length) return
    assert(!this.finished, 'write after finish')
    this.pushCurrent()
    const size = Math.max(count, this.nextChunkBytes)
    this.nextChunkBytes = Math.min(this.nextChunkBytes * 2, CHUNK_BYTES_MAX)
    // Every byte handed out is overwritten before it escapes: finish() only exposes [0, position).
    this.current = Buffer.allocUnsafe(size)
    this.position = 0
  }

  private pushCurrent (): void {
    if (this.position > 0) {
      this.chunks.push(this.current.subarray(0, this.position))
      this.pushedBytes += this.position
      this.current = this.current.subarray(this.position)
      this.position = 0
    }
  }

  writeInt8 (value: number): void {
    this.ensure(1)
    this.current.writeInt8(value, this.position)
    this.position += 1
  }

  writeUInt8 (value: number): void {
    this.ensure(1)
    this.current[this.position++] = value
  }

  writeBoolean (value: boolean): void {
    this.writeUInt8(value ? 1 : 0)
  }

  writeInt16 (value: number): void {
    this.ensure(2)
    this.current.writeInt16BE(value, this.position)
    this.position += 2
  }

  writeUInt16 (value: number): void {
    this.ensure(2)
    this.current.writeUInt16BE(value, this.position)
    this.position += 2
  }

  writeInt32 (value: number): void {
    this.ensure(4)
    this.current.writeInt32BE(value, this.position)
    this.position += 4
  }

  writeUInt32 (value: number): void {
    this.ensure(4)
    this.current.writeUInt32BE(value, this.position)
    this.position += 4
  }

  /** INT64 from a safe-integer number (or a bigint). */
  writeInt64 (value: number | bigint): void {
    this.ensure(8)
    if (typeof value === 'bigint') {
      this.current.writeBigInt64BE(value, this.position)
    } else {
      assert(Number.isSafeInteger(value), 'int64 value must be a safe integer')
      // Split without bigint: floor division keeps the sign in the high word.
      const high = Math.floor(value / 4294967296)
      const low = value - high * 4294967296
      this.current.writeInt32BE(high, this.position)
      this.current.writeUInt32BE(low, this.position + 4)
    }
    this.position += 8
  }

  writeFloat64 (value: number): void {
    this.ensure(8)
    this.current.writeDoubleBE(value, this.position)
    this.position += 8
  }

  /** Unsigned LEB128, 32-bit range. */
  writeUVarint (value: number): void {
    assert(Number.isInteger(value) && value >= 0 && value <= 0xffffffff, 'uvarint out of range')
    this.ensure(5)
    const target = this.current
    let remaining = value
    while (remaining >= 0x80) {
      target[this.position++] = (remaining & 0x7f) | 0x80
      remaining = Math.floor(remaining / 128)
    }
    target[this.position++] = remaining
  }

  /** Zigzag signed 32-bit varint. */
  writeVarint (value: number): void {
    assert(Number.isInteger(value) && value >= -0x80000000 && value <= 0x7fffffff, 'varint out of range')
    this.writeUVarint(value >= 0 ? value * 2 : -value * 2 - 1)
  }

  /** Zigzag signed 64-bit varint from a safe integer. */
  writeVarlong (value: number): void {
    assert(Number.isSafeInteger(value), 'varlong must be a safe integer')
    let raw = value >= 0 ? BigInt(value) << 1n : ((-BigInt(value)) << 1n) - 1n
    this.ensure(10)
    while (raw >= 0x80n) {
      this.current[this.position++] = Number(raw & 0x7fn) | 0x80
      raw >>= 7n
    }
    this.current[this.position++] = Number(raw)
  }

  /** UUID from Kafka's printed form (22 characters of URL-safe base64). */
  writeUuid (value: string): void {
    this.ensure(16)
    const written = this.current.write(value, this.position, 16, 'base64url')
    assert(written === 16 && value.length === 22, 'uuid must be 22 base64url characters')
    this.position += 16
  }

  private writeUtf8 (value: string, byteLength: number): void {
    if (byteLength === 0) return
    this.ensure(byteLength)
    this.current.write(value, this.position, byteLength, 'utf8')
    this.position += byteLength
  }

  writeString (value: string): void {
    const byteLength = Buffer.byteLength(value, 'utf8')
    assert(byteLength <= 0x7fff, 'string longer than 32767 bytes')
    this.writeInt16(byteLength)
    this.writeUtf8(value, byteLength)
  }

  writeNullableString (value: string | null): void {
    if (value === null) this.writeInt16(-1)
    else this.writeString(value)
  }

  writeCompactString (value: string): void {
    const byteLength = Buffer.byteLength(value, 'utf8')
    this.writeUVarint(byteLength + 1)
    this.writeUtf8(value, byteLength)
  }

  writeCompactNullableString (value: string | null): void {
    if (value === null) this.writeUVarint(0)
    else this.writeCompactString(value)
  }

  /** Raw bytes: copied when short, appended as a chunk (zero copy) when long. */
  writeView (value: Uint8Array): void {
    const length = value.byteLength
    if (length === 0) return
    if (length >= this.viewBytesMin) {
      this.pushCurrent()
      this.chunks.push(Buffer.isBuffer(value) ? value : Buffer.from(value.buffer, value.byteOffset, length))
      this.pushedBytes += length
      return
    }
    this.ensure(length)
    this.current.set(value, this.position)
    this.position += length
  }

  writeBytes (value: Uint8Array): void {
    this.writeInt32(value.byteLength)
    this.writeView(value)
  }

  writeNullableBytes (value: Uint8Array | null): void {
    if (value === null) this.writeInt32(-1)
    else this.writeBytes(value)
  }

  writeCompactBytes (value: Uint8Array): void {
    this.writeUVarint(value.byteLength + 1)
    this.writeView(value)
  }

  writeCompactNullableBytes (value: Uint8Array | null): void {
    if (value === null) this.writeUVarint(0)
    else this.writeCompactBytes(value)
  }

  /** ARRAY count (`compact` false) or COMPACT_ARRAY count; -1 writes null. */
  writeArrayLength (count: number, compact: boolean): void {
    if (compact) this.writeUVarint(count + 1)
    else this.writeInt32(count)
  }

  /** Appends everything another writer produced (its chunks are adopted, not copied). */
  writeWriter (other: Writer): void {
    for (const chunk of other.finish()) this.writeView(chunk)
  }

  /** Reserves `count` bytes to be patched later (e.g. a size prefix). */
  reserve (count: number): WriterSlot {
    this.ensure(count)
    const slot = { chunk: this.current, offset: this.position }
    this.current.fill(0, this.position, this.position + count)
    this.position += count
    return slot
  }

  patchInt32 (slot: WriterSlot, value: number): void {
    slot.chunk.writeInt32BE(value, slot.offset)
  }

  /** The chunks, in order, for `writev`. The writer accepts no more writes. */
  finish (): Buffer[] {
    if (!this.finished) {
      this.pushCurrent()
      this.current = EMPTY
      this.finished = true
    }
    return this.chunks
  }

  /** One contiguous Buffer (copies); for tests and small messages. */
  toBuffer (): Buffer {
    const chunks = this.finish()
    if (chunks.length === 1) return chunks[0]!
    return Buffer.concat(chunks, this.pushedBytes)
  }
}
