/**
 * Zstandard as Kafka carries it (compression id 4, KIP-110): standard zstd frames (RFC 8878).
 *
 * The native decoder accepts frames without a content size (the Java client's zstd-jni
 * streaming writer omits it), so a declared size cannot bound the output. `scanZstdFrames`
 * walks the frame and block headers instead and derives an upper bound of the decompressed
 * size before anything is decompressed:
 *
 * | element          | size     | decompressed size contributed                         |
 * |------------------|----------|-------------------------------------------------------|
 * | frame magic      | 4        | 0xFD2FB528, little-endian                              |
 * | frame header     | 2..14    | descriptor, [window], [dictionary id], [content size] |
 * | block header     | 3        | bit 0 last block, bits 1-2 type, bits 3-23 size        |
 * | raw block        | size     | size                                                  |
 * | RLE block        | 1        | size (the byte is repeated `size` times)              |
 * | compressed block | size     | at most min(window size, 128 KiB)                     |
 * | content checksum | 0 or 4   | present if descriptor bit 2                           |
 * | skippable frame  | 8 + size | magic 0x184D2A50..5F, uint32 size, ignored bytes       |
 *
 * Several frames may follow one another, as the format allows; nothing may trail the last.
 * Dictionaries are refused (Kafka has none).
 *
 * The declared window is deliberately not bounded here. A decoder reserves it up front for a
 * frame without content size (2 MiB for level 3, up to 128 MiB for levels 20-22, which libzstd
 * caps by default), but pages of that reservation the output never reaches are not committed,
 * so a tiny frame with a huge window costs address space, not memory; refusing large windows
 * would refuse legitimate high-level producers and every small `decompressedBytesMax`.
 */

export const zstdFrameMagic = 0xfd2fb528
/** The largest a compressed block can decompress to (RFC 8878 Block_Maximum_Size). */
export const zstdBlockMaximumBytes = 128 * 1024

/** A framing fault: the caller turns it into its typed error with the codec named. */
export class ZstdFramingError extends Error {
  override name = 'ZstdFramingError'
}

export interface ZstdFrameScan {
  frameCount: number
  blockCount: number
  /** An upper bound of the decompressed size, from the block structure alone. */
  decompressedBytesBound: number
}

const contentSizeBytesByFlag = [0, 2, 4, 8] as const
const dictionaryIdBytesByFlag = [0, 1, 2, 4] as const

/** Validates the frame and block structure of `data` and bounds its decompressed size. */
export function scanZstdFrames (data: Uint8Array): ZstdFrameScan {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength)
  let position = 0
  let frameCount = 0
  let blockCount = 0
  let decompressedBytesBound = 0
  if (data.length === 0) throw new ZstdFramingError('empty input is not a zstd frame')
  // Every frame consumes at least 4 bytes and every block at least 3, so both loops are bounded.
  while (position < data.length) {
    if (data.length - position < 4) throw new ZstdFramingError(`truncated frame magic at position ${position}`)
    const magic = view.getUint32(position, true)
    if ((magic & 0xfffffff0) === 0x184d2a50) {
      if (data.length - position < 8) throw new ZstdFramingError(`truncated skippable frame at position ${position}`)
      const size = view.getUint32(position + 4, true)
      if (size > data.length - position - 8) throw new ZstdFramingError(`skippable frame at position ${position} exceeds the input`)
      position += 8 + size
      continue
    }
    if (magic !== zstdFrameMagic) throw new ZstdFramingError(`bad magic 0x${magic.toString(16)} at position ${position}`)
    position += 4
    if (position >= data.length) throw new ZstdFramingError('truncated frame header')
    const descriptor = data[position]!
    const contentSizeFlag = descriptor >>> 6
    const singleSegment = (descriptor & 0x20) !== 0
    const hasChecksum = (descriptor & 0x04) !== 0
    const dictionaryIdFlag = descriptor & 0x03
    if ((descriptor & 0x08) !== 0) throw new ZstdFramingError('reserved frame header bit is set')
    if (dictionaryIdFlag !== 0) throw new ZstdFramingError('frames with a dictionary id are not supported')
    const contentSizeBytes = contentSizeFlag === 0 && singleSegment ? 1 : contentSizeBytesByFlag[contentSizeFlag]!
    const headerBytes = 1 + (singleSegment ? 0 : 1) + dictionaryIdBytesByFlag[dictionaryIdFlag]! + contentSizeBytes
    if (headerBytes > data.length - position) throw new ZstdFramingError('truncated frame header')
    position += headerBytes
    frameCount++
    for (;;) {
      if (data.length - position < 3) throw new ZstdFramingError(`truncated block header at position ${position}`)
      const header = data[position]! | (data[position + 1]! << 8) | (data[position + 2]! << 16)
      position += 3
      const last = (header & 1) !== 0
      const type = (header >>> 1) & 0x03
      const size = header >>> 3
      let present: number
      let produced: number
      switch (type) {
        case 0: present = size; produced = size; break
        case 1: present = 1; produced = size; break
        case 2: present = size; produced = zstdBlockMaximumBytes; break
        default: throw new ZstdFramingError(`reserved block type at position ${position - 3}`)
      }
      if (produced > zstdBlockMaximumBytes) throw new ZstdFramingError(`block at position ${position - 3} exceeds 128 KiB`)
      if (present > data.length - position) {
        throw new ZstdFramingError(`block size ${present} at position ${position - 3} exceeds the ${data.length - position} bytes left`)
      }
      position += present
      blockCount++
      decompressedBytesBound += produced
      if (last) break
    }
    if (hasChecksum) {
      if (data.length - position < 4) throw new ZstdFramingError('truncated content checksum')
      position += 4
    }
  }
  if (frameCount === 0) throw new ZstdFramingError('no zstd frame in input')
  return { frameCount, blockCount, decompressedBytesBound }
}
