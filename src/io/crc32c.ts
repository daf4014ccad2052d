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
import { crc32cSlot } from './wasm-kernels.js'

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
function checkCrcArguments (bytes: Uint8Array, initial: number): number {
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
function crc32cJsUnchecked (bytes: Uint8Array, from: number, to: number, initial: number): number {
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

/**
 * CRC-32C computed by the WebAssembly kernel (`asm/crc32c.ts`, four-lane slicing-by-8). Input is
 * copied into the kernel's scratch region in scratch-sized chunks; the register carries over from
 * one chunk to the next.
 *
 * @param bytes - the bytes to checksum (any view; only its own range is read)
 * @param initial - a previous result to continue from. @defaultValue 0
 * @returns the CRC-32C as an unsigned 32-bit integer
 * @throws Error when build/crc32c.wasm could not be loaded (see `crc32cSlot.error`)
 */
export function crc32cWasm (bytes: Uint8Array, initial = 0): number {
  const start = checkCrcArguments(bytes, initial)
  const kernel = crc32cSlot.kernel
  if (kernel === null) throw crc32cSlot.error
  return crc32cWasmUnchecked(kernel, bytes, start)
}

function crc32cWasmUnchecked (kernel: NonNullable<typeof crc32cSlot.kernel>, bytes: Uint8Array, initial: number): number {
  const update = kernel.exports.update
  const pointer = kernel.scratchPointer
  const chunkBytes = kernel.scratchBytes
  const scratch = kernel.scratch()
  const length = bytes.length
  let crc = ~initial
  if (length <= chunkBytes) {
    scratch.set(bytes)
    crc = update(crc, pointer, length)
  } else {
    for (let offset = 0; offset < length; offset += chunkBytes) {
      const end = Math.min(offset + chunkBytes, length)
      scratch.set(bytes.subarray(offset, end))
      crc = update(crc, pointer, end - offset)
    }
  }
  return ~crc >>> 0
}

type NativeCrc = (input: Uint8Array, initialState?: number) => number

/**
 * `@node-rs/crc32`'s crc32c (hardware CRC32 instructions), or null where its binary does not load
 * or the environment sets `SLUICE_CRC32C_NATIVE=0` (to exercise and measure the portable path).
 */
function loadNative (): NativeCrc | null {
  if (process.env.SLUICE_CRC32C_NATIVE === '0') return null
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

/**
 * Dispatch, decided by measurement (development machine: AMD EPYC with SSE4.2 crc32 and
 * VPCLMULQDQ, Node 20.20, two shared cores, best of three runs of N calls on a pooled Buffer
 * slice; ns per call, GB/s in brackets):
 *
 * | bytes | native (@node-rs/crc32) | WASM (4-lane slicing-by-8) | JS (slicing-by-8) |
 * |-------|-------------------------|----------------------------|-------------------|
 * | 0     | 66 ns                   | 27 ns                      | 6 ns              |
 * | 16    | 81 ns                   | 35 ns                      | 16 ns             |
 * | 64    | 87 ns                   | 57 ns                      | 45 ns             |
 * | 128   | 88 ns                   | 85 ns                      | 85 ns             |
 * | 256   | 101 ns (2.5)            | 149 ns (1.7)               | 157 ns (1.6)      |
 * | 512   | 150 ns (3.4)            | 156 ns (3.3)               | 316 ns (1.6)      |
 * | 1 KiB | 230 ns (4.5)            | 288 ns (3.6)               | 622 ns (1.7)      |
 * | 64 KiB| 8.2 us (8.0)            | 16.4 us (4.0)              | 39 us (1.7)       |
 * | 1 MiB | 128 us (8.2)            | 267 us (3.9)               | 622 us (1.7)      |
 *
 * (Measured while the machine was quiet; rerun under load from other jobs, every column roughly
 * halved and the ordering stayed the same.)
 *
 * Native uses the CPU's crc32 instruction and is about twice WASM from 1 KiB up, but every call
 * pays a fixed N-API crossing (~65 ns); WASM pays a smaller fixed cost plus a copy into its
 * scratch. So: below NATIVE_MIN_BYTES the JS loop; above it native where its binary loads; where
 * it does not, WASM from WASM_MIN_BYTES and JS below.
 */
const NATIVE_MIN_BYTES = 128
const WASM_MIN_BYTES = 256

/** Which implementation `crc32c` uses for inputs past the small-input threshold in this process. */
export const crc32cImplementation: 'native' | 'wasm' | 'js' =
  native !== null ? 'native' : crc32cSlot.kernel !== null ? 'wasm' : 'js'

/**
 * CRC-32C of `bytes`, continuing from `initial` (a previous result) when given:
 * `crc32c(b, crc32c(a)) === crc32c(a ++ b)`. Picks the fastest implementation loaded for the
 * input's size (see the table above); all of them return the same value.
 *
 * @param bytes - the bytes to checksum (any view; pooled Buffer slices are fine)
 * @param initial - a previous result to continue from. @defaultValue 0
 * @returns the CRC-32C as an unsigned 32-bit integer
 * @throws SluiceError SLUICE_INVALID_OPTION when `bytes` is not a Uint8Array or `initial` not a 32-bit integer
 */
export function crc32c (bytes: Uint8Array, initial = 0): number {
  const start = checkCrcArguments(bytes, initial)
  const length = bytes.length
  if (native !== null) {
    return length < NATIVE_MIN_BYTES ? crc32cJsUnchecked(bytes, 0, length, start) : native(bytes, start) >>> 0
  }
  const kernel = crc32cSlot.kernel
  if (kernel !== null && length >= WASM_MIN_BYTES) return crc32cWasmUnchecked(kernel, bytes, start)
  return crc32cJsUnchecked(bytes, 0, length, start)
}

/** `@node-rs/crc32`'s crc32c where its binary loads in this process, else null. Exposed for tests and benchmarks. */
export const crc32cNative: ((bytes: Uint8Array, initial?: number) => number) | null = native === null
  ? null
  : (bytes: Uint8Array, initial = 0): number => native(bytes, checkCrcArguments(bytes, initial)) >>> 0
