/**
 * Variable-length integers of the Kafka formats.
 *
 * Two families share the LEB128 byte layout (7 bits per byte, least significant group first,
 * high bit = "another byte follows"):
 *
 * | family                | zigzag | max bytes | used by                                        |
 * |-----------------------|--------|-----------|------------------------------------------------|
 * | varint  (int32)       | yes    | 5         | record length, offsetDelta, key/value lengths  |
 * | varlong (int64)       | yes    | 10        | record timestampDelta                          |
 * | unsigned varint       | no     | 5         | protocol compact lengths (len + 1) and tags    |
 *
 * Zigzag maps signed to unsigned so small magnitudes stay short: 0 -> 0, -1 -> 1, 1 -> 2,
 * -2 -> 3, ... (`(n << 1) ^ (n >> 31)`).
 *
 * Readers take a `Cursor` (an object whose `position` they advance) and an exclusive `end`, so
 * a decoder walks a byte range without allocating per value. A varint longer than its maximum
 * or cut off by `end` is corrupt input and raises `SluiceError('CORRUPT_MESSAGE')`; callers on
 * the storage side rewrap it with the file and position.
 *
 * Varlongs are `number` in the API because Sluice keeps offsets and timestamps as safe integers.
 * The number path is exact while the magnitude is below 2^52; beyond that the bigint path
 * runs, and `readVarlong` refuses a value outside the safe-integer range rather than round it.
 * `readVarlongBigInt` / `writeVarlongBigInt` cover the full int64 range exactly.
 */
import { SluiceError } from '../core/errors.js'

/** A read position a decoder advances in place. */
export interface Cursor {
  position: number
}

/** Largest encoded size of a (zigzag or unsigned) 32-bit varint. */
export const VARINT_BYTES_MAX = 5
/** Largest encoded size of a zigzag 64-bit varlong. */
export const VARLONG_BYTES_MAX = 10

const TWO_POW_28 = 2 ** 28
const TWO_POW_52 = 2 ** 52

function corrupt (message: string, position: number): SluiceError {
  return new SluiceError('CORRUPT_MESSAGE', `${message} at byte ${position}`)
}

// ---------------------------------------------------------------------------------------------
// Unsigned 32-bit varints (protocol)

/** Encoded size of `value` (0 .. 2^32-1) as an unsigned varint. */
export function sizeOfUnsignedVarint (value: number): number {
  if (value < 0x80) return 1
  if (value < 0x4000) return 2
  if (value < 0x200000) return 3
  if (value < 0x10000000) return 4
  return 5
}

/** Writes `value` (0 .. 2^32-1) at `position`; returns the position after it. */
export function writeUnsignedVarint (target: Uint8Array, position: number, value: number): number {
  let remaining = value >>> 0
  while (remaining >= 0x80) {
    target[position++] = (remaining & 0x7f) | 0x80
    remaining >>>= 7
  }
  target[position++] = remaining
  return position
}

/** Reads an unsigned varint (0 .. 2^32-1) at `cursor.position` and advances the cursor. */
export function readUnsignedVarint (bytes: Uint8Array, cursor: Cursor, end: number = bytes.length): number {
  const start = cursor.position
  let position = start
  let result = 0
  let shift = 0
  // Unrolled through the first byte: most protocol lengths are below 128.
  if (position < end) {
    const first = bytes[position++]!
    if (first < 0x80) {
      cursor.position = position
      return first
    }
    result = first & 0x7f
    shift = 7
  }
  while (position < end) {
    const byte = bytes[position++]!
    if (shift === 28) {
      // Fifth byte: only 4 bits fit in 32; a continuation bit here means a 6+ byte varint.
      if (byte & 0x80) throw corrupt('varint longer than 5 bytes', start)
      cursor.position = position
      return (result | (byte << 28)) >>> 0
    }
    result |= (byte & 0x7f) << shift
    if (byte < 0x80) {
      cursor.position = position
      return result >>> 0
    }
    shift += 7
  }
  throw corrupt('truncated varint', start)
}

// ---------------------------------------------------------------------------------------------
// Zigzag 32-bit varints (record format)

/** Encoded size of the int32 `value` as a zigzag varint. */
export function sizeOfVarint (value: number): number {
  const zigzag = ((value << 1) ^ (value >> 31)) >>> 0
  if (zigzag < 0x80) return 1
  if (zigzag < 0x4000) return 2
  if (zigzag < 0x200000) return 3
  if (zigzag < 0x10000000) return 4
  return 5
}

/** Writes the int32 `value` as a zigzag varint at `position`; returns the position after it. */
export function writeVarint (target: Uint8Array, position: number, value: number): number {
  let zigzag = ((value << 1) ^ (value >> 31)) >>> 0
  while (zigzag >= 0x80) {
    target[position++] = (zigzag & 0x7f) | 0x80
    zigzag >>>= 7
  }
  target[position++] = zigzag
  return position
}

/** Reads a zigzag varint (int32) at `cursor.position` and advances the cursor. */
export function readVarint (bytes: Uint8Array, cursor: Cursor, end: number = bytes.length): number {
  const start = cursor.position
  let position = start
  let result = 0
  let shift = 0
  while (position < end) {
    const byte = bytes[position++]!
    if (shift === 28) {
      if (byte & 0x80) throw corrupt('varint longer than 5 bytes', start)
      result |= byte << 28
      cursor.position = position
      return (result >>> 1) ^ -(result & 1)
    }
    result |= (byte & 0x7f) << shift
    if (byte < 0x80) {
      cursor.position = position
      return (result >>> 1) ^ -(result & 1)
    }
    shift += 7
  }
  throw corrupt('truncated varint', start)
}

// ---------------------------------------------------------------------------------------------
// Zigzag 64-bit varlongs (record format)

const BIGINT_7F = 0x7fn
const BIGINT_80 = 0x80n
const BIGINT_7 = 7n
const BIGINT_1 = 1n
const BIGINT_63 = 63n
const UINT64_MASK = (1n << 64n) - 1n

function zigzagBigInt (value: bigint): bigint {
  return ((value << BIGINT_1) ^ (value >> BIGINT_63)) & UINT64_MASK
}

/** Encoded size of the safe integer `value` as a zigzag varlong. */
export function sizeOfVarlong (value: number): number {
  if (value > -TWO_POW_52 && value < TWO_POW_52) {
    let zigzag = value >= 0 ? value * 2 : -value * 2 - 1
    let size = 1
    while (zigzag >= 0x80) {
      zigzag = Math.floor(zigzag / 128)
      size++
    }
    return size
  }
  return sizeOfVarlongBigInt(BigInt(value))
}

/** Writes the safe integer `value` as a zigzag varlong; returns the position after it. */
export function writeVarlong (target: Uint8Array, position: number, value: number): number {
  if (value > -TWO_POW_52 && value < TWO_POW_52) {
    let zigzag = value >= 0 ? value * 2 : -value * 2 - 1
    // Above 28 bits the 32-bit operators would truncate; peel off 7-bit groups arithmetically.
    while (zigzag >= TWO_POW_28) {
      target[position++] = (zigzag % 128) | 0x80
      zigzag = Math.floor(zigzag / 128)
    }
    while (zigzag >= 0x80) {
      target[position++] = (zigzag & 0x7f) | 0x80
      zigzag >>>= 7
    }
    target[position++] = zigzag
    return position
  }
  return writeVarlongBigInt(target, position, BigInt(value))
}

/**
 * Reads a zigzag varlong at `cursor.position` and advances the cursor. Raises CORRUPT_MESSAGE
 * for a malformed varlong or one whose value is not a safe integer.
 */
export function readVarlong (bytes: Uint8Array, cursor: Cursor, end: number = bytes.length): number {
  const start = cursor.position
  let position = start
  let low = 0
  let shift = 0
  // The first four bytes (28 bits) with 32-bit operators: every realistic timestamp delta.
  while (position < end && shift < 28) {
    const byte = bytes[position++]!
    low |= (byte & 0x7f) << shift
    if (byte < 0x80) {
      cursor.position = position
      return (low >>> 1) ^ -(low & 1)
    }
    shift += 7
  }
  // Bytes five to seven keep the value below 2^49: still exact in a double.
  let value = low
  let scale = TWO_POW_28
  while (position < end && shift < 49) {
    const byte = bytes[position++]!
    value += (byte & 0x7f) * scale
    if (byte < 0x80) {
      cursor.position = position
      return value % 2 === 0 ? value / 2 : -(value + 1) / 2
    }
    scale *= 128
    shift += 7
  }
  if (position >= end && shift < 49) throw corrupt('truncated varlong', start)
  cursor.position = start
  const exact = readVarlongBigInt(bytes, cursor, end)
  if (exact > BigInt(Number.MAX_SAFE_INTEGER) || exact < BigInt(Number.MIN_SAFE_INTEGER)) {
    cursor.position = start
    throw corrupt(`varlong ${exact} outside the safe integer range`, start)
  }
  return Number(exact)
}

/** Encoded size of the int64 `value` as a zigzag varlong. */
export function sizeOfVarlongBigInt (value: bigint): number {
  let zigzag = zigzagBigInt(value)
  let size = 1
  while (zigzag >= BIGINT_80) {
    zigzag >>= BIGINT_7
    size++
  }
  return size
}

/** Writes the int64 `value` (wrapped to 64 bits) as a zigzag varlong; returns the next position. */
export function writeVarlongBigInt (target: Uint8Array, position: number, value: bigint): number {
  let zigzag = zigzagBigInt(value)
  while (zigzag >= BIGINT_80) {
    target[position++] = Number(zigzag & BIGINT_7F) | 0x80
    zigzag >>= BIGINT_7
  }
  target[position++] = Number(zigzag)
  return position
}

/** Reads a zigzag varlong as an exact int64 bigint and advances the cursor. */
export function readVarlongBigInt (bytes: Uint8Array, cursor: Cursor, end: number = bytes.length): bigint {
  const start = cursor.position
  let position = start
  let result = 0n
  let shift = 0n
  for (let index = 0; index < VARLONG_BYTES_MAX; index++) {
    if (position >= end) throw corrupt('truncated varlong', start)
    const byte = bytes[position++]!
    result |= BigInt(byte & 0x7f) << shift
    if (byte < 0x80) {
      cursor.position = position
      // Bits past 64 in the tenth byte are ignored, as Kafka's ByteUtils.readVarlong does.
      const unsigned = result & UINT64_MASK
      return BigInt.asIntN(64, (unsigned >> BIGINT_1) ^ -(unsigned & BIGINT_1))
    }
    shift += BIGINT_7
  }
  throw corrupt('varlong longer than 10 bytes', start)
}
