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
 * so HC = 0x82: byte-for-byte the header of Kafka's `Lz4BlockOutputStream` (librdkafka sets
 * the same 64 KiB independent blocks through liblz4's frame API). A block that does
 * not shrink is stored uncompressed, as Java does. Blocks come from lz4-napi's block
 * compressor (its frame writer picks larger blocks for larger inputs, up to 4 MiB, which Java
 * consumers accept but must then buffer 4 MiB per stream).
 *
 * Reading: `scanLz4Frame` validates the descriptor (including HC), every block length against
 * the block maximum and the bytes present, the end mark and the absence of trailing bytes,
 * and returns the blocks and an upper bound of the decompressed size (blocks x block maximum)
 * before anything is decompressed. `decodeLz4Frame` then verifies block and content checksums
 * (xxh32) when the frame has them, decodes each block with lz4-napi's block decoder (which
 * refuses to write past the block maximum), hands linked (dependent) blocks the previous
 * 64 KiB of output as their dictionary, and checks a declared content size.
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

/** One data block of a frame: a view of its bytes in the frame. */
export interface Lz4FrameBlock {
  bytes: Uint8Array
  /** Stored uncompressed (bit 31 of its size word). */
  stored: boolean
  /** Its xxh32 when the frame has block checksums. */
  checksum: number | undefined
  /** Position of its size word in the frame, for error messages. */
  position: number
}

/** What a frame scan learned. */
export interface Lz4FrameScan {
  flg: number
  bd: number
  blockMaximumBytes: number
  /** Blocks may be decoded independently (FLG bit 5); otherwise each sees the previous 64 KiB. */
  independent: boolean
  blocks: Lz4FrameBlock[]
  /** Content size from the descriptor, or -1 when absent. */
  contentSize: number
  /** xxh32 of the content when the frame carries it. */
  contentChecksum: number | undefined
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
  const blocks: Lz4FrameBlock[] = []
  let decompressedBytesBound = 0
  // Every iteration consumes at least 4 bytes, so the loop is bounded by data.length / 4.
  for (;;) {
    if (data.length - position < 4) throw new Lz4FramingError(`truncated before the end mark at position ${position}`)
    const word = view.getUint32(position, true)
    const wordPosition = position
    position += 4
    if (word === 0) break
    const stored = (word & uncompressedBlockFlag) !== 0
    const blockLength = (word & ~uncompressedBlockFlag) >>> 0
    if (blockLength > blockMaximumBytes) {
      throw new Lz4FramingError(`block length ${blockLength} at position ${wordPosition} exceeds the block maximum ${blockMaximumBytes}`)
    }
    const needed = blockLength + (hasBlockChecksum ? 4 : 0)
    if (needed > data.length - position) {
      throw new Lz4FramingError(`block length ${blockLength} at position ${wordPosition} exceeds the ${data.length - position} bytes left`)
    }
    blocks.push({
      bytes: data.subarray(position, position + blockLength),
      stored,
      checksum: hasBlockChecksum ? view.getUint32(position + blockLength, true) : undefined,
      position: wordPosition
    })
    position += needed
    decompressedBytesBound += stored ? blockLength : blockMaximumBytes
  }
  let contentChecksum: number | undefined
  if (hasContentChecksum) {
    if (data.length - position < 4) throw new Lz4FramingError('content checksum truncated')
    contentChecksum = view.getUint32(position, true)
    position += 4
  }
  if (position !== data.length) throw new Lz4FramingError(`${data.length - position} trailing bytes after the frame`)
  // The content size is not trusted to lower the bound: only the block structure is.
  return {
    flg,
    bd,
    blockMaximumBytes,
    independent: (flg & 0x20) !== 0,
    blocks,
    contentSize,
    contentChecksum,
    decompressedBytesBound
  }
}

/**
 * Decodes one compressed block (a raw LZ4 block) given the previous output as dictionary for
 * linked frames. `prefixed` is the block preceded by its output capacity (uint32 LE), the form
 * lz4-napi's block decoder takes; it fails if the block would produce more.
 */
export type Lz4BlockDecoder = (prefixed: Buffer, dictionary: Uint8Array | undefined) => Uint8Array
export type Lz4BlockDecoderAsync = (prefixed: Buffer, dictionary: Uint8Array | undefined) => Promise<Uint8Array>

/**
 * Decodes a scanned frame block by block. Block-wise decoding through lz4-napi's block codec
 * measured ~10x faster than its frame decoder on 1 MiB (0.3-0.6 ms vs 4.7-6.5 ms, medians of 15
 * interleaved rounds), and keeps every bound in this module's hands.
 */
export function decodeLz4Frame (scan: Lz4FrameScan, decodeBlock: Lz4BlockDecoder): Buffer {
  verifyBlockChecksums(scan)
  const parts: Uint8Array[] = []
  for (const block of scan.blocks) {
    parts.push(block.stored ? block.bytes : decodeBlock(prefixBlock(block, scan.blockMaximumBytes), dictionaryOf(scan, parts)))
  }
  return finishFrame(scan, parts)
}

/** `decodeLz4Frame` with an async block decoder: independent blocks run concurrently. */
export async function decodeLz4FrameAsync (scan: Lz4FrameScan, decodeBlock: Lz4BlockDecoderAsync): Promise<Buffer> {
  verifyBlockChecksums(scan)
  if (scan.independent) {
    const parts = await Promise.all(scan.blocks.map(async (block) => block.stored
      ? block.bytes
      : await decodeBlock(prefixBlock(block, scan.blockMaximumBytes), undefined)))
    return finishFrame(scan, parts)
  }
  const parts: Uint8Array[] = []
  for (const block of scan.blocks) {
    parts.push(block.stored ? block.bytes : await decodeBlock(prefixBlock(block, scan.blockMaximumBytes), dictionaryOf(scan, parts)))
  }
  return finishFrame(scan, parts)
}

/** The LZ4 match window: a linked block may copy from the previous 64 KiB of output. */
const linkedWindowBytes = 64 * 1024

function dictionaryOf (scan: Lz4FrameScan, parts: readonly Uint8Array[]): Uint8Array | undefined {
  if (scan.independent || parts.length === 0) return undefined
  const last = parts[parts.length - 1]!
  if (last.length >= linkedWindowBytes) return last.subarray(last.length - linkedWindowBytes)
  const tail: Uint8Array[] = []
  let length = 0
  for (let index = parts.length - 1; index >= 0 && length < linkedWindowBytes; index--) {
    tail.unshift(parts[index]!)
    length += parts[index]!.length
  }
  const joined = Buffer.concat(tail)
  return joined.subarray(Math.max(0, joined.length - linkedWindowBytes))
}

function prefixBlock (block: Lz4FrameBlock, capacity: number): Buffer {
  const prefixed = Buffer.allocUnsafe(sizePrefixBytes + block.bytes.length)
  prefixed.writeUInt32LE(capacity, 0)
  prefixed.set(block.bytes, sizePrefixBytes)
  return prefixed
}

function verifyBlockChecksums (scan: Lz4FrameScan): void {
  for (const block of scan.blocks) {
    if (block.checksum !== undefined && xxhash32(block.bytes) !== block.checksum) {
      throw new Lz4FramingError(`block checksum mismatch for the block at position ${block.position}`)
    }
  }
}

function finishFrame (scan: Lz4FrameScan, parts: readonly Uint8Array[]): Buffer {
  const output = Buffer.concat(parts)
  if (scan.contentSize >= 0 && output.length !== scan.contentSize) {
    throw new Lz4FramingError(`frame declares ${scan.contentSize} bytes of content, its blocks hold ${output.length}`)
  }
  if (scan.contentChecksum !== undefined && xxhash32(output) !== scan.contentChecksum) {
    throw new Lz4FramingError('content checksum mismatch')
  }
  return output
}
