/**
 * CRC-32C (Castagnoli), the checksum of Kafka's RecordBatch v2: it covers the batch from the
 * attributes field (byte 21) to the end of the batch.
 *
 * Parameters (identical to `java.util.zip.CRC32C`): polynomial 0x1EDC6F41, processed reflected
 * (0x82F63B78), register initialised to 0xFFFFFFFF, final value xored with 0xFFFFFFFF.
 *
 * Invariants:
 * - Every function here returns an unsigned 32-bit integer (0 .. 2^32-1), never a negative int32,
 *   so results compare with `===` against `readUInt32BE`.
 * - Continuation follows zlib's convention: `crc32c(b, crc32c(a)) === crc32c(a ++ b)`. The value
 *   passed as `initial` is a previous *result* (already xored out), not a raw register.
 * - Inputs are views: a pooled Buffer slice with a non-zero `byteOffset` is read in place, only
 *   its own `byteLength` bytes.
 */
import { createRequire } from 'node:module'
import { SluiceError } from '../core/errors.js'

/** Reflected Castagnoli polynomial. */
const POLYNOMIAL_REFLECTED = 0x82f63b78

/**
 * Slicing-by-8 tables, 8 x 256 entries. Table k maps a byte b to the CRC register contribution of
 * b followed by k zero bytes, so eight input bytes fold into the register with eight lookups and
 * no per-byte dependency chain.
 */
const tables = buildTables()

function buildTables (): Int32Array {
  const table = new Int32Array(8 * 256)
  for (let n = 0; n < 256; n++) {
    let c = n
    for (let bit = 0; bit < 8; bit++) c = (c & 1) !== 0 ? (c >>> 1) ^ POLYNOMIAL_REFLECTED : c >>> 1
    table[n] = c
  }
  for (let k = 1; k < 8; k++) {
    for (let n = 0; n < 256; n++) {
      const previous = table[(k - 1) * 256 + n]!
      table[k * 256 + n] = (previous >>> 8) ^ table[previous & 0xff]!
    }
  }
  return table
}

/**
 * Throws SLUICE_INVALID_OPTION unless `bytes` is a Uint8Array (Buffer included) and `initial` an
 * integer CRC value. Negative int32 values (as read by `readInt32BE`) are accepted and taken
 * modulo 2^32, since they denote the same 32 bits.
 */
export function checkCrcArguments (bytes: Uint8Array, initial: number): number {
  if (!(bytes instanceof Uint8Array)) {
    throw new SluiceError('SLUICE_INVALID_OPTION', 'crc32c: bytes must be a Uint8Array')
  }
  if (!Number.isInteger(initial) || initial < -0x80000000 || initial > 0xffffffff) {
    throw new SluiceError('SLUICE_INVALID_OPTION', `crc32c: initial must be a 32-bit integer, got ${String(initial)}`)
  }
  return initial >>> 0
}

/**
 * Table-driven CRC-32C in plain JavaScript (slicing-by-8). The portable reference that every
 * other implementation is tested against; also the fallback of last resort.
 *
 * @param bytes - the bytes to checksum (any view; only its own range is read)
 * @param initial - a previous result to continue from. @defaultValue 0
 * @returns the CRC-32C as an unsigned 32-bit integer
 */
export function crc32cJs (bytes: Uint8Array, initial = 0): number {
  const start = checkCrcArguments(bytes, initial)
  return crc32cJsUnchecked(bytes, 0, bytes.length, start)
}

/** The JS kernel over `bytes[from, to)`, arguments already checked; `initial` is a previous result. */
export function crc32cJsUnchecked (bytes: Uint8Array, from: number, to: number, initial: number): number {
  const t = tables
  let crc = ~initial
  let i = from
  const end8 = from + ((to - from) & ~7)
  while (i < end8) {
    const low = crc ^ (bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24))
    crc = t[1792 + (low & 0xff)]! ^
      t[1536 + ((low >>> 8) & 0xff)]! ^
      t[1280 + ((low >>> 16) & 0xff)]! ^
      t[1024 + (low >>> 24)]! ^
      t[768 + bytes[i + 4]!]! ^
      t[512 + bytes[i + 5]!]! ^
      t[256 + bytes[i + 6]!]! ^
      t[bytes[i + 7]!]!
    i += 8
  }
  while (i < to) {
    crc = (crc >>> 8) ^ t[(crc ^ bytes[i]!) & 0xff]!
    i++
  }
  return ~crc >>> 0
}

type NativeCrc = (input: Uint8Array, initialState?: number) => number

/** `@node-rs/crc32`'s crc32c (hardware CRC32 instructions), or null where its binary does not load. */
function loadNative (): NativeCrc | null {
  try {
    const require = createRequire(import.meta.url)
    const native = require('@node-rs/crc32') as { crc32c?: NativeCrc }
    const crc = native.crc32c
    if (typeof crc !== 'function') return null
    // Refuse a binary that disagrees with the definition above (wrong polynomial or convention).
    const probe = new TextEncoder().encode('123456789')
    if (crc(probe, 0) !== 0xe3069283) return null
    return crc
  } catch {
    return null
  }
}

const native = loadNative()

/** Which implementation `crc32c` uses in this process. */
export const crc32cImplementation: 'native' | 'js' = native === null ? 'js' : 'native'

/**
 * CRC-32C of `bytes`, continuing from `initial` (a previous result) when given.
 *
 * @param bytes - the bytes to checksum (any view; pooled Buffer slices are fine)
 * @param initial - a previous result to continue from. @defaultValue 0
 * @returns the CRC-32C as an unsigned 32-bit integer
 */
export function crc32c (bytes: Uint8Array, initial = 0): number {
  const start = checkCrcArguments(bytes, initial)
  if (native !== null) return native(bytes, start) >>> 0
  return crc32cJsUnchecked(bytes, 0, bytes.length, start)
}
