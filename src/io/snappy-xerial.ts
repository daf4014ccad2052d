/**
 * Snappy as Kafka carries it (compression id 2): the xerial snappy-java stream framing that
 * the Java client writes, and the raw snappy block that librdkafka writes.
 *
 * Xerial framing (all integers big-endian):
 *
 * | offset | size | field                                                  |
 * |--------|------|--------------------------------------------------------|
 * | 0      | 8    | magic `82 53 4E 41 50 50 59 00` (0x82 "SNAPPY" 0x00)    |
 * | 8      | 4    | version, int32 = 1                                      |
 * | 12     | 4    | minimum compatible version, int32 = 1                   |
 * | 16     | ...  | chunks: `[int32 compressedLength][raw snappy block]` repeated |
 *
 * Each raw snappy block starts with its uncompressed length as an unsigned LEB128 varint
 * (at most 5 bytes, value < 2^32). That preamble lets a reader bound the decompressed size of
 * the whole stream before decompressing anything, which is how decompression bombs are refused.
 *
 * Reading sniffs the 8-byte magic, as librdkafka does: a raw block cannot begin with it in
 * practice (it would claim 10626 bytes and continue with the literal tag bytes "NAPPY\0").
 *
 * Invariants: chunks are written at most `xerialChunkBytes` (32 KiB, snappy-java's default
 * block size) of uncompressed input each; an empty input is the 16-byte header alone, as
 * snappy-java writes it. This module owns the framing only; the block codec is passed in.
 */

/** The 8 magic bytes that open a snappy-java stream. */
export const xerialMagic: Readonly<Uint8Array> = Uint8Array.of(0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00)
/** Stream format version snappy-java writes. */
export const xerialVersion = 1
/** Oldest reader version that understands what we write; also the newest we can read. */
export const xerialCompatibleVersion = 1
/** magic + version + compatible version. */
export const xerialHeaderBytes = 16
/** Uncompressed bytes per chunk: snappy-java's default block size. */
export const xerialChunkBytes = 32 * 1024
/** A raw snappy block's length preamble is a varint of at most 5 bytes. */
const varintBytesMax = 5

/** A framing fault: the caller turns it into its typed error with the codec named. */
export class SnappyFramingError extends Error {
  override name = 'SnappyFramingError'
}

/** True if `data` opens with the xerial magic. */
export function isXerialFramed (data: Uint8Array): boolean {
  if (data.length < xerialMagic.length) return false
  for (let index = 0; index < xerialMagic.length; index++) {
    if (data[index] !== xerialMagic[index]) return false
  }
  return true
}

/**
 * The uncompressed length a raw snappy block declares in its varint preamble.
 * Throws SnappyFramingError when the preamble is truncated, too long or above 2^32 - 1.
 */
export function snappyUncompressedLength (block: Uint8Array): number {
  let value = 0
  for (let index = 0; index < varintBytesMax; index++) {
    if (index >= block.length) throw new SnappyFramingError('truncated length preamble')
    const byte = block[index]!
    value += (byte & 0x7f) * 2 ** (7 * index)
    if ((byte & 0x80) === 0) {
      if (value > 0xffffffff) throw new SnappyFramingError(`length preamble ${value} exceeds 2^32 - 1`)
      return value
    }
  }
  throw new SnappyFramingError('length preamble longer than 5 bytes')
}

/** One chunk of a xerial stream: a view of its raw snappy block and where it starts. */
export interface XerialChunk {
  block: Uint8Array
  position: number
  uncompressedLength: number
}

/**
 * Splits a xerial stream into views of its raw snappy blocks, validating the header and every
 * chunk length against the bytes present. Returns the chunks and their total declared
 * uncompressed length; copies nothing.
 */
export function readXerialChunks (data: Uint8Array): { chunks: XerialChunk[], uncompressedLength: number } {
  if (!isXerialFramed(data)) throw new SnappyFramingError('missing xerial magic')
  if (data.length < xerialHeaderBytes) {
    throw new SnappyFramingError(`xerial header truncated: ${data.length} of ${xerialHeaderBytes} bytes`)
  }
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength)
  const version = view.getInt32(8)
  const compatibleVersion = view.getInt32(12)
  if (version < xerialCompatibleVersion) throw new SnappyFramingError(`xerial version ${version} is below 1`)
  if (compatibleVersion < 1 || compatibleVersion > xerialVersion) {
    throw new SnappyFramingError(`xerial stream needs reader version ${compatibleVersion}; this reader is version ${xerialVersion}`)
  }
  const chunks: XerialChunk[] = []
  let uncompressedLength = 0
  let position = xerialHeaderBytes
  // Each iteration consumes at least 4 bytes, so the loop is bounded by data.length / 4.
  while (position < data.length) {
    if (data.length - position < 4) {
      throw new SnappyFramingError(`truncated chunk header at position ${position}`)
    }
    const chunkLength = view.getInt32(position)
    if (chunkLength < 0) throw new SnappyFramingError(`negative chunk length ${chunkLength} at position ${position}`)
    const start = position + 4
    if (chunkLength > data.length - start) {
      throw new SnappyFramingError(`chunk length ${chunkLength} at position ${position} exceeds the ${data.length - start} bytes left`)
    }
    const block = data.subarray(start, start + chunkLength)
    const blockLength = snappyUncompressedLength(block)
    chunks.push({ block, position: start, uncompressedLength: blockLength })
    uncompressedLength += blockLength
    position = start + chunkLength
  }
  return { chunks, uncompressedLength }
}

/**
 * Writes `data` in xerial framing, compressing each 32 KiB chunk with `compressBlock`
 * (a raw snappy block compressor). Returns one Buffer holding the whole stream.
 */
export function writeXerial (data: Uint8Array, compressBlock: (chunk: Uint8Array) => Uint8Array): Buffer {
  return assembleXerial(xerialChunksOf(data).map(compressBlock))
}

/** `data` cut into the 32 KiB chunks of a xerial stream (views, no copy). */
export function xerialChunksOf (data: Uint8Array): Uint8Array[] {
  const chunks: Uint8Array[] = []
  for (let start = 0; start < data.length; start += xerialChunkBytes) {
    chunks.push(data.subarray(start, Math.min(data.length, start + xerialChunkBytes)))
  }
  return chunks
}

/** Header, then `[int32 length][block]` for each raw snappy block, in one Buffer. */
export function assembleXerial (blocks: readonly Uint8Array[]): Buffer {
  let total = xerialHeaderBytes
  for (const block of blocks) total += 4 + block.length
  const output = Buffer.allocUnsafe(total)
  writeXerialHeader(output)
  let position = xerialHeaderBytes
  for (const block of blocks) {
    output.writeInt32BE(block.length, position)
    output.set(block, position + 4)
    position += 4 + block.length
  }
  return output
}

/** Writes the 16-byte header at the start of `target`. */
export function writeXerialHeader (target: Buffer): void {
  target.set(xerialMagic, 0)
  target.writeInt32BE(xerialVersion, 8)
  target.writeInt32BE(xerialCompatibleVersion, 12)
}
