/**
 * Compression codecs for the records section of a RecordBatch v2, as Kafka defines them
 * (attributes bits 0-2):
 *
 * | id | codec  | bytes on the wire                                             | module          |
 * |----|--------|---------------------------------------------------------------|-----------------|
 * | 0  | none   | records as they are                                           | -               |
 * | 1  | gzip   | RFC 1952 gzip stream (node:zlib)                              | -               |
 * | 2  | snappy | written: xerial snappy-java framing (as the Java client);     | snappy-xerial   |
 * |    |        | read: xerial framing or a raw snappy block (librdkafka)       |                 |
 * | 3  | lz4    | LZ4 frame, FLG 0x60 BD 0x40 (as the Java client)              | lz4-frame       |
 * | 4  | zstd   | standard zstd frame (KIP-110)                                 | zstd-frame      |
 * | 5-7| -      | undefined by Kafka: UNSUPPORTED_COMPRESSION_TYPE               | -               |
 *
 * Invariants:
 * - Corrupt compressed input never crashes and never returns partial data: it raises
 *   SluiceError CORRUPT_MESSAGE naming the codec, with the underlying fault as `cause`.
 * - Decompression is bounded before it starts: snappy's length preambles, the LZ4 block
 *   structure and the zstd block structure give an upper bound of the output size that is
 *   checked against `decompressedBytesMax`; gzip, whose size is unknown until inflated, is
 *   stopped by zlib's `maxOutputLength` as soon as it passes the bound. A batch claiming more
 *   is refused as CORRUPT_MESSAGE, so a 1 MiB produce request cannot make the broker allocate
 *   gigabytes (a "decompression bomb").
 * - `compress`/`decompress` give the same bytes as their sync forms. Inputs below
 *   `asyncThresholdBytes` run inline (see the measurements next to that constant); larger ones
 *   run on libuv's threadpool through the native codecs' own async entry points, so the event
 *   loop is not blocked. The caller must not modify `data` until the promise settles.
 * - An aborted signal rejects with SLUICE_ABORTED at once; work already handed to a libuv
 *   thread runs to completion and its result is dropped (libuv cannot cancel running work).
 */
import { constants as bufferConstants } from 'node:buffer'
import { gunzip, gunzipSync, gzip, gzipSync } from 'node:zlib'
import { compress as snappyCompressAsync, compressSync as snappyCompressSync, uncompress as snappyUncompressAsync, uncompressSync as snappyUncompressSync } from 'snappy'
import { compress as lz4BlockCompressAsync, decompressFrame as lz4DecompressFrameAsync, decompressFrameSync as lz4DecompressFrameSync } from 'lz4-napi'
import { Decoder as ZstdDecoder, Encoder as ZstdEncoder } from '@toondepauw/node-zstd'
import { SluiceError } from '../core/errors.js'
import { assertNever } from '../core/assert.js'
import { isXerialFramed, readXerialChunks, snappyUncompressedLength, writeXerial, writeXerialHeader, xerialChunkBytes, xerialHeaderBytes } from './snappy-xerial.js'
import { lz4JavaBlockBytes, lz4JavaFrameHeader, scanLz4Frame, writeLz4Frame } from './lz4-frame.js'
import { scanZstdFrames } from './zstd-frame.js'

export type CompressionCodec = 'none' | 'gzip' | 'snappy' | 'lz4' | 'zstd'

/** Kafka's compression ids (attributes & 0x07). Never renumbered. */
export const compressionCodecIds = Object.freeze({ none: 0, gzip: 1, snappy: 2, lz4: 3, zstd: 4 } as const)

const codecsById: readonly CompressionCodec[] = ['none', 'gzip', 'snappy', 'lz4', 'zstd']
const compressionMask = 0x07

export interface CompressOptions {
  /** Rejects with SLUICE_ABORTED when aborted. */
  signal?: AbortSignal
}

export interface DecompressOptions {
  /** Rejects with SLUICE_ABORTED when aborted. */
  signal?: AbortSignal
  /**
   * Refuse (CORRUPT_MESSAGE) any input that would decompress to more bytes than this.
   * @defaultValue 64 MiB (`compressionDefaults.decompressedBytesMax`)
   */
  decompressedBytesMax?: number
}

export const compressionDefaults = Object.freeze({
  /**
   * 64 x Kafka's default `max.message.bytes` (1048588): text-like record values compress 3-10x
   * with every codec and rarely better than 30x, so a legitimate maximum-size batch stays well
   * under it, while a bomb (zstd or gzip reach 1000x on runs of one byte) is refused before it
   * can take the process's memory.
   */
  decompressedBytesMax: 64 * 1024 * 1024,
  /** gzip level: Java's `Deflater.DEFAULT_COMPRESSION` (6); Kafka `compression.gzip.level`. */
  gzipLevel: 6,
  /** zstd level: Kafka's `compression.zstd.level` default. */
  zstdLevel: 3,
  /**
   * Inputs smaller than this are compressed and decompressed inline by the async forms.
   * Measured on the 2-core machine of this repository (bench figures in the module header of
   * `bench/micro/compression.bench.ts` and in the comment below `chooseInline`).
   */
  asyncThresholdBytes: 64 * 1024
})

const zstdEncoder = new ZstdEncoder(compressionDefaults.zstdLevel)
const zstdDecoder = new ZstdDecoder()

/** The codec of a batch from its attributes; ids 5-7 are UNSUPPORTED_COMPRESSION_TYPE. */
export function codecFromAttributes (attributes: number): CompressionCodec {
  const id = attributes & compressionMask
  const codec = codecsById[id]
  if (codec === undefined) {
    throw new SluiceError('UNSUPPORTED_COMPRESSION_TYPE', `compression id ${id} (attributes 0x${attributes.toString(16)}) is not defined by Kafka`)
  }
  return codec
}

/** The attribute bits (0-2) that mark a batch as compressed with `codec`. */
export function compressionAttribute (codec: CompressionCodec): number {
  const id = compressionCodecIds[codec]
  if (id === undefined) throw new SluiceError('UNSUPPORTED_COMPRESSION_TYPE', `unknown compression codec ${String(codec)}`)
  return id
}

/**
 * Compresses `data` into the bytes Kafka expects for `codec`. For `none` the result is a view
 * of `data` (no copy).
 */
export function compressSync (codec: CompressionCodec, data: Uint8Array): Buffer {
  const input = asBuffer(data)
  switch (codec) {
    case 'none': return input
    case 'gzip': return gzipSync(input, { level: compressionDefaults.gzipLevel })
    case 'snappy': return writeXerial(input, (chunk) => snappyCompressSync(chunk))
    case 'lz4': return writeLz4Frame(input)
    case 'zstd': return zstdEncoder.encodeSync(input)
    default: return unknownCodec(codec)
  }
}

/**
 * Decompresses Kafka `codec` bytes. Throws CORRUPT_MESSAGE on corrupt input or when the
 * output would exceed `decompressedBytesMax`. For `none` the result is a view of `data`.
 */
export function decompressSync (codec: CompressionCodec, data: Uint8Array, options: DecompressOptions = {}): Buffer {
  const input = asBuffer(data)
  const limit = resolveDecompressedBytesMax(options)
  switch (codec) {
    case 'none': return input
    case 'gzip':
      return guard(codec, limit, () => gunzipSync(input, { maxOutputLength: limit }))
    case 'snappy': {
      const plan = planSnappy(input, limit)
      return guard(codec, limit, () => {
        if (plan.chunks === undefined) return toBuffer(snappyUncompressSync(input, { asBuffer: true }))
        return concatChunks(plan.chunks.map((chunk) => toBuffer(snappyUncompressSync(chunk, { asBuffer: true }))), plan.uncompressedLength)
      })
    }
    case 'lz4':
      checkBound(codec, limit, () => scanLz4Frame(input).decompressedBytesBound)
      return guard(codec, limit, () => lz4DecompressFrameSync(input))
    case 'zstd':
      checkBound(codec, limit, () => scanZstdFrames(input).decompressedBytesBound)
      return guard(codec, limit, () => zstdDecoder.decodeSync(input))
    default: return unknownCodec(codec)
  }
}

/** Async form of `compressSync`; same bytes. See the module header for threading and abort. */
export async function compress (codec: CompressionCodec, data: Uint8Array, options: CompressOptions = {}): Promise<Buffer> {
  const { signal } = options
  throwIfAborted(signal)
  if (codec === 'none' || data.length < compressionDefaults.asyncThresholdBytes) return compressSync(codec, data)
  const input = asBuffer(data)
  switch (codec) {
    case 'gzip': return await abortable(signal, gzipAsync(input))
    case 'snappy': return await abortable(signal, snappyXerialAsync(input, signal))
    case 'lz4': return await abortable(signal, lz4FrameAsync(input))
    case 'zstd': return await abortable(signal, zstdEncoder.encode(input))
    default: return unknownCodec(codec)
  }
}

/** Async form of `decompressSync`; same bytes and errors. */
export async function decompress (codec: CompressionCodec, data: Uint8Array, options: DecompressOptions = {}): Promise<Buffer> {
  const { signal } = options
  throwIfAborted(signal)
  const limit = resolveDecompressedBytesMax(options)
  if (codec === 'none' || data.length < compressionDefaults.asyncThresholdBytes) return decompressSync(codec, data, options)
  const input = asBuffer(data)
  switch (codec) {
    case 'gzip':
      return await abortable(signal, guardAsync(codec, limit, gunzipAsync(input, limit)))
    case 'snappy': {
      const plan = planSnappy(input, limit)
      const work = plan.chunks === undefined
        ? snappyUncompressAsync(input, { asBuffer: true }, signal).then(toBuffer)
        : Promise.all(plan.chunks.map(async (chunk) => toBuffer(await snappyUncompressAsync(chunk, { asBuffer: true }, signal))))
          .then((parts) => concatChunks(parts, plan.uncompressedLength))
      return await abortable(signal, guardAsync(codec, limit, work))
    }
    case 'lz4':
      checkBound(codec, limit, () => scanLz4Frame(input).decompressedBytesBound)
      return await abortable(signal, guardAsync(codec, limit, lz4DecompressFrameAsync(input)))
    case 'zstd':
      checkBound(codec, limit, () => scanZstdFrames(input).decompressedBytesBound)
      return await abortable(signal, guardAsync(codec, limit, zstdDecoder.decode(input)))
    default: return unknownCodec(codec)
  }
}

interface SnappyPlan {
  /** Raw snappy blocks of a xerial stream, or undefined for a single raw block. */
  chunks: Uint8Array[] | undefined
  uncompressedLength: number
}

/** Sniffs xerial vs raw snappy, validates the framing and checks the declared size bound. */
function planSnappy (input: Buffer, limit: number): SnappyPlan {
  let plan: SnappyPlan
  try {
    if (isXerialFramed(input)) {
      const framed = readXerialChunks(input)
      plan = { chunks: framed.chunks.map((chunk) => chunk.block), uncompressedLength: framed.uncompressedLength }
    } else {
      plan = { chunks: undefined, uncompressedLength: snappyUncompressedLength(input) }
    }
  } catch (error) {
    throw corrupt('snappy', error)
  }
  if (plan.uncompressedLength > limit) throw tooLarge('snappy', plan.uncompressedLength, limit)
  return plan
}

function checkBound (codec: CompressionCodec, limit: number, scan: () => number): void {
  let bound: number
  try {
    bound = scan()
  } catch (error) {
    throw corrupt(codec, error)
  }
  if (bound > limit) throw tooLarge(codec, bound, limit)
}

function guard (codec: CompressionCodec, limit: number, work: () => Buffer): Buffer {
  let output: Buffer
  try {
    output = work()
  } catch (error) {
    throw translateDecodeError(codec, limit, error)
  }
  return checkOutput(codec, limit, output)
}

async function guardAsync (codec: CompressionCodec, limit: number, work: Promise<Buffer>): Promise<Buffer> {
  let output: Buffer
  try {
    output = await work
  } catch (error) {
    throw translateDecodeError(codec, limit, error)
  }
  return checkOutput(codec, limit, output)
}

/** Belt and braces: the bounds above are upper bounds, so this only fires on a decoder bug. */
function checkOutput (codec: CompressionCodec, limit: number, output: Buffer): Buffer {
  if (output.length > limit) throw tooLarge(codec, output.length, limit)
  return output
}

function translateDecodeError (codec: CompressionCodec, limit: number, error: unknown): SluiceError {
  if (error instanceof SluiceError) return error
  if ((error as { code?: unknown } | null)?.code === 'ERR_BUFFER_TOO_LARGE') return tooLarge(codec, limit + 1, limit, error)
  return corrupt(codec, error)
}

function corrupt (codec: CompressionCodec, cause: unknown): SluiceError {
  const detail = cause instanceof Error ? cause.message : String(cause)
  return new SluiceError('CORRUPT_MESSAGE', `${codec}: corrupt compressed records: ${detail}`, { cause })
}

function tooLarge (codec: CompressionCodec, bytes: number, limit: number, cause?: unknown): SluiceError {
  const amount = bytes > limit + 1 ? `up to ${bytes} bytes` : `more than ${limit} bytes`
  return new SluiceError('CORRUPT_MESSAGE', `${codec}: records would decompress to ${amount}, above decompressedBytesMax ${limit}`, cause === undefined ? {} : { cause })
}

function resolveDecompressedBytesMax (options: DecompressOptions): number {
  const value = options.decompressedBytesMax ?? compressionDefaults.decompressedBytesMax
  if (!Number.isSafeInteger(value) || value < 0 || value > bufferConstants.MAX_LENGTH) {
    throw new SluiceError('SLUICE_INVALID_OPTION', `decompressedBytesMax must be an integer in [0, ${bufferConstants.MAX_LENGTH}], got ${String(value)}`)
  }
  return value
}

function throwIfAborted (signal: AbortSignal | undefined): void {
  if (signal?.aborted === true) throw new SluiceError('SLUICE_ABORTED', 'compression aborted', { cause: signal.reason })
}

/** Settles with `work`, or rejects SLUICE_ABORTED as soon as `signal` aborts. */
async function abortable<T> (signal: AbortSignal | undefined, work: Promise<T>): Promise<T> {
  if (signal === undefined) return await work
  throwIfAborted(signal)
  let onAbort: (() => void) | undefined
  const aborted = new Promise<never>((_resolve, reject) => {
    onAbort = () => { reject(new SluiceError('SLUICE_ABORTED', 'compression aborted', { cause: signal.reason })) }
    signal.addEventListener('abort', onAbort, { once: true })
  })
  // The losing side of the race must not surface as an unhandled rejection.
  work.catch(() => {})
  try {
    return await Promise.race([work, aborted])
  } finally {
    signal.removeEventListener('abort', onAbort!)
  }
}

function gzipAsync (input: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    gzip(input, { level: compressionDefaults.gzipLevel }, (error, result) => { error === null ? resolve(result) : reject(error) })
  })
}

function gunzipAsync (input: Buffer, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    gunzip(input, { maxOutputLength: limit }, (error, result) => { error === null ? resolve(result) : reject(error) })
  })
}

/** xerial framing with its 32 KiB chunks compressed in parallel on the threadpool. */
async function snappyXerialAsync (input: Buffer, signal: AbortSignal | undefined): Promise<Buffer> {
  const work: Array<Promise<Buffer>> = []
  for (let start = 0; start < input.length; start += xerialChunkBytes) {
    work.push(snappyCompressAsync(input.subarray(start, Math.min(input.length, start + xerialChunkBytes)), undefined, signal))
  }
  const blocks = await Promise.all(work)
  let total = xerialHeaderBytes
  for (const block of blocks) total += 4 + block.length
  const output = Buffer.allocUnsafe(total)
  writeXerialHeader(output)
  let position = xerialHeaderBytes
  for (const block of blocks) {
    output.writeInt32BE(block.length, position)
    block.copy(output, position + 4)
    position += 4 + block.length
  }
  return output
}

const lz4Header = lz4JavaFrameHeader()

/** Java-parameter LZ4 frame with its 64 KiB blocks compressed in parallel on the threadpool. */
async function lz4FrameAsync (input: Buffer): Promise<Buffer> {
  const work: Array<Promise<Buffer>> = []
  for (let start = 0; start < input.length; start += lz4JavaBlockBytes) {
    work.push(lz4BlockCompressAsync(input.subarray(start, Math.min(input.length, start + lz4JavaBlockBytes))))
  }
  const prefixed = await Promise.all(work)
  let total = lz4Header.length + 4
  for (let index = 0; index < prefixed.length; index++) {
    const sourceLength = Math.min(lz4JavaBlockBytes, input.length - index * lz4JavaBlockBytes)
    total += 4 + Math.min(prefixed[index]!.length - 4, sourceLength)
  }
  const output = Buffer.allocUnsafe(total)
  lz4Header.copy(output, 0)
  let position = lz4Header.length
  for (let index = 0; index < prefixed.length; index++) {
    const start = index * lz4JavaBlockBytes
    const source = input.subarray(start, Math.min(input.length, start + lz4JavaBlockBytes))
    const compressed = prefixed[index]!.subarray(4)
    if (compressed.length >= source.length) {
      output.writeUInt32LE((source.length | 0x80000000) >>> 0, position)
      source.copy(output, position + 4)
      position += 4 + source.length
    } else {
      output.writeUInt32LE(compressed.length, position)
      compressed.copy(output, position + 4)
      position += 4 + compressed.length
    }
  }
  output.writeUInt32LE(0, position)
  return output
}

function concatChunks (parts: Buffer[], expectedLength: number): Buffer {
  const output = Buffer.concat(parts)
  if (output.length !== expectedLength) {
    throw new SluiceError('CORRUPT_MESSAGE', `snappy: chunks decompressed to ${output.length} bytes, their preambles declare ${expectedLength}`)
  }
  return output
}

function asBuffer (data: Uint8Array): Buffer {
  return Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength)
}

function toBuffer (value: string | Buffer): Buffer {
  return typeof value === 'string' ? Buffer.from(value) : value
}

function unknownCodec (codec: never): never {
  if (typeof codec === 'string') throw new SluiceError('UNSUPPORTED_COMPRESSION_TYPE', `unknown compression codec ${String(codec)}`)
  return assertNever(codec)
}
