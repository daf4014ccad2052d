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
 * | 3  | lz4    | LZ4 frame, FLG 0x60 BD 0x40 (as Java and librdkafka write it) | lz4-frame       |
 * | 4  | zstd   | standard zstd frame (KIP-110)                                 | zstd-frame      |
 * | 5-7| -      | undefined by Kafka: UNSUPPORTED_COMPRESSION_TYPE               | -               |
 *
 * Invariants:
 * - Corrupt compressed input never crashes and never returns partial data: it raises
 *   SluiceError CORRUPT_MESSAGE naming the codec, with the underlying fault as `cause`. (Not
 *   every flipped byte is detectable: LZ4 and snappy carry no checksum as Kafka writes them,
 *   and may decode damaged bytes to other bytes. The batch's CRC-32C, checked before
 *   decompression, is what catches those.)
 * - Decompression is bounded before it starts: snappy's length preambles, the LZ4 block
 *   structure and the zstd block structure give an upper bound of the output size that is
 *   checked against `decompressedBytesMax`; gzip, whose size is unknown until inflated, is
 *   stopped by zlib's `maxOutputLength` as soon as it passes the bound. A batch claiming more
 *   is refused as CORRUPT_MESSAGE, so a 1 MiB produce request cannot make the broker allocate
 *   gigabytes (a "decompression bomb").
 * - `compress`/`decompress` give the same bytes as their sync forms. Inputs up to
 *   `inlineBytesMax` (per codec and direction) run inline; larger ones run on libuv's
 *   threadpool through the native codecs' own async entry points (and zlib's), so the event
 *   loop is not blocked. The measurements behind that choice are next to `inlineBytesMax`.
 *   The caller must not modify `data` until the promise settles.
 * - An aborted signal rejects with SLUICE_ABORTED at once; jobs still waiting for a threadpool
 *   slot are skipped, and work already handed to a libuv thread runs to completion with its
 *   result dropped (libuv cannot cancel running work).
 */
import { constants as bufferConstants } from 'node:buffer'
import { gunzip, gunzipSync, gzip, gzipSync } from 'node:zlib'
import { compress as snappyCompressAsync, compressSync as snappyCompressSync, uncompress as snappyUncompressAsync, uncompressSync as snappyUncompressSync } from 'snappy'
import { compress as lz4BlockCompressAsync, uncompress as lz4BlockUncompressAsync, uncompressSync as lz4BlockUncompressSync } from 'lz4-napi'
import { Decoder as ZstdDecoder, Encoder as ZstdEncoder } from '@toondepauw/node-zstd'
import { SluiceError } from '../core/errors.js'
import { assertNever } from '../core/assert.js'
import { assembleXerial, isXerialFramed, readXerialChunks, snappyUncompressedLength, writeXerial, xerialChunksOf } from './snappy-xerial.js'
import { assembleLz4Frame, decodeLz4Frame, decodeLz4FrameAsync, lz4JavaBlocks, scanLz4Frame, writeLz4Frame, type Lz4FrameScan } from './lz4-frame.js'
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
  zstdLevel: 3
})

/*
 * Async forms: inline below a size, libuv's threadpool above it, and never Piscina.
 *
 * Measured with `bench/micro/compression-offload.ts` on the 2-core development VM (Node 20,
 * shared with other jobs: load average 4-8 during the runs, so medians of 3 runs, and single
 * cells are off by up to 2x; the trends below held in every run). Record-like
 * JSON input; "busy" is main-thread time per operation (event-loop utilisation), i.e. how long
 * the event loop could serve nothing else; for sync that is the whole operation.
 *
 * | codec / direction  | size    | sync MB/s, busy us | libuv MB/s, busy us | piscina MB/s, busy us |
 * |--------------------|---------|--------------------|---------------------|-----------------------|
 * | gzip compress      | 1 KiB   | 29, 35             | 9, 73               | 4, 105                |
 * | gzip compress      | 16 KiB  | 94, 175            | 118, 57             | 77, 56                |
 * | gzip compress      | 1 MiB   | 29, 36727          | 39, 1120            | 36, 1341              |
 * | gzip compress      | 4 MiB   | 23, 178888         | 25, 3589            | 16, 3549              |
 * | gzip decompress    | 16 KiB  | 183, 90            | 350, 44             | 206, 40               |
 * | gzip decompress    | 1 MiB   | 143, 7324          | 360, 327            | 210, 1424             |
 * | snappy compress    | 16 KiB  | 154, 106           | 156, 43             | 106, 48               |
 * | snappy compress    | 1 MiB   | 205, 5109          | 281, 1765           | 227, 877              |
 * | snappy compress    | 4 MiB   | 109, 38521         | 365, 3837           | 111, 5477             |
 * | snappy decompress  | 64 KiB  | 1151, 57           | 637, 82             | 549, 46               |
 * | snappy decompress  | 1 MiB   | 279, 3754          | 676, 1391           | 307, 946              |
 * | lz4 compress       | 64 KiB  | 867, 76            | 763, 43             | 410, 91               |
 * | lz4 compress       | 4 MiB   | 191, 21932         | 531, 2829           | 232, 2221             |
 * | lz4 decompress     | 16 KiB  | 681, 24            | 170, 29             | 114, 42               |
 * | lz4 decompress     | 1 MiB   | 2062, 509          | 1248, 316           | 868, 796              |
 * | zstd compress      | 4 KiB   | 100, 41            | 90, 21              | 55, 35                |
 * | zstd compress      | 1 MiB   | 148, 7105          | 131, 2885           | 233, 1946             |
 * | zstd decompress    | 16 KiB  | 654, 25            | 328, 33             | 177, 42               |
 * | zstd decompress    | 1 MiB   | 864, 1214          | 970, 163            | 371, 574              |
 *
 * Reading: a libuv round trip costs the main thread 10-90 us, so below roughly 100 us of
 * codec work inline is cheaper for everyone. Above it, inline blocking grows linearly (20-37 ms
 * per MiB of gzip, 4-7 ms per MiB of snappy or zstd), while the libuv forms keep the main
 * thread's share at 0.2-3 ms per MiB (callbacks, frame assembly, GC of the results) and give
 * the best throughput in most rows. Piscina was better on throughput in one row (zstd 1 MiB,
 * within the noise) and had lower busy time in a few large rows, but it copies every input
 * by structured clone and its two threads compete with libuv's for the same two cores; the
 * native codecs' async entry points need no copy at all. So: per codec and direction, the
 * largest input whose inline cost is about 100 us here runs inline (decompress thresholds are
 * compressed sizes; record batches inflate 3-5x), larger ones go to libuv, holding at most
 * half of its threadpool (see `onThreadpool`). gzip is 5-10x slower than the others, hence
 * its small thresholds. Piscina stays for whole-segment work (recovery, compaction), where
 * one task amortises the copy over megabytes of CPU work.
 *
 * After the table was taken, snappy moved to copied output (see `snappyEncodeOptions`) and LZ4
 * to block-wise decoding (`decodeLz4Frame`). Sync medians of `bench/micro/compression.bench.ts`
 * on 1 MiB went from 5.4 to 0.97 ms (snappy compress), 5.0 to 0.46 ms (snappy decompress) and
 * 4.6 to 0.25 ms (lz4 decompress). That only makes the inline side cheaper, so the thresholds
 * below err on the side of offloading; a re-run of the offload script at load average 15 was
 * too noisy to refine them.
 */
/** Inputs up to these sizes (bytes of `data`) run inline in `compress`/`decompress`. */
export const inlineBytesMax = Object.freeze({
  compress: Object.freeze({ none: Number.MAX_SAFE_INTEGER, gzip: 4 * 1024, snappy: 32 * 1024, lz4: 32 * 1024, zstd: 16 * 1024 }),
  decompress: Object.freeze({ none: Number.MAX_SAFE_INTEGER, gzip: 16 * 1024, snappy: 16 * 1024, lz4: 64 * 1024, zstd: 32 * 1024 })
})

/*
 * The snappy binding can hand back its output as an external buffer (no copy) or copy it into a
 * V8-allocated one. Measured interleaved, 15 rounds (medians): a 32 KiB chunk decompressed in
 * 95 us external vs 15 us copied, compressed in 139 us vs 21 us; 64 KiB compressed in 315 us vs
 * 32 us (the minimums are equal: the external path's cost comes in bursts, as its finalizers
 * and external-memory accounting drive extra GC work). So the copy is the fast path.
 */
const snappyEncodeOptions = Object.freeze({ copyOutputData: true })
const snappyDecodeOptions = Object.freeze({ asBuffer: true, copyOutputData: true })

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
    case 'snappy': return writeXerial(input, (chunk) => snappyCompressSync(chunk, snappyEncodeOptions))
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
        if (plan.chunks === undefined) return toBuffer(snappyUncompressSync(input, snappyDecodeOptions))
        return concatChunks(plan.chunks.map((chunk) => toBuffer(snappyUncompressSync(chunk, snappyDecodeOptions))), plan.uncompressedLength)
      })
    }
    case 'lz4': {
      const scan = scanLz4(input, limit)
      return guard(codec, limit, () => decodeLz4Frame(scan, (prefixed, dictionary) => lz4BlockUncompressSync(prefixed, dictionary)))
    }
    case 'zstd':
      checkBound(codec, limit, () => scanZstdFrames(input).decompressedBytesBound)
      return guard(codec, limit, () => zstdDecoder.decodeSync(input))
    default: return unknownCodec(codec)
  }
}

/** Async form of `compressSync`; same bytes. See the module header for threading and abort. */
export async function compress (codec: CompressionCodec, data: Uint8Array, options: CompressOptions = {}): Promise<Buffer> {
  throwIfAborted(options.signal)
  if (codec === 'none' || data.length <= inlineBytesMax.compress[codec]) return compressSync(codec, data)
  return await compressOnThreadpool(codec, data, options)
}

/**
 * `compress` without the inline shortcut: always runs the codec on libuv's threadpool.
 * Exposed for measurement and for callers that know their input is large.
 */
export async function compressOnThreadpool (codec: CompressionCodec, data: Uint8Array, options: CompressOptions = {}): Promise<Buffer> {
  const { signal } = options
  throwIfAborted(signal)
  const input = asBuffer(data)
  switch (codec) {
    case 'none': return input
    case 'gzip': return await abortable(signal, onThreadpool(signal, async () => await gzipAsync(input)))
    case 'snappy': return await abortable(signal, snappyXerialAsync(input, signal))
    case 'lz4': return await abortable(signal, lz4FrameAsync(input, signal))
    case 'zstd': return await abortable(signal, onThreadpool(signal, async () => await zstdEncoder.encode(input)))
    default: return unknownCodec(codec)
  }
}

/** Async form of `decompressSync`; same bytes and errors. */
export async function decompress (codec: CompressionCodec, data: Uint8Array, options: DecompressOptions = {}): Promise<Buffer> {
  throwIfAborted(options.signal)
  if (codec === 'none' || data.length <= inlineBytesMax.decompress[codec]) return decompressSync(codec, data, options)
  return await decompressOnThreadpool(codec, data, options)
}

/** `decompress` without the inline shortcut: always runs the codec on libuv's threadpool. */
export async function decompressOnThreadpool (codec: CompressionCodec, data: Uint8Array, options: DecompressOptions = {}): Promise<Buffer> {
  const { signal } = options
  throwIfAborted(signal)
  const limit = resolveDecompressedBytesMax(options)
  const input = asBuffer(data)
  switch (codec) {
    case 'none': return input
    case 'gzip':
      return await abortable(signal, guardAsync(codec, limit, onThreadpool(signal, async () => await gunzipAsync(input, limit))))
    case 'snappy': {
      const plan = planSnappy(input, limit)
      const work = plan.chunks === undefined
        ? onThreadpool(signal, async () => toBuffer(await snappyUncompressAsync(input, snappyDecodeOptions)))
        : Promise.all(plan.chunks.map(async (chunk) => await onThreadpool(signal, async () => toBuffer(await snappyUncompressAsync(chunk, snappyDecodeOptions)))))
          .then((parts) => concatChunks(parts, plan.uncompressedLength))
      return await abortable(signal, guardAsync(codec, limit, work))
    }
    case 'lz4': {
      const scan = scanLz4(input, limit)
      const work = decodeLz4FrameAsync(scan, async (prefixed, dictionary) => await onThreadpool(signal, async () => await lz4BlockUncompressAsync(prefixed, dictionary)))
      return await abortable(signal, guardAsync(codec, limit, work))
    }
    case 'zstd':
      checkBound(codec, limit, () => scanZstdFrames(input).decompressedBytesBound)
      return await abortable(signal, guardAsync(codec, limit, onThreadpool(signal, async () => await zstdDecoder.decode(input))))
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

function scanLz4 (input: Buffer, limit: number): Lz4FrameScan {
  let scan: Lz4FrameScan
  try {
    scan = scanLz4Frame(input)
  } catch (error) {
    throw corrupt('lz4', error)
  }
  if (scan.decompressedBytesBound > limit) throw tooLarge('lz4', scan.decompressedBytesBound, limit)
  return scan
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
  // zlib's maxOutputLength accepts 1 .. buffer.constants.MAX_LENGTH.
  if (!Number.isSafeInteger(value) || value < 1 || value > bufferConstants.MAX_LENGTH) {
    throw new SluiceError('SLUICE_INVALID_OPTION', `decompressedBytesMax must be an integer in [1, ${bufferConstants.MAX_LENGTH}], got ${String(value)}`)
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

/*
 * zlib's one-shot async API works in `chunkSize` slices (16 KiB by default) and comes back to
 * the main thread after each: 64 round trips for 1 MiB, which measured 5.8 ms of main-thread
 * time per MiB compressed. Sizing the chunk to the expected output makes it one or two trips.
 */
const zlibChunkBytesMin = 16 * 1024
const zlibChunkBytesMax = 8 * 1024 * 1024

/*
 * libuv's threadpool (UV_THREADPOOL_SIZE, 4 by default) also runs every fs call and fsync of
 * the engine, and it is FIFO: 128 snappy chunks of one 4 MiB batch queued ahead of an fsync
 * would delay it by all of them. So at most half the pool runs compression at a time; further
 * jobs wait here, in JavaScript, where they do not stand in front of file I/O. The waiting list
 * is bounded by the caller's own in-flight batches times their chunk count.
 */
const threadpoolJobsMax = Math.max(1, Math.floor(threadpoolSize() / 2))
let threadpoolJobs = 0
const threadpoolWaiters: Array<() => void> = []

function threadpoolSize (): number {
  const configured = Number.parseInt(process.env.UV_THREADPOOL_SIZE ?? '', 10)
  return Number.isSafeInteger(configured) && configured > 0 ? configured : 4
}

/** Runs `job` (one native async call) when a compression slot of the threadpool is free. */
async function onThreadpool<T> (signal: AbortSignal | undefined, job: () => Promise<T>): Promise<T> {
  if (threadpoolJobs < threadpoolJobsMax) {
    threadpoolJobs++
  } else {
    await new Promise<void>((resolve) => { threadpoolWaiters.push(resolve) })
  }
  try {
    throwIfAborted(signal)
    return await job()
  } finally {
    const next = threadpoolWaiters.shift()
    if (next === undefined) {
      threadpoolJobs--
    } else {
      next()
    }
  }
}

function gzipAsync (input: Buffer): Promise<Buffer> {
  // Deflate never expands by more than 5 bytes per 16 KiB stored block plus the 18-byte frame.
  const chunkSize = clamp(input.length + (input.length >>> 12) + 64, zlibChunkBytesMin, zlibChunkBytesMax)
  return new Promise((resolve, reject) => {
    gzip(input, { level: compressionDefaults.gzipLevel, chunkSize }, (error, result) => { error === null ? resolve(result) : reject(error) })
  })
}

function gunzipAsync (input: Buffer, limit: number): Promise<Buffer> {
  // Record batches inflate 2-8x; a guess too small costs extra trips, not correctness.
  const chunkSize = clamp(Math.min(limit, input.length * 4), zlibChunkBytesMin, zlibChunkBytesMax)
  return new Promise((resolve, reject) => {
    gunzip(input, { maxOutputLength: limit, chunkSize }, (error, result) => { error === null ? resolve(result) : reject(error) })
  })
}

function clamp (value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, value))
}

/** xerial framing with its 32 KiB chunks compressed on the threadpool. */
async function snappyXerialAsync (input: Buffer, signal: AbortSignal | undefined): Promise<Buffer> {
  const blocks = await Promise.all(xerialChunksOf(input).map(async (chunk) => await onThreadpool(signal, async () => await snappyCompressAsync(chunk, snappyEncodeOptions))))
  return assembleXerial(blocks)
}

/** Java-parameter LZ4 frame with its 64 KiB blocks compressed on the threadpool. */
async function lz4FrameAsync (input: Buffer, signal: AbortSignal | undefined): Promise<Buffer> {
  const blocks = await Promise.all(lz4JavaBlocks(input).map(async (block) => await onThreadpool(signal, async () => await lz4BlockCompressAsync(block))))
  return assembleLz4Frame(input, blocks)
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
