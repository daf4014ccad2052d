/**
 * LZ4 as Kafka carries it (compression id 3): the LZ4 frame format, written with the exact
 * parameters the Java client uses and read in any form a Kafka client produces.
 *
 * Frame layout (little-endian; see the LZ4 frame format specification v1.6):
 *
 * | field            | size    | notes                                                         |
 * |------------------|---------|---------------------------------------------------------------|
 * | magic            | 4       | 0x184D2204                                                    |
 * | FLG              | 1       | bits 7-6 version = 01; 5 block independence; 4 block checksum; |
 * |                  |         | 3 content size; 2 content checksum; 1 reserved = 0; 0 dict id   |
 * | BD               | 1       | bits 6-4 block maximum size: 4 = 64 KiB .. 7 = 4 MiB; others 0  |
 * | content size     | 0 or 8  | present if FLG bit 3                                          |
 * | dictionary id    | 0 or 4  | present if FLG bit 0 (Sluice has no dictionaries: refused)      |
 * | HC               | 1       | (xxh32(FLG .. last descriptor byte, seed 0) >> 8) & 0xff        |
 * | blocks           | ...     | uint32 size (bit 31 = stored uncompressed), data, [uint32 xxh32] |
 * | end mark         | 4       | 0x00000000                                                    |
 * | content checksum | 0 or 4  | present if FLG bit 2                                          |
 *
 * Writing: FLG = 0x60 (version 1, independent blocks, no checksums), BD = 0x40 (64 KiB blocks),
 * so HC = 0x82: byte-for-byte the header of Kafka's `Lz4BlockOutputStream`. A block that does
 * not shrink is stored uncompressed, as Java does. Blocks come from lz4-napi's block
 * compressor (its frame writer picks larger blocks for larger inputs, up to 4 MiB, which Java
 * consumers accept but must then buffer 4 MiB per stream).
 *
 * Reading: `scanLz4Frame` validates the descriptor (including HC), every block length against
 * the block maximum and the bytes present, the end mark and the absence of trailing bytes,
 * and returns an upper bound of the decompressed size (blocks x block maximum). Only then does
 * the caller run the native frame decoder, which also verifies block and content checksums
 * and handles linked (dependent) blocks that librdkafka-style writers may produce.
 */
import { compressSync as lz4BlockCompressSync } from 'lz4-napi'
import { xxhash32 } from './xxhash32.js'

export const lz4FrameMagic = 0x184d2204
/** Java's FLG: version 01, independent blocks, no block checksums, no content size/checksum. */
export const lz4JavaFlg = 0x60
/** Java's BD: 64 KiB maximum block size. */
export const lz4JavaBd = 0x40
/** Uncompressed bytes per block in frames we write. */
export const lz4JavaBlockBytes = 64 * 1024
const uncompressedBlockFlag = 0x80000000
/** lz4-napi's block compressor prefixes the block with its uncompressed size (uint32 LE). */
const sizePrefixBytes = 4

/** A framing fault: the caller turns it into its typed error with the codec named. */
export class Lz4FramingError extends Error {
  override name = 'Lz4FramingError'
}

/** The 7-byte frame header we write: magic, FLG, BD, HC. */
export function lz4JavaFrameHeader (): Buffer {
  const header = Buffer.allocUnsafe(7)
  header.writeUInt32LE(lz4FrameMagic, 0)
  header[4] = lz4JavaFlg
  header[5] = lz4JavaBd
  header[6] = (xxhash32(header.subarray(4, 6)) >>> 8) & 0xff
  return header
}

const javaHeader = lz4JavaFrameHeader()

/** Compresses `data` into one LZ4 frame with Java's parameters (see module header). */
export function writeLz4Frame (data: Uint8Array): Buffer {
  const blocks = lz4JavaBlocks(data).map((block) => lz4BlockCompressSync(Buffer.from(block.buffer, block.byteOffset, block.byteLength)))
  return assembleLz4Frame(data, blocks)
}

/** `data` cut into the 64 KiB blocks of a Java-parameter frame (views, no copy). */
export function lz4JavaBlocks (data: Uint8Array): Uint8Array[] {
  const blocks: Uint8Array[] = []
  for (let start = 0; start < data.length; start += lz4JavaBlockBytes) {
    blocks.push(data.subarray(start, Math.min(data.length, start + lz4JavaBlockBytes)))
  }
  return blocks
}

/**
 * Assembles the frame from `data` and, for each of its `lz4JavaBlocks`, the output of
 * lz4-napi's block compressor (size-prefixed). A block that did not shrink is stored.
 */
export function assembleLz4Frame (data: Uint8Array, prefixedBlocks: readonly Uint8Array[]): Buffer {
  const sources = lz4JavaBlocks(data)
  if (sources.length !== prefixedBlocks.length) throw new RangeError(`${prefixedBlocks.length} compressed blocks for ${sources.length} source blocks`)
  const chosen: Array<{ bytes: Uint8Array, stored: boolean }> = []
  let total = javaHeader.length + 4
  for (let index = 0; index < sources.length; index++) {
    const source = sources[index]!
    const compressed = prefixedBlocks[index]!.subarray(sizePrefixBytes)
    const stored = compressed.length >= source.length
    chosen.push({ bytes: stored ? source : compressed, stored })
    total += 4 + (stored ? source.length : compressed.length)
  }
  const output = Buffer.allocUnsafe(total)
  javaHeader.copy(output, 0)
  let position = javaHeader.length
  for (const block of chosen) {
    output.writeUInt32LE(block.stored ? (block.bytes.length | uncompressedBlockFlag) >>> 0 : block.bytes.length, position)
    output.set(block.bytes, position + 4)
    position += 4 + block.bytes.length
  }
  output.writeUInt32LE(0, position)
  return output
}

/** What a frame scan learned. */
export interface Lz4FrameScan {
  flg: number
  bd: number
  blockMaximumBytes: number
  blockCount: number
  /** Content size from the descriptor, or -1 when absent. */
  contentSize: number
  /** An upper bound of the decompressed size, from the block structure alone. */
  decompressedBytesBound: number
}

/**
 * Validates the structure of a single LZ4 frame occupying all of `data` without decompressing
 * it, and bounds its decompressed size. Throws Lz4FramingError on any fault.
 */
export function scanLz4Frame (data: Uint8Array): Lz4FrameScan {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength)
  if (data.length < 7) throw new Lz4FramingError(`frame of ${data.length} bytes is shorter than the 7-byte minimum header`)
  const magic = view.getUint32(0, true)
  if (magic !== lz4FrameMagic) throw new Lz4FramingError(`bad magic 0x${magic.toString(16)}`)
  const flg = data[4]!
  const bd = data[5]!
  if ((flg >>> 6) !== 1) throw new Lz4FramingError(`unsupported frame version ${flg >>> 6}`)
  if ((flg & 0x02) !== 0) throw new Lz4FramingError('reserved FLG bit 1 is set')
  if ((flg & 0x01) !== 0) throw new Lz4FramingError('frames with a dictionary id are not supported')
  if ((bd & 0x8f) !== 0) throw new Lz4FramingError(`reserved BD bits are set (BD 0x${bd.toString(16)})`)
  const blockSizeId = (bd >>> 4) & 0x07
  if (blockSizeId < 4) throw new Lz4FramingError(`invalid block maximum size id ${blockSizeId}`)
  const blockMaximumBytes = 1 << (2 * blockSizeId + 8)
  const hasBlockChecksum = (flg & 0x10) !== 0
  const hasContentSize = (flg & 0x08) !== 0
  const hasContentChecksum = (flg & 0x04) !== 0
  const descriptorEnd = 6 + (hasContentSize ? 8 : 0)
  if (data.length < descriptorEnd + 1) throw new Lz4FramingError('frame descriptor truncated')
  let contentSize = -1
  if (hasContentSize) {
    const size = view.getBigUint64(6, true)
    contentSize = size > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(size)
  }
  const expectedHc = (xxhash32(data.subarray(4, descriptorEnd)) >>> 8) & 0xff
  if (data[descriptorEnd] !== expectedHc) {
    throw new Lz4FramingError(`header checksum 0x${data[descriptorEnd]!.toString(16)} does not match 0x${expectedHc.toString(16)}`)
  }
  let position = descriptorEnd + 1
  let blockCount = 0
  let decompressedBytesBound = 0
  // Every iteration consumes at least 4 bytes, so the loop is bounded by data.length / 4.
  for (;;) {
    if (data.length - position < 4) throw new Lz4FramingError(`truncated before the end mark at position ${position}`)
    const word = view.getUint32(position, true)
    position += 4
    if (word === 0) break
    const stored = (word & uncompressedBlockFlag) !== 0
    const blockLength = (word & ~uncompressedBlockFlag) >>> 0
    if (blockLength > blockMaximumBytes) {
      throw new Lz4FramingError(`block length ${blockLength} at position ${position - 4} exceeds the block maximum ${blockMaximumBytes}`)
    }
    const needed = blockLength + (hasBlockChecksum ? 4 : 0)
    if (needed > data.length - position) {
      throw new Lz4FramingError(`block length ${blockLength} at position ${position - 4} exceeds the ${data.length - position} bytes left`)
    }
    position += needed
    blockCount++
    decompressedBytesBound += stored ? blockLength : blockMaximumBytes
  }
  if (hasContentChecksum) {
    if (data.length - position < 4) throw new Lz4FramingError('content checksum truncated')
    position += 4
  }
  if (position !== data.length) throw new Lz4FramingError(`${data.length - position} trailing bytes after the frame`)
  // The content size is not trusted to lower the bound: only the block structure is.
  return { flg, bd, blockMaximumBytes, blockCount, contentSize, decompressedBytesBound }
}
